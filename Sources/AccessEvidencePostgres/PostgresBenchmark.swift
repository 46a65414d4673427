import AccessEvidence
import Foundation

/// The PostgreSQL half of `make benchmark`: the same generated stores loaded into a throwaway
/// cluster in hoop's schema, then the same `report` (and the reader alone) run against each as
/// child processes of this executable, so each figure's time and peak memory are that run's alone.
public enum PostgresBenchmark {
    public struct Figures: Sendable {
        public var store: ReportBenchmark.Store
        public var sessions: Int
        public var databaseMB: Double
        public var loadSeconds: Double
        public var report: ReportBenchmark.Measured
        public var stream: ReportBenchmark.Measured
    }

    public static func run(stores: [ReportBenchmark.Store], _ options: ReportBenchmark.Options, work: ReportBenchmark.WorkFolder,
                           progress: (String) -> Void) throws -> [Figures] {
        guard !stores.isEmpty else { return [] }
        progress("starting a throwaway PostgreSQL cluster …")
        return try ThrowawayCluster.during { cluster in try run(stores: stores, options, work: work, cluster: cluster, progress: progress) }
    }

    static func run(stores: [ReportBenchmark.Store], _ options: ReportBenchmark.Options, work: ReportBenchmark.WorkFolder,
                    cluster: ThrowawayCluster, progress: (String) -> Void) throws -> [Figures] {
        let environment = ["PGPASSWORD": cluster.password, "PGPASSFILE": "/nonexistent"]
        var figures: [Figures] = []
        for store in stores {
            progress("PostgreSQL, \(Benchmark.grouped(store.size)) sessions: loading …")
            let database = "bench_\(store.size)"
            try cluster.createDatabase(database)
            let started = DispatchTime.now().uptimeNanoseconds
            _ = try PostgresStoreLoader.load(sqlite: store.path, into: cluster.location(database: database))
            let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            progress(String(format: "  loaded in %.0f s", loadSeconds))
            let session = try PostgresSession(cluster.location(database: database))
            let sizeRow = try session.rows("SELECT pg_database_size(current_database())::text", during: "sizing the database")
            session.close()
            let bytes = Double(sizeRow.first?.first.flatMap { $0 }.map { String(buffer: $0) }.flatMap(Double.init) ?? 0)
            let url = cluster.url(database: database)

            var report = ReportBenchmark.Measured(), stream = ReportBenchmark.Measured()
            var sessions = 0
            for run in 1...options.runs {
                let out = work.file("pg-report-\(store.size)-\(run)")
                let result = try ReportBenchmark.child(options.executable, options.reportArguments(store: url, out: out), environment: environment)
                report.add(result)
                progress(String(format: "  report run %d/%d: %.1f s (CPU %.1f s), peak %.0f MB", run, options.runs, result.seconds,
                                result.cpuSeconds, Double(result.maxResidentKiB) / 1024))
                if run == 1 {
                    let json = try Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("report.json")))
                    sessions = try Benchmark.ReportCounts(reportJSON: json).sessionsTested
                }
                try? FileManager.default.removeItem(atPath: out)
            }
            for _ in 1...options.runs {
                stream.add(try ReportBenchmark.child(options.executable, options.streamArguments(store: url), environment: environment))
            }
            progress(String(format: "  reader alone (stream): %.1f s", stream.median))
            figures.append(Figures(store: store, sessions: sessions, databaseMB: bytes / 1_048_576, loadSeconds: loadSeconds,
                                   report: report, stream: stream))
            // Each size's database goes once measured: the next load starts from a quiet cluster.
            try? cluster.execute(["DROP DATABASE \(database)"])
        }
        return figures
    }

    /// The PostgreSQL table; × SQLite compares with the SQLite figures for the same store, when measured.
    public static func table(_ figures: [Figures], sqlite: [ReportBenchmark.SQLiteFigures], runs: Int, note: String) -> String {
        let rows = figures.map { f -> [String] in
            let same = sqlite.first { $0.store.path == f.store.path }
            return [Benchmark.grouped(f.sessions), String(format: "%.0f", f.databaseMB), String(format: "%.0f", f.loadSeconds),
                    String(format: "%.2f", f.report.median), String(format: "%.2f", f.report.cpuMedian), Benchmark.grouped(Int((Double(f.sessions) / f.report.median).rounded())),
                    same.map { String(format: "%.2f×", f.report.median / $0.report.median) } ?? "—",
                    String(format: "%.2f", f.stream.median),
                    same.map { String(format: "%.2f×", f.stream.median / $0.stream.median) } ?? "—",
                    String(format: "%.0f", f.report.peakMB)]
        }
        let table = Benchmark.markdownTable(["sessions", "database MB", "load s", "seconds", "CPU s", "sessions/s", "× SQLite",
                                             "reader alone s", "reader × SQLite", "peak RSS MB"], rows)
        return """
            ### PostgreSQL: the same stores in a throwaway cluster, same report, median of \(runs) run\(runs == 1 ? "" : "s")

            \(table)

            \(note)
            """
    }
}

/// Peak memory with very long recordings: the same store of `sessions` sessions with `megabytes` MB
/// recordings reported from SQLite and from PostgreSQL. Memory must follow the largest recording (rows
/// fetched by bytes, not a hundred at a time), so the two peaks stay within 1.5× of each other.
public enum RecordingBenchmark {
    public struct Figures: Sendable {
        public var megabytes: Int
        public var sessions: Int
        public var storeMB: Double
        public var sqlite: ReportBenchmark.Measured
        public var postgres: ReportBenchmark.Measured
    }

    public static func run(megabytes: Int, sessions: Int, _ options: ReportBenchmark.Options, work: ReportBenchmark.WorkFolder,
                           progress: (String) -> Void) throws -> Figures {
        let path = work.file("recordings-\(megabytes)mb.sqlite")
        progress("long recordings: writing \(sessions) sessions of \(megabytes) MB …")
        try LargeRecordingStore.write(to: path, sessions: sessions, megabytes: megabytes)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        var sqlite = ReportBenchmark.Measured(), postgres = ReportBenchmark.Measured()
        for run in 1...options.runs {
            let out = work.file("recordings-sqlite-\(run)")
            sqlite.add(try ReportBenchmark.child(options.executable, options.reportArguments(store: path, out: out)))
            try? FileManager.default.removeItem(atPath: out)
        }
        progress(String(format: "  SQLite: peak %.0f MB", sqlite.peakMB))
        progress("  starting a throwaway PostgreSQL cluster and loading …")
        try ThrowawayCluster.during { cluster in
            try cluster.createDatabase("recordings")
            _ = try PostgresStoreLoader.load(sqlite: path, into: cluster.location(database: "recordings"))
            try? FileManager.default.removeItem(atPath: path)
            let environment = ["PGPASSWORD": cluster.password, "PGPASSFILE": "/nonexistent"]
            for run in 1...options.runs {
                let out = work.file("recordings-pg-\(run)")
                postgres.add(try ReportBenchmark.child(options.executable, options.reportArguments(store: cluster.url(database: "recordings"), out: out),
                                                       environment: environment))
                try? FileManager.default.removeItem(atPath: out)
            }
        }
        progress(String(format: "  PostgreSQL: peak %.0f MB", postgres.peakMB))
        return Figures(megabytes: megabytes, sessions: sessions, storeMB: Double(bytes) / 1_048_576, sqlite: sqlite, postgres: postgres)
    }

    public static func table(_ f: Figures, runs: Int) -> String {
        let rows = [("SQLite", f.sqlite), ("PostgreSQL", f.postgres)].map { name, m in
            [name, String(format: "%.2f", m.median), String(format: "%.0f", m.peakMB)]
        }
        let ratio = f.postgres.peakMB / max(f.sqlite.peakMB, 1)
        return """
            ### Long recordings: \(f.sessions) sessions of \(f.megabytes) MB each (\(String(format: "%.0f", f.storeMB)) MB store), median of \(runs) run\(runs == 1 ? "" : "s")

            \(Benchmark.markdownTable(["source", "seconds", "peak RSS MB"], rows))

            PostgreSQL peak / SQLite peak: \(String(format: "%.2f×", ratio)) (goal ≤ 1.5×).
            """
    }
}
