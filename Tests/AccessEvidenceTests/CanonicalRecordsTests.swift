@testable import AccessEvidence
@testable import AccessEvidencePostgres
import Foundation
import Testing

/// The canonical record format: what hoop's readers export round-trips into the same report, the
/// digest catches an edit, and a converter's mistakes become data-quality issues naming file and line.
@Suite struct CanonicalRecordsTests {
    /// The sample's Q3 as canonical records.
    func export(_ store: String = sampleStorePath, to path: String, period: Period = q3) throws -> CanonicalExport.Result {
        let source = try openAnyGatewayStore(store)
        try StoreOrganization.select(in: source, period: period, asked: nil)
        return try CanonicalExport.write(from: source, period: period, to: path, exportedAt: date("2026-10-01T00:00:00Z"))
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func aReportFromTheCanonicalExportEqualsTheReportFromTheSample() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("q3.jsonl").path
        let result = try export(to: file)
        #expect(result.counts == ["header": 1, "identity": 14, "connection": 7, "access_rule": 2, "rule": 2, "policy_change": 5,
                                  "approval": 153, "session": 1247, "command": 1703, "output": 1221, "change": 7])
        // Owner-only: it holds commands and output unmasked, as the store does.
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)
        #expect(mode.intValue == 0o600)

        let (fromSQLite, sqliteOutput) = try sampleReport(sampleStorePath, in: dir, name: "sqlite")
        let (fromRecords, recordsOutput) = try sampleReport("jsonl:" + file, in: dir, name: "jsonl")
        #expect(try withoutProvenance(fromRecords) == withoutProvenance(fromSQLite))
        #expect(recordsOutput.document.summary.exceptions == sqliteOutput.document.summary.exceptions)
        #expect(recordsOutput.document.summary.exceptions == 38)
        // Every population file, byte for byte.
        let populations = dir.appendingPathComponent("sqlite/populations")
        let names = try FileManager.default.contentsOfDirectory(atPath: populations.path).sorted()
        #expect(names.count == 16)
        for name in names {
            #expect(try Data(contentsOf: populations.appendingPathComponent(name))
                    == Data(contentsOf: dir.appendingPathComponent("jsonl/populations/\(name)")), "\(name)")
        }

        // Where the records came from, as the auditor reads it.
        let source = recordsOutput.document.source
        #expect(source.kind == "jsonl" && source.location == file)
        #expect(source.sha256 == (try FileHash.sha256(path: file)))
        #expect(source.rowCounts["session"] == 1247 && source.sessionsInPeriod == 1247)
        let provenance = try #require(source.snapshot)
        #expect(provenance.extractedFrom == sampleStorePath && provenance.extractedAt == "2026-10-01T00:00:00Z" && provenance.verified)
        #expect(provenance.period == "2026-Q3" && provenance.tables["session"]?.rows == 1247)
        #expect(recordsOutput.document.reconciliation?.sessionsInStore == 1247)
    }

    @Test func anExportOfAnExportHoldsTheSameRecords() throws {
        let dir = try temporaryDirectory()
        let first = dir.appendingPathComponent("q3.jsonl").path
        let second = dir.appendingPathComponent("q3-again.jsonl.gz").path
        _ = try export(to: first)
        _ = try export("jsonl:" + first, to: second)
        let unzipped = dir.appendingPathComponent("q3-again.jsonl").path
        let run = try SchemaTests.run("/bin/sh", ["-c", "gzip -dc '\(second)' > '\(unzipped)'"])
        #expect(run.code == 0)
        let a = try lines(first), b = try lines(unzipped)
        #expect(a.count == b.count && a.count == 1247 + 1703 + 1221 + 153 + 14 + 7 + 2 + 2 + 5 + 7 + 1 + 1 + 1)
        // The header names its own source; every record after it is the same bytes, the digest too.
        #expect(a[0] != b[0] && b[0].contains(#""source":{"kind":"jsonl","location":"\#(first)""#))
        #expect(Array(a.dropFirst()).filter { !$0.hasPrefix(#"{"type":"digest""#) } == Array(b.dropFirst()).filter { !$0.hasPrefix(#"{"type":"digest""#) })
    }

    @Test func hoopsPostgreSQLExportsTheSameRecordsAsItsSQLiteCopy() throws {
        let db = try loadedDatabase()
        let dir = try temporaryDirectory()
        let fromSQLite = dir.appendingPathComponent("sqlite.jsonl").path, fromPostgres = dir.appendingPathComponent("pg.jsonl").path
        _ = try export(to: fromSQLite)
        _ = try export(url(db.location), to: fromPostgres)
        let a = try lines(fromSQLite), b = try lines(fromPostgres)
        #expect(b[0].contains(#""kind":"postgresql","location":"postgres://evidence_admin@127.0.0.1:\#(db.location.port)/\#(db.name)"#))
        #expect(!b[0].contains(db.location.password!))
        let records = { (lines: [String]) in lines.dropFirst().filter { !$0.hasPrefix(#"{"type":"digest""#) } }
        #expect(records(a) == records(b))
    }

    @Test func anEditedExportIsRefused() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("q3.jsonl").path
        _ = try export(to: file)
        var edited = try lines(file)
        let approved = try #require(edited.firstIndex { $0.hasPrefix(#"{"type":"approval""#) && $0.contains(#""status":"APPROVED""#) })
        edited[approved] = edited[approved].replacingOccurrences(of: #""status":"APPROVED""#, with: #""status":"REJECTED""#)
        let command = try #require(edited.firstIndex { $0.hasPrefix(#"{"type":"command""#) })
        edited.remove(at: command)
        try edited.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
        #expect(throws: StoreError.snapshotAltered(path: file, tables: ["approval records", "command records"])) {
            try sampleReport("jsonl:" + file, in: dir, name: "report")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("report").path))
    }

    @Test func anExportCutShortIsRefused() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("q3.jsonl").path
        _ = try export(to: file)
        // A copy that lost its tail: the digest record is gone.
        let kept = try lines(file).prefix(2_000)
        try (kept.joined(separator: "\n") + "\n").write(toFile: file, atomically: false, encoding: .utf8)
        #expect(throws: StoreError.refused(path: file, reason: "an export by access-evidence \(ToolInfo.version) ends without its digest record: the file was cut short (copy it again, or export again)")) {
            try sampleReport("jsonl:" + file, in: dir, name: "report")
        }
        // A gzip cut short is an error too, not a shorter file.
        let gz = dir.appendingPathComponent("q3.jsonl.gz").path
        _ = try export(to: gz)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: gz))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: gz))
        #expect(throws: StoreError.self) { try sampleReport("jsonl:" + gz, in: dir, name: "report-gz") }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("report").path))
    }

    @Test func aPeriodTheExportDoesNotCoverIsRefused() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("aug.jsonl").path
        _ = try export(to: file, period: try Period.parse("2026-08"))
        let run = try runExecutable(["report", "--store", "jsonl:" + file, "--period", "2026-Q3", "--out", dir.appendingPathComponent("r").path])
        #expect(run.code != 0)
        #expect(run.stderr.contains("\(file): the records were exported for 2026-08 [2026-08-01T00:00:00Z, 2026-09-01T00:00:00Z); 2026-Q3 is not inside it, so its report would miss sessions"), "\(run.stderr)")
        // A month inside it reads.
        let inside = try runExecutable(["report", "--store", "jsonl:" + file, "--period", "2026-08", "--out", dir.appendingPathComponent("r").path, "--quiet"])
        #expect(inside.code == 0, "\(inside.stderr)")
    }

    @Test func readsOnlyRegularFiles() throws {
        #expect(throws: StoreError.refused(path: "jsonl:-", reason: "canonical records are read from a file (the reader passes over it more than once); write them to a file first")) {
            try JSONLGatewayStore(location: "-")
        }
        let dir = try temporaryDirectory()
        #expect(throws: StoreError.unreadable(path: dir.path, reason: "not a regular file (a directory); a store is a file of canonical records (JSON lines, optionally gzip)")) {
            try JSONLGatewayStore(location: dir.path)
        }
        #expect(throws: StoreError.notFound(path: dir.appendingPathComponent("none.jsonl").path)) {
            try JSONLGatewayStore(location: dir.appendingPathComponent("none.jsonl").path)
        }
    }

    /// A converter's file: no header, no digest, and the mistakes a short script makes.
    @Test func aConvertersMistakesAreDataQualityIssuesWithFileAndLine() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("bastion.jsonl").path
        let records = [
            #"{"type":"identity","subject":"u-1","email":"ann@example.com","status":"active","groups":["dba"]}"#,
            #"{"type":"connection","name":"pg-prod","connection_type":"database","connection_subtype":"postgres","reviewer_groups":["dba"]}"#,
            #"{"type":"session","id":"s-1","created_at":"2026-07-02 09:00:00","ended_at":"2026-07-02T09:05:00Z","connection":"pg-prod","connection_type":"database","connection_subtype":"postgres","verb":"exec","actor":{"subject":"u-1","email":"ann@example.com"},"status":"done","exit_code":0}"#,
            #"{"type":"command","session":"s-1","index":0,"text":"SELECT 1","source":"script"}"#,
            #"{"type":"output","session":"s-1","at":"2026-07-02T09:00:01Z","stream":"o","base64":"AP8="}"#,
            #"{"type":"session","id":"s-2","connection":"pg-prod"}"#,
            #"{"type":"command","session":"s-9","text":"DROP TABLE x"}"#,
            #"{"type":"session","id":"s-3","created_at":"2026-07-03T10:00:00Z","connection":"pg-prod","exit_code":70000,"actor":{"subject":"u-1"}}"#,
            #"{"type":"audit","id":"x"}"#,
            #"{"type":"session","id":"s-4","created_at":"yesterday"}"#,
            #"{not json"#,
            #"  "#,
            #"{"id":"no-type"}"#,
            #"{"type":"session","id":"s-5","created_at":"2026-07-04T10:00:00Z","connection":"pg-prod","actor":{"subject":"u-1"}}"#,
            #"{"type":"command","session":"s-5","text":"whoami","at":"2026-07-04T10:00:02Z"}"#,
            #"{"type":"session","id":"s-6","created_at":"2026-07-05T10:0"#,
        ]
        try records.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let store = try JSONLGatewayStore(location: file)
        _ = try store.organizations(in: q3)
        let directory = try store.loadDirectory(for: q3)
        #expect(directory.users["u-1"]?.groups == ["dba"] && directory.connections["pg-prod"]?.reviewerGroups == ["dba"])
        var sessions: [SessionRecord] = []
        try store.forEachSession(in: q3) { sessions.append($0) }
        #expect(sessions.map(\.id) == ["s-1", "s-3", "s-5"])
        #expect(sessions[0].transcript.commands.map(\.text) == ["SELECT 1"] && sessions[0].transcript.commands[0].source == .script)
        #expect(sessions[0].transcript.output.map(\.bytes) == [[0, 255]])
        #expect(sessions[0].createdAt == date("2026-07-02T09:00:00Z") && sessions[0].protocol == .postgres)
        #expect(sessions[1].exitCode == nil)
        #expect(sessions[2].transcript.commands.map(\.recordedAt) == [date("2026-07-04T10:00:02Z")])
        #expect(try store.countSessions(in: q3).count == 3)
        #expect(store.dataQuality.map(\.description) == [
            "record.type row \(file):9: unknown record type 'audit'; the line is skipped",
            "session.created_at row \(file):10: not a timestamp: 'yesterday'",
            "record.json row \(file):11: malformed JSON at byte 2 (expected a key); the line is skipped",
            "record.type row \(file):13: no record type; the line is skipped",
            "record.json row \(file):16: the last line ends without a newline and is not complete JSON (the file may still be being written); skipped",
            "session.created_at row \(file):6: missing; the session is skipped",
            "command.session row \(file):7: belongs to session s-9 but does not follow its session record; skipped",
            "session.exit_code row \(file):8: 70000 is outside -32768…32767",
        ])
        let info = try store.describe()
        #expect(info.kind == "jsonl" && info.snapshot == nil && info.rowCounts["session"] == 5)
        #expect(info.sessionTally?.tested.counted == 3)
    }

    @Test func theSampleExportMatchesThePublishedSchema() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("q3.jsonl").path
        _ = try export(to: file)
        let result = try SchemaTests.run(SchemaTests.python, [SchemaTests.validator, "--records", file])
        #expect(result.code == 0, "\(result.output)")
        #expect(result.output.contains("4363 records valid"), "\(result.output)")

        // And the schema is not a formality: a bad record fails it, named by line.
        try (try lines(file).prefix(3) + [#"{"type":"session","id":"s","created_at":"2026-07-01T00:00:00Z","exit_code":70000}"#,
                                        #"{"type":"output","session":"s","at":"2026-07-01T00:00:01Z"}"#])
            .joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let bad = try SchemaTests.run(SchemaTests.python, [SchemaTests.validator, "--records", file])
        #expect(bad.code == 1)
        #expect(bad.output.contains("line 4:") && bad.output.contains("line 5:") && !bad.output.contains("line 3:"), "\(bad.output)")
    }
}

@Suite struct CanonicalRecordsREADMETests {
    /// The README's converted session, as printed there: its DROP TABLE is reported without approval.
    @Test func theREADMEsExampleIsReported() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let intro = try #require(readme.range(of: "A minimal converted session"))
        let open = try #require(readme.range(of: "```json\n", range: intro.upperBound..<readme.endIndex))
        let close = try #require(readme.range(of: "```\n", range: open.upperBound..<readme.endIndex))
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("converted.jsonl")
        try String(readme[open.upperBound..<close.lowerBound]).write(to: file, atomically: false, encoding: .utf8)
        let out = dir.appendingPathComponent("report")
        let run = try runExecutable(["report", "--store", "jsonl:" + file.path, "--period", "2026-Q3", "--out", out.path, "--quiet",
                                     "--generated-at", "2026-10-01T00:00:00Z"])
        #expect(run.code == 0, "\(run.stderr)")
        let population = try String(contentsOf: out.appendingPathComponent("populations/GW-CHG-01-approval.privileged-commands.csv"), encoding: .utf8)
        let rows = population.split(whereSeparator: \.isNewline).dropFirst()
        #expect(rows.count == 1)
        #expect(rows.first?.hasPrefix("s-1#1,s-1,ann@example.com,pg-prod,2026-07-02T09:00:00Z,fail,n/a,n/a,n/a,no-approval,DROP TABLE invoices,sql.ddl") == true, "\(population)")
    }
}
