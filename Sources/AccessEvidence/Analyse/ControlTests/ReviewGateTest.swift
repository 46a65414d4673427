import Foundation

/// CC6.1, CC6.2, CC6.3: every session on a connection that required review when it started ran under
/// an approval: its own granted review, or a JIT grant of the same requester on the same connection
/// in force at its start. A gated session without one means the gate was bypassed or misconfigured,
/// whatever the session ran (a harmless `SELECT` included): the privileged-command test would not
/// see it.
final class ReviewGateTest: SessionTest {
    static let definition = TestDefinition(
        id: "approval.gated-access",
        title: "Sessions on connections that require review run under an approval",
        population: "Sessions started in the period that ran on a connection requiring review at their start (review plugin, or an access request rule for the requester and kind of access)",
        attributes: [
            AttributeDefinition("A", "An approval covers the session: its own granted review, or a JIT grant of the requester on the connection in force when it started"),
            AttributeDefinition("B", "Every approver is independent of the requester and in a group the gate names as reviewers"),
        ],
        parameters: [],
        facts: [
            FactDefinition("verb", "Kind of access"),
            FactDefinition("gate", "Gate at the session's start"),
            FactDefinition("approval_id", "Approval id"),
            FactDefinition("approval_type", "Approval type"),
            FactDefinition("approval_status", "Approval status"),
            FactDefinition("requester", "Requester"),
            FactDefinition("approvers", "Approvers (group, decision time)"),
            FactDefinition("approval_window", "Approval window"),
            FactDefinition("started_at", "Session started at"),
            FactDefinition("connection", "Connection"),
        ],
        walk: ["Sessions in the period", "Sessions that ran", "Sessions whose gate at their start the store cannot tell (not tested)",
               "Sessions on a gated connection"],
        needs: ["connection-policy"],
        make: { _ in ReviewGateTest() })

    private var gate: ReviewGate?
    var sessions = 0, ran = 0, unknown = 0, gated = 0
    var walkCounts: [Int] { [sessions, ran, unknown, gated] }
    /// Why gates could not be told, with how many sessions each time: said in the report.
    private var unknownReasons: [String: Int] = [:]
    private var fromExtraction = Set<String>()
    private var rulesChangedLater = Set<String>()

    var notes: [String] {
        var out: [String] = []
        if !fromExtraction.isEmpty {
            out.append("No change to the reviewers of \(fromExtraction.sorted().joined(separator: ", ")) is in the audit log: its review-plugin configuration at extraction is taken for the whole period.")
        }
        if !rulesChangedLater.isEmpty {
            out.append("Access request rules \(rulesChangedLater.sorted().joined(separator: ", ")) were updated after sessions they gated; hoop does not log rule changes, so their content at extraction is assumed.")
        }
        if unknown > 0 {
            out.append("\(unknown) session\(unknown == 1 ? "" : "s") could not be tested because the store cannot tell the gate at their start: "
                       + unknownReasons.sorted { $0.key < $1.key }.prefix(5).map { "\($0.key) (\($0.value))" }.joined(separator: "; ") + ".")
        }
        return out
    }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        guard session.ran else { return [] }
        ran += 1
        guard let connection = context.directory.connections[session.connectionName] else {
            // Deleted since (hoop keeps no history of it): its gate cannot be told.
            unknown += 1
            unknownReasons["\(session.connectionName): the connection is no longer in the store", default: 0] += 1
            return []
        }
        if gate == nil { gate = ReviewGate(context.directory) }
        let groups = Set(context.directory.users[session.actor.subject]?.groups ?? [])
        let sources: [ReviewGate.Source]
        switch gate!.state(connection, verb: session.verb, groups: groups, at: session.createdAt) {
        case .open: return []
        case .unknown(let why):
            unknown += 1
            unknownReasons["\(session.connectionName): \(why)", default: 0] += 1
            return []
        case .gated(let s): sources = s
        }
        gated += 1
        for source in sources {
            switch source {
            case .plugin: if gate!.history[connection.name] == nil { fromExtraction.insert(connection.name) }
            case .rule(let rule): if let updated = rule.updatedAt, updated > session.createdAt { rulesChangedLater.insert(rule.name) }
            }
        }
        return [judge(session, sources: sources, connection: connection, context)]
    }

    func judge(_ session: SessionRecord, sources: [ReviewGate.Source], connection: ConnectionConfig, _ context: AnalysisContext) -> ItemResult {
        let gateText = sources.map(\.label).joined(separator: "; ")
        let started = session.createdAt
        var attributes: AttributeOutcomes = ["A": .pass, "B": .pass]
        var exceptions: [ItemException] = []
        let evidence = "\(session.verb) on \(session.connectionName), gated by \(gateText)"

        guard let approval = covering(session) else {
            attributes = ["A": .fail, "B": .notApplicable]
            let considered = session.approval ?? session.jitGrants.last ?? session.lapsedGrant
            let (code, reason) = missing(session)
            exceptions.append(ItemException(code, reason, severity: .high, failed: ["A"], evidence: evidence, time: started))
            return ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions,
                              facts: facts(session, gate: gateText, approval: considered))
        }
        // The plugin's reviewers as of the session (the gate), not as of extraction.
        let pluginGroups = sources.lazy.compactMap { source -> [String]? in
            if case .plugin(let groups) = source { return groups }
            return nil
        }.first ?? []
        let requesters = Set([approval.requester.subject, session.actor.subject].filter { !$0.isEmpty })
        let requesterEmails = Set([approval.requester.email, session.actor.email].filter { !$0.isEmpty }.map { $0.lowercased() })
        for decision in approval.approvingDecisions {
            guard let reviewer = decision.reviewer else { continue }
            if requesters.contains(reviewer.subject) || requesterEmails.contains(reviewer.email.lowercased()) {
                attributes["B"] = .fail
                exceptions.append(ItemException("self-approval", "Approval \(approval.id) of gated access was approved by the requester \(reviewer.display)",
                                                severity: .high, failed: ["B"], evidence: evidence, time: started))
            } else if let (groups, source) = ApproverAuthority.allowed(approval, decision, connection: connection, context.directory,
                                                                       pluginGroups: pluginGroups),
                      !groups.contains(decision.group) {
                attributes["B"] = .fail
                exceptions.append(ItemException("approver-not-authorized",
                                                "Group '\(decision.group)' approved \(approval.id) but \(source) are \(groups.joined(separator: ", "))",
                                                severity: .high, failed: ["B"], evidence: evidence, time: started))
            } else if let user = context.directory.users[reviewer.subject], !user.groups.contains(decision.group) {
                attributes["B"] = .fail
                exceptions.append(ItemException("approver-not-authorized",
                                                "\(reviewer.display) approved \(approval.id) for group '\(decision.group)' without being a member of it",
                                                severity: .high, failed: ["B"], evidence: evidence, time: started))
            }
        }
        return ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions,
                          facts: facts(session, gate: gateText, approval: approval))
    }

    /// The session's own granted review (a JIT one only before it expired), else a JIT grant of the
    /// requester on the connection in force at the session's start. A refused own request is not
    /// overruled by a broader grant.
    func covering(_ session: SessionRecord) -> Approval? {
        let started = session.createdAt
        if let own = session.approval {
            if own.isGranted {
                if own.kind == .onetime { return own }
                // hoop counts a grant expired only once `revoked_at` has passed.
                if let expires = own.expiresAt, started > expires {} else { return own }
            }
            if ["REJECTED", "REVOKED"].contains(own.status) { return nil }
        }
        // A grant ending at the very instant the session started still covers it (found as the lapsed one).
        func covers(_ grant: Approval) -> Bool {
            guard let start = grant.approvedAt else { return false }
            let end = grant.expiresAt ?? start.addingTimeInterval(Double(grant.accessDurationSec))
            return max(start, grant.requestedAt) <= started && started <= end
        }
        return session.jitGrants.first(where: covers) ?? session.lapsedGrant.flatMap { covers($0) ? $0 : nil }
    }

    func missing(_ session: SessionRecord) -> (String, String) {
        let started = Timestamp.format(session.createdAt)
        if let own = session.approval {
            if ["REJECTED", "REVOKED"].contains(own.status) {
                return ("no-approval-for-gated-access", "The session's request \(own.id) was \(own.status), yet the session ran")
            }
            if !own.isGranted { return ("no-approval-for-gated-access", "The session's request \(own.id) is \(own.status), yet the session ran") }
            if let expires = own.expiresAt {
                return ("jit-expired", "The session started at \(started), after its JIT grant \(own.id) expired at \(Timestamp.format(expires))")
            }
        }
        let lapsed = session.lapsedGrant ?? session.jitGrants.last { ($0.expiresAt ?? .distantFuture) < session.createdAt }
        if let grant = lapsed, let expires = grant.expiresAt {
            let hours = session.createdAt.timeIntervalSince(expires) / 3_600
            return ("jit-expired", "The session started at \(started), \(String(format: "%.1f", hours)) h after the requester's JIT grant \(grant.id) expired at \(Timestamp.format(expires)); no approval covers it")
        }
        if let grant = session.jitGrants.first, let approved = grant.approvedAt, approved > session.createdAt {
            return ("no-approval-for-gated-access", "The session started at \(started), before JIT grant \(grant.id) was approved at \(Timestamp.format(approved))")
        }
        return ("no-approval-for-gated-access", "No review of its own and no JIT grant of the requester on the connection covers the session, which started at \(started)")
    }

    func facts(_ session: SessionRecord, gate: String, approval: Approval?) -> [String] {
        let tail = [FactText.time(session.createdAt), FactText.name("\(session.connectionName) (\(session.protocol.rawValue))")]
        let head = [FactText.name(session.verb, limit: 20), FactText.name(gate, limit: 300)]
        guard let approval else { return head + ["", "none", "", "", "", ""] + tail }
        let own = approval.id == session.approval?.id
        let type = switch (approval.kind, own) {
        case (.onetime, true): "one-time (own request)"
        case (.jit, true): "JIT (own request)"
        case (.onetime, false): "one-time (another session's request)"
        case (.jit, false): "JIT grant"
        }
        return head + [FactText.name(approval.id), type, FactText.name(approval.status, limit: 40), FactText.name(approval.requester.display),
                       PrivilegedCommandApprovalTest.approvers(approval), PrivilegedCommandApprovalTest.window(approval)] + tail
    }
}
