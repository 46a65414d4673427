import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation

struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Print, as markdown, the scanner and classifier throughput, then whole report runs over generated stores of each size (SQLite, then PostgreSQL), each against a floor measured in the same run.",
        discussion: """
            Stores are generated once by `sample-data` and kept in --cache (keyed by tool version, a fingerprint of the \
            generator, seed and size). Each report is a child process: `report --format html,xlsx,json`, median of --runs, \
            with its peak memory. PostgreSQL needs Debian's postgresql package (a throwaway cluster is started). \
            Progress goes to stderr, the tables to stdout.
            """)

    @Option(help: "Megabytes of recorded output for the scanner figure (0 skips the scanner and classifier figures).") var megabytes: Int = 64
    @Option(help: "Commands for the classifier figure.") var commands: Int = 200_000
    @Option(help: "Routine sessions in each SQLite store, comma-separated (k and M allowed; 'none' to skip).") var sizes: String = "100000,1000000"
    @Option(help: "Routine sessions in each store loaded into PostgreSQL ('none' to skip). 1M takes long to load, so the default is 100k.")
    var postgresSizes: String = "100000"
    @Option(help: "Megabytes per recording for the long-recordings figure (SQLite against PostgreSQL peak memory; 0 skips it).")
    var recordingMegabytes: Int = 25
    @Option(help: "Sessions in the long-recordings store.") var recordingSessions: Int = 100
    @Option(help: "Megabytes of generated Teleport audit log to read and report (0 skips it).") var teleportMegabytes: Int = 1024
    @Option(help: "Routine sessions in the store served by the tests' fake of hoop's API for the API figure (0 skips it; needs `make test-deps`).")
    var apiSessions: Int = 10_000
    @Option(help: "Runs of each measurement; the median is shown.") var runs: Int = 3
    @Option(help: "Generator seed of the stores.") var seed: UInt64 = 2026
    @Option(help: "Folder the generated stores are kept in between runs.") var cache: String = ".build/benchmark-stores"
    @Option(help: "A label for the heading (such as the commit).") var label: String?
    @Option(help: .hidden) var streamStore: String?
    @Option(help: .hidden) var streamPeriod: String = "2026-Q3"

    func run() throws {
        if let streamStore {
            // One measured run of the reader alone: stream the period's sessions and nothing else.
            let store = try openAnyGatewayStore(streamStore)
            var count = 0
            try store.forEachSession(in: try Period.parse(streamPeriod)) { _ in count += 1 }
            print("streamed \(count) sessions")
            return
        }
        guard megabytes >= 0, commands > 0 else { throw ValidationError("--megabytes and --commands must be positive") }
        guard (1...25).contains(runs) else { throw ValidationError("--runs takes 1 to 25") }
        guard let sqliteSizes = Benchmark.parseSizes(sizes) else { throw ValidationError("--sizes takes positive counts, such as 100000,1000000 or 100k,1M") }
        guard let pgSizes = Benchmark.parseSizes(postgresSizes) else { throw ValidationError("--postgres-sizes takes positive counts, such as 100000, or none") }
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> String { String(format: "%4.0fs", Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
        let progress: (String) -> Void = { stderrWrite("[\(elapsed())] \($0)\n") }

        print("## access-evidence benchmark\(label.map { " (\($0))" } ?? "")\n")
        print(machine() + "\n")
        if megabytes > 0 {
            progress("scanner and classifiers …")
            let figures = Benchmark.run(megabytes: megabytes, commands: commands)
            print("### Hot paths, in process\n")
            print(Benchmark.markdownTable(["figure", "throughput", "over"], figures.rows) + "\n")
        }
        guard recordingMegabytes >= 0, recordingSessions > 0 else { throw ValidationError("--recording-megabytes and --recording-sessions must be positive") }
        guard teleportMegabytes >= 0 else { throw ValidationError("--teleport-megabytes must be 0 or more") }
        guard apiSessions >= 0 else { throw ValidationError("--api-sessions must be 0 or more") }
        guard !sqliteSizes.isEmpty || !pgSizes.isEmpty || recordingMegabytes > 0 || teleportMegabytes > 0 || apiSessions > 0 else { return }

        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let options = ReportBenchmark.Options(executable: executable, sizes: sqliteSizes, postgresSizes: pgSizes, runs: runs, seed: seed,
                                              cacheDirectory: cache)
        let work = try ReportBenchmark.WorkFolder()
        defer { work.remove() }
        let stores = try ReportBenchmark.stores(sqliteSizes + pgSizes, options, work: work, progress: progress)
        var sqlite: [ReportBenchmark.SQLiteFigures] = []
        for size in sqliteSizes {
            progress("SQLite, \(Benchmark.grouped(size)) sessions:")
            sqlite.append(try ReportBenchmark.sqlite(stores[size]!, options, work: work, progress: progress))
        }
        if !sqlite.isEmpty {
            print(ReportBenchmark.sqliteTables(sqlite, runs: runs) + "\n")
            print(storeNote(sqliteSizes.map { stores[$0]! }) + "\n")
        }
        if !pgSizes.isEmpty {
            let figures = try PostgresBenchmark.run(stores: pgSizes.map { stores[$0]! }, options, work: work, progress: progress)
            let defaulted = postgresSizes == "100000"
            let note = defaulted
                ? "PostgreSQL runs at 100,000 sessions only by default: 1M would add a load of about ten times *load s* and \(runs) more 1M report runs; ask for it with `--postgres-sizes 100000,1000000`."
                : "PostgreSQL sizes as asked (`--postgres-sizes \(postgresSizes)`)."
            print(PostgresBenchmark.table(figures, sqlite: sqlite, runs: runs, note: note) + "\n")
        }
        if recordingMegabytes > 0 {
            let figures = try RecordingBenchmark.run(megabytes: recordingMegabytes, sessions: recordingSessions, options, work: work, progress: progress)
            print(RecordingBenchmark.table(figures, runs: runs) + "\n")
        }
        if teleportMegabytes > 0 {
            progress("Teleport audit log, about \(teleportMegabytes) MB:")
            let figures = try TeleportBenchmark.run(megabytes: teleportMegabytes, options, work: work, progress: progress)
            print(TeleportBenchmark.table(figures, runs: runs) + "\n")
        }
        if apiSessions > 0 {
            if HoopAPIBenchmark.available() {
                progress("hoop API, \(Benchmark.grouped(apiSessions)) routine sessions:")
                let figures = try HoopAPIBenchmark.run(sessions: apiSessions, options, work: work, progress: progress)
                print(HoopAPIBenchmark.table(figures, runs: runs) + "\n")
            } else {
                print("### hoop's HTTP API\n\nSkipped: the fake hoop API needs the source tree and `make test-deps` (.build/venv).\n")
            }
        }
        print("Benchmark wall time: \(elapsed().trimmingCharacters(in: .whitespaces)) (stores generated this run: \(stores.values.filter { $0.generatedSeconds != nil }.count)).")
    }

    /// The machine, so a pasted table says what it was measured on.
    func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824
        #if DEBUG
        let build = "DEBUG build (not meaningful: use `make benchmark`)"
        #else
        let build = "release build"
        #endif
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(String(format: "%.0f", memory)) GB RAM; "
            + "access-evidence \(ToolInfo.version), \(build); stores by `sample-data --seed \(seed)`, period 2026-Q3."
    }

    func storeNote(_ stores: [ReportBenchmark.Store]) -> String {
        "Stores: " + stores.map { s in
            "\(Benchmark.grouped(s.size)) routine sessions, \(Benchmark.megabytes(s.bytes)) MB"
                + (s.generatedSeconds.map { String(format: " (generated in %.0f s)", $0) } ?? " (cached)")
        }.joined(separator: "; ") + "."
    }
}
