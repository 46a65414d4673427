import Foundation

/// An access request rule (hoop `access_request_rules`, migration 62): which connections need an
/// approval, for which requesters and which kind of access, and who may approve.
public struct AccessRule: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Connections the rule names; it also applies to connections sharing one of `attributes`.
    public var connectionNames: [String]
    public var attributes: [String]
    /// `jit` (interactive sessions need a JIT grant), `command` (each exec needs a one-time
    /// review) or `jit_command` (both).
    public var accessType: String
    /// Requesters the rule applies to, by group; empty means everyone but `skipReviewGroups`.
    public var approvalRequiredGroups: [String]
    public var allGroupsMustApprove: Bool
    /// Who may approve.
    public var reviewersGroups: [String]
    /// Who may force an approval through.
    public var forceApprovalGroups: [String]
    /// Requesters exempt from review (hoop honours it only when `approvalRequiredGroups` is empty).
    public var skipReviewGroups: [String]
    public var minApprovals: Int?
    public var accessMaxDurationSec: Int?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: String, name: String, connectionNames: [String], attributes: [String] = [], accessType: String,
                approvalRequiredGroups: [String], allGroupsMustApprove: Bool, reviewersGroups: [String], forceApprovalGroups: [String],
                skipReviewGroups: [String], minApprovals: Int?, accessMaxDurationSec: Int?, createdAt: Date?, updatedAt: Date?) {
        self.id = id
        self.name = name
        self.connectionNames = connectionNames
        self.attributes = attributes
        self.accessType = accessType
        self.approvalRequiredGroups = approvalRequiredGroups
        self.allGroupsMustApprove = allGroupsMustApprove
        self.reviewersGroups = reviewersGroups
        self.forceApprovalGroups = forceApprovalGroups
        self.skipReviewGroups = skipReviewGroups
        self.minApprovals = minApprovals
        self.accessMaxDurationSec = accessMaxDurationSec
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether the rule gates a session of `verb`: `connect` needs a JIT grant, `exec` a review.
    public func gates(verb: String) -> Bool {
        switch accessType.lowercased() {
        case "jit": return verb == "connect"
        case "command": return verb == "exec"
        case "jit_command": return true
        default: return false
        }
    }

    /// Whether a requester in `groups` needs approval under the rule.
    public func applies(toGroups groups: Set<String>) -> Bool {
        if approvalRequiredGroups.isEmpty { return !skipReviewGroups.contains(where: groups.contains) }
        return approvalRequiredGroups.contains(where: groups.contains)
    }

    /// Whether the rule covers `connection` (by name, or by a shared attribute).
    public func covers(_ connection: ConnectionConfig) -> Bool {
        connectionNames.contains(connection.name) || attributes.contains(where: connection.attributes.contains)
    }

    /// `Hoop-JIT (jit; everyone but ci; reviewers dba-leads; 2 approvals)`: the rule as the posture lists it.
    public var summary: String {
        var parts = [accessType]
        if !approvalRequiredGroups.isEmpty {
            parts.append("members of " + approvalRequiredGroups.joined(separator: ", "))
        } else {
            parts.append(skipReviewGroups.isEmpty ? "everyone" : "everyone but " + skipReviewGroups.joined(separator: ", "))
        }
        parts.append("reviewers " + (reviewersGroups.isEmpty ? "none" : reviewersGroups.joined(separator: ", ")))
        if allGroupsMustApprove { parts.append("every reviewer group must approve") }
        if let minApprovals { parts.append("\(minApprovals) approval\(minApprovals == 1 ? "" : "s")") }
        return "\(name) (\(parts.joined(separator: "; ")))"
    }
}

/// A change to a connection's protections the audit log recorded (hoop `security_audit_log` rows for
/// connections, guardrails and masking rules): what the posture lists as changed during the period,
/// and what tells the review gate as of a session's time. hoop logs the request body, so a
/// connection's `reviewers` are known after each create or full update; rule and plugin changes
/// made elsewhere are not logged (hoop-store.md §1.6).
public struct PolicyChange: Sendable, Equatable {
    public var id: String
    public var at: Date
    public var actor: Actor
    /// `connections`, `guardrails` or `data_masking`.
    public var resourceType: String
    /// `create`, `update`, `delete`.
    public var action: String
    /// The connection's name, or the rule's id or name.
    public var target: String
    /// The connection's reviewer groups after the change, when the request carried them.
    public var reviewers: [String]?
    /// The protection settings the request carried (`reviewers`, `redact_types`, `guardrail_rules`, …).
    public var fields: [String]
    public var succeeded: Bool

    public init(id: String, at: Date, actor: Actor, resourceType: String, action: String, target: String, reviewers: [String]?,
                fields: [String], succeeded: Bool) {
        self.id = id
        self.at = at
        self.actor = actor
        self.resourceType = resourceType
        self.action = action
        self.target = target
        self.reviewers = reviewers
        self.fields = fields
        self.succeeded = succeeded
    }
}
