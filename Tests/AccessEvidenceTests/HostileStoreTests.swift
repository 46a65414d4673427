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
