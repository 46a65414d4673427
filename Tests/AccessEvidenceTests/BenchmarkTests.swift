@testable import AccessEvidence
import Foundation
import Testing

/// The benchmark's pure parts. No timings are asserted: figures depend on the machine.
@Suite struct BenchmarkTests {
    @Test func median() {
        #expect(Benchmark.median([]) == 0)
        #expect(Benchmark.median([4]) == 4)
        #expect(Benchmark.median([9, 1, 5]) == 5)
        #expect(Benchmark.median([4, 1, 3, 2]) == 2.5)
    }

    @Test func sizes() {
        #expect(Benchmark.parseSizes("100000,1000000") == [100_000, 1_000_000])
        #expect(Benchmark.parseSizes(" 100k, 1M ,2_000") == [100_000, 1_000_000, 2_000])
        #expect(Benchmark.parseSizes("none") == [])
        #expect(Benchmark.parseSizes("") == [])
        #expect(Benchmark.parseSizes("0") == nil)
        #expect(Benchmark.parseSizes("-5") == nil)
        #expect(Benchmark.parseSizes("100,,200") == nil)
        #expect(Benchmark.parseSizes("ten") == nil)
        #expect(Benchmark.parseSizes("51M") == nil)
        #expect(Benchmark.parseSizes("99999999999999999999k") == nil)
    }

    @Test func cacheNameCarriesEveryKeyPart() {
        let name = Benchmark.storeFileName(version: "0.1.0", generatorFingerprint: "2b2b8a56fc4c0123456789", seed: 2026, sessions: 100_000)
        #expect(name == "store-v0.1.0-gen2b2b8a56fc4c-seed2026-100000.sqlite")
        #expect(Benchmark.storeFileName(version: "0.1.0", generatorFingerprint: "ffff", seed: 2026, sessions: 100_000) != name)
        #expect(Benchmark.storeFileName(version: "0.1.0", generatorFingerprint: "2b2b8a56fc4c", seed: 7, sessions: 100_000) != name)
        #expect(Benchmark.storeFileName(version: "0.2.0", generatorFingerprint: "2b2b8a56fc4c", seed: 2026, sessions: 100_000) != name)
        // A version can never reach outside the cache folder.
        #expect(!Benchmark.storeFileName(version: "../x/y", generatorFingerprint: "a", seed: 1, sessions: 1).contains("/"))
    }

    @Test func markdownTable() {
        let table = Benchmark.markdownTable(["sessions", "note"], [["1,000", "a|b"], ["2.5×", "c"]])
        #expect(table == """
            | sessions | note |
            |---:|---|
            | 1,000 | a\\|b |
            | 2.5× | c |
            """)
        // Short rows are padded to the header's width.
        #expect(Benchmark.markdownTable(["a", "b"], [["x"]]).hasSuffix("| x |  |"))
        #expect(Benchmark.grouped(1_000_045) == "1,000,045")
        #expect(Benchmark.grouped(999) == "999")
        #expect(Benchmark.grouped(0) == "0")
    }

    @Test func reportCounts() throws {
        let json = """
            {"reconciliation": {"sessionsTested": 1045}, "source": {"sessionsInPeriod": 1045},
             "controls": [{"tests": [{"populationCount": 10}, {"populationCount": 5}]}, {"tests": []}, {"tests": [{"populationCount": 1}]}]}
            """
        #expect(try Benchmark.ReportCounts(reportJSON: Data(json.utf8)) == Benchmark.ReportCounts(sessionsTested: 1045, populationRows: 16))
        // The workbook's rows are capped by --xlsx-population-limit: the floor writes those, not every item.
        let capped = """
            {"reconciliation": {"sessionsTested": 9}, "controls": [{"tests": [{"populationCount": 250, "workbookRows": 100}, {"populationCount": 7, "workbookRows": 7}]}]}
            """
        #expect(try Benchmark.ReportCounts(reportJSON: Data(capped.utf8))
                == Benchmark.ReportCounts(sessionsTested: 9, populationRows: 107, populationItems: 257))
        #expect(throws: BenchmarkError.self) { try Benchmark.ReportCounts(reportJSON: Data("[1]".utf8)) }
    }

    @Test func outputSizesSumThePopulationsFolder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(count: 100).write(to: dir.appendingPathComponent("report.html"))
        try Data(count: 7).write(to: dir.appendingPathComponent("report.json"))
        #expect(Benchmark.OutputSizes(folder: dir.path) == Benchmark.OutputSizes(html: 100, json: 7))
        let csv = dir.appendingPathComponent("populations")
        try FileManager.default.createDirectory(at: csv, withIntermediateDirectories: true)
        try Data(count: 3).write(to: csv.appendingPathComponent("a.csv"))
        try Data(count: 4).write(to: csv.appendingPathComponent("b.csv"))
        let sizes = Benchmark.OutputSizes(folder: dir.path)
        #expect(sizes.csv == 7)
        #expect(sizes.cells == [Benchmark.megabytes(100), "—", Benchmark.megabytes(7), "—", Benchmark.megabytes(7)])
    }

    @Test func floorScansTheReadersOwnQuery() throws {
        let (sessions, _) = try readAll(sampleStorePath)
        let scan = try BenchmarkFloor.scanSessions(store: sampleStorePath, period: q3)
        // The join repeats a session per review, and SQL reads the days around the period.
        #expect(scan.rows >= sessions.count)
        #expect(scan.bytes > scan.rows)
    }

    @Test func floorWorkbookIsWrittenThenRemoved() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let book = try BenchmarkFloor.writeWorkbook(rows: 2_000, in: dir.path)
        #expect(book.rows == 2_000)
        #expect(book.bytes > 2_000)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
