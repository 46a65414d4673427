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

    @Test(.timeLimit(.minutes(1))) func onlyRegularFilesAreStores() throws {
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

    @Test(.timeLimit(.minutes(1))) func layoutTablesMustBeOrdinaryTables() throws {
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
}
