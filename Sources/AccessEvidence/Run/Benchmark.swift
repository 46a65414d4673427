import Foundation

/// Throughput figures for the hot paths, over generated data: the sensitive-data scanner (MB/s),
/// the command classifiers (commands/s) and a whole report run (sessions/s).
public enum Benchmark {
    public struct Figures: Sendable {
        public var scannedBytes: Int
        public var scanSeconds: Double
        public var matches: Int
        public var commands: Int
        public var classifySeconds: Double
        public var privileged: Int
        public var sessions: Int
        public var reportSeconds: Double

        public var lines: [String] {
            [
                String(format: "sensitive-data scanner: %.1f MB/s (%d MB scanned, %d values found, %.2f s)",
                       Double(scannedBytes) / 1_048_576 / scanSeconds, scannedBytes / 1_048_576, matches, scanSeconds),
                String(format: "command classifiers:    %.0f commands/s (%d commands, %d privileged, %.2f s)",
                       Double(commands) / classifySeconds, commands, privileged, classifySeconds),
                sessions > 0 ? String(format: "report run:             %.0f sessions/s (%d sessions, %.2f s)",
                                      Double(sessions) / reportSeconds, sessions, reportSeconds) : "report run:             skipped (--sessions 0)",
            ]
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Recorded output as a terminal or psql shows it: rows of text with, now and then, a value
    /// worth finding.
    static func output(megabytes: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SeededGenerator(seed: seed)
        let filler = [" id | name | status | amount\n", " 48213 | Ana Lima | shipped | 120.50\n", "2026-09-14 10:22:31 INFO request served in 12ms\n",
                      "total 48\ndrwxr-xr-x  2 root root 4096 Sep 14 10:22 .\n", "{\"items\":[{\"id\":1,\"state\":\"ok\"}],\"count\":1}\n",
                      " order 4111111111111112 ref 2026.09.30-1234 v1.2.3\n"]
        let secrets = [" card 4111 1111 1111 1111\n", " ssn 536-22-1234\n", " key AKIAIOSFODNN7EXAMPLE\n", " mail ana.lima@customer.example\n",
                       " iban GB82 WEST 1234 5698 7654 32\n"]
        var chunks: [[UInt8]] = []
        var total = 0
        while total < megabytes * 1_048_576 {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(64 * 1024)
            while chunk.count < 64 * 1024 {
                let line = Int.random(in: 0..<200, using: &rng) == 0 ? secrets.randomElement(using: &rng)! : filler.randomElement(using: &rng)!
                chunk += Array(line.utf8)
            }
            total += chunk.count
            chunks.append(chunk)
        }
        return chunks
    }

    public static func run(megabytes: Int, commands count: Int, sessions: Int, catalog: Catalog, seed: UInt64 = 1) throws -> Figures {
        let chunks = output(megabytes: megabytes, seed: seed)
        let bytes = chunks.reduce(0) { $0 + $1.count }
        var start = now()
        var matches = 0
        for chunk in chunks { matches += SensitiveData.scan(chunk).count }
        let scanSeconds = now() - start

        let pool = SampleStoreGenerator.Builder.privilegedVariants + SampleStoreGenerator.Builder.benignVariants
            + SampleStoreGenerator.Builder.reads.map { ("pg-prod", $0) } + SampleStoreGenerator.Builder.writes.map { ("pg-prod", $0) }
        let protocols: [String: ConnectionProtocol] = ["pg-prod": .postgres, "mysql-billing": .mysql, "ssh-bastion": .ssh, "k8s-prod": .kubernetes]
        start = now()
        var privileged = 0
        let defaultPrivileged = Set(CommandKind.defaultPrivileged)
        for i in 0..<count {
            let (conn, text) = pool[i % pool.count]
            if !CommandClassifier.classify(text, protocol: protocols[conn] ?? .shell).isDisjoint(with: defaultPrivileged) { privileged += 1 }
        }
        let classifySeconds = now() - start

        var reportSeconds = 0.0
        var analysed = 0
        if sessions > 0 {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("access-evidence-bench-\(ProcessInfo.processInfo.processIdentifier)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let store = dir.appendingPathComponent("store.sqlite").path
            let period = try Period.parse("2026-Q3")
            _ = try SampleStoreGenerator(seed: seed, sessions: sessions, period: period).write(to: store)
            start = now()
            let output = try ReportRun(storePath: store, period: period, catalog: catalog, generatedAt: period.end).analyse()
            reportSeconds = now() - start
            analysed = output.analysis.sessionsAnalysed
        }
        return Figures(scannedBytes: bytes, scanSeconds: scanSeconds, matches: matches, commands: count, classifySeconds: classifySeconds,
                       privileged: privileged, sessions: analysed, reportSeconds: reportSeconds)
    }
}
