import Foundation

/// An approval request (hoop `reviews`) with each approving group's decision.
///
/// A value with its fields in one shared, copy-on-write box: a session carries every JIT grant
/// in force around it (dozens in a busy store), so copying an approval costs one reference, not
/// one per field.
public struct Approval: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case onetime, jit }

    struct Fields: Equatable, Sendable {
        var id: String
        var sessionID: String
        var kind: Kind
        var status: String
        var requester: Actor
        var connectionName: String
        var requestedAt: Date
        var expiresAt: Date?
        var accessDurationSec: Int
        var ruleName: String?
        var minApprovals: Int?
        var rejectionReason: String?
        var decisions: [Decision]
        var timeWindow: TimeWindow? = nil
        var forceApprovalGroups: [String] = []
    }

    /// Mutated only while uniquely referenced (`update`), so sharing it across threads is safe.
    final class Storage: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var storage: Storage

    private mutating func update(_ change: (inout Fields) -> Void) {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.fields) }
        change(&storage.fields)
    }

    public static func == (lhs: Approval, rhs: Approval) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.fields == rhs.storage.fields
    }

    public var id: String {
        get { storage.fields.id }
        set { update { $0.id = newValue } }
    }
    public var sessionID: String {
        get { storage.fields.sessionID }
        set { update { $0.sessionID = newValue } }
    }
    public var kind: Kind {
        get { storage.fields.kind }
        set { update { $0.kind = newValue } }
    }
    /// `PENDING`, `APPROVED`, `REJECTED`, `REVOKED`, `PROCESSING`, `EXECUTED`, `UNKNOWN`.
    public var status: String {
        get { storage.fields.status }
        set { update { $0.status = newValue } }
    }
    public var requester: Actor {
        get { storage.fields.requester }
        set { update { $0.requester = newValue } }
    }
    public var connectionName: String {
        get { storage.fields.connectionName }
        set { update { $0.connectionName = newValue } }
    }
    public var requestedAt: Date {
        get { storage.fields.requestedAt }
        set { update { $0.requestedAt = newValue } }
    }
    /// hoop's `revoked_at`: for an approved JIT grant, when it expires.
    public var expiresAt: Date? {
        get { storage.fields.expiresAt }
        set { update { $0.expiresAt = newValue } }
    }
    public var accessDurationSec: Int {
        get { storage.fields.accessDurationSec }
        set { update { $0.accessDurationSec = newValue } }
    }
    public var ruleName: String? {
        get { storage.fields.ruleName }
        set { update { $0.ruleName = newValue } }
    }
    public var minApprovals: Int? {
        get { storage.fields.minApprovals }
        set { update { $0.minApprovals = newValue } }
    }
    public var rejectionReason: String? {
        get { storage.fields.rejectionReason }
        set { update { $0.rejectionReason = newValue } }
    }
    public var decisions: [Decision] {
        get { storage.fields.decisions }
        set { update { $0.decisions = newValue } }
    }
    /// The daily window the approval allows execution in, when one was set.
    public var timeWindow: TimeWindow? {
        get { storage.fields.timeWindow }
        set { update { $0.timeWindow = newValue } }
    }
    public var forceApprovalGroups: [String] {
        get { storage.fields.forceApprovalGroups }
        set { update { $0.forceApprovalGroups = newValue } }
    }

    public init(id: String, sessionID: String, kind: Kind, status: String, requester: Actor, connectionName: String, requestedAt: Date, expiresAt: Date?, accessDurationSec: Int, ruleName: String?, minApprovals: Int?, rejectionReason: String?, decisions: [Decision]) {
        storage = Storage(Fields(id: id, sessionID: sessionID, kind: kind, status: status, requester: requester, connectionName: connectionName,
                                 requestedAt: requestedAt, expiresAt: expiresAt, accessDurationSec: accessDurationSec, ruleName: ruleName,
                                 minApprovals: minApprovals, rejectionReason: rejectionReason, decisions: decisions))
    }

    /// Overall states in which the request had been granted.
    public var isGranted: Bool {
        switch status {
        case "APPROVED", "PROCESSING", "EXECUTED": true
        default: false
        }
    }

    /// A lazy view, not a filtered copy: the tests walk it for every command and session an approval covers.
    public var approvingDecisions: LazyFilterSequence<[Decision]> { decisions.lazy.filter { $0.status == "APPROVED" } }

    /// When the grant took effect: the last group approval that made it. (A loop, not a filtered
    /// copy: it is asked for every command a grant might cover.)
    public var approvedAt: Date? {
        guard isGranted else { return nil }
        var last: Date?
        for decision in storage.fields.decisions where decision.status == "APPROVED" {
            if let at = decision.decidedAt, last.map({ at > $0 }) ?? true { last = at }
        }
        return last
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
