import Foundation

/// The configured protections around the directory: access request rules, guardrail and masking rules
/// per connection, and the audit log's changes to them. Every table here arrived after hoop's first
/// release, so each is read only when the store has it (`GatewaySchema.Table.addedIn`).
extension GatewayRecordReader {
    /// At most this many policy changes are held; a store with more is listed as a data-quality issue
    /// (the gate as of a session then falls back to the extraction state for the rest).
    static let heldPolicyChanges = 200_000

    /// The audit-log fields a policy change is read from.
    static let policyFields = ["id", "actor_subject", "actor_email", "actor_name", "created_at", "resource_type", "action",
                               "http_path", "request_payload_redacted", "outcome"]

    /// Request-body keys that change a connection's protections, as the posture names them.
    static let protectionKeys = ["reviewers", "redact_types", "guardrail_rules", "access_mode_connect", "access_mode_exec",
                                 "access_mode_runbooks", "force_approve_groups", "min_review_approvals", "access_max_duration",
                                 "connection_tags", "tags", "connection_ids", "input", "output", "supported_entity_types",
                                 "custom_entity_types", "score_threshold"]

    func loadPolicy(into directory: inout StoreDirectory, until period: Period) throws {
        let connectionIDs = Dictionary(directory.connections.values.map { ($0.id, $0.name) }, uniquingKeysWith: min)
        try loadAttributes(into: &directory)
        try loadTags(into: &directory, connectionIDs)
        directory.accessRules = try accessRules()
        var withAttribute: [String: [String]] = [:]
        for c in directory.connections.values { for a in c.attributes { withAttribute[a, default: []].append(c.name) } }
        for (kind, rules, bindings, byAttribute, nameColumn) in [
            ("guardrail", "guardrail_rules", "guardrail_rules_connections", "guardrail_rules_attributes", "guardrail_rule_name"),
            ("masking", "datamasking_rules", "datamasking_rules_connections", "datamasking_rules_attributes", "datamasking_rule_name"),
        ] {
            guard d.hasTable(rules) else { continue }
            // A rule bound through an attribute reaches every connection carrying that attribute.
            if d.hasTable(byAttribute) {
                try source.forEachRow("SELECT \(columns("x", byAttribute, [nameColumn, "attribute_name"])) FROM \(d.table(byAttribute)) x"
                                      + orgCondition("x", byAttribute, parameter: 1, prefix: " WHERE "), binds: orgBinds) { row in
                    guard let rule = row.text(0), let attribute = text(row, 1, byAttribute, "attribute_name", rule) else { return }
                    for connection in withAttribute[attribute] ?? [] {
                        if kind == "guardrail" { directory.connections[connection]?.guardrailRules.append(rule) }
                        else { directory.connections[connection]?.maskingRules.append(rule) }
                    }
                }
            }
            guard d.hasTable(bindings) else { continue }
            var names: [String: String] = [:]
            try source.forEachRow("SELECT \(columns("x", rules, ["id", "name"])) FROM \(d.table(rules)) x"
                                  + orgCondition("x", rules, parameter: 1, prefix: " WHERE ") + " ORDER BY \(d.sortKey(d.value("x", rules, "name")))",
                                  binds: orgBinds) { row in
                if let id = rowID(row, 0, rules, "id"), let name = text(row, 1, rules, "name", id) { names[id] = name }
            }
            for (id, name) in names { directory.ruleNames[id] = name }
            // Not filtered by org: hoop allows a NULL org_id here; only the chosen org's rules and connections match.
            try source.forEachRow("SELECT \(columns("x", bindings, ["rule_id", "connection_id", "status", "id"])) FROM \(d.table(bindings)) x",
                                  binds: []) { row in
                let id = rowID(row, 3, bindings, "id") ?? ""
                guard let rule = rowID(row, 0, bindings, "rule_id").flatMap({ names[$0] }),
                      let connection = rowID(row, 1, bindings, "connection_id").flatMap({ connectionIDs[$0] }) else { return }
                // hoop's masking bindings carry an `active`/`inactive` status; a guardrail binding is active by being there.
                if let status = text(row, 2, bindings, "status", id), status.lowercased() != "active" { return }
                if kind == "guardrail" { directory.connections[connection]?.guardrailRules.append(rule) }
                else { directory.connections[connection]?.maskingRules.append(rule) }
            }
        }
        for name in directory.connections.keys {
            directory.connections[name]!.guardrailRules = Array(Set(directory.connections[name]!.guardrailRules)).sorted()
            directory.connections[name]!.maskingRules = Array(Set(directory.connections[name]!.maskingRules)).sorted()
        }
        directory.policyChanges = try policyChanges(until: period, ruleNames: directory.ruleNames, connectionNames: connectionIDs)
    }

    /// hoop's key/value connection tags (000034), as `key=value` beside the legacy flat `_tags`.
    private func loadTags(into directory: inout StoreDirectory, _ connectionIDs: [String: String]) throws {
        guard d.hasTable("connection_tags"), d.hasTable("connection_tags_association") else { return }
        var tags: [String: String] = [:]
        try source.forEachRow("SELECT \(columns("x", "connection_tags", ["id", "key", "value"])) FROM \(d.table("connection_tags")) x"
                              + orgCondition("x", "connection_tags", parameter: 1, prefix: " WHERE "), binds: orgBinds) { row in
            guard let id = rowID(row, 0, "connection_tags", "id"), let key = text(row, 1, "connection_tags", "key", id), !key.isEmpty else { return }
            let value = text(row, 2, "connection_tags", "value", id) ?? ""
            tags[id] = value.isEmpty ? key : "\(key)=\(value)"
        }
        // Not filtered by org: hoop allows a NULL org_id here; only the chosen org's tags and connections match.
        let table = "connection_tags_association"
        try source.forEachRow("SELECT \(columns("x", table, ["tag_id", "connection_id"])) FROM \(d.table(table)) x", binds: []) { row in
            guard let tag = rowID(row, 0, table, "tag_id").flatMap({ tags[$0] }),
                  let connection = rowID(row, 1, table, "connection_id").flatMap({ connectionIDs[$0] }) else { return }
            directory.connections[connection]?.tags.append(tag)
        }
        for name in directory.connections.keys {
            directory.connections[name]!.tags = Array(Set(directory.connections[name]!.tags)).sorted()
        }
    }

    private func loadAttributes(into directory: inout StoreDirectory) throws {
        guard d.hasTable("connections_attributes") else { return }
        try source.forEachRow("SELECT \(columns("x", "connections_attributes", ["connection_name", "attribute_name"])) FROM \(d.table("connections_attributes")) x"
                              + orgCondition("x", "connections_attributes", parameter: 1, prefix: " WHERE "), binds: orgBinds) { row in
            guard let name = row.text(0), let attribute = text(row, 1, "connections_attributes", "attribute_name", name) else { return }
            directory.connections[name]?.attributes.append(attribute)
        }
        for name in directory.connections.keys { directory.connections[name]!.attributes.sort() }
    }

    private func accessRules() throws -> [AccessRule] {
        guard d.hasTable("access_request_rules") else { return [] }
        var attributes: [String: [String]] = [:]
        if d.hasTable("access_request_rules_attributes") {
            let table = "access_request_rules_attributes"
            try source.forEachRow("SELECT \(columns("x", table, ["access_rule_name", "attribute_name"])) FROM \(d.table(table)) x"
                                  + orgCondition("x", table, parameter: 1, prefix: " WHERE "), binds: orgBinds) { row in
                guard let rule = row.text(0), let attribute = text(row, 1, table, "attribute_name", rule) else { return }
                attributes[rule, default: []].append(attribute)
            }
        }
        let table = "access_request_rules"
        let fields = ["id", "name", "connection_names", "access_type", "approval_required_groups", "all_groups_must_approve",
                      "reviewers_groups", "force_approval_groups", "skip_review_groups", "min_approvals", "access_max_duration",
                      "created_at", "updated_at"]
        var rules: [AccessRule] = []
        try source.forEachRow("SELECT \(columns("x", table, fields)) FROM \(d.table(table)) x"
                              + orgCondition("x", table, parameter: 1, prefix: " WHERE ")
                              + " ORDER BY \(d.sortKey(d.value("x", table, "name"))), \(d.sortKey(d.value("x", table, "id")))", binds: orgBinds) { row in
            let id = rowID(row, 0, table, "id") ?? ""
            func t(_ i: Int32) -> String? { text(row, i, table, fields[Int(i)], id) }
            func list(_ i: Int32) -> [String] { stringArray(t(i), table, fields[Int(i)], id) }
            guard let name = t(1), !name.isEmpty else {
                note(table, "name", id, "empty name; the rule is not applied")
                return
            }
            rules.append(AccessRule(
                id: id, name: name, connectionNames: list(2), attributes: (attributes[name] ?? []).sorted(),
                accessType: String((t(3) ?? "").lowercased().prefix(32)), approvalRequiredGroups: list(4),
                allGroupsMustApprove: (integer(row, 5, table, "all_groups_must_approve", id, StoreLimits.flag) ?? 0) != 0,
                reviewersGroups: list(6), forceApprovalGroups: list(7), skipReviewGroups: list(8),
                minApprovals: integer(row, 9, table, "min_approvals", id, StoreLimits.approvals),
                accessMaxDurationSec: integer(row, 10, table, "access_max_duration", id, StoreLimits.durationSeconds),
                createdAt: timestamp(t(11), table, "created_at", id), updatedAt: timestamp(t(12), table, "updated_at", id)))
        }
        return rules
    }

    /// The audit log's changes to connections, guardrails and masking rules up to the period's end.
    private func policyChanges(until period: Period, ruleNames: [String: String], connectionNames: [String: String]) throws -> [PolicyChange] {
        let table = "security_audit_log"
        guard d.hasTable(table) else { return [] }
        let upper = d.bounds(period)[1]
        let sql = """
            SELECT \(columns("a", table, Self.policyFields)) FROM \(d.table(table)) a
            WHERE lower(\(d.value("a", table, "resource_type"))) IN ('connections', 'guardrails', 'data_masking')
              AND a.created_at < \(d.timestampParameter(1))\(orgCondition("a", table, parameter: 2))
            ORDER BY a.created_at DESC, \(d.sortKey(d.value("a", table, "id"))) DESC
            """
        // Newest first: past the cap, the oldest changes are the ones left out (the ones nearest the
        // period tell the gate as of its sessions).
        var changes: [PolicyChange] = []
        var dropped = 0
        try source.forEachRow(sql, binds: [upper] + orgBinds) { row in
            let id = rowID(row, 0, table, "id") ?? ""
            func t(_ i: Int32) -> String? { text(row, i, table, Self.policyFields[Int(i)], id) }
            guard let at = timestamp(t(4), table, "created_at", id), at < period.end else { return }
            guard changes.count < Self.heldPolicyChanges else { dropped += 1; return }
            let type = (t(5) ?? "").lowercased(), action = (t(6) ?? "").lowercased()
            let body = jsonObject(t(8), table, "request_payload_redacted", id)
            let (pathID, bodyName) = Self.policyTarget(type: type, path: t(7) ?? "", body: body)
            // A connection by its name; a rule by its name, from the body or else the id in the path.
            // hoop's routes take a connection's name or id: an id is turned into the name.
            let target = type == "connections" ? bodyName ?? pathID.map { connectionNames[$0] ?? $0 } ?? ""
                : bodyName ?? pathID.map { ruleNames[$0] ?? $0 } ?? ""
            var reviewers: [String]?
            if type == "connections" {
                if action == "delete" { reviewers = [] }
                else if let value = body?["reviewers"] { reviewers = value == .null ? [] : (value.strings ?? []) }
            }
            changes.append(PolicyChange(
                id: id, at: at, actor: Actor(subject: t(1) ?? "", email: t(2) ?? "", name: t(3) ?? ""), resourceType: type,
                action: action, target: target, reviewers: reviewers,
                fields: Self.protectionKeys.filter { body?[$0] != nil },
                succeeded: (integer(row, 9, table, "outcome", id, StoreLimits.flag) ?? 1) != 0))
        }
        if dropped > 0 {
            note(table, "resource_type", "(\(dropped) rows)",
                 "more than \(Self.heldPolicyChanges) changes to connections, guardrails and masking rules; the \(dropped) oldest are not used for the review gate or the posture")
        }
        // Text order and time order can differ by an offset: ordered by the instant.
        return changes.sorted { ($0.at, $0.id) < ($1.at, $1.id) }
    }

    /// The id or name the path names after its collection (`…/connections/NAME`, `…/guardrails/ID`),
    /// and the `name` the request body carries.
    static func policyTarget(type: String, path: String, body: JSONObject?) -> (path: String?, body: String?) {
        let segments = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/").map(String.init) } ?? []
        let collection = type == "connections" ? "connections" : type == "guardrails" ? "guardrails" : "datamasking-rules"
        var fromPath: String?
        if let i = segments.lastIndex(where: { $0 == collection || $0 == type }), i + 1 < segments.count {
            fromPath = segments[i + 1].removingPercentEncoding ?? segments[i + 1]
        }
        return (fromPath, body?["name"]?.string)
    }
}
