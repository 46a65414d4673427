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
        let byKey = Dictionary(grouping: grants) { JITGrantWindow.Key(subject: $0.requester.subject, connection: $0.connectionName) }
        var covered = 0
        for n in 0..<6_000 {
            let from = start.addingTimeInterval(Double(n) * 1_300), to = from.addingTimeInterval(Double(rng.next() % 1800))
            let subject = people[n % 4], connection = connections[n % 3]
            let found = try window.overlapping(subject: subject, connection: connection, from: from, to: to).map(\.id)
            let expected = (byKey[JITGrantWindow.Key(subject: subject, connection: connection)] ?? []).filter { g in
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

    /// One person on one connection with dozens of grants in force (a grant every 10 minutes, each
    /// for 8 hours) and a session every 2 minutes: each answer equals a full scan, the sessions between
    /// two grants share one answer's storage, and a grant starting or ending gives a new answer.
    @Test func denseGrantsShareAnAnswerUntilTheGrantsInForceChange() throws {
        let start = date("2026-07-01T00:00:00Z")
        let grants = (0..<400).map { n -> Approval in
            let requested = start.addingTimeInterval(Double(n) * 600)
            return Approval(id: String(format: "g%04d", n), sessionID: "s", kind: .jit, status: "APPROVED",
                            requester: Actor(subject: "okta|a", email: "", name: ""), connectionName: "pg-prod",
                            requestedAt: requested, expiresAt: requested.addingTimeInterval(8 * 3600), accessDurationSec: 8 * 3600,
                            ruleName: nil, minApprovals: 1, rejectionReason: nil,
                            decisions: [Decision(id: "d\(n)", group: "dba", status: "APPROVED", reviewer: nil, decidedAt: requested, forced: false)])
        }
        var next = 0
        let window = JITGrantWindow {
            guard next < grants.count else { return nil }
            next += 1
            return .some(grants[next - 1])
        }
        var previous: (ids: [String], storage: UnsafeRawPointer?)?
        var shared = 0, renewed = 0, copiedUnchanged = 0
        for n in 0..<1_800 {
            let at = start.addingTimeInterval(Double(n) * 120 + 30)
            let found = try window.overlapping(subject: "okta|a", connection: "pg-prod", from: at, to: at)
            let ids = found.map(\.id)
            let expected = grants.filter { $0.requestedAt <= at && at < $0.expiresAt! }.map(\.id)
            #expect(ids == expected, "session \(n)")
            if ids != expected { break }
            let storage = found.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
            if let previous, previous.ids == ids, !ids.isEmpty {
                if previous.storage == storage { shared += 1 } else { copiedUnchanged += 1 }
            } else if previous != nil {
                renewed += 1
            }
            previous = (ids, storage)
        }
        // The grants in force change every fifth session; in between the answer is shared, but
        // after a sweep (every 256 sessions), which forgets the answers.
        #expect(renewed == 359)
        #expect(copiedUnchanged <= 1_800 / 256 + 1)
        #expect(shared + copiedUnchanged == 1_800 - 1 - renewed)
    }
}
