import Foundation

/// Throughput figures for the hot paths, over generated data: the sensitive-data scanner (MB/s) and
/// the command classifiers (commands/s). The whole-report figures (`make benchmark`) are measured on
/// child processes by `ReportBenchmark`; the pure parts it shares (median, cache names, the
/// report's own counts, markdown) live here, where the tests reach them.
public enum Benchmark {
    public struct Figures: Sendable {
        public var scannedBytes: Int
        public var scanSeconds: Double
        public var matches: Int
        public var commands: Int
        public var classifySeconds: Double
        public var privileged: Int

        /// Rows of the "micro" markdown table.
        public var rows: [[String]] {
            [
                ["sensitive-data scanner", String(format: "%.1f MB/s", Double(scannedBytes) / 1_048_576 / scanSeconds),
                 "\(scannedBytes / 1_048_576) MB scanned, \(grouped(matches)) values found, " + String(format: "%.2f s", scanSeconds)],
                ["command classifiers", "\(grouped(Int((Double(commands) / classifySeconds).rounded()))) commands/s",
                 "\(grouped(commands)) commands, \(grouped(privileged)) privileged, " + String(format: "%.2f s", classifySeconds)],
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

    /// The scanner over `megabytes` of generated output, and the classifiers over `commands` commands.
    public static func run(megabytes: Int, commands count: Int, seed: UInt64 = 1) -> Figures {
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
        return Figures(scannedBytes: bytes, scanSeconds: scanSeconds, matches: matches, commands: count, classifySeconds: classifySeconds,
                       privileged: privileged)
    }

    // MARK: shared by the report benchmark

    /// The middle value (the mean of the two middle values for an even count); 0 for none.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Session counts as given to `--sizes`: comma-separated, `_` allowed, `k`/`M` suffixes
    /// (`100k,1M`); an empty list for "" or "none". Nil when any entry is not a positive count.
    public static func parseSizes(_ text: String) -> [Int]? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "none" { return [] }
        var sizes: [Int] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            var s = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
            var scale = 1
            if s.hasSuffix("k") || s.hasSuffix("K") { scale = 1_000; s.removeLast() }
            else if s.hasSuffix("M") || s.hasSuffix("m") { scale = 1_000_000; s.removeLast() }
            guard let n = Int(s), n > 0, n <= 50_000_000 / scale else { return nil }
            sizes.append(n * scale)
        }
        return sizes
    }

    /// The cached store's file name: the tool's version, a fingerprint of what the generator writes
    /// (so a changed generator never reuses an old store), the seed and the routine session count.
    public static func storeFileName(version: String, generatorFingerprint: String, seed: UInt64, sessions: Int) -> String {
        let safeVersion = String(version.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "_" })
        return "store-v\(safeVersion)-gen\(generatorFingerprint.prefix(12))-seed\(seed)-\(sessions).sqlite"
    }

    /// SHA-256 (hex) of a file: the generator's fingerprint is that of a small store it wrote.
    public static func sha256(file path: String) throws -> String { try FileHash.sha256(path: path) }

    /// What the benchmark needs from a report's `report.json`: the sessions tested, the population
    /// items (Σ `controls[].tests[].populationCount`) and the population rows the workbook holds
    /// (Σ `workbookRows`, which `--xlsx-population-limit` caps; the item count when absent).
    public struct ReportCounts: Sendable, Equatable {
        public var sessionsTested: Int
        public var populationRows: Int
        public var populationItems: Int

        public init(sessionsTested: Int, populationRows: Int, populationItems: Int? = nil) {
            self.sessionsTested = sessionsTested
            self.populationRows = populationRows
            self.populationItems = populationItems ?? populationRows
        }

        public init(reportJSON data: Data) throws {
            guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw BenchmarkError(description: "report.json is not a JSON object")
            }
            let reconciliation = root["reconciliation"] as? [String: Any]
            let source = root["source"] as? [String: Any]
            sessionsTested = (reconciliation?["sessionsTested"] as? Int) ?? (source?["sessionsInPeriod"] as? Int) ?? 0
            var rows = 0, items = 0
            for control in root["controls"] as? [[String: Any]] ?? [] {
                for test in control["tests"] as? [[String: Any]] ?? [] {
                    let count = test["populationCount"] as? Int ?? 0
                    items += count
                    rows += test["workbookRows"] as? Int ?? count
                }
            }
            populationRows = rows
            populationItems = items
        }
    }

    /// Bytes of each output of a report folder, by name; nil for an output the run did not write.
    /// `populations/` is the sum of the files in it.
    public struct OutputSizes: Sendable, Equatable {
        public var html: Int?, xlsx: Int?, json: Int?, jsonl: Int?, csv: Int?

        public init(html: Int? = nil, xlsx: Int? = nil, json: Int? = nil, jsonl: Int? = nil, csv: Int? = nil) {
            (self.html, self.xlsx, self.json, self.jsonl, self.csv) = (html, xlsx, json, jsonl, csv)
        }

        public init(folder: String) {
            let fm = FileManager.default
            func size(_ name: String) -> Int? {
                (try? fm.attributesOfItem(atPath: (folder as NSString).appendingPathComponent(name)))?[.size] as? Int
            }
            html = size("report.html"); xlsx = size("evidence.xlsx"); json = size("report.json"); jsonl = size("populations.jsonl")
            let csvFolder = (folder as NSString).appendingPathComponent("populations")
            var isFolder: ObjCBool = false
            if fm.fileExists(atPath: csvFolder, isDirectory: &isFolder), isFolder.boolValue {
                var total = 0
                let files = fm.enumerator(atPath: csvFolder)
                while let name = files?.nextObject() as? String {
                    let attributes = try? fm.attributesOfItem(atPath: (csvFolder as NSString).appendingPathComponent(name))
                    if attributes?[.type] as? FileAttributeType == .typeRegular { total += attributes?[.size] as? Int ?? 0 }
                }
                csv = total
            }
        }

        /// The table's cells, in MB: html, xlsx, json, jsonl, csv.
        public var cells: [String] { [html, xlsx, json, jsonl, csv].map { $0.map(Benchmark.megabytes) ?? "—" } }
        public static let headers = ["report.html MB", "evidence.xlsx MB", "report.json MB", "populations.jsonl MB", "populations/ MB"]
    }

    public static func megabytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }

    /// A count with thousands separators (`1,000,045`), the same in every locale.
    public static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// A GitHub-flavoured markdown table; `|` in a cell is escaped, numeric columns (every cell a
    /// number, a ratio such as `3.2×` or `—`) are right-aligned.
    public static func markdownTable(_ headers: [String], _ rows: [[String]]) -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        func numeric(_ s: String) -> Bool {
            let core = s.trimmingCharacters(in: CharacterSet(charactersIn: "×x%").union(.whitespaces))
            return s == "—" || (!core.isEmpty && core.allSatisfy { $0.isNumber || $0 == "." || $0 == "," || $0 == "-" || $0 == "+" })
        }
        let width = headers.count
        let padded = rows.map { row in (0..<width).map { $0 < row.count ? escape(row[$0]) : "" } }
        let right = (0..<width).map { c in !padded.isEmpty && padded.allSatisfy { numeric($0[c]) } }
        var lines = ["| " + headers.map(escape).joined(separator: " | ") + " |"]
        lines.append("|" + right.map { $0 ? "---:|" : "---|" }.joined())
        for row in padded { lines.append("| " + row.joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n")
    }
}

public struct BenchmarkError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(description: String) { self.description = description }
}

extension Cleanup {
    /// Removes `path` if a stop signal (SIGINT, SIGTERM, SIGHUP) ends the run: the benchmark's
    /// temporary folders go even when it is interrupted.
    public func removeOnStop(_ path: String) { register(path) }

    /// `path` was removed the ordinary way.
    public func forget(_ path: String) { unregister(path) }
}
