import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation

struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Print the throughput of the sensitive-data scanner, the command classifiers and a report run, over generated data; with --postgres, sessions/s and peak memory reading PostgreSQL stores of two sizes.")

    @Option(help: "Megabytes of recorded output to scan.") var megabytes: Int = 64
    @Option(help: "Commands to classify.") var commands: Int = 200_000
    @Option(help: "Sessions in the generated store for the report run (0 to skip).") var sessions: Int = 20_000
    @Option(help: "Control catalog folder.") var controls: String?
    @Flag(help: "Benchmark reading hoop's PostgreSQL store instead (starts a throwaway cluster; needs Debian's postgresql).") var postgres = false
    @Option(help: "Routine sessions in each PostgreSQL store, comma-separated.") var postgresSessions: String = "2000,25000"
    @Option(help: .hidden) var streamStore: String?
    @Option(help: .hidden) var streamPeriod: String = "2026-Q3"

    func run() throws {
        if let streamStore {
            // One measured run of the PostgreSQL benchmark: stream the period's sessions and nothing else.
            let store = try openAnyGatewayStore(streamStore)
            var count = 0
            try store.forEachSession(in: try Period.parse(streamPeriod)) { _ in count += 1 }
            print("streamed \(count) sessions")
            return
        }
        guard megabytes > 0, commands > 0, sessions >= 0 else { throw ValidationError("sizes must be positive") }
        if postgres {
            let sizes = postgresSessions.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard sizes.count == postgresSessions.split(separator: ",").count, sizes.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--postgres-sessions takes positive counts, such as 2000,25000")
            }
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let figures = try PostgresBenchmark.run(sizes: sizes, executable: executable) { stderrWrite($0 + "\n") }
            for figure in figures { for line in figure.lines { print(line) } }
            if let small = figures.first, let large = figures.last, figures.count > 1 {
                print(String(format: "peak memory from %d to %d sessions (%.1f×): stream %+.1f MB, report %+.1f MB",
                             small.sessions, large.sessions, Double(large.sessions) / Double(max(small.sessions, 1)),
                             Double(large.stream.maxResidentKiB - small.stream.maxResidentKiB) / 1024,
                             Double(large.report.maxResidentKiB - small.report.maxResidentKiB) / 1024))
            }
            return
        }
        let catalog = try CatalogLoader.load(directory: controls ?? Locations.controls)
        let figures = try Benchmark.run(megabytes: megabytes, commands: commands, sessions: sessions, catalog: catalog)
        for line in figures.lines { print(line) }
    }
}
