import AccessEvidence
import Foundation

/// `make benchmark`: whole report runs over generated stores of several sizes, each run a child
/// process of this executable (so its time and peak memory are its own), compared with a floor
/// measured in the same run (`BenchmarkFloor`) and, for PostgreSQL, with SQLite on the same data.
/// Stores are generated once by `sample-data` and kept in a cache folder; everything else goes in a
/// temporary folder removed however the run ends.
public enum ReportBenchmark {
    public struct Options: Sendable {
        /// This tool's binary: its `sample-data`, `report` and `benchmark --stream-store` are the children.
        public var executable: String
        public var sizes: [Int]
        public var postgresSizes: [Int]
        public var runs: Int
        public var seed: UInt64
        public var cacheDirectory: String
        public var period = "2026-Q3"
        public var generatedAt = "2026-10-01T00:00:00Z"
        public var formats = "html,xlsx,json"

        public init(executable: String, sizes: [Int], postgresSizes: [Int], runs: Int, seed: UInt64, cacheDirectory: String) {
            self.executable = executable
            self.sizes = sizes
            self.postgresSizes = postgresSizes
            self.runs = runs
            self.seed = seed
            self.cacheDirectory = cacheDirectory
        }

        /// `report`'s arguments for `store` into `out`.
        func reportArguments(store: String, out: String) -> [String] {
            ["report", "--store", store, "--period", period, "--out", out, "--format", formats, "--generated-at", generatedAt, "--quiet"]
        }

        func streamArguments(store: String) -> [String] { ["benchmark", "--stream-store", store, "--stream-period", period] }
    }

    /// Wall-clock seconds and peak resident memory of repeated child runs.
    public struct Measured: Sendable {
        public var seconds: [Double] = []
        public var maxResidentKiB: [Int] = []
        public var cpuSeconds: [Double] = []
        public var median: Double { Benchmark.median(seconds) }
        public var cpuMedian: Double { Benchmark.median(cpuSeconds) }
        /// The highest peak of the runs, in MB.
        public var peakMB: Double { Double(maxResidentKiB.max() ?? 0) / 1024 }
        mutating func add(_ result: ChildProcess.Result) {
            seconds.append(result.seconds)
            maxResidentKiB.append(result.maxResidentKiB)
            cpuSeconds.append(result.cpuSeconds)
        }
    }

    public struct Store: Sendable {
        public var size: Int
        public var path: String
        public var bytes: Int
        /// Nil when the cached store was reused.
        public var generatedSeconds: Double?
    }

    public struct SQLiteFigures: Sendable {
        public var store: Store
        public var counts: Benchmark.ReportCounts
        public var report: Measured
        public var stream: Measured
        public var outputs: Benchmark.OutputSizes
        public var scan: [BenchmarkFloor.Scan]
        public var workbook: [BenchmarkFloor.Workbook]
        public var scanSeconds: Double { Benchmark.median(scan.map(\.seconds)) }
        public var workbookSeconds: Double { Benchmark.median(workbook.map(\.seconds)) }
        public var floorSeconds: Double { scanSeconds + workbookSeconds }
        public var floorCPUSeconds: Double { Benchmark.median(scan.map(\.cpuSeconds)) + Benchmark.median(workbook.map(\.cpuSeconds)) }
    }

    /// A temporary folder for one benchmark, removed by `remove()` or by a stop signal.
    public final class WorkFolder: @unchecked Sendable {
        public let path: String
        public init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("access-evidence-bench-\(getpid())-\(UUID().uuidString.prefix(8))").path
            Cleanup.shared.removeOnStop(path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        public func remove() {
            try? FileManager.default.removeItem(atPath: path)
            Cleanup.shared.forget(path)
        }
        deinit { remove() }
    }

    static func child(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess.Result {
        let result = try ChildProcess.run(executable, arguments, environment: environment)
        guard result.succeeded else {
            let output = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            throw BenchmarkError(description: "\(arguments.prefix(1).joined()) failed (exit \(result.status)): \(output.suffix(2_000))")
        }
        return result
    }

    // MARK: stores

    /// What the generator writes, fingerprinted by the SHA-256 of a small store it writes now.
    public static func generatorFingerprint(_ options: Options, work: WorkFolder) throws -> String {
        let path = work.file("fingerprint.sqlite")
        _ = try child(options.executable, ["sample-data", "--sessions", "100", "--seed", "1", "--period", options.period, "--out", path])
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Benchmark.sha256(file: path)
    }

    /// The cached store for each size, generated by `sample-data` when missing (it writes beside
    /// the target and renames, so an interrupted generation leaves no store that looks complete).
    public static func stores(_ sizes: [Int], _ options: Options, work: WorkFolder, progress: (String) -> Void) throws -> [Int: Store] {
        let fingerprint = try generatorFingerprint(options, work: work)
        try FileManager.default.createDirectory(atPath: options.cacheDirectory, withIntermediateDirectories: true)
        var stores: [Int: Store] = [:]
        for size in sizes where stores[size] == nil {
            let name = Benchmark.storeFileName(version: ToolInfo.version, generatorFingerprint: fingerprint, seed: options.seed, sessions: size)
            let path = (options.cacheDirectory as NSString).appendingPathComponent(name)
            var generated: Double?
            if FileManager.default.fileExists(atPath: path), SampleStoreGenerator.wrote(path) {
                progress("reusing \(path)")
            } else {
                progress("generating \(Benchmark.grouped(size)) sessions into \(path) …")
                let result = try child(options.executable, ["sample-data", "--sessions", String(size), "--seed", String(options.seed),
                                                           "--period", options.period, "--out", path])
                generated = result.seconds
                progress(String(format: "  generated in %.0f s", result.seconds))
            }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
            stores[size] = Store(size: size, path: path, bytes: bytes, generatedSeconds: generated)
        }
        return stores
    }

    // MARK: SQLite

    public static func sqlite(_ store: Store, _ options: Options, work: WorkFolder, progress: (String) -> Void) throws -> SQLiteFigures {
        var report = Measured(), stream = Measured()
        var counts: Benchmark.ReportCounts?
        var outputs = Benchmark.OutputSizes()
        for run in 1...options.runs {
            let out = work.file("report-\(store.size)-\(run)")
            let result = try child(options.executable, options.reportArguments(store: store.path, out: out))
            report.add(result)
            progress(String(format: "  report run %d/%d: %.1f s (CPU %.1f s), peak %.0f MB", run, options.runs, result.seconds,
                            result.cpuSeconds, Double(result.maxResidentKiB) / 1024))
            if counts == nil {
                counts = try Benchmark.ReportCounts(reportJSON: Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("report.json"))))
                outputs = Benchmark.OutputSizes(folder: out)
            }
            try? FileManager.default.removeItem(atPath: out)
        }
        for _ in 1...options.runs { stream.add(try child(options.executable, options.streamArguments(store: store.path))) }
        progress(String(format: "  reader alone (stream): %.1f s", stream.median))
        let period = try Period.parse(options.period)
        var scans: [BenchmarkFloor.Scan] = []
        for _ in 1...options.runs { scans.append(try BenchmarkFloor.scanSessions(store: store.path, period: period)) }
        progress(String(format: "  floor, session query scan: %.2f s (%d rows)", Benchmark.median(scans.map(\.seconds)), scans[0].rows))
        var books: [BenchmarkFloor.Workbook] = []
        for _ in 1...options.runs { books.append(try BenchmarkFloor.writeWorkbook(rows: counts!.populationRows, in: work.path)) }
        progress(String(format: "  floor, workbook of %d rows: %.2f s", counts!.populationRows, Benchmark.median(books.map(\.seconds))))
        return SQLiteFigures(store: store, counts: counts!, report: report, stream: stream, outputs: outputs, scan: scans, workbook: books)
    }

    // MARK: tables

    public static func sqliteTables(_ figures: [SQLiteFigures], runs: Int) -> String {
        let main = Benchmark.markdownTable(
            ["sessions", "seconds", "CPU s", "sessions/s", "× floor", "× floor, CPU", "reader alone s", "peak RSS MB"] + Benchmark.OutputSizes.headers,
            figures.map { f in
                [Benchmark.grouped(f.counts.sessionsTested), String(format: "%.2f", f.report.median), String(format: "%.2f", f.report.cpuMedian),
                 Benchmark.grouped(Int((Double(f.counts.sessionsTested) / f.report.median).rounded())),
                 String(format: "%.1f×", f.report.median / f.floorSeconds), String(format: "%.1f×", f.report.cpuMedian / f.floorCPUSeconds),
                 String(format: "%.2f", f.stream.median),
                 String(format: "%.0f", f.report.peakMB)] + f.outputs.cells
            })
        let floor = Benchmark.markdownTable(
            ["sessions", "store MB", "query rows", "query MB read", "scan s", "population items", "workbook rows", "workbook MB", "workbook s", "floor s", "floor CPU s"],
            figures.map { f in
                [Benchmark.grouped(f.counts.sessionsTested), Benchmark.megabytes(f.store.bytes), Benchmark.grouped(f.scan.first?.rows ?? 0),
                 Benchmark.megabytes(f.scan.first?.bytes ?? 0), String(format: "%.2f", f.scanSeconds),
                 Benchmark.grouped(f.counts.populationItems), Benchmark.grouped(f.counts.populationRows),
                 Benchmark.megabytes(f.workbook.first?.bytes ?? 0),
                 String(format: "%.2f", f.workbookSeconds), String(format: "%.2f", f.floorSeconds), String(format: "%.2f", f.floorCPUSeconds)]
            })
        return """
            ### SQLite: `report --format html,xlsx,json`, median of \(runs) run\(runs == 1 ? "" : "s")

            \(main)

            Seconds are wall-clock for the whole child process, CPU s its user + system time (steadier when the machine is \
            shared); peak RSS is its `ru_maxrss` (the highest of the runs). \
            *Reader alone* is `benchmark --stream-store`: the same reader streaming the period's sessions, nothing else.

            #### Floor, measured in the same run

            \(floor)

            Floor = the reader's session query (its joins and JSON sub-selects) stepped with the SQLite C API, every column \
            of every row fetched and its bytes summed, plus libxlsxwriter (constant memory) writing as many 12-cell rows as \
            the report's population sheets hold (Σ `controls[].tests[].workbookRows` of its report.json: each test's \
            population up to `--xlsx-population-limit`; the full populations go to CSV and JSONL). \
            × floor = report seconds ÷ floor seconds; × floor, CPU = the same with CPU time.
            """
    }
}
