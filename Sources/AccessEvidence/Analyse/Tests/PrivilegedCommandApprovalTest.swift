import Foundation

/// CC6.1, CC6.3, CC8.1: every privileged command ran under an approval given before it ran,
/// by someone other than the person who asked.
final class PrivilegedCommandApprovalTest: SessionTest {
    static let definition = TestDefinition(
        id: "approval.privileged-commands",
        title: "Privileged commands run only with a prior approval by someone other than the requester",
        population: "Privileged commands that ran on in-scope connections in sessions started in the period (one item per command)",
        attributes: [
            AttributeDefinition("A", "An approval covers the command (its own request, or a JIT grant in force)"),
            AttributeDefinition("B", "The approval was granted before the command ran"),
            AttributeDefinition("C", "No approver is the requester"),
        ],
        parameters: [
            ParameterDefinition("privileged_kinds", .strings, default: .strings(CommandKind.defaultPrivileged.map(\.rawValue)),
                                "Command kinds that need approval", allowed: CommandKind.allCases.map(\.rawValue)),
            ParameterDefinition("scope_tags", .strings, default: .strings(["env=prod", "env=production", "prod", "production"]),
                                "Connection tags (key=value or key) that put a connection in scope; an empty list means every connection"),
        ],
        make: { PrivilegedCommandApprovalTest(kinds: Set($0.strings("privileged_kinds").compactMap(CommandKind.init(rawValue:))),
                                              scope: $0.strings("scope_tags")) })

    let privileged: Set<CommandKind>
    let scope: ConnectionScope
    init(kinds: Set<CommandKind>, scope tags: [String]) {
        privileged = kinds
        scope = ConnectionScope(tags: tags)
    }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        guard scope.includes(session, context.directory) else { return [] }
        let blocked = session.blockedCommandIndexes
        guard session.ran else { return [] }
        var results: [ItemResult] = []
        for command in session.transcript.commands where !blocked.contains(command.index) {
            let kinds = CommandClassifier.classify(command.text, protocol: session.protocol).intersection(privileged)
            guard !kinds.isEmpty else { continue }
            results.append(evaluate(command, kinds: kinds.sorted(), in: session))
        }
        return results
    }

    func evaluate(_ command: Command, kinds: [CommandKind], in session: SessionRecord) -> ItemResult {
        let itemID = "\(session.id)#\(command.index + 1)"
        let ranAt = command.recordedAt ?? session.transcript.firstEventAt ?? session.endedAt
        let evidence = "[\(kinds.map(\.rawValue).joined(separator: ", "))] " + Evidence.excerpt(command.text)
        var attributes: [String: AttributeOutcome] = [:]
        var exceptions: [ItemException] = []

        guard let approval = coveringApproval(session, at: ranAt) else {
            attributes = ["A": .fail, "B": .notApplicable, "C": .notApplicable]
            exceptions.append(ItemException("no-approval", missingApprovalReason(session, ranAt: ranAt),
                                            severity: .high, failed: ["A"], evidence: evidence, time: ranAt))
            return ItemResult(itemID: itemID, attributes: attributes, exceptions: exceptions)
        }
        attributes["A"] = .pass
        if let approvedAt = approval.approvedAt, let ranAt {
            if approvedAt <= ranAt {
                attributes["B"] = .pass
            } else {
                attributes["B"] = .fail
                exceptions.append(ItemException(
                    "approved-after-execution",
                    "Approval \(approval.id) was granted at \(Timestamp.format(approvedAt)), after the command ran at \(Timestamp.format(ranAt))",
                    severity: .high, failed: ["B"], evidence: evidence, time: ranAt))
            }
        } else {
            attributes["B"] = .notApplicable
        }
        let requesters = [approval.requester.subject, session.actor.subject].filter { !$0.isEmpty }
        let requesterEmails = [approval.requester.email, session.actor.email].filter { !$0.isEmpty }.map { $0.lowercased() }
        let selfApprovers = approval.approvingDecisions.compactMap(\.reviewer).filter { reviewer in
            requesters.contains(reviewer.subject) || requesterEmails.contains(reviewer.email.lowercased())
        }
        if let approver = selfApprovers.first {
            attributes["C"] = .fail
            exceptions.append(ItemException(
                "self-approval", "Approval \(approval.id) was approved by the requester \(approver.display)",
                severity: .high, failed: ["C"], evidence: evidence, time: ranAt))
        } else {
            attributes["C"] = .pass
        }
        return ItemResult(itemID: itemID, attributes: attributes, exceptions: exceptions)
    }

    /// The session's own granted request covers its commands (for a JIT request, only inside
    /// its window); otherwise a JIT grant of the same person on the same connection that was in
    /// force when the command ran.
    func coveringApproval(_ session: SessionRecord, at ranAt: Date?) -> Approval? {
        if let own = session.approval, own.isGranted {
            if own.kind == .onetime { return own }
            if let ranAt, let expires = own.expiresAt, ranAt >= expires {} else { return own }
        }
        guard let ranAt else { return session.jitGrants.first }
        return session.jitGrants.first { grant in
            guard let start = grant.approvedAt else { return false }
            let end = grant.expiresAt ?? start.addingTimeInterval(Double(grant.accessDurationSec))
            return start <= ranAt && ranAt < end
        }
    }

    func missingApprovalReason(_ session: SessionRecord, ranAt: Date?) -> String {
        if let own = session.approval {
            if !own.isGranted { return "The approval request \(own.id) is \(own.status), yet the command ran" }
            if let expires = own.expiresAt { return "The command ran after JIT grant \(own.id) expired at \(Timestamp.format(expires))" }
        }
        if let grant = session.jitGrants.first, let expires = grant.expiresAt, let ranAt, ranAt >= expires {
            return "The command ran after JIT grant \(grant.id) expired at \(Timestamp.format(expires))"
        }
        return "No approval request or JIT grant covers the command"
    }
}
