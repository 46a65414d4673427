@testable import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Raw SQL on a finished fixture store: what the writer cannot express (BLOBs, duplicates, views).
func tamper(_ path: String, _ sql: String) throws {
    let db = try SQLiteDatabase(path: path, mode: .create)
    try db.execute(sql)
}

/// Recreates `table` without its key and indexes, so rows may repeat as a damaged store's do.
func dropConstraints(_ path: String, _ table: String) throws {
    try tamper(path, """
        DROP INDEX IF EXISTS reviews_session;
        CREATE TABLE copy_of_\(table) AS SELECT * FROM \(table);
        DROP TABLE \(table);
        ALTER TABLE copy_of_\(table) RENAME TO \(table);
        """)
}

/// A report of `store` into a fresh folder, in every format.
@discardableResult
func hostileReport(_ store: String, period: Period = q3, generatedAt: Date = date("2026-10-01T00:00:00Z")) throws -> ReportRun.Output {
    var run = ReportRun(storePath: store, period: period, catalog: try shippedCatalog(), generatedAt: generatedAt)
    run.formats = [.json, .html, .xlsx]
    run.templates = packageRoot.appendingPathComponent("Templates").path
    return try run.write(to: try temporaryDirectory().appendingPathComponent("r").path)
}

func issues(_ issues: [DataQualityIssue]) -> [String] { issues.map { "\($0.table).\($0.column) \($0.rowID)" } }

@Suite(.serialized) struct HostileStoreTests {
    // MARK: 1. store file kinds

    // Hang guards, not speed targets: wide enough for a loaded 2-core machine running the whole suite
    // (the hoop API suite's Python fake competes for it), far short of forever.
    @Test(.timeLimit(.minutes(3))) func onlyRegularFilesAreStores() throws {
        let dir = try temporaryDirectory()
        let fifo = dir.appendingPathComponent("store.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, kind) in [(fifo, "a FIFO"), (dir.path, "a directory"), ("/dev/null", "a character device")] {
            do {
                _ = try SQLiteGatewayStore(path: path)
                Issue.record("\(path) opened as a store")
            } catch let error as StoreError {
                #expect(error == .unreadable(path: path, reason: "not a regular file (\(kind)); a store is an SQLite file"))
            }
        }
        // On the command line: one line, exit 66, and no hang.
        let run = try runExecutable(["report", "--store", fifo, "--period", "2026-Q3", "--out", dir.appendingPathComponent("r").path])
        #expect(run.code == 66)
        #expect(run.stderr == "access-evidence: \(fifo): cannot open: not a regular file (a FIFO); a store is an SQLite file\n")
    }

    // MARK: 2. tables only

    @Test(.timeLimit(.minutes(3))) func layoutTablesMustBeOrdinaryTables() throws {
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z")
        try f.finish()
        let columns = GatewaySchema.table(named: "sessions")!.columns.map(\.0)
        // A view over a recursive CTE that never ends: reading it would hang the run.
        try tamper(f.path, """
            DROP TABLE sessions;
            CREATE VIEW sessions AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
            SELECT \(columns.map { $0 == "created_at" ? "'2026-07-01T10:00:00Z' AS created_at" : "i AS \($0)" }.joined(separator: ", ")) FROM n;
            """)
        do {
            _ = try SQLiteGatewayStore(path: f.path)
            Issue.record("a view was read as the sessions table")
        } catch let error as StoreError {
            #expect(error.description == "\(f.path): not a gateway store: sessions is a view; every table of the layout must be an ordinary table holding its rows")
        }
        let run = try runExecutable(["report", "--store", f.path, "--period", "2026-Q3", "--out", f.directory.appendingPathComponent("r").path])
        #expect(run.code == 65)
        #expect(run.stderr.contains("sessions is a view") && run.stderr.split(separator: "\n").count == 1)

        // A virtual table runs a module's code on every read (when this SQLite has FTS5).
        let g = try StoreFixture()
        try g.finish()
        if (try? tamper(g.path, "DROP TABLE users; CREATE VIRTUAL TABLE users USING fts5(id, subject, email, name, status, created_at, updated_at)")) != nil {
            #expect(throws: StoreError.refused(path: g.path, reason: "not a gateway store: users is a virtual table; every table of the layout must be an ordinary table holding its rows")) {
                try SQLiteGatewayStore(path: g.path)
            }
        }
    }

    // MARK: 3. journal and WAL

    @Test func aHotJournalIsRefusedWithAnExplanation() throws {
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z")
        try f.finish()
        // Freeze a write in flight: a transaction that spilled pages into the file, copied with its journal.
        let copy = try temporaryDirectory()
        do {
            let db = try SQLiteDatabase(path: f.path, mode: .create)
            try db.execute("PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1; BEGIN")
            for i in 0..<2_000 { try db.execute("INSERT INTO events (id, event_type, payload, occurred_at) VALUES ('e\(i)', 'x', '\(String(repeating: "y", count: 200))', '2026-07-01')") }
            let journal = try FileManager.default.attributesOfItem(atPath: f.path + "-journal")
            try #require((journal[.size] as? Int ?? 0) > 0, "the transaction spilled into the file, with its journal")
            for name in ["store.sqlite", "store.sqlite-journal"] {
                try FileManager.default.copyItem(atPath: f.directory.appendingPathComponent(name).path, toPath: copy.appendingPathComponent(name).path)
            }
            try db.execute("ROLLBACK")
        }
        let path = copy.appendingPathComponent("store.sqlite").path
        do {
            _ = try SQLiteGatewayStore(path: path)
            Issue.record("a store with a hot journal was opened")
        } catch let error as StoreError {
            #expect(error.description.hasPrefix("\(path)-journal: a rollback journal is present: a write to the store was interrupted"))
            #expect(error.description.contains("open the store once with the gateway or sqlite3"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: copy.path).sorted() == ["store.sqlite", "store.sqlite-journal"])
    }

    @Test func aWALStoreIsReadWithItsLogHashedAndNothingCreated() throws {
        let f = try StoreFixture()
        try f.session("in-file", created: "2026-07-01T10:00:00Z")
        try f.finish()
        // A WAL-mode store whose last session lives only in the log (no checkpoint yet).
        let withLog = try temporaryDirectory(), withoutShm = try temporaryDirectory(), alone = try temporaryDirectory()
        do {
            let db = try SQLiteDatabase(path: f.path, mode: .create)
            try db.execute("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0")
            try db.execute("INSERT INTO sessions (id, connection, connection_type, connection_subtype, verb, user_id, user_email, status, created_at) VALUES ('in-log', 'pg-prod', 'database', 'postgres', 'exec', 'okta|u1', 'u1@acme.example', 'done', '2026-07-02T10:00:00Z')")
            for (dir, names) in [(withLog, ["", "-wal", "-shm"]), (withoutShm, ["", "-wal"]), (alone, [""])] {
                for suffix in names {
                    try FileManager.default.copyItem(atPath: f.path + suffix, toPath: dir.appendingPathComponent("store.sqlite" + suffix).path)
                }
            }
        }
        func listing(_ dir: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

        let full = withLog.appendingPathComponent("store.sqlite").path
        let before = try listing(withLog)
        let fullReport = try hostileReport(full)
        #expect(try listing(withLog) == before)
        #expect(fullReport.analysis.sessionsAnalysed == 2)

        let main = alone.appendingPathComponent("store.sqlite").path
        let mainBytes = try Data(contentsOf: URL(fileURLWithPath: main))
        let mainReport = try hostileReport(main)
        #expect(try listing(alone) == ["store.sqlite"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: main)) == mainBytes)
        #expect(mainReport.analysis.sessionsAnalysed == 1)
        // Different inputs, different hashes: the log is hashed after the file.
        #expect(mainReport.document.source.sha256 == (try FileHash.sha256(path: main)))
        #expect(fullReport.document.source.sha256 == (try FileHash.sha256(paths: [full, full + "-wal"])))
        #expect(fullReport.document.source.sha256 != mainReport.document.source.sha256)

        let noShm = withoutShm.appendingPathComponent("store.sqlite").path
        do {
            _ = try SQLiteGatewayStore(path: noShm)
            Issue.record("a -wal without -shm was opened")
        } catch let error as StoreError {
            #expect(error.description.hasPrefix("\(noShm)-wal: a write-ahead log is present without its -shm index: SQLite would create \(noShm)-shm"))
        }
        #expect(try listing(withoutShm) == ["store.sqlite", "store.sqlite-wal"])
    }

    // MARK: 4. BLOBs in text cells

    @Test func blobsInTextCellsAreDataQualityFindings() throws {
        let f = try StoreFixture()
        try f.session("s-review", created: "2026-07-01T10:00:00Z")
        try f.review("r1", session: "s-review", created: "2026-07-01T09:59:00Z", decisions: [("dba", "APPROVED", "okta|boss", "2026-07-01T09:59:30Z")])
        try f.session("s-metric", created: "2026-07-01T10:01:00Z")
        try f.writer.insert("session_metrics", ["id": .text("m1"), "session_id": .text("s-metric"), "info_type": .text("EMAIL"),
                                                "count_masked": .int(1), "count_analyzed": .int(2)])
        try f.session("s-connection", created: "2026-07-01T10:02:00Z")
        try f.session("s-id", created: "2026-07-01T10:03:00Z")
        try f.session("s-created", created: "2026-07-01T10:04:00Z")
        try f.session("good", created: "2026-07-01T10:05:00Z")
        try f.user("okta|u1", email: "u1@acme.example")
        try f.finish()
        try tamper(f.path, """
            UPDATE review_groups SET group_name = X'00FF' WHERE id = 'r1-g0';
            UPDATE session_metrics SET info_type = X'DEADBEEF' WHERE id = 'm1';
            UPDATE sessions SET connection = X'01', exit_code = X'02' WHERE id = 's-connection';
            UPDATE sessions SET id = X'0A0B' WHERE id = 's-id';
            UPDATE sessions SET created_at = X'03' WHERE id = 's-created';
            UPDATE users SET email = X'04';
            """)
        let output = try hostileReport(f.path)
        let found = issues(output.document.dataQuality)
        for expected in ["review_groups.group_name r1-g0", "session_metrics.info_type m1", "sessions.connection s-connection",
                         "sessions.exit_code s-connection", "sessions.id x'0a0b'", "sessions.created_at s-created", "users.email id-okta|u1"] {
            #expect(found.contains(expected), "\(expected) in \(found)")
        }
        #expect(output.document.dataQuality.first { $0.rowID == "r1-g0" }?.problem == "a BLOB (2 bytes) where text is expected; ignored")
        // The rows are still tested, the BLOB id under its hex form; only the BLOB created_at has no period.
        #expect(output.analysis.sessionsAnalysed == 5)
        #expect(output.document.source.sessionsInPeriod == 5)
    }

    // MARK: 5. integers

    @Test func outOfRangeIntegersAreIgnoredNotTrapped() throws {
        let f = try StoreFixture()
        try f.user("okta|u1", email: "u1@acme.example")
        try f.session("huge", created: "2026-07-01T10:00:00Z", exitCode: 99_999, metrics: """
            {"data_masking":{"info_types":{"EMAIL":9223372036854775807,"PHONE":1e300,"SSN":-5,"IBAN":1.5,"CARD":3}},\
            "data_analyzer":{"EMAIL":1e300,"CARD":4,"SSN":"12x"}}
            """)
        for (i, (masked, analyzed)) in [("9223372036854775807", "-1"), ("1e300", "2.5"), ("5", "7")].enumerated() {
            try f.writer.insert("session_metrics", ["id": .text("m\(i)"), "session_id": .text("huge"), "info_type": .text("T\(i)")])
            try f.writer.db.execute("UPDATE session_metrics SET count_masked = \(masked), count_analyzed = \(analyzed) WHERE id = 'm\(i)'")
        }
        try f.session("grant", verb: "connect", created: "2026-07-01T09:00:00Z")
        try f.review("r1", session: "grant", type: "jit", status: "APPROVED", created: "2026-07-01T09:00:00Z",
                     decisions: [("dba", "APPROVED", "okta|boss", "2026-07-01T09:01:00Z")])
        try f.writer.insert("connections", ["id": .text("c1"), "name": .text("pg-prod"), "type": .text("database"), "subtype": .text("postgres")])
        try f.finish()
        try tamper(f.path, """
            UPDATE reviews SET access_duration_sec = 9223372036854775807, min_approvals = -3 WHERE id = 'r1';
            UPDATE review_groups SET forced_review = 1e300 WHERE review_id = 'r1';
            UPDATE connections SET min_review_approvals = 1e300, access_max_duration = 'abc';
            """)
        let output = try hostileReport(f.path)
        let byRow = Dictionary(grouping: output.document.dataQuality) { "\($0.table).\($0.column) \($0.rowID)" }.mapValues { $0.map(\.problem) }
        #expect(byRow["sessions.metrics huge"]?.sorted() == [
            "data_analyzer.EMAIL 1e+300 is not a whole number in 0…1000000000000; ignored",
            "data_analyzer.SSN '12x' is not a whole number in 0…1000000000000; ignored",
            "data_masking.info_types.EMAIL 9223372036854775807 is not a whole number in 0…1000000000000; ignored",
            "data_masking.info_types.IBAN 1.5 is not a whole number in 0…1000000000000; ignored",
            "data_masking.info_types.PHONE 1e+300 is not a whole number in 0…1000000000000; ignored",
            "data_masking.info_types.SSN -5 is not a whole number in 0…1000000000000; ignored",
        ])
        for key in ["sessions.exit_code huge", "session_metrics.count_masked m0", "session_metrics.count_analyzed m0",
                    "session_metrics.count_masked m1", "session_metrics.count_analyzed m1", "reviews.access_duration_sec r1",
                    "reviews.min_approvals r1", "review_groups.forced_review r1-g0", "connections.min_review_approvals c1",
                    "connections.access_max_duration c1"] {
            #expect(byRow[key] != nil, "\(key)")
        }
        // What is in range is kept: CARD 3 masked of 4 detected, T2 5 masked of 7 detected.
        let session = try readAll(f.path).sessions.first { $0.id == "huge" }!
        #expect(session.masking.masked == ["CARD": 3, "T2": 5])
        #expect(session.masking.detected == ["CARD": 4, "T2": 7])
        #expect(session.exitCode == nil)
        #expect(MaskingCounters.saturatingSum([Int.max, 1, 5]) == Int.max)
        #expect(MaskingCounters(masked: ["A": Int.max, "B": Int.max]).totalMasked == Int.max)
    }

    // MARK: 6. times

    @Test func implausibleTimesAreDataQualityFindings() throws {
        let f = try StoreFixture()
        try f.user("okta|u1", email: "u1@acme.example", status: "inactive", updated: "0001-01-01T00:00:00Z")
        try f.session("exec-huge", created: "2026-07-01T10:00:00Z", script: "ls", stream: recording([(1e300, "o", "hi")]))
        try f.session("connect-negative", type: "application", subtype: "ssh", verb: "connect", created: "2026-07-01T10:01:00Z",
                      stream: recording([(-1e17, "i", "sudo ls\r")]))
        try f.session("jitter", type: "application", subtype: "ssh", verb: "connect", created: "2026-07-01T10:02:00Z",
                      stream: recording([(-0.5, "i", "whoami\r"), (2_678_400, "o", "root")]))
        try f.session("ended-far", created: "2026-07-01T10:03:00Z", ended: "9999-12-31T00:00:00Z")
        try f.session("review-old", created: "2026-07-01T10:04:00Z")
        try f.review("r-old", session: "review-old", created: "1999-12-31T23:59:59Z", decisions: [("dba", "APPROVED", "okta|boss", "2150-01-01T00:00:00Z")])
        try f.finish()
        let output = try hostileReport(f.path)
        let problems = Dictionary(output.document.dataQuality.map { ("\($0.table).\($0.column) \($0.rowID)", $0.problem) }) { a, _ in a }
        #expect(problems["blobs.blob_stream session-stream of exec-huge"]?.contains("event time 1e+300 s is outside 0 to 2678400 s (31 days)") == true)
        #expect(problems["blobs.blob_stream session-stream of connect-negative"]?.contains("event time -1e+17 s is outside") == true)
        #expect(problems["sessions.ended_at ended-far"] == "'9999-12-31T00:00:00Z' is outside the years 2000–2100; treated as unreadable")
        #expect(problems["reviews.created_at r-old"] == "'1999-12-31T23:59:59Z' is outside the years 2000–2100; treated as unreadable")
        #expect(problems["users.updated_at id-okta|u1"] == "'0001-01-01T00:00:00Z' is outside the years 2000–2100; treated as unreadable")
        #expect(problems["blobs.blob_stream session-stream of jitter"] == nil)
        // Jitter before the start reads as the start; 31 days is the last offset taken.
        let jitter = try readAll(f.path).sessions.first { $0.id == "jitter" }!
        #expect(jitter.transcript.commands.first?.recordedAt == date("2026-07-01T10:02:00Z"))
        #expect(jitter.transcript.output.first?.at == date("2026-08-01T10:02:00Z"))
        // NaN and infinity are not JSON numbers; 1e400 overflows to infinity and is refused as such.
        for junk in ["[[NaN,\"o\",\"aGk=\"]]", "[[1e400,\"o\",\"aGk=\"]]", "[[-2,\"o\",\"aGk=\"]]"] {
            #expect(throws: HoopRecording.DecodeError.self, "\(junk)") { try HoopRecording.decode(Array(junk.utf8)) }
        }
    }

    @Test func aSessionCreatedOutsideThePlausibleYearsIsSkippedAndReconciled() throws {
        let f = try StoreFixture()
        try f.session("y1999", created: "1999-06-01T00:00:00Z")
        try f.finish()
        let output = try hostileReport(f.path, period: try Period.parse("1999"))
        #expect(output.analysis.sessionsAnalysed == 0)
        #expect(issues(output.document.dataQuality) == ["sessions.created_at y1999"])
        let r = try #require(output.document.reconciliation)
        #expect(r.sessionsInStore == 1 && r.sessionsTested == 0 && r.skippedUnreadable == 1)
        #expect(r.components == ["skippedUnreadableCreatedAt": 1])
        #expect(!r.explanation.contains("Every session"))
    }

    // MARK: 7. alert state

    static let damagedTimes: [(column: String, value: String)] = [
        ("first_seen", "1e300"), ("first_seen", "-1e300"), ("first_seen", "-1e17"), ("first_seen", "'NaN'"),
        ("last_seen", "'yesterday'"), ("time", "1e300"), ("delivered_at", "-1e17"), ("time", "NULL"),
    ]

    @Test(arguments: damagedTimes) func aDamagedAlertStateIsRefused(_ damage: (column: String, value: String)) throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("state.sqlite").path
        let now = date("2026-10-01T00:00:00Z")
        do {
            let state = try AlertState(path: path, store: "s", catalogSHA256: "c", lockTimeout: 1)
            let entry = AlertState.Entry(fingerprint: "fp1", control: "GW-LOG-01", test: "t", item: "i", reasonCode: "x", reason: "r",
                                         severity: "low", owner: "o", identity: "", resource: "", time: now, firstSeen: now,
                                         lastSeen: now, resolvedAt: nil, deliveredAt: nil)
            try state.advance(new: [entry], stillOpen: [], resolved: [], at: now)
            try state.commit()
        }
        try tamper(path, "UPDATE findings SET \(damage.column) = \(damage.value)")
        let state = try AlertState(path: path, store: "s", catalogSHA256: "c", lockTimeout: 1)
        defer { state.rollback() }
        do {
            _ = try state.openEntries()
            Issue.record("a damaged \(damage.column) was loaded")
        } catch let AlertError.state(message) {
            let shown = damage.value == "NULL" ? "is missing" : "is not a time"
            #expect(message.hasPrefix("\(path): finding fp1: \(damage.column) "))
            #expect(message.hasSuffix("\(shown); the state file is damaged"))
        }
    }

    @Test func anAlertRunOnADamagedStateExits65() throws {
        let dir = try temporaryDirectory()
        let state = dir.appendingPathComponent("alerts.sqlite").path
        let first = try runExecutable(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", state,
                                       "--generated-at", "2026-10-01T00:00:00Z"])
        #expect(first.code == 0)
        try tamper(state, "UPDATE findings SET first_seen = -1e300")
        let second = try runExecutable(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", state,
                                        "--generated-at", "2026-10-08T00:00:00Z"])
        #expect(second.code == 65)
        #expect(second.stderr.contains(": first_seen -1e+300 is not a time; the state file is damaged"))
        #expect(second.stderr.split(separator: "\n").count == 1)
    }

    // MARK: 8. years out of range

    @Test func periodsAndTimesStayWithinFourDigitYears() throws {
        for (spec, zone) in [("9999", "UTC"), ("9999-12", "UTC"), ("9999-12", "America/New_York"), ("9999-Q4", "UTC"),
                             ("1969", "UTC"), ("0000", "UTC"), ("0999-01", "UTC")] {
            #expect(throws: PeriodError.self, "\(spec) \(zone)") { try Period.parse(spec, timeZone: zone) }
        }
        #expect(Timestamp.format(try Period.parse("9999-11").end) == "9999-12-01T00:00:00Z")
        #expect(Timestamp.format(try Period.parse("1970", timeZone: "Asia/Tokyo").start) == "1969-12-31T15:00:00Z")
        for (from, to) in [("0000-01-01", "2026-01-01"), ("1969-12-31T23:00:00Z", "2026-01-01"), ("2026-01-01", "9999-12-31T23:00:00-05:00"),
                           ("2026-01-01", "9999-12-31T23:30:00")] {
            #expect(throws: PeriodError.self, "\(from) \(to)") { try Period.parse(from: from, to: to, timeZone: "America/New_York") }
        }
        do {
            _ = try Period.parse(from: "0000-01-01", to: "2026-01-01")
        } catch let error as PeriodError {
            #expect(error.description == "--from '0000-01-01' is outside the years 1970–9999 (in UTC)")
        }
        #expect(throws: PeriodError.self) { try Timestamp.parseChecked("10000-01-01T00:00:00Z", name: "--generated-at") }
        for text in ["0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00", "10000-01-01T00:00:00Z"] {
            #expect(Timestamp.parse(text) == nil, "\(text)")
        }
        #expect(Timestamp.parse("9999-12-31T23:59:59.999Z") != nil)
        // Whatever date reaches it, format prints a four-digit year and never traps.
        for seconds in [1e300, -1e300, .nan, .infinity, -.infinity, -62_167_219_200 - 86_400, 253_402_300_800, 1e17, -1e17] {
            let text = Timestamp.format(Date(timeIntervalSince1970: seconds))
            #expect(text.utf8.count == 20 || text.utf8.count == 24, "\(seconds): \(text)")
            #expect(text.prefix(4).allSatisfy(\.isNumber) && text.dropFirst(4).first == "-", "\(seconds): \(text)")
        }
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1e300)) == "0000-01-01T00:00:00Z")
    }

    @Test func theWorkbookTakesAnyPeriodAndRunTime() throws {
        // Periods the parser now refuses, built directly: the workbook writes them instead of trapping.
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z")
        try f.finish()
        // 9999-12-31 in New York: it ends at 10000-01-01T05:00Z.
        let last = Period(label: "last", start: Date(timeIntervalSince1970: 253_402_218_000), end: Date(timeIntervalSince1970: 253_402_318_800), timeZone: "UTC")
        let output = try hostileReport(f.path, period: last, generatedAt: Date(timeIntervalSince1970: 1e17))
        #expect(output.document.period.end == "9999-12-31T23:59:59.999Z")
        #expect(output.document.generatedAt == "9999-12-31T23:59:59.999Z")
        // The first day of year 0 east of UTC starts in year -1.
        let first = Period(label: "first", start: Date(timeIntervalSince1970: -62_167_219_200 - 3_600), end: Date(timeIntervalSince1970: -62_167_219_200 + 82_800), timeZone: "UTC")
        #expect(try hostileReport(f.path, period: first, generatedAt: Date(timeIntervalSince1970: -1e17)).document.period.start == "0000-01-01T00:00:00Z")
    }

    @Test func theCommandLineRefusesYearsOutOfRange() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("r").path
        for args in [["--period", "9999"], ["--period", "2026-Q3", "--generated-at", "10000-01-01T00:00:00Z"],
                     ["--period", "2026-Q3", "--generated-at", "0000-06-01T00:00:00Z"], ["--from", "0001-01-01", "--to", "2026-01-01"],
                     ["--period", "9999-12", "--timezone", "America/New_York"]] {
            let run = try runExecutable(["report", "--store", sampleStorePath, "--out", out, "--format", "xlsx", "--quiet"] + args)
            #expect(run.code == 64, "\(args): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(args): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    // MARK: 9. template cycles

    @Test func templateCyclesAreRefusedWhenLoaded() throws {
        func folder(_ files: [String: String]) throws -> String {
            let dir = try temporaryDirectory()
            for (name, text) in files { try text.write(to: dir.appendingPathComponent(name + ".mustache"), atomically: true, encoding: .utf8) }
            return dir.path
        }
        func refusal(_ files: [String: String]) throws -> String? {
            let dir = try folder(files)
            do {
                _ = try HTMLReport.templates(directory: dir)
                return nil
            } catch let error as TemplateError {
                return error.description.replacingOccurrences(of: dir, with: "DIR")
            }
        }
        #expect(try refusal(["report": "<p>{{> report}}</p>"]) == "DIR: the templates include each other in a cycle: report → report")
        #expect(try refusal(["report": "{{> a}}", "a": "{{#x}}{{> b}}{{/x}}", "b": "{{^y}}{{> a}}{{/y}}"])
                == "DIR: the templates include each other in a cycle: a → b → a")
        #expect(try refusal(["report": "{{<report}}{{$t}}x{{/t}}{{/report}}"]) == "DIR: the templates include each other in a cycle: report → report")
        #expect(try refusal(["report": "{{=<% %>=}}<%> report%>"]) == "DIR: the templates include each other in a cycle: report → report")
        #expect(try refusal(["report": "{{>*name}}"]) == "DIR/report.mustache: the dynamic partial {{>*name}} is not supported: the report's data would choose the template")
        // Shared partials and partials the folder lacks are fine.
        #expect(try refusal(["report": "{{> a}}{{> b}}{{> missing}}", "a": "{{> c}}", "b": "{{> c}}", "c": "c"]) == nil)
        #expect(try refusal(try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Templates").path)
            .reduce(into: [String: String]()) { files, name in
                files[String(name.dropLast(".mustache".count))] = try String(contentsOfFile: packageRoot.appendingPathComponent("Templates/\(name)").path, encoding: .utf8)
            }) == nil)
        // On the command line: one line, exit 65, no crash.
        let dir = try folder(["report": "{{> a}}", "a": "{{> report}}"])
        let run = try runExecutable(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--format", "html", "--templates", dir,
                                     "--out", try temporaryDirectory().appendingPathComponent("r").path])
        #expect(run.code == 65)
        #expect(run.stderr == "access-evidence: \(dir): the templates include each other in a cycle: a → report → a\n")
    }

    // MARK: 10. catalog and exceptions

    @Test func idsThatNameSheetsAreValidated() throws {
        let controls = """
        controls:
          - id: GW-IAM-01'
            title: One
            description: d
            owner: o
            frequency: weekly
            criteria: [CC6.1]
            tests:
              - test: identity.attribution
          - id: "Sheet[1]"
            title: Two
            description: d
            owner: o
            frequency: weekly
            criteria: [CC6.1]
            tests:
              - test: identity.attribution
        """
        let dir = try catalogFolder(controls: controls, file: "controls.yaml")
        do {
            _ = try CatalogLoader.load(directory: dir)
            Issue.record("the catalog loaded")
        } catch let error as CatalogError {
            let file = dir + "/controls.yaml"
            #expect(error.problems == [
                "\(file):2:9: control id 'GW-IAM-01'' must be 1 to 30 letters, digits, '.', '_' or '-', starting with a letter or digit",
                "\(file):10:9: control id 'Sheet[1]' must be 1 to 30 letters, digits, '.', '_' or '-', starting with a letter or digit",
            ])
        }
        let shipped = try shippedCatalog()
        #expect(shipped.controls.allSatisfy { CatalogLoader.isSafeID($0.id) } && shipped.criteria.allSatisfy { CatalogLoader.isSafeID($0.id) })
        #expect(!CatalogLoader.isSafeID("") && !CatalogLoader.isSafeID(".x") && !CatalogLoader.isSafeID(String(repeating: "a", count: 31)))
    }

    @Test func duplicateAcceptedExceptionIdsAreRefused() throws {
        let path = try temporaryDirectory().appendingPathComponent("x.yaml").path
        try """
        exceptions:
          - id: AE-1
            control: GW-IAM-01
            reason: r
            approver: a
            ticket: t
            expires: 2026-12-31
          - id: AE-1
            control: GW-IAM-01
            reason: other
            approver: a
            ticket: t
            expires: 2026-12-31
        """.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try AcceptedExceptions.load(path: path, controls: ["GW-IAM-01"])
            Issue.record("duplicate ids were accepted")
        } catch let error as CatalogError {
            #expect(error.problems == ["\(path):8:9: duplicate accepted-exception id 'AE-1' (first at line 2)"])
        }
    }

    // MARK: 11. data quality and reconciliation

    @Test func identicalIssuesAreListedOnceAndTheListIsBounded() throws {
        let f = try StoreFixture()
        // A JIT review is read twice, as a grant and as its session's own review: its problem once.
        try f.session("jit", verb: "connect", created: "2026-07-01T09:00:00Z")
        try f.review("r1", session: "jit", type: "jit", status: "APPROVED", created: "2026-07-01T09:00:00Z", expires: "2026-07-01T11:00:00Z",
                     decisions: [("dba", "APPROVED", "okta|boss", "2026-07-01T09:01:00Z")])
        for i in 0..<1_205 { try f.session(String(format: "bad-%04d", i), created: "2026-07-02T10:00:00Z", metrics: "{not json") }
        try f.finish()
        try tamper(f.path, "UPDATE reviews SET time_window = '{\"configuration\":{\"start_time\":\"25:00\",\"end_time\":\"x\"}}'")
        let output = try hostileReport(f.path)
        let quality = output.document.dataQuality
        #expect(quality.filter { $0.table == "reviews" }.count == 1)
        #expect(quality.count == 1_001)
        #expect(quality.filter { $0.column == "metrics" }.count == 1_000)
        #expect(quality.contains(DataQualityIssue(table: "sessions", column: "metrics", rowID: "(not listed)",
                                                  problem: "206 more issues in sessions.metrics not listed: the report lists the first 1000 data-quality issues")))
        #expect(output.document.summary.dataQualityIssues == 1_001)
    }

    @Test func theReconciliationExplainsEachCauseAndClaimsCompletenessOnlyWhenNoneApplies() throws {
        func store(_ extra: (StoreFixture) throws -> Void) throws -> StoreFixture {
            let f = try StoreFixture()
            try f.session("a", created: "2026-07-01T10:00:00Z")
            try f.session("dup", created: "2026-07-02T10:00:00Z")
            // In the period (00:30 UTC) but, as text, before the SQL range's start.
            try f.session("offset", created: "2026-06-30T23:30:00-01:00")
            try extra(f)
            try f.finish()
            try dropConstraints(f.path, "sessions")
            try tamper(f.path, "INSERT INTO sessions SELECT * FROM sessions WHERE id = 'dup'")
            return f
        }
        // One repeated row and one uncounted session cancel out: equal counts, yet not "every session".
        let cancelling = try hostileReport(try store { _ in }.path)
        let c = try #require(cancelling.document.reconciliation)
        #expect(c.sessionsInStore == 3 && c.sessionsTested == 3 && c.difference == 0)
        #expect(c.components == ["duplicateSessionRows": 1, "testedNotCounted": 1])
        #expect(!c.explanation.contains("Every session"))
        #expect(c.explanation.contains("1 row counted by the plain SQL range repeats a session id another row holds"))
        #expect(issues(cancelling.document.dataQuality) == ["sessions.id dup"])

        // Every cause at once, each stated.
        let f = try store { f in
            try f.session("two-reviews", created: "2026-07-03T10:00:00Z")
            try f.review("r1", session: "two-reviews", created: "2026-07-03T09:00:00Z", decisions: [])
            try f.session("bad-time", created: "2026-07-01Tnoon")
        }
        try tamper(f.path, "DROP INDEX IF EXISTS reviews_session; INSERT INTO reviews (id, session_id, type, status, created_at) VALUES ('r2', 'two-reviews', 'onetime', 'APPROVED', '2026-07-03T09:30:00Z')")
        let all = try hostileReport(f.path)
        let r = try #require(all.document.reconciliation)
        #expect(r.sessionsInStore == 5 && r.sessionsTested == 4 && r.difference == 1 && r.skippedUnreadable == 1)
        #expect(r.components == ["skippedUnreadableCreatedAt": 1, "duplicateSessionRows": 1, "testedNotCounted": 1, "sessionsWithSeveralReviews": 1])
        #expect(r.explanation.contains("1 session counted by the plain SQL range was skipped because created_at could not be read"))
        #expect(r.explanation.contains("1 session has more than one review; each was tested once, with its first review"))
        #expect(Set(issues(all.document.dataQuality)) == ["sessions.id dup", "sessions.created_at bad-time", "reviews.session_id two-reviews"])

        // A clean store still says so.
        let g = try StoreFixture()
        try g.session("a", created: "2026-07-01T10:00:00Z")
        try g.finish()
        let clean = try #require(try hostileReport(g.path).document.reconciliation)
        #expect(clean.components.isEmpty && clean.explanation == "Every session the store holds for the period was tested.")
    }
}
