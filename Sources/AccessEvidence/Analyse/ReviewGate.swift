import Foundation

/// Whether a connection required an approval for a session, as of the session's start: hoop's review
/// plugin on the connection (every session, `connect` and `exec`), or an access request rule naming
/// it (by name or attribute) for the requester's groups and the session's kind of access.
///
/// hoop keeps only the current configuration. The review plugin's reviewer groups travel in the
/// request body of every connection create and full update, which the audit log keeps: where it has
/// such a change, the gate after it is known; before the first one, unknown (unless no change was
/// ever logged, when the configuration at extraction is taken, and said). Rule changes are not logged
/// by hoop: a rule counts from its `created_at` with its content at extraction.
struct ReviewGate {
    enum Source: Equatable {
        case plugin(groups: [String])
        case rule(AccessRule)

        var label: String {
            switch self {
            case .plugin(let groups): "review plugin (reviewers \(groups.joined(separator: ", ")))"
            case .rule(let rule): "rule \(rule.name) (\(rule.accessType))"
            }
        }
    }

    enum State: Equatable {
        case open
        case gated([Source])
        /// The store cannot say whether the gate was on: why.
        case unknown(String)
    }

    /// Logged reviewer-group states per connection, in time order (successful changes that carried them).
    let history: [String: [PolicyChange]]
    let rules: [AccessRule]

    init(_ directory: StoreDirectory) {
        history = Dictionary(grouping: directory.policyChanges.filter { $0.resourceType == "connections" && $0.succeeded && $0.reviewers != nil },
                             by: \.target)
        rules = directory.accessRules
    }

    /// The review plugin's state on `connection` at `time`.
    func plugin(_ connection: ConnectionConfig, at time: Date) -> State {
        if let changes = history[connection.name], !changes.isEmpty {
            if let last = changes.last(where: { $0.at <= time }) {
                let groups = last.reviewers ?? []
                return groups.isEmpty ? .open : .gated([.plugin(groups: groups)])
            }
            let first = changes[0]
            if first.action == "create" { return .open }
            return .unknown("the audit log's first change to the connection's reviewers (\(Timestamp.format(first.at))) came after the session; the gate before it is not recorded")
        }
        guard !connection.reviewerGroups.isEmpty else { return .open }
        if let since = connection.reviewPluginSince, since > time {
            return .unknown("the review plugin was bound to the connection at \(Timestamp.format(since)), after the session; whether a gate was on before is not recorded")
        }
        return .gated([.plugin(groups: connection.reviewerGroups)])
    }

    /// The gate a session of `verb` by a requester in `groups` met on `connection` at `time`.
    func state(_ connection: ConnectionConfig, verb: String, groups: Set<String>, at time: Date) -> State {
        var sources: [Source] = []
        let fromPlugin = plugin(connection, at: time)
        if case .gated(let s) = fromPlugin, verb == "connect" || verb == "exec" { sources += s }
        for rule in rules where rule.covers(connection) && rule.gates(verb: verb) && rule.applies(toGroups: groups) {
            if let created = rule.createdAt, created > time { continue }
            sources.append(.rule(rule))
        }
        if !sources.isEmpty { return .gated(sources) }
        if case .unknown = fromPlugin { return fromPlugin }
        return .open
    }
}

/// Who may approve a review, by the configuration that asked for it.
enum ApproverAuthority {
    /// The groups whose approval counts for `decision` on `approval`, and whose list that is: the rule's
    /// reviewer groups (and its force-approval groups, for a forced decision) when the review names a
    /// rule the store holds; else the connection's review-plugin groups. Nil when neither says.
    /// `pluginGroups`: the review plugin's groups as of the session, when known (else the extraction's).
    static func allowed(_ approval: Approval, _ decision: Decision, connection: ConnectionConfig?,
                        _ directory: StoreDirectory, pluginGroups: [String]? = nil) -> (groups: [String], source: String)? {
        if let name = approval.ruleName, !name.isEmpty {
            guard let rule = directory.accessRules.first(where: { $0.name == name }) else { return nil }
            let groups = rule.reviewersGroups + (decision.forced ? rule.forceApprovalGroups : [])
            return groups.isEmpty ? nil : (groups, "rule \(name)'s reviewer groups")
        }
        guard let groups = pluginGroups ?? connection?.reviewerGroups, !groups.isEmpty else { return nil }
        return (groups, "the connection's reviewer groups")
    }
}
