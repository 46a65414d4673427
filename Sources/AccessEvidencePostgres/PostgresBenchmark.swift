import AccessEvidence
import Foundation

/// Throughput and peak memory of reading hoop's PostgreSQL store, at several store sizes: each size
/// is generated, loaded into a throwaway cluster, then streamed and reported on by child processes
/// of this executable, so each figure's peak memory is that run's alone.
public enum PostgresBenchmark {
    public struct Figures: Sendable {
        public var sessions: Int
        public var databaseMB: Double
        public var loadSeconds: Double
        public var stream: ChildProcess.Result
        public var report: ChildProcess.Result

        public var lines: [String] {
            [
                String(format: "PostgreSQL, %d sessions (database %.0f MB, loaded in %.1f s):", sessions, databaseMB, loadSeconds),
                String(format: "  stream sessions: %8.0f sessions/s, peak memory %6.1f MB (%.2f s)",
                       Double(sessions) / stream.seconds, Double(stream.maxResidentKiB) / 1024, stream.seconds),
                String(format: "  whole report:    %8.0f sessions/s, peak memory %6.1f MB (%.2f s)",
                       Double(sessions) / report.seconds, Double(report.maxResidentKiB) / 1024, report.seconds),
            ]
        }
    }

    public static let period = "2026-Q3"

    /// `executable` is this tool's binary; its `benchmark --stream-store` and `report` commands are the measured runs.
    public static func run(sizes: [Int], executable: String, seed: UInt64 = 7, progress: (String) -> Void) throws -> [Figures] {
        let cluster = try ThrowawayCluster()
        defer { cluster.stop() }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("access-evidence-pgbench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let environment = ["PGPASSWORD": cluster.password, "PGPASSFILE": "/nonexistent"]
        var figures: [Figures] = []
        for size in sizes {
            progress("generating and loading \(size) sessions …")
            let sqlite = work.appendingPathComponent("store-\(size).sqlite").path
            _ = try SampleStoreGenerator(seed: seed, sessions: size, period: try Period.parse(period)).write(to: sqlite)
            let database = "bench_\(size)"
            try cluster.createDatabase(database)
            let started = DispatchTime.now().uptimeNanoseconds
            _ = try PostgresStoreLoader.load(sqlite: sqlite, into: cluster.location(database: database))
            let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let session = try PostgresSession(cluster.location(database: database))
            let sizeRow = try session.rows("SELECT pg_database_size(current_database())::text", during: "sizing the database")
            session.close()
            let bytes = Double(sizeRow.first?.first.flatMap { $0 }.map { String(buffer: $0) }.flatMap(Double.init) ?? 0)
            let url = cluster.url(database: database)

            let stream = try measured(executable, ["benchmark", "--stream-store", url, "--stream-period", period], environment)
            let streamed = stream.output.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            let report = try measured(executable, ["report", "--store", url, "--period", period, "--format", "json", "--quiet",
                                                   "--out", work.appendingPathComponent("report-\(size)").path], environment)
            figures.append(Figures(sessions: streamed, databaseMB: bytes / 1_048_576, loadSeconds: loadSeconds, stream: stream, report: report))
        }
        return figures
    }

    static func measured(_ executable: String, _ arguments: [String], _ environment: [String: String]) throws -> ChildProcess.Result {
        let result = try ChildProcess.run(executable, arguments, environment: environment)
        guard result.succeeded else {
            throw ThrowawayCluster.Failure(description: "\(arguments.prefix(1).joined()) failed (\(result.status)): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result
    }
}
