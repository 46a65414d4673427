import Foundation

/// CC6.1, CC6.3, CC8.1: every privileged command ran under an approval given before it ran, inside
/// its window, by enough independent, authorized approvers.
final class PrivilegedCommandApprovalTest: SessionTest {
    static let definition = TestDefinition(
        id: "approval.privileged-commands",
        title: "Privileged commands run only with a prior, independent, authorized approval",
        population: "Privileged commands that ran on in-scope connections in sessions started in the period (one item per command)",
        attributes: [
            AttributeDefinition("A", "An approval covers the command (its own request, or a JIT grant in force)"),
            AttributeDefinition("B", "The approval was granted before the command ran, and it ran inside the approval's time window"),
            AttributeDefinition("C", "Every approver is independent of the requester and authorized (a member of the approving group, not an API key)"),
            AttributeDefinition("D", "The required number of approvals was given without a forced approval"),
        ],
        parameters: [
            ParameterDefinition("privileged_kinds", .strings, default: .strings(CommandKind.defaultPrivileged.map(\.rawValue)),
                                "Command kinds that need approval", allowed: CommandKind.allCases.map(\.rawValue)),
            ParameterDefinition("scope_tags", .strings, default: .strings(["env=prod", "env=production", "prod", "production"]),
                                "Connection tags (key=value or key) that put a connection in scope; an empty list means every connection"),
            ParameterDefinition("extra_privileged_kinds", .selectorLists, default: .listMap([:]),
                                "More kinds that need approval on some connections, by tag:NAME, protocol:NAME or connection:NAME",
                                allowed: CommandKind.allCases.map(\.rawValue)),
        ],
        facts: [
            FactDefinition("command", "Command (masked)"),
            FactDefinition("command_kinds", "Kinds needing approval"),
            FactDefinition("approval_id", "Approval id"),
            FactDefinition("approval_type", "Approval type"),
            FactDefinition("approval_status", "Approval status"),
            FactDefinition("requester", "Requester"),
            FactDefinition("approvers", "Approvers (group, decision time)"),
            FactDefinition("requested_at", "Requested at"),
            FactDefinition("approved_at", "Approved at"),
            FactDefinition("executed_at", "Executed at"),
            FactDefinition("approval_window", "Approval window"),
            FactDefinition("exit_code", "Session exit code"),
            FactDefinition("connection", "Connection"),
        ],
        walk: ["Sessions in the period", "Sessions on in-scope connections that ran", "Commands parsed", "Privileged commands (not blocked)"],
        make: { p in
            PrivilegedCommandApprovalTest(kinds: Set(p.strings("privileged_kinds").compactMap(CommandKind.init(rawValue:))),
                                          scope: p.strings("scope_tags"),
                                          extra: p.listMap("extra_privileged_kinds").mapValues { Set($0.compactMap(CommandKind.init(rawValue:))) })
        })

    let privileged: Set<CommandKind>
    let scope: ConnectionScope
    /// Selector → extra kinds, e.g. `tag:pci` → reads of cardholder data need approval too.
    let extra: [String: Set<CommandKind>]

    init(kinds: Set<CommandKind>, scope tags: [String], extra: [String: Set<CommandKind>] = [:]) {
        privileged = kinds
        scope = ConnectionScope(tags: tags)
        self.extra = extra
    }

    /// Verdicts and excerpts of command texts met before (the same statements recur across sessions).
    private let kindsOf = Memo<CommandKey, Set<CommandKind>>()
    private let excerpts = Memo<String, String>()
    struct CommandKey: Hashable {
        let text: String
        let proto: ConnectionProtocol
    }

    /// The completeness walk's counts (`definition.walk`).
    var sessions = 0, inScope = 0, parsed = 0, items = 0
    var walkCounts: [Int] { [sessions, inScope, parsed, items] }

    /// The kinds that need approval on this session's connection.
    func privilegedKinds(for session: SessionRecord, _ directory: StoreDirectory) -> Set<CommandKind> {
        guard !extra.isEmpty else { return privileged }
        let tags = scope.tagSet(of: session, directory)
        var kinds = privileged
        for (selector, more) in extra {
            let parts = selector.split(separator: ":", maxSplits: 1).map(String.init)
            let value = parts.count == 2 ? parts[1] : ""
            switch parts.first {
            case "tag": if tags.contains(value.lowercased()) { kinds.formUnion(more) }
            case "protocol": if session.protocol.rawValue == value { kinds.formUnion(more) }
            case "connection": if session.connectionName == value { kinds.formUnion(more) }
            default: break
            }
        }
        return kinds
    }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        guard scope.includes(session, context.directory), session.ran else { return [] }
        inScope += 1
        parsed += session.transcript.commands.count
        let blocked = session.blockedCommandIndexes
        let needApproval = privilegedKinds(for: session, context.directory)
        var results: [ItemResult] = []
        for command in session.transcript.commands where !blocked.contains(command.index) {
            let short = command.text.utf8.count <= 512
            let kinds = kindsOf.value(CommandKey(text: command.text, proto: session.protocol), remember: short) {
                CommandClassifier.classify(command.text, protocol: session.protocol)
            }.intersection(needApproval)
            guard !kinds.isEmpty else { continue }
            results.append(evaluate(command, kinds: kinds.sorted(), in: session, context))
        }
        items += results.count
        return results
    }

    func evaluate(_ command: Command, kinds: [CommandKind], in session: SessionRecord, _ context: AnalysisContext) -> ItemResult {
        let itemID = "\(session.id)#\(command.index + 1)"
        let ranAt = command.recordedAt ?? session.transcript.firstEventAt ?? session.endedAt
        // Quoted only when an exception is raised: most items pass.
        var quoted: String?
        func evidence() -> String {
            if let quoted { return quoted }
            let text = "[\(kinds.map(\.rawValue).joined(separator: ", "))] " + Evidence.excerpt(command.text)
            quoted = text
            return text
        }
        var attributes: AttributeOutcomes = ["A": .pass, "B": .pass, "C": .pass, "D": .pass]
        var exceptions: [ItemException] = []
        func raise(_ attribute: String, _ code: String, _ reason: String, _ severity: Severity = .high) {
            attributes[attribute] = .fail
            exceptions.append(ItemException(code, reason, severity: severity, failed: [attribute], evidence: evidence(), time: ranAt))
        }

        guard let approval = coveringApproval(session, at: ranAt) else {
            let (code, reason) = missingApproval(session, ranAt: ranAt)
            attributes = ["A": .fail, "B": .notApplicable, "C": .notApplicable, "D": .notApplicable]
            exceptions.append(ItemException(code, reason, severity: .high, failed: ["A"], evidence: evidence(), time: ranAt))
            // The request or grant that did not cover the command, when there is one.
            let considered = session.approval ?? session.jitGrants.last
            return ItemResult(itemID: itemID, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions,
                              facts: facts(command, kinds: kinds, approval: considered, in: session, ranAt: ranAt))
        }
        // B: timing.
        if let approvedAt = approval.approvedAt, let ranAt {
            if approvedAt > ranAt {
                raise("B", "approved-after-execution",
                      "Approval \(approval.id) was granted at \(Timestamp.format(approvedAt)), after the command ran at \(Timestamp.format(ranAt))")
            } else if let window = approval.timeWindow, !window.contains(ranAt) {
                raise("B", "outside-time-window",
                      "The command ran at \(Timestamp.format(ranAt)), outside approval \(approval.id)'s window \(window.description) UTC")
            }
        } else {
            attributes["B"] = .notApplicable
        }
        // C: who approved.
        let requesters = Set([approval.requester.subject, session.actor.subject].filter { !$0.isEmpty })
        let requesterEmails = Set([approval.requester.email, session.actor.email].filter { !$0.isEmpty }.map { $0.lowercased() })
        let connection = context.directory.connections[session.connectionName]
        for decision in approval.approvingDecisions {
            guard let reviewer = decision.reviewer else { continue }
            if requesters.contains(reviewer.subject) || requesterEmails.contains(reviewer.email.lowercased()) {
                raise("C", "self-approval", "Approval \(approval.id) was approved by the requester \(reviewer.display)")
                continue
            }
            switch IdentityKind.resolve(reviewer, context.directory) {
            case .apiKey, .organizationKey:
                raise("C", "api-key-approval", "Approval \(approval.id) was approved by API key '\(reviewer.display)', not a person")
            case .directoryUser(let user):
                if !user.groups.contains(decision.group) {
                    raise("C", "approver-not-authorized",
                          "\(reviewer.display) approved \(approval.id) for group '\(decision.group)' without being a member of it")
                } else if let (groups, source) = ApproverAuthority.allowed(approval, decision, connection: connection, context.directory),
                          !groups.contains(decision.group) {
                    raise("C", "approver-not-authorized",
                          "Group '\(decision.group)' approved \(approval.id) but \(source) are \(groups.joined(separator: ", "))")
                }
            default:
                raise("C", "approver-not-authorized", "Approver '\(reviewer.display)' of \(approval.id) is not in the gateway's user directory")
            }
        }
        // D: how many, and how.
        let approvals = approval.approvingDecisions.count
        let required = min(max(approval.minApprovals ?? connection?.minReviewApprovals ?? 1, 1), max(approval.decisions.count, 1))
        if approvals < required {
            raise("D", "insufficient-approvals", "Approval \(approval.id) has \(approvals) of the \(required) approvals required")
        }
        if let forced = approval.approvingDecisions.first(where: \.forced) {
            raise("D", "forced-approval", "Approval \(approval.id) was force-approved by \(forced.reviewer?.display ?? "unknown") (listed for review)", .low)
        }
        return ItemResult(itemID: itemID, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions,
                          facts: facts(command, kinds: kinds, approval: approval, in: session, ranAt: ranAt))
    }

    /// The session's own granted request covers its commands (for a JIT request, only inside
    /// its window); otherwise a JIT grant of the same person on the same connection that was in
    /// force when the command ran.
    ///
    /// A session whose own request was REJECTED or REVOKED is not covered by any JIT grant: the
    /// reviewers said no to this very session, and a broader grant that happens to be in force does
    /// not overrule that decision. The command is reported `rejected-but-ran` (see `missingApproval`),
    /// so the auditor sees the refusal rather than a pass.
    func coveringApproval(_ session: SessionRecord, at ranAt: Date?) -> Approval? {
        if let own = session.approval, own.isGranted {
            if own.kind == .onetime { return own }
            if let ranAt, let expires = own.expiresAt, ranAt >= expires {} else { return own }
        }
        // Refused (the same statuses `missingApproval` reports as rejected-but-ran): no JIT grant covers it.
        if let own = session.approval, ["REJECTED", "REVOKED"].contains(own.status) { return nil }
        guard let ranAt else { return session.jitGrants.first }
        return session.jitGrants.first { grant in
            guard let start = grant.approvedAt else { return false }
            let end = grant.expiresAt ?? start.addingTimeInterval(Double(grant.accessDurationSec))
            return start <= ranAt && ranAt < end
        }
    }

    func missingApproval(_ session: SessionRecord, ranAt: Date?) -> (String, String) {
        if let own = session.approval {
            if ["REJECTED", "REVOKED"].contains(own.status) {
                return ("rejected-but-ran", "The approval request \(own.id) was \(own.status), yet the command ran")
            }
            if !own.isGranted { return ("no-approval", "The approval request \(own.id) is \(own.status), yet the command ran") }
            if let expires = own.expiresAt {
                return ("jit-expired", "The command ran after JIT grant \(own.id) expired at \(Timestamp.format(expires))")
            }
        }
        if let grant = session.jitGrants.last, let expires = grant.expiresAt, let ranAt, ranAt >= expires {
            return ("jit-expired", "The command ran after JIT grant \(grant.id) expired at \(Timestamp.format(expires))")
        }
        return ("no-approval", "No approval request or JIT grant covers the command")
    }
}

/// CC6.3: approval requests do not sit unanswered.
final class PendingApprovalTest: SessionTest {
    static let definition = TestDefinition(
        id: "approval.pending-requests",
        title: "Approval requests are decided promptly",
        population: "Approval requests made in the period",
        attributes: [AttributeDefinition("A", "The request was decided, or has been pending less than the allowed time")],
        parameters: [ParameterDefinition("max_pending", .duration, default: .duration(86_400), "How long a request may stay pending")],
        facts: [
            FactDefinition("approval_id", "Approval id"),
            FactDefinition("approval_type", "Approval type"),
            FactDefinition("status", "Status"),
            FactDefinition("requested_at", "Requested at"),
            FactDefinition("decided_at", "Decided at"),
            FactDefinition("age", "Age at the end of the period (pending requests)"),
            FactDefinition("requester", "Requester"),
            FactDefinition("connection", "Connection"),
        ],
        walk: ["Sessions in the period", "Sessions with an approval request"],
        make: { PendingApprovalTest(limit: $0.duration("max_pending")) })

    let limit: Double
    init(limit: Double) { self.limit = limit }

    var sessions = 0, requests = 0
    var walkCounts: [Int] { [sessions, requests] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        guard let approval = session.approval else { return [] }
        requests += 1
        let subject = ItemSubject(sessionID: session.id, identity: session.actor.display, resource: session.connectionName, time: approval.requestedAt)
        let age = context.asOf.timeIntervalSince(approval.requestedAt)
        let pending = approval.status == "PENDING"
        let facts = [FactText.name(approval.id), approval.kind == .jit ? "JIT" : "one-time", FactText.name(approval.status, limit: 40),
                     FactText.time(approval.requestedAt), pending ? "" : FactText.time(approval.decisions.compactMap(\.decidedAt).max()),
                     pending ? FactText.duration(age) : "", FactText.name(approval.requester.display), FactText.name(approval.connectionName)]
        guard pending, age > limit else {
            return [ItemResult(itemID: "review:" + approval.id, subject: subject, attributes: ["A": .pass], facts: facts)]
        }
        let e = ItemException("pending-too-long",
                              "Approval request \(approval.id) has been pending for \(Int(age / 3600)) h (allowed \(ParameterValue.formatDuration(limit)))",
                              severity: .medium, failed: ["A"])
        return [ItemResult(itemID: "review:" + approval.id, subject: subject, attributes: ["A": .fail], exceptions: [e], facts: facts)]
    }
}

/// The facts of a privileged-command item (kept apart from the judgement above).
extension PrivilegedCommandApprovalTest {
    /// The item's facts (`definition.facts`): the command, the approval it ran under (or the one
    /// that did not cover it), who asked and who decided when, and when the command ran.
    func facts(_ command: Command, kinds: [CommandKind], approval: Approval?, in session: SessionRecord, ranAt: Date?) -> [String] {
        let excerpt = excerpts.value(command.text, remember: command.text.utf8.count <= 512) { Evidence.excerpt(command.text, limit: 300) }
        let shared = [excerpt, kinds.map(\.rawValue).joined(separator: ", ")]
        let tail = [FactText.time(ranAt), approval.map(Self.window) ?? "", FactText.exitCode(session.exitCode),
                    FactText.name("\(session.connectionName) (\(session.protocol.rawValue))")]
        guard let approval else {
            return shared + ["", "none", "", "", "", "", ""] + tail
        }
        let own = approval.id == session.approval?.id
        let type = switch (approval.kind, own) {
        case (.onetime, true): "one-time (own request)"
        case (.jit, true): "JIT (own request)"
        case (.onetime, false): "one-time (another session's request)"
        case (.jit, false): "JIT grant"
        }
        return shared + [FactText.name(approval.id), type, FactText.name(approval.status, limit: 40),
                         FactText.name(approval.requester.display), Self.approvers(approval),
                         FactText.time(approval.requestedAt), FactText.time(approval.approvedAt)] + tail
    }

    /// `ana@x (dba, 2026-08-05T10:22:31Z); bob@x (security, rejected 2026-08-05T10:30:00Z)`: each group's decision.
    static func approvers(_ approval: Approval) -> String {
        FactText.list(approval.decisions.map { d in
            var detail = [FactText.name(d.group, limit: 80)]
            let when = FactText.time(d.decidedAt)
            let status = d.status == "APPROVED" ? when : [d.status.lowercased(), when].filter { !$0.isEmpty }.joined(separator: " ")
            if !status.isEmpty { detail.append(FactText.name(status, limit: 60)) }
            if d.forced { detail.append("forced") }
            return "\(d.reviewer.map { FactText.name($0.display) } ?? "no reviewer") (\(detail.joined(separator: ", ")))"
        })
    }

    /// When the approval let commands run: a JIT grant's span, and a daily window.
    static func window(_ approval: Approval) -> String {
        var parts: [String] = []
        if approval.kind == .jit {
            if let start = approval.approvedAt {
                let end = approval.expiresAt ?? start.addingTimeInterval(Double(approval.accessDurationSec))
                parts.append("\(Timestamp.format(start)) to \(Timestamp.format(end))")
            } else if let end = approval.expiresAt {
                parts.append("until \(Timestamp.format(end))")
            }
        }
        if let window = approval.timeWindow { parts.append("daily \(window.description) UTC") }
        return parts.joined(separator: "; ")
    }
}
