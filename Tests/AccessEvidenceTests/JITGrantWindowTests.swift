@testable import AccessEvidence
import Foundation
import Testing

/// The JIT grants read beside the sessions: the same answers as holding every grant, while holding
/// only those in force around the session being read.
@Suite struct JITGrantWindowTests {
    /// 3,000 grants over a quarter for 4 people on 3 connections (1–5 hours each), 6,000 sessions in
    /// time order: every session gets exactly the grants a full scan finds, and the window never holds
    /// more than a few days of them.
    @Test func answersAsAFullScanWhileHoldingOnlyTheGrantsInForce() throws {
        var rng = SeededGenerator(seed: 7)
        let start = date("2026-07-01T00:00:00Z")
        let people = ["okta|a", "okta|b", "okta|c", "okta|d"], connections = ["pg-prod", "ssh-bastion", "k8s-prod"]
        var grants: [Approval] = []
        for n in 0..<3_000 {
            let requested = start.addingTimeInterval(Double(n) * 2_600 + Double(rng.next() % 1_200))
            let approved = requested.addingTimeInterval(Double(rng.next() % 600))
            let hours = Double(1 + rng.next() % 5)
            var grant = Approval(id: String(format: "g%05d", n), sessionID: "s", kind: .jit, status: "APPROVED",
                                 requester: Actor(subject: people[Int(rng.next() % 4)], email: "", name: ""),
                                 connectionName: connections[Int(rng.next() % 3)], requestedAt: requested,
                                 expiresAt: approved.addingTimeInterval(hours * 3600), accessDurationSec: Int(hours) * 3600,
                                 ruleName: nil, minApprovals: 1, rejectionReason: nil,
                                 decisions: [Decision(id: "d\(n)", group: "dba", status: "APPROVED", reviewer: nil, decidedAt: approved, forced: false)])
            // Now and then an approval recorded before its request: its window starts at the request.
            if n % 997 == 0 { grant.decisions[0].decidedAt = requested.addingTimeInterval(-7200) }
            grants.append(grant)
        }
        var next = 0
        let window = JITGrantWindow {
            guard next < grants.count else { return nil }
            next += 1
            return .some(grants[next - 1])
        }
        let byKey = Dictionary(grouping: grants) { JITGrantWindow.key($0.requester.subject, $0.connectionName) }
        var covered = 0
        for n in 0..<6_000 {
            let from = start.addingTimeInterval(Double(n) * 1_300), to = from.addingTimeInterval(Double(rng.next() % 1800))
            let subject = people[n % 4], connection = connections[n % 3]
            let found = try window.overlapping(subject: subject, connection: connection, from: from, to: to).map(\.id)
            let expected = (byKey[JITGrantWindow.key(subject, connection)] ?? []).filter { g in
                max(g.approvedAt!, g.requestedAt) <= to && from < g.expiresAt!
            }.sorted { (max($0.approvedAt!, $0.requestedAt), $0.id) < (max($1.approvedAt!, $1.requestedAt), $1.id) }.map(\.id)
            #expect(found == expected, "session \(n)")
            if !found.isEmpty { covered += 1 }
            if found != expected { break }
        }
        #expect(covered > 500)
        // A grant is requested every 43 minutes; the window holds a few days of them at most (the
        // slack both sides, the longest grant, and the sessions between two sweeps), not the quarter's 3,000.
        #expect(window.mostHeld < 400, "held \(window.mostHeld)")
    }
}
