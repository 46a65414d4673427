@testable import AccessEvidence
import Crypto
import Foundation
import Testing

@Suite struct SamplingTests {
    func rows(_ n: Int) -> [PopulationRow] {
        (0..<n).map { i in
            PopulationRow(item: "item-\(i)", session: "s\(i)", identity: "u", resource: "r",
                          time: date("2026-07-01T00:00:00Z").addingTimeInterval(Double(i) * 86_400 * 92 / Double(n)),
                          outcomes: [.pass])
        }
    }

    func select(_ rows: [PopulationRow], size: Int, seed: String) -> [String] {
        var selector = Sampler.Selector(seed: seed, size: size)
        for r in rows { selector.offer(r) }
        return selector.selection().map(\.row.item)
    }

    @Test func stableUnderShuffledInput() {
        let population = rows(500)
        let reference = select(population, size: 25, seed: "audit-2026")
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<5 {
            #expect(select(population.shuffled(using: &rng), size: 25, seed: "audit-2026") == reference)
        }
        #expect(reference.count == 25)
        #expect(Set(reference).count == 25)
        #expect(select(population, size: 25, seed: "another-seed") != reference)
    }

    @Test func spreadAcrossTheMonths() {
        let picked = select(rows(300), size: 6, seed: "s")
        let months = Set(rows(300).filter { picked.contains($0.item) }.map { String(Timestamp.format($0.time).prefix(7)) })
        #expect(months == ["2026-07", "2026-08", "2026-09"])
    }

    @Test func smallPopulationsAreTakenWhole() {
        #expect(select(rows(3), size: 25, seed: "s").sorted() == ["item-0", "item-1", "item-2"])
        #expect(select(rows(3), size: 0, seed: "s").isEmpty)
    }

    @Test func sampleSizesFollowFrequencyAndRisk() throws {
        let catalog = try shippedCatalog()
        func size(_ id: String) -> Int { catalog.sampling.size(for: catalog.controls.first { $0.id == id }!) }
        #expect(size("GW-CHG-01") == 40)   // per-event, high risk
        #expect(size("GW-IAM-01") == 25)   // per-event
        #expect(size("GW-IAM-03") == 2)    // quarterly
        #expect(size("GW-LOG-01") == 25)   // daily
    }

    @Test func reportCarriesProvenanceSamplesAndReconciliation() throws {
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.sampleSeed = "fy2026"
        let doc = try run.write(to: dir.appendingPathComponent("r").path).document
        #expect(doc.reconciliation?.difference == 0)
        #expect(doc.reconciliation?.sessionsTested == doc.source.sessionsInPeriod)
        let test = doc.controls.first { $0.id == "GW-CHG-01" }!.tests[0]
        let provenance = try #require(test.provenance)
        #expect(provenance.rowCount == test.populationCount)
        #expect(provenance.sha256.count == 64)
        #expect(provenance.query.hasPrefix("SELECT s.id"))
        #expect(provenance.filter.contains("scope_tags=[\"env=prod\",\"env=production\",\"prod\",\"production\"]"))
        let sample = try #require(test.sample)
        #expect(sample.seed == "fy2026")
        #expect(sample.size == 40 && sample.items.count == 40)
        #expect(sample.items.map(\.number) == Array(1...40))
        #expect(sample.items.allSatisfy { $0.attributes.keys.sorted() == ["A", "B", "C", "D"] })
        // The same seed gives the same sample on a second run.
        let again = try run.analyse().document.controls.first { $0.id == "GW-CHG-01" }!.tests[0].sample!
        #expect(again.items.map(\.item) == sample.items.map(\.item))
    }

    /// Splits an RFC 4180 file into records of fields (quoted fields with doubled quotes, CRLF).
    static func csvRecords(_ text: String) -> [[String]] {
        var records: [[String]] = [], fields: [String] = [], field = "", quoted = false
        var chars = Array(text.unicodeScalars)[...]
        if chars.first == "\u{FEFF}" { chars = chars.dropFirst() }
        var i = chars.startIndex
        while i < chars.endIndex {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.endIndex, chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" { quoted = true
            } else if c == "," { fields.append(field); field = ""
            } else if c == "\r" {
            } else if c == "\n" { fields.append(field); records.append(fields); fields = []; field = ""
            } else { field.unicodeScalars.append(c) }
            i += 1
        }
        return records
    }

    /// An auditor re-performs the selection from the delivered population file with the documented
    /// method (rank = SHA-256 of seed, 0x1F, item; lowest per UTC month, months in turn) and the hash
    /// from its records, and gets the report's sample and hash.
    @Test func sampleAndHashAreReperformedFromThePopulationFile() throws {
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.sampleSeed = "fy2026"
        run.formats = [.json]
        let out = dir.appendingPathComponent("r")
        let doc = try run.write(to: out.path).document
        let test = doc.controls.first { $0.id == "GW-CHG-01" }!.tests[0]
        let file = try #require(test.populationFile)
        #expect(file == "populations/GW-CHG-01-approval.privileged-commands.csv")
        let data = try Data(contentsOf: out.appendingPathComponent(file))
        // The hash: SHA-256 of everything after the header line.
        let newline = try #require(data.firstIndex(of: 0x0A))
        #expect(Hex.encode(SHA256.hash(data: data[(newline + 1)...])) == test.provenance?.sha256)
        let records = Self.csvRecords(String(decoding: data, as: UTF8.self))
        #expect(records[0].prefix(6) == ["item", "session", "identity", "resource", "time_utc", "A: " + test.attributes[0].label])
        let rows = records.dropFirst()
        #expect(rows.count == test.populationCount)
        var byMonth: [String: [(rank: String, item: String, time: String)]] = [:]
        for r in rows {
            let rank = Hex.encode(SHA256.hash(data: Data("fy2026".utf8) + Data([0x1F]) + Data(r[0].utf8)))
            byMonth[String(r[4].prefix(7)), default: []].append((rank, r[0], r[4]))
        }
        var picked: [(rank: String, item: String, time: String)] = []
        let months = byMonth.keys.sorted().map { byMonth[$0]!.sorted { $0.rank < $1.rank } }
        var round = 0
        while picked.count < test.sample!.size, months.contains(where: { $0.count > round }) {
            for m in months where round < m.count && picked.count < test.sample!.size { picked.append(m[round]) }
            round += 1
        }
        let expected = picked.sorted { ($0.time, $0.item) < ($1.time, $1.item) }.map(\.item)
        #expect(expected.count == 40)
        #expect(test.sample!.items.map(\.item) == expected)
    }

    /// Reading, the population writers and the workbook on threads of their own change nothing: both runs
    /// write the same bytes in every file.
    @Test func singleAndMultiThreadedRunsWriteTheSameFolder() throws {
        let dir = try temporaryDirectory()
        var folders: [URL] = []
        for threads in [1, 2] {
            var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
            run.formats = [.json, .xlsx, .html]
            run.threads = threads
            run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
            let out = dir.appendingPathComponent("t\(threads)")
            try run.write(to: out.path)
            folders.append(out)
        }
        let names = try OutputGuard.recursiveFiles(folders[0].path, prefix: "")
        #expect(names == (try OutputGuard.recursiveFiles(folders[1].path, prefix: "")))
        #expect(names.contains("populations/GW-CHG-01-approval.privileged-commands.csv"))
        #expect(names.contains("evidence.xlsx") && names.contains("populations.jsonl"))
        for name in names {
            let a = try Data(contentsOf: folders[0].appendingPathComponent(name))
            let b = try Data(contentsOf: folders[1].appendingPathComponent(name))
            #expect(a == b, "\(name) differs between one and two threads")
        }
    }
}
