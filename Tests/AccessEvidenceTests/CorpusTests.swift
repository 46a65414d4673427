@testable import AccessEvidence
import Foundation
import Testing

/// Precision and recall of every gap class over a generated, labelled corpus: the planted gaps
/// with variations, and near misses that must not be flagged.
@Suite struct CorpusTests {
    @Test(arguments: [(UInt64(11), 300, 6), (UInt64(2027), 800, 3)])
    func everyGapClassIsExact(seed: UInt64, sessions: Int, variations: Int) throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("corpus.sqlite").path
        let truth = try SampleStoreGenerator(seed: seed, sessions: sessions, period: q3, variations: variations).write(to: store)
        let rosterPath = dir.appendingPathComponent("roster.csv").path
        try SampleStoreGenerator.roster.write(toFile: rosterPath, atomically: true, encoding: .utf8)
        var run = ReportRun(storePath: store, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.roster = try Roster.load(path: rosterPath)
        let findings = try run.analyse().analysis.controls.flatMap(\.findings)

        let flagged = Set(findings.map { "\($0.controlID) \($0.itemID) \($0.reasonCode)" })
        let planted = Set(truth.gaps.map { "\($0.control) \($0.item) \($0.reasonCode)" })
        let classes = Set(findings.map(\.reasonCode)).union(truth.gaps.map(\.reasonCode)).sorted()
        var table = ["class                      TP  FP  FN  precision  recall"]
        for reason in classes {
            let f = flagged.filter { $0.hasSuffix(" " + reason) }, p = planted.filter { $0.hasSuffix(" " + reason) }
            let tp = f.intersection(p).count, fp = f.subtracting(p).count, fn = p.subtracting(f).count
            let precision = tp + fp == 0 ? 1 : Double(tp) / Double(tp + fp)
            let recall = tp + fn == 0 ? 1 : Double(tp) / Double(tp + fn)
            table.append(reason.padding(toLength: 26, withPad: " ", startingAt: 0)
                         + String(format: "%3d %3d %3d  %9.3f  %6.3f", tp, fp, fn, precision, recall))
            #expect(precision == 1.0 && recall == 1.0, "\(reason): false positives \(f.subtracting(p).sorted()), missed \(p.subtracting(f).sorted())")
        }
        print("corpus seed \(seed), \(sessions) sessions, \(variations) variations, \(truth.nearMisses.count) near misses:\n" + table.joined(separator: "\n"))
        // Every gap class the catalog can raise is represented in the corpus.
        let expectedClasses: Set<String> = [
            "no-identity", "organization-key", "shared-account", "unregistered-identity", "api-key-on-production", "machine-without-owner",
            "access-after-deactivation", "no-approval", "rejected-but-ran", "jit-expired", "approved-after-execution", "self-approval",
            "approver-not-authorized", "api-key-approval", "insufficient-approvals", "forced-approval", "outside-time-window",
            "pending-too-long", "detected-not-masked", "sensitive-data-in-output", "guardrail-not-enforced", "recording-missing",
            "recording-truncated", "never-closed", "impossible-timestamp", "no-activity", "guardrail-burst-blocked", "high-risk-unapproved",
            "protection-removed", "failed-change", "no-approval-for-gated-access", "production-unprotected",
        ]
        #expect(Set(truth.gaps.map(\.reasonCode)) == expectedClasses)
        #expect(truth.nearMisses.count == 12 + variations * 7)
    }

    @Test func noSensitiveValueReachesTheReport() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("corpus.sqlite").path
        // Enough variations that every sensitive sample is planted in some output.
        _ = try SampleStoreGenerator(seed: 5, sessions: 200, period: q3, variations: 40).write(to: store)
        let output = try ReportRun(storePath: store, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z")).analyse()
        let text = try output.document.encoded()
        let leaks = SensitiveData.scan(Array(text)).filter { $0.kind != .email }
        #expect(leaks.isEmpty, "\(leaks.map { String(decoding: Array(text)[$0.range], as: UTF8.self) })")
        let json = String(decoding: text, as: UTF8.self)
        for raw in ["4012 8888 8888 1881", "4111-1111-1111-1111", "3782 822463 10005", "536-22-1234", "GB82 WEST 1234 5698 7654 32",
                    "AKIAIOSFODNN7EXAMPLE", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "MIIEvQIBADANBg", "ana.lima@customer.example"] {
            #expect(!json.contains(raw), "\(raw) leaked")
        }
        let dlp = output.analysis.controls.flatMap(\.findings).filter { $0.reasonCode == "sensitive-data-in-output" }
        #expect(dlp.count > 20)
        #expect(dlp.contains { $0.evidence.contains("4111 **** **** 1111") })
    }
}
