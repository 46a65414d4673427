import AccessEvidence
import Foundation

/// `make benchmark`'s hoop API figure: a generated store served by the tests' fake of hoop's API
/// (`Tests/FakeHoopAPI/fake_hoop_api.py`, from the virtual environment `make test-deps` makes, on
/// loopback), pulled and reported by `report --store hoop+http://127.0.0.1:PORT/api` as a child
/// process, beside the same report from the SQLite store. The fake validates every answer against
/// hoop's OpenAPI document, so it is slower than hoop: the figure is a floor of the client's speed.
public enum HoopAPIBenchmark {
    public struct Figures: Sendable {
        public var store: ReportBenchmark.Store
        public var api: ReportBenchmark.Measured
        public var sqlite: ReportBenchmark.Measured
        public var sessions: Int
        public var requests: Int
    }

    static let python = ".build/venv/bin/python"
    static let script = "Tests/FakeHoopAPI/fake_hoop_api.py"

    /// False when the fake or its Python environment is not there (a binary outside its source tree).
    public static func available() -> Bool {
        FileManager.default.isExecutableFile(atPath: python) && FileManager.default.fileExists(atPath: script)
    }

    public static func run(sessions: Int, _ options: ReportBenchmark.Options, work: ReportBenchmark.WorkFolder,
                           progress: (String) -> Void) throws -> Figures {
        let store = try ReportBenchmark.stores([sessions], options, work: work, progress: progress)[sessions]!
        let token = "hpk_benchmark_" + UUID().uuidString.prefix(8)
        let portFile = work.file("api-port"), log = work.file("api-requests.log")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: python)
        server.arguments = [script, "--store", store.path, "--token", token, "--port-file", portFile, "--request-log", log]
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        var port: Int?
        for _ in 0..<1200 where port == nil {
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { usleep(50_000) }
        }
        guard let port else { throw BenchmarkError(description: "the fake hoop API did not start within a minute") }
        let location = "hoop+http://127.0.0.1:\(port)/api"
        var api = ReportBenchmark.Measured(), sqlite = ReportBenchmark.Measured()
        var tested = 0
        for run in 1...options.runs {
            let out = work.file("api-report-\(run)")
            var arguments = options.reportArguments(store: location, out: out)
            if let i = arguments.firstIndex(of: "--format") { arguments[i + 1] = "json" }
            let result = try ReportBenchmark.child(options.executable, arguments, environment: ["HOOP_API_TOKEN": token])
            api.add(result)
            if tested == 0 {
                tested = try Benchmark.ReportCounts(reportJSON: Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("report.json")))).sessionsTested
            }
            progress(String(format: "  API report run %d/%d: %.1f s (CPU %.1f s), peak %.0f MB", run, options.runs, result.seconds,
                            result.cpuSeconds, Double(result.maxResidentKiB) / 1024))
            try? FileManager.default.removeItem(atPath: out)
            let local = work.file("api-sqlite-report-\(run)")
            var localArguments = options.reportArguments(store: store.path, out: local)
            if let i = localArguments.firstIndex(of: "--format") { localArguments[i + 1] = "json" }
            sqlite.add(try ReportBenchmark.child(options.executable, localArguments))
            try? FileManager.default.removeItem(atPath: local)
        }
        server.terminate()
        server.waitUntilExit()
        let requests = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
        return Figures(store: store, api: api, sqlite: sqlite, sessions: tested, requests: requests / max(options.runs, 1))
    }

    public static func table(_ f: Figures, runs: Int) -> String {
        let table = Benchmark.markdownTable(
            ["sessions", "requests", "API report s", "API report CPU s", "sessions/s", "peak RSS MB", "SQLite report s", "ratio to SQLite"],
            [[Benchmark.grouped(f.sessions), Benchmark.grouped(f.requests), String(format: "%.1f", f.api.median), String(format: "%.1f", f.api.cpuMedian),
              String(format: "%.0f", Double(f.sessions) / max(f.api.median, 0.001)), String(format: "%.0f", f.api.peakMB),
              String(format: "%.1f", f.sqlite.median), String(format: "%.1f×", f.api.median / max(f.sqlite.median, 0.001))]])
        return "### hoop's HTTP API\n\n" + table + "\n\n"
            + "`report --store hoop+http://127.0.0.1:PORT/api --format json` against the tests' fake of hoop's API serving a store of "
            + "\(Benchmark.grouped(f.store.size)) routine sessions (`Tests/FakeHoopAPI`, Python, every answer validated against hoop's OpenAPI "
            + "document, so the server is the slower side), 8 session details in flight; *requests* per report. Beside it, the same report "
            + "from the SQLite store. Median of \(runs) run\(runs == 1 ? "" : "s")."
    }
}
