import AccessEvidence
import Crypto
import Foundation

/// `make benchmark`'s Teleport figure: a generated audit log of about the size asked for (`sample-data
/// --gateway teleport`, cached like the stores), read by the reader alone (its throughput in MB of log
/// per second, both passes included, and its peak memory) and reported whole.
public enum TeleportBenchmark {
    public struct Figures: Sendable {
        public var path: String
        public var bytes: Int
        public var files: Int
        public var perDay: Int
        public var generatedSeconds: Double?
        public var stream: ReportBenchmark.Measured
        public var report: ReportBenchmark.Measured
        public var counts: Benchmark.ReportCounts
        /// MB of log per second of the reader alone (median run).
        public var megabytesPerSecond: Double { Double(bytes) / 1_048_576 / max(stream.median, 0.001) }
    }

    /// About 1.3 kB of log per routine session (what the generator writes at scale): the sessions a day for `megabytes`.
    static func perDay(megabytes: Int) -> Int { max(1, megabytes * 1_048_576 / (92 * 1_300)) }

    public static func run(megabytes: Int, _ options: ReportBenchmark.Options, work: ReportBenchmark.WorkFolder,
                           progress: (String) -> Void) throws -> Figures {
        let perDay = perDay(megabytes: megabytes)
        // The generator's fingerprint: a hash of what it writes for one session a day.
        let probe = work.file("teleport-fingerprint")
        _ = try ReportBenchmark.child(options.executable, ["sample-data", "--gateway", "teleport", "--sessions", "1", "--seed", "1", "--out", probe])
        let digest = SHA256.hash(data: Data(try logFiles(probe).map { try Benchmark.sha256(file: $0) }.joined().utf8))
        let fingerprint = digest.prefix(6).map { String(format: "%02x", $0) }.joined()
        try? FileManager.default.removeItem(atPath: probe)
        try FileManager.default.createDirectory(atPath: options.cacheDirectory, withIntermediateDirectories: true)
        let path = (options.cacheDirectory as NSString).appendingPathComponent("teleport-\(ToolInfo.version)-\(fingerprint)-seed\(options.seed)-\(perDay)perday")
        var generated: Double?
        if TeleportSampleGenerator.wrote(path) {
            progress("reusing \(path)")
        } else {
            progress("generating a Teleport log of \(Benchmark.grouped(perDay)) sessions a day into \(path) …")
            let result = try ReportBenchmark.child(options.executable, ["sample-data", "--gateway", "teleport", "--sessions", String(perDay),
                                                                        "--seed", String(options.seed), "--period", options.period, "--out", path])
            generated = result.seconds
            progress(String(format: "  generated in %.0f s", result.seconds))
        }
        let files = try logFiles(path)
        let bytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1))?[.size] as? Int ?? 0) }
        let store = "teleport:" + path
        var stream = ReportBenchmark.Measured(), report = ReportBenchmark.Measured()
        for _ in 1...options.runs { stream.add(try ReportBenchmark.child(options.executable, options.streamArguments(store: store))) }
        progress(String(format: "  reader alone: %.1f s, peak %.0f MB", stream.median, stream.peakMB))
        var counts: Benchmark.ReportCounts?
        for run in 1...options.runs {
            let out = work.file("teleport-report-\(run)")
            let result = try ReportBenchmark.child(options.executable, options.reportArguments(store: store, out: out))
            report.add(result)
            progress(String(format: "  report run %d/%d: %.1f s (CPU %.1f s), peak %.0f MB", run, options.runs, result.seconds,
                            result.cpuSeconds, Double(result.maxResidentKiB) / 1024))
            if counts == nil {
                counts = try Benchmark.ReportCounts(reportJSON: Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("report.json"))))
            }
            try? FileManager.default.removeItem(atPath: out)
        }
        return Figures(path: path, bytes: bytes, files: files.count, perDay: perDay, generatedSeconds: generated,
                       stream: stream, report: report, counts: counts!)
    }

    static func logFiles(_ folder: String) throws -> [String] {
        let server = (folder as NSString).appendingPathComponent(TeleportSampleGenerator.authServer)
        return try FileManager.default.contentsOfDirectory(atPath: server).sorted().map { (server as NSString).appendingPathComponent($0) }
    }

    public static func table(_ f: Figures, runs: Int) -> String {
        let table = Benchmark.markdownTable(
            ["log MB", "files", "sessions", "reader alone s", "reader MB/s", "reader peak RSS MB", "report s", "report CPU s", "sessions/s", "report peak RSS MB"],
            [[Benchmark.megabytes(f.bytes), String(f.files), Benchmark.grouped(f.counts.sessionsTested), String(format: "%.1f", f.stream.median),
              String(format: "%.0f", f.megabytesPerSecond), String(format: "%.0f", f.stream.peakMB), String(format: "%.1f", f.report.median),
              String(format: "%.1f", f.report.cpuMedian), String(format: "%.0f", Double(f.counts.sessionsTested) / max(f.report.median, 0.001)),
              String(format: "%.0f", f.report.peakMB)]])
        return "### Teleport audit log\n\n" + table + "\n\n"
            + "A `dir`-backend log generated by `sample-data --gateway teleport --sessions \(f.perDay)` (sessions a day, 2026-Q3)"
            + (f.generatedSeconds.map { String(format: " in %.0f s", $0) } ?? " (cached)") + ". "
            + "*Reader alone* is `benchmark --stream-store teleport:…`: both of the reader's passes over the log (directory, then sessions) and "
            + "nothing else, so *reader MB/s* is log megabytes over that time, one core; *report* is `report --format html,xlsx,json` "
            + "with every test. Median of \(runs) run\(runs == 1 ? "" : "s"); peak RSS is the highest `ru_maxrss`."
    }
}
