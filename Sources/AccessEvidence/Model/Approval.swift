import Foundation

/// An approval request (hoop `reviews`) with each approving group's decision.
public struct Approval: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case onetime, jit }

    public var id: String
    public var sessionID: String
    public var kind: Kind
    /// `PENDING`, `APPROVED`, `REJECTED`, `REVOKED`, `PROCESSING`, `EXECUTED`, `UNKNOWN`.
    public var status: String
    public var requester: Actor
    public var connectionName: String
    public var requestedAt: Date
    /// hoop's `revoked_at`: for an approved JIT grant, when it expires.
    public var expiresAt: Date?
    public var accessDurationSec: Int
    public var ruleName: String?
    public var minApprovals: Int?
    public var rejectionReason: String?
    public var decisions: [Decision]
    /// The daily window the approval allows execution in, when one was set.
    public var timeWindow: TimeWindow? = nil
    public var forceApprovalGroups: [String] = []

    public init(id: String, sessionID: String, kind: Kind, status: String, requester: Actor, connectionName: String, requestedAt: Date, expiresAt: Date?, accessDurationSec: Int, ruleName: String?, minApprovals: Int?, rejectionReason: String?, decisions: [Decision]) {
        self.id = id
        self.sessionID = sessionID
        self.kind = kind
        self.status = status
        self.requester = requester
        self.connectionName = connectionName
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
        self.accessDurationSec = accessDurationSec
        self.ruleName = ruleName
        self.minApprovals = minApprovals
        self.rejectionReason = rejectionReason
        self.decisions = decisions
    }

    /// Overall states in which the request had been granted.
    public var isGranted: Bool { ["APPROVED", "PROCESSING", "EXECUTED"].contains(status) }

    public var approvingDecisions: [Decision] { decisions.filter { $0.status == "APPROVED" } }

    /// When the grant took effect: the last group approval that made it.
    public var approvedAt: Date? {
        guard isGranted else { return nil }
        return approvingDecisions.compactMap(\.decidedAt).max()
    }
}

/// One approving group's decision (hoop `review_groups`; overwritten in place, so the last state).
public struct Decision: Sendable, Equatable {
    public var id: String
    public var group: String
    public var status: String
    public var reviewer: Actor?
    public var decidedAt: Date?
    public var forced: Bool

    public init(id: String, group: String, status: String, reviewer: Actor?, decidedAt: Date?, forced: Bool) {
        self.id = id
        self.group = group
        self.status = status
        self.reviewer = reviewer
        self.decidedAt = decidedAt
        self.forced = forced
    }
}
