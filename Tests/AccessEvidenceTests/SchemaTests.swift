@testable import AccessEvidence
import Foundation
import Testing

/// `report.json` and `populations.jsonl` against the shipped JSON Schemas (`Schemas/`), checked by a
/// validator nobody here wrote: Python's jsonschema (Draft 2020-12, format checking) run through
/// `Schemas/validate.py` from the virtual environment `make test-deps` makes in `.build/venv`.
@Suite struct SchemaTests {
    static let schemas = packageRoot.appendingPathComponent("Schemas")
    static let python = packageRoot.appendingPathComponent(".build/venv/bin/python").path
    static let validator = schemas.appendingPathComponent("validate.py").path

    /// The sample report with its optional parts (roster, accepted exceptions): written once, read by several tests.
    static let sample = Result { try writeReport(store: sampleStorePath, name: "sample") }

    // MARK: valid reports

    @Test func sampleReportFollowsTheSchemas() throws {
        let folder = try Self.sample.get()
        let document = try Self.json(folder.appendingPathComponent("report.json"))
        // The parts a bare run leaves out are here, so the schema's description of them is checked too.
        for key in ["acceptedExceptions", "roster", "reconciliation"] { #expect(document[key] != nil, "\(key) missing from the sample report") }
        #expect((document["inputs"] as? [Any])?.count == 2)
        let result = try Self.validate(folder)
        #expect(result.code == 0, "\(result.output)")
    }

    /// A snapshot store with a data-quality issue and a reconciliation difference, written with the
    /// workbook, a gateway URL and an invocation: the optional parts the sample report lacks.
    @Test func snapshotReportFollowsTheSchemas() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Self.snapshotStore(in: dir)
        let folder = try Self.writeReport(store: store, name: "snapshot", in: dir) { run in
            run.formats = [.json, .xlsx]
            run.gatewayURL = "https://hoop.acme.example"
            run.invocation = .init(commandLine: "access-evidence report --store snapshot.sqlite --period 2026-Q3", user: "auditor", host: "build-01")
        }
        let document = try Self.json(folder.appendingPathComponent("report.json"))
        let source = try #require(document["source"] as? [String: Any])
        let snapshot = try #require(source["snapshot"] as? [String: Any], "the store was not read as a snapshot")
        #expect((snapshot["tables"] as? [String: Any])?.count == GatewaySchema.tables.count)
        #expect(source["schemaVersion"] as? String == "20260901")
        #expect((document["dataQuality"] as? [Any])?.isEmpty == false, "no data-quality issue in the altered store")
        let components = try #require((document["reconciliation"] as? [String: Any])?["components"] as? [String: Any])
        #expect(components["testedNotCounted"] as? Int == 1)
        for key in ["gatewayURL", "invocation"] { #expect(document[key] != nil, "\(key) missing") }
        let test = try #require(((document["controls"] as? [[String: Any]])?.first?["tests"] as? [[String: Any]])?.first)
        #expect(test["workbookRows"] != nil)
        let result = try Self.validate(folder)
        #expect(result.code == 0, "\(result.output)")
    }

    /// The schemas name the document's own identifiers, and report.json says which schema it follows.
    @Test func schemaIdentifiers() throws {
        let report = try Self.json(Self.schemas.appendingPathComponent("report.schema.json"))
        let item = try Self.json(Self.schemas.appendingPathComponent("population-item.schema.json"))
        #expect(report["$id"] as? String == EvidenceDocument.schemaID)
        #expect(item["$id"] as? String == PopulationListing.schemaID)
        for schema in [report, item] { #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema") }
        let document = try Self.json(try Self.sample.get().appendingPathComponent("report.json"))
        #expect(document["$schema"] as? String == report["$id"] as? String)
    }

    // MARK: invalid documents

    /// One bad value at a time in a copy of the sample report: each must fail, naming where it is.
    @Test func invalidValuesAreCaught() throws {
        let folder = try Self.sample.get()
        let original = try Self.json(folder.appendingPathComponent("report.json"))
        let fullListing = folder.appendingPathComponent(PopulationListing.fileName)
        // report.json is what changes here; beside it, the listing's first three lines are enough (and quick to validate).
        var lines = try String(contentsOf: fullListing, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count > 3 && lines.last == "")
        lines = Array(lines.prefix(3)) + [""]
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let listing = scratch.appendingPathComponent(PopulationListing.fileName)
        try lines.joined(separator: "\n").write(to: listing, atomically: false, encoding: .utf8)
        let controls = try #require(original["controls"] as? [[String: Any]])
        // The first control and test with an exception, as report.json lists them.
        let (c, t) = try #require(controls.enumerated().lazy.compactMap { c, control in
            ((control["tests"] as? [[String: Any]]) ?? []).firstIndex { !(($0["exceptions"] as? [Any]) ?? []).isEmpty }.map { (c, $0) }
        }.first)

        // Rewritten without a change, the copy is valid: every failure below is the one value changed.
        let unchanged = try Self.validateCopy(original, listing)
        #expect(unchanged.code == 0, "\(unchanged.output)")

        let cases: [(path: [Any], change: (Any?) -> Any?, expected: [String])] = [
            (["criteria", 0, "status"], { _ in "effective" }, ["report.json: $.criteria[0].status: 'effective' is not one of"]),
            (["controls", c, "tests", t, "exceptions", 0, "kind"], { _ in "bogus" },
             ["report.json: $.controls[\(c)].tests[\(t)].exceptions[0].kind: 'bogus' is not one of"]),
            (["summary", "exceptionsOpen"], { _ in nil }, ["report.json: $.summary: 'exceptionsOpen' is a required property"]),
            (["controls", c, "tests", t, "provenance", "sha256"], { _ in "not-a-hash" },
             ["report.json: $.controls[\(c)].tests[\(t)].provenance.sha256: 'not-a-hash' does not match"]),
            (["generatedAt"], { _ in "2026-10-01T02:00:00+02:00" }, ["report.json: $.generatedAt: '2026-10-01T02:00:00+02:00' does not match"]),
            (["roster"], { _ in NSNull() }, ["report.json: $.roster: None is not of type 'object'"]),
        ]
        for (path, change, expected) in cases {
            let result = try Self.validateCopy(Self.edit(original, at: path, change), listing)
            #expect(result.code == 1, "\(path): \(result.output)")
            for text in expected { #expect(result.output.contains(text), "\(path): expected \(text) in \(result.output)") }
        }

        // $schema naming another schema.
        let renamed = try Self.validateCopy(Self.edit(original, at: ["$schema"]) { _ in "https://example.com/other.json" }, listing)
        #expect(renamed.code == 1)
        #expect(renamed.output.contains("report.json: $['$schema']: 'https://example.com/other.json' is not this schema's $id"), "\(renamed.output)")

        // populations.jsonl: a bad outcome on line 1, a missing record type on line 3; line 2 is untouched.
        lines[0] = try Self.compact(Self.edit(Self.parse(lines[0]), at: ["attributes", "A"]) { _ in "maybe" })
        lines[2] = try Self.compact(Self.edit(Self.parse(lines[2]), at: ["record"]) { _ in nil })
        let badListing = scratch.appendingPathComponent("bad-" + PopulationListing.fileName)
        try lines.joined(separator: "\n").write(to: badListing, atomically: false, encoding: .utf8)
        let listed = try Self.validateCopy(original, badListing)
        #expect(listed.code == 1)
        #expect(listed.output.contains("populations.jsonl line 1: $.attributes.A: 'maybe' is not one of ['pass', 'fail', 'n/a']"), "\(listed.output)")
        #expect(listed.output.contains("populations.jsonl line 3: $: 'record' is a required property"), "\(listed.output)")
        #expect(listed.output.contains("2 errors"), "\(listed.output)")
    }

    // MARK: helpers

    /// Writes a report of the third quarter of `store` with the sample roster and accepted exceptions.
    static func writeReport(store: String, name: String, in dir: URL? = nil, _ configure: (inout ReportRun) -> Void = { _ in }) throws -> URL {
        let catalog = try shippedCatalog()
        var run = ReportRun(storePath: store, period: q3, catalog: catalog, generatedAt: date("2026-10-01T00:00:00Z"))
        run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
        run.accepted = try AcceptedExceptions.load(path: packageRoot.appendingPathComponent("SampleData/accepted-exceptions.yaml").path,
                                                   controls: catalog.controls.map(\.id))
        run.formats = [.json]
        configure(&run)
        let folder = try (dir ?? temporaryDirectory()).appendingPathComponent(name)
        try run.write(to: folder.path)
        return folder
    }

    /// The sample store as a snapshot (an `extract_manifest` whose table digests match), altered first so
    /// the report has a data-quality issue (unreadable connection tags) and a reconciliation cause (a
    /// created_at with an offset, tested but not counted by the plain SQL range).
    static func snapshotStore(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("snapshot.sqlite").path
        try FileManager.default.copyItem(atPath: sampleStorePath, toPath: path)
        let db = try SQLiteDatabase(path: path, mode: .create)
        try db.execute("""
            UPDATE sessions SET connection_tags = '{not json' WHERE id = (SELECT id FROM sessions WHERE created_at >= '2026-08-01' ORDER BY created_at, id LIMIT 1);
            UPDATE sessions SET created_at = '2026-07-01 05:00:00+02:00' WHERE id = (SELECT id FROM sessions WHERE created_at >= '2026-07-01' ORDER BY created_at, id LIMIT 1);
            """)
        try db.execute(SnapshotManifest.createStatement)
        let facts = ["location": "postgres://reader@db.acme.example:5432/hoop", "schema_version": "20260901",
                     "period": "2026-Q3 [2026-07-01T00:00:00Z, 2026-10-01T00:00:00Z)", "extracted_at": "2026-10-02T08:00:00Z",
                     "tool": "access-evidence \(ToolInfo.version)"]
        for (name, value) in facts { try db.execute("INSERT INTO extract_manifest VALUES ('source', '\(name)', '\(value)', NULL, NULL, NULL)") }
        for table in GatewaySchema.tables {
            let columns = table.columns.map(\.0)
            var digest = SnapshotManifest.Digest()
            try db.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(table.name) ORDER BY rowid") { row in
                digest.add((0..<Int32(columns.count)).map { row.text($0) })
            }
            try db.execute("INSERT INTO extract_manifest VALUES ('table', '\(table.name)', NULL, NULL, \(digest.rows), '\(digest.finalize())')")
        }
        return path
    }

    /// Runs validate.py on a report folder's report.json and populations.jsonl: its exit code and output.
    static func validate(_ folder: URL) throws -> (code: Int32, output: String) {
        try validate(report: folder.appendingPathComponent("report.json"), listing: folder.appendingPathComponent(PopulationListing.fileName))
    }

    static func validate(report: URL, listing: URL) throws -> (code: Int32, output: String) {
        // Not a skip: without the validator the schemas are not tested at all.
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "no Python virtual environment at \(python): run `make test-deps` (it creates .build/venv with jsonschema)")
        let check = try run(python, ["-c", "import jsonschema"])
        try #require(check.code == 0, "jsonschema is not installed in .build/venv: run `make test-deps`\n\(check.output)")
        return try run(python, [validator, schemas.path, report.path, listing.path])
    }

    /// Runs a program: its standard output, then its standard error, as one text (written to files, so a
    /// long output cannot block it).
    static func run(_ executable: String, _ arguments: [String]) throws -> (code: Int32, output: String) {
        let result = try runSeparately(executable, arguments)
        return (result.code, result.stdout + result.stderr)
    }

    /// `run`, with standard output apart from standard error (for output parsed as JSON, which a
    /// warning on stderr must not break).
    static func runSeparately(_ executable: String, _ arguments: [String]) throws -> (code: Int32, stdout: String, stderr: String) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        // posix_spawn, nothing but the two files inherited (see `spawnAndWait`); errors after output.
        let code = try spawnAndWait(executable, arguments, environment: environment, stdout: out.path, stderr: err.path)
        return (code, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], "\(url.path) is not a JSON object")
    }

    static func parse(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    static func compact(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    /// Validates `document`, written to a new folder as report.json beside a copy of `listing`.
    static func validateCopy(_ document: Any, _ listing: URL) throws -> (code: Int32, output: String) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: dir.appendingPathComponent("report.json"))
        try FileManager.default.copyItem(at: listing, to: dir.appendingPathComponent(PopulationListing.fileName))
        return try validate(dir)
    }

    /// `value` with the value at `path` (object keys and array indexes) replaced by `change`'s result;
    /// nil removes an object's key.
    static func edit(_ value: Any, at path: [Any], _ change: (Any?) -> Any?) -> Any {
        guard let step = path.first else { return change(value) ?? NSNull() }
        let rest = Array(path.dropFirst())
        if var object = value as? [String: Any], let key = step as? String {
            object[key] = rest.isEmpty ? change(object[key]) : edit(object[key] ?? NSNull(), at: rest, change)
            return object
        }
        if var array = value as? [Any], let index = step as? Int, array.indices.contains(index) {
            array[index] = rest.isEmpty ? change(array[index]) ?? NSNull() : edit(array[index], at: rest, change)
            return array
        }
        Issue.record("no \(step) in the document")
        return value
    }
}
