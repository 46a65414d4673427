@testable import AccessEvidence
import Foundation
import Testing

@Suite struct SamplingTests {
    func rows(_ n: Int) -> [PopulationRow] {
        (0..<n).map { i in
            PopulationRow(item: "item-\(i)", session: "s\(i)", identity: "u", resource: "r",
                          time: date("2026-07-01T00:00:00Z").addingTimeInterval(Double(i) * 86_400 * 92 / Double(n)),
                          outcomes: "A=pass", exceptions: "")
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
}
