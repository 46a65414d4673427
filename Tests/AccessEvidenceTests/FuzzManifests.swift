@testable import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

// Hostile manifests (`verify`) and alert state files (`alert --state`). A FIFO nobody writes to
// stands outside the report folder: a verify that opened a path it should not would wait on it
// forever, which the harness reports as a hang. Reading outside the folder is thereby observable.

/// A report folder in the case, a FIFO beside it, and the manifest's JSON to edit.
struct ManifestFixture {
    let fc: FuzzCase
    let fifo: String
    var manifest: [String: Any]
    var files: [[String: Any]]

    init(_ name: String) throws {
        fc = try storeCase(name)
        try writePreviousReport(fc)
        fifo = fc.dir.appendingPathComponent("outside.fifo").path
        try mkfifo(fifo)
        let data = try Data(contentsOf: URL(fileURLWithPath: fc.out + "/manifest.json"))
        manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        files = try #require(manifest["files"] as? [[String: Any]])
    }

    /// An entry for a real file (anywhere) with its true hash and size.
    static func entry(_ name: String, describing path: String) -> [String: Any] {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        return ["name": name, "sha256": sha256(file: path), "size": size]
    }

    func write(files: [[String: Any]]) throws {
        var m = manifest
        m["files"] = files
        try JSONSerialization.data(withJSONObject: m).write(to: URL(fileURLWithPath: fc.out + "/manifest.json"))
    }

    /// `verify` ends in `code` with `fragment` on stderr, reading nothing outside and changing nothing.
    func expectVerify(_ code: Int32, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectRefusal(fc, ["verify", fc.out], code: code, fragment: fragment, timeout: 15, sourceLocation: sourceLocation)
    }
}

@Suite struct FuzzManifests {
    @Test func parentTraversal() throws {
        var m = try ManifestFixture("manifest-parent-traversal")
        defer { m.fc.finish() }
        m.files += [ManifestFixture.entry("../../../../../../etc/passwd", describing: "/etc/passwd"),
                    ["name": "../outside.fifo", "sha256": String(repeating: "0", count: 64), "size": 0]]
        try m.write(files: m.files)
        try m.expectVerify(1, "not a path inside the folder")
    }

    @Test func absolutePaths() throws {
        var m = try ManifestFixture("manifest-absolute")
        defer { m.fc.finish() }
        m.files += [ManifestFixture.entry("/etc/passwd", describing: "/etc/passwd"),
                    ["name": m.fifo, "sha256": String(repeating: "0", count: 64), "size": 0]]
        try m.write(files: m.files)
        try m.expectVerify(1, "not a path inside the folder")
    }

    @Test func symbolicLinksInsidePointingOutside() throws {
        var m = try ManifestFixture("manifest-symlinks")
        defer { m.fc.finish() }
        try FileManager.default.createSymbolicLink(atPath: m.fc.out + "/passwd", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: m.fc.out + "/pipe.json", withDestinationPath: m.fifo)
        m.files += [ManifestFixture.entry("passwd", describing: "/etc/passwd"), ManifestFixture.entry("pipe.json", describing: "/dev/null")]
        try m.write(files: m.files)
        try m.expectVerify(1, "symbolic link")
    }

    @Test func symbolicLinkToAFolderOutside() throws {
        var m = try ManifestFixture("manifest-symlinked-folder")
        defer { m.fc.finish() }
        try FileManager.default.createSymbolicLink(atPath: m.fc.out + "/etc", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: m.fc.out + "/up", withDestinationPath: m.fc.dir.path)
        m.files += [ManifestFixture.entry("etc/passwd", describing: "/etc/passwd"), ManifestFixture.entry("up/outside.fifo", describing: "/dev/null")]
        try m.write(files: m.files)
        try m.expectVerify(1, "symbolic link")
    }

    @Test func fifosInsideTheFolder() throws {
        var m = try ManifestFixture("manifest-fifos-inside")
        defer { m.fc.finish() }
        try mkfifo(m.fc.out + "/listed.json")
        try mkfifo(m.fc.out + "/unlisted")
        m.files += [ManifestFixture.entry("listed.json", describing: "/dev/null")]
        try m.write(files: m.files)
        try m.expectVerify(1, "FIFO")
    }

    @Test func hundredMegabyteManifest() throws {
        let m = try ManifestFixture("manifest-100mb")
        defer { m.fc.finish() }
        // Sparse: costs no disk, and a reader that ignored the size limit would still be reading it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: m.fc.out + "/manifest.json"))
        try handle.truncate(atOffset: 100 << 20)
        try handle.close()
        try m.expectVerify(65, "64 MiB")
    }

    @Test func manifestIsAFIFOOrASymlink() throws {
        let m = try ManifestFixture("manifest-not-a-file")
        defer { m.fc.finish() }
        let path = m.fc.out + "/manifest.json"
        try FileManager.default.removeItem(atPath: path)
        try mkfifo(path)
        try m.expectVerify(65, "manifest.json")
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: m.fifo)
        try m.expectVerify(65, "manifest.json")
    }

    @Test(arguments: ["{\"files\": [", "", "null", "[]", "{\"files\": 7}", "{\"files\":[{\"name\":1e999}]}", "\u{FEFF}{}",
                      String(repeating: "[", count: 100_000)])
    func malformedManifest(_ text: String) throws {
        let m = try ManifestFixture("manifest-malformed")
        defer { m.fc.finish() }
        try Data(text.utf8).write(to: URL(fileURLWithPath: m.fc.out + "/manifest.json"))
        try m.expectVerify(65, "not a manifest")
    }

    /// A manifest listing a file twice describes no folder: verify must not pass it.
    @Test func duplicatedNames() throws {
        let m = try ManifestFixture("manifest-duplicates")
        defer { m.fc.finish() }
        let report = try #require(m.files.first { $0["name"] as? String == "report.json" })
        try m.write(files: m.files + [report])
        try m.expectVerify(1, "report.json")
        var wrong = report
        wrong["sha256"] = String(repeating: "a", count: 64)
        try m.write(files: m.files + [wrong])
        try m.expectVerify(1, "report.json")
    }

    @Test func namesThatAreNotPlainPaths() throws {
        var m = try ManifestFixture("manifest-odd-names")
        defer { m.fc.finish() }
        for name in ["", ".", "./report.json", "a//b", "report.json/", "report.json\u{0}x", "..", "sub/../../outside.fifo"] {
            m.files.append(["name": name, "sha256": String(repeating: "0", count: 64), "size": 0])
        }
        try m.write(files: m.files)
        try m.expectVerify(1, "not a path inside the folder")
    }

    @Test func controlCharactersInNamesAreShownAsCodes() throws {
        var m = try ManifestFixture("manifest-control-names")
        defer { m.fc.finish() }
        m.files.append(["name": "evil\u{1B}]0;pwned\u{7}\u{202E}\u{85}.json", "sha256": String(repeating: "0", count: 64), "size": 0])
        try m.write(files: m.files)
        try m.expectVerify(1, "[U+001B]")
    }

    @Test func tenThousandMissingFiles() throws {
        var m = try ManifestFixture("manifest-many-entries")
        defer { m.fc.finish() }
        for n in 0..<10_000 { m.files.append(["name": "missing-\(n).json", "sha256": String(repeating: "0", count: 64), "size": 0]) }
        try m.write(files: m.files)
        try m.expectVerify(1, "missing")
    }
}

// MARK: alert state files

/// An alert state made by a first `alert` run on the base store; `state` is its path.
struct StateFixture {
    let fc: FuzzCase
    let state: String

    /// The state is made once (in-process, for the base store) and copied, with the store it
    /// belongs to set to this case's copy of the store.
    init(_ name: String) throws {
        fc = try storeCase(name)
        state = fc.dir.appendingPathComponent("state.sqlite").path
        let base = try fuzzBaseStore()  // outside: the cache's lock is held while a fixture is made
        let pristine = try FixtureCache.shared.path("fuzz-state") { path in
            var run = ReportRun(storePath: base, period: q3, catalog: try shippedCatalog(), generatedAt: date(fuzzGeneratedAt))
            run.inputs = [OutputGuard.Use("--store", run.storePath)]
            var alert = AlertRun(report: run, statePath: path)
            alert.print = { _ in }
            _ = try alert.run()
        }
        try copyFile(pristine, state)
        let db = try SQLiteDatabase(path: state, mode: .create)
        try db.execute("UPDATE meta SET value = \(SQL.text(fc.storePath)) WHERE key = 'store'")
    }

    func arguments(at time: String, store: String? = nil) -> [String] {
        ["alert", "--store", store ?? fc.storePath, "--period", fuzzPeriod, "--state", state, "--generated-at", time,
         "--controls", controlsPath, "--format", "json"]
    }

    /// The second run: allowed outcomes; when it fails, the state is exactly as it was.
    @discardableResult
    func rerun(allowed: Set<Int32>, store: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> ChildResult {
        let before = sha256(file: state)
        let r = try fc.checkedRun(arguments(at: "2026-10-08T00:00:00Z", store: store), allowed: allowed, outFolder: false,
                                  mayChange: [state], sourceLocation: sourceLocation)
        if r.exited, r.status != 0, r.status != 1, sha256(file: state) != before {
            fc.fail("a failed alert run changed the state file", r, sourceLocation: sourceLocation)
        }
        return r
    }
}

@Suite struct FuzzStateFiles {
    static let hostileTimes = ["1e300", "-1e300", "-1e17", "9.3e15", "'text'", "NULL", "X'00FF'", "'NaN'"]

    /// Times in the state that no calendar holds: the alert still renders (ages are clamped, times shown or left out).
    @Test(arguments: hostileTimes)
    func hostileTimesInTheState(_ value: String) throws {
        let s = try StateFixture("state-time-\(value.filter { $0.isLetter || $0.isNumber || $0 == "-" })")
        defer { s.fc.finish() }
        do {
            let db = try SQLiteDatabase(path: s.state, mode: .create)
            try db.execute("UPDATE findings SET time = \(value), first_seen = \(value), last_seen = \(value), delivered_at = \(value)")
        }
        try s.rerun(allowed: [0, 65])
    }

    @Test func stateIsNotSQLite() throws {
        let fc = try storeCase("state-not-sqlite")
        defer { fc.finish() }
        let state = fc.dir.appendingPathComponent("state.sqlite").path
        try Data("just my notes, not a database\n".utf8).write(to: URL(fileURLWithPath: state))
        try expectRefusal(fc, ["alert", "--store", fc.storePath, "--period", fuzzPeriod, "--state", state, "--generated-at", fuzzGeneratedAt,
                               "--controls", controlsPath], code: 73, fragment: "is not an alert state file this tool wrote")
    }

    @Test func stateIsAFIFOOrAFolder() throws {
        let fc = try storeCase("state-fifo-folder")
        defer { fc.finish() }
        let fifo = fc.dir.appendingPathComponent("state.fifo").path, folder = fc.dir.appendingPathComponent("state.d").path
        try mkfifo(fifo)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (state, fragment) in [(fifo, "is a FIFO"), (folder, "is a folder")] {
            try expectRefusal(fc, ["alert", "--store", fc.storePath, "--period", fuzzPeriod, "--state", state, "--generated-at", fuzzGeneratedAt,
                                   "--controls", controlsPath], code: 73, fragment: fragment, timeout: 10)
        }
    }

    @Test func stateFromAnotherStore() throws {
        let s = try StateFixture("state-other-store")
        defer { s.fc.finish() }
        let other = s.fc.dir.appendingPathComponent("other.sqlite").path
        try copyFile(s.fc.storePath, other)
        let r = try s.rerun(allowed: [65], store: other)
        if r.exited, !r.stderrText.contains("belongs to store") { s.fc.fail("expected \"belongs to store\"", r) }
    }

    /// The state's recorded store is quoted in the refusal: control characters and secrets in it must not reach stderr raw.
    @Test func hostileValuesInTheStateMeta() throws {
        let s = try StateFixture("state-hostile-meta")
        defer { s.fc.finish() }
        do {
            let db = try SQLiteDatabase(path: s.state, mode: .create)
            try db.execute("UPDATE meta SET value = \(SQL.text("4111111111111111 \u{1B}[2J\u{202E} postgres://u:hunter2-secret@db")) WHERE key = 'store'")
        }
        try s.rerun(allowed: [65])
    }

    @Test func stateWithAFindingsTableOfAnotherShape() throws {
        let s = try StateFixture("state-other-shape")
        defer { s.fc.finish() }
        do {
            let db = try SQLiteDatabase(path: s.state, mode: .create)
            try db.execute("DROP TABLE findings; CREATE TABLE findings (fingerprint TEXT PRIMARY KEY, note BLOB)")
        }
        try s.rerun(allowed: [65])
    }

    @Test func stateRowsOfWrongTypesAndDuplicates() throws {
        let s = try StateFixture("state-wrong-types")
        defer { s.fc.finish() }
        do {
            let db = try SQLiteDatabase(path: s.state, mode: .create)
            try db.execute("""
                UPDATE findings SET control = X'00FF', reason = \(SQL.text("\u{0}\u{1B}[2J <script>")), severity = 1e300, owner = NULL WHERE rowid % 2 = 0;
                INSERT INTO meta VALUES ('extra', 'x');
                """)
        }
        try s.rerun(allowed: [0, 1, 65])
    }

    /// Alerts on the store whose every text holds markup, formulas, controls and secrets: nothing raw on stdout or in the state.
    @Test func alertOnTheMarkupAndSecretsStore() throws {
        let fc = try FuzzCase("alert-secrets-store")
        defer { fc.finish() }
        try copyFile(try fuzzBaseStore(), fc.storePath)
        do {
            let db = try SQLiteDatabase(path: fc.storePath, mode: .create)
            try HostileStores.markupAndSecrets.mutate(db)
        }
        let state = fc.dir.appendingPathComponent("state.sqlite").path
        for format in ["text", "markdown", "json", "slack"] {
            try fc.checkedRun(["alert", "--store", fc.storePath, "--period", fuzzPeriod, "--state", state, "--generated-at", fuzzGeneratedAt,
                               "--controls", controlsPath, "--format", format], allowed: [0], outFolder: false, mayChange: [state])
        }
        let leaks = secretLeaks([UInt8](try Data(contentsOf: URL(fileURLWithPath: state))))
        if !leaks.isEmpty { fc.fail("the alert state file holds planted secrets: \(leaks.prefix(3))") }
    }
}
