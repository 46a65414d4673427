@testable import AccessEvidence
import Foundation
import Testing

/// Issue 11: at any size, routine traffic leaves the planted cases alone. Random JIT grants of the
/// same people on the same connections once covered planted unapproved commands, and routine
/// guardrail blocks once turned the two-block near miss into a burst.
///
/// Slow by nature (the issue asks for 100,000 sessions): in a debug build on a shared two-core
/// machine, 10,000 sessions took 15 s and 100,000 took about 150 s (67 s generating, 80 s analysing).
@Suite(.serialized) struct GeneratorScaleTests {
    @Test(arguments: [10_000, 100_000])
    func plantedCasesSurviveRoutineTraffic(sessions: Int) throws {
        let started = Date()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = dir.appendingPathComponent("scale.sqlite").path
        let truth = try SampleStoreGenerator(seed: 2026, sessions: sessions, period: q3).write(to: store)
        let generated = Date()
        let rosterPath = dir.appendingPathComponent("roster.csv").path
        try SampleStoreGenerator.roster.write(toFile: rosterPath, atomically: true, encoding: .utf8)
        var run = ReportRun(storePath: store, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.roster = try Roster.load(path: rosterPath)
        run.keepPopulations = false
        let analysis = try run.analyse().analysis
        let findings = analysis.controls.flatMap(\.tests).flatMap(\.findings)
        print("generator scale: \(sessions) sessions generated in \(Int(generated.timeIntervalSince(started))) s, analysed in \(Int(Date().timeIntervalSince(generated))) s")

        #expect(analysis.sessionsAnalysed >= sessions)
        let found = Set(findings.map { "\($0.controlID) \($0.test) \($0.itemID) \($0.reasonCode)" })
        for gap in truth.gaps {
            #expect(found.contains("\(gap.control) \(gap.test) \(gap.item) \(gap.reasonCode)"), "\(sessions) sessions: planted gap missed: \(gap.description)")
        }
        // A near miss is in no finding: not as its session, not as its item, not among a burst's sessions.
        for near in truth.nearMisses {
            let hits = findings.filter { $0.sessionID == near.session || $0.itemID.hasPrefix(near.session) || $0.evidence.contains(near.session) }
            #expect(hits.isEmpty, "\(sessions) sessions: near miss flagged: \(near.description): \(hits.map { "\($0.itemID) \($0.reasonCode)" })")
        }
        // Routine traffic raises nothing of its own either.
        let planted = Set(truth.gaps.map { "\($0.control) \($0.test) \($0.item) \($0.reasonCode)" })
        #expect(found.subtracting(planted).isEmpty, "\(sessions) sessions: unplanted findings \(found.subtracting(planted).sorted())")
    }
}
