import Foundation

/// One connection's configured protections as of extraction, with who changed them during the
/// period: the design half of a Type 2 test (is the control there?), beside the operating half the
/// session tests give (did it work?).
public struct ConnectionPosture: Codable, Sendable, Equatable {
    public var connection: String
    public var `protocol`: String
    public var tags: [String]
    /// Tagged as production by the posture test's `production_tags`.
    public var production: Bool
    /// What requires an approval: the review plugin and each access request rule covering it.
    public var reviewGate: [String]
    /// Approvals required, when the connection or a rule says.
    public var minApprovals: Int?
    /// The dlp plugin's info types and the active masking rules.
    public var masking: [String]
    public var guardrails: [String]
    /// `connect enabled, exec enabled, runbooks disabled`, when the store has the access modes.
    public var accessModes: String
    /// Changes to the connection, its guardrail and masking rules during the period, from the audit log.
    public var changes: [String]
    /// For a production connection: which protections it lacks (`review gate`, `masking`, `guardrails`).
    public var missing: [String]

    /// Every connection of the directory, by name.
    public static func build(_ directory: StoreDirectory, period: Period, productionTags: [String]) -> [ConnectionPosture] {
        let production = Set(productionTags.map { $0.lowercased() })
        return directory.connections.keys.sorted().map { name in
            let c = directory.connections[name]!
            var tags = Set<String>()
            for tag in c.tags {
                tags.insert(tag.lowercased())
                if let key = tag.split(separator: "=", maxSplits: 1).first { tags.insert(key.lowercased()) }
            }
            var gate: [String] = []
            if !c.reviewerGroups.isEmpty { gate.append("review plugin (reviewers \(c.reviewerGroups.joined(separator: ", ")))") }
            let rules = directory.accessRules.filter { $0.covers(c) }
            gate += rules.map { "rule " + $0.summary }
            var masking: [String] = []
            if !c.redactTypes.isEmpty { masking.append("dlp plugin: " + c.redactTypes.joined(separator: ", ")) }
            masking += c.maskingRules.map { "rule \($0)" }
            let isProduction = !production.isDisjoint(with: tags)
            var missing: [String] = []
            if isProduction {
                if gate.isEmpty { missing.append("review gate") }
                if masking.isEmpty { missing.append("masking") }
                if c.guardrailRules.isEmpty { missing.append("guardrails") }
            }
            let changes = directory.policyChanges.filter { change in
                guard period.contains(change.at) else { return false }
                switch change.resourceType {
                case "connections": return change.target == name
                case "guardrails": return c.guardrailRules.contains(change.target)
                case "data_masking": return c.maskingRules.contains(change.target)
                default: return false
                }
            }.map { change in
                let what = change.fields.isEmpty ? "" : " (\(change.fields.joined(separator: ", ")))"
                let target = change.resourceType == "connections" ? "" : " \(change.resourceType == "guardrails" ? "guardrail" : "masking rule") \(change.target)"
                return "\(Timestamp.format(change.at)) \(change.actor.display) \(change.action)\(target)\(what)\(change.succeeded ? "" : ", refused")"
            }
            return ConnectionPosture(
                connection: name, protocol: c.protocol.rawValue, tags: c.tags, production: isProduction, reviewGate: gate,
                minApprovals: c.minReviewApprovals ?? rules.compactMap(\.minApprovals).max(), masking: masking, guardrails: c.guardrailRules,
                accessModes: ["connect", "exec", "runbooks"].compactMap { m in c.accessModes[m].map { "\(m) \($0)" } }.joined(separator: ", "),
                changes: changes, missing: missing)
        }
    }
}

/// CC6.1, CC6.7, CC6.8 (design): production connections are configured with a review gate, masking
/// and guardrails. Each lack is an observation for the auditor, not an exception: the configuration
/// is a design choice the session tests then probe.
final class ProductionProtectionTest: SessionTest {
    static let definition = TestDefinition(
        id: "posture.production-protections",
        title: "Production connections are configured with a review gate, masking and guardrails",
        population: "Connections tagged as production, as configured at extraction",
        attributes: [
            AttributeDefinition("A", "A review gate (review plugin or access request rule) covers the connection"),
            AttributeDefinition("B", "Masking (dlp plugin or an active masking rule) is configured"),
            AttributeDefinition("C", "At least one guardrail rule is bound"),
        ],
        parameters: [
            ParameterDefinition("production_tags", .strings, default: .strings(["env=prod", "env=production", "prod", "production"]),
                                "Connection tags (key=value or key) that mark a production connection"),
            ParameterDefinition("required", .strings, default: .strings(["review-gate", "masking", "guardrails"]),
                                "The protections a production connection needs", allowed: ["review-gate", "masking", "guardrails"]),
        ],
        facts: [
            FactDefinition("protocol", "Protocol"),
            FactDefinition("tags", "Tags"),
            FactDefinition("review_gate", "Review gate"),
            FactDefinition("masking", "Masking"),
            FactDefinition("guardrails", "Guardrails"),
            FactDefinition("changes", "Changed during the period"),
        ],
        walk: ["Connections in the store", "Connections tagged as production"],
        needs: ["connection-policy"],
        make: { p in ProductionProtectionTest(tags: p.strings("production_tags"), required: Set(p.strings("required"))) })

    let tags: [String]
    let required: Set<String>
    var connections = 0, production = 0
    var walkCounts: [Int] { [connections, production] }

    init(tags: [String], required: Set<String>) {
        self.tags = tags
        self.required = required
    }

    func finish(_ context: AnalysisContext) -> [ItemResult] {
        let posture = ConnectionPosture.build(context.directory, period: context.period, productionTags: tags)
        connections = posture.count
        return posture.filter(\.production).map { p in
            production += 1
            let checks = [("A", "review-gate", "review gate"), ("B", "masking", "masking"), ("C", "guardrails", "guardrails")]
            var attributes: AttributeOutcomes = [:]
            var lacking: [String] = [], failed: [String] = []
            for (attribute, key, label) in checks {
                if !required.contains(key) { attributes[attribute] = .notApplicable }
                else if p.missing.contains(label) { attributes[attribute] = .fail; lacking.append(label); failed.append(attribute) }
                else { attributes[attribute] = .pass }
            }
            let subject = ItemSubject(sessionID: "connection:" + p.connection, identity: "", resource: p.connection, time: context.asOf)
            let facts = [p.protocol, FactText.list(p.tags), FactText.list(p.reviewGate), FactText.list(p.masking), FactText.list(p.guardrails),
                         FactText.list(p.changes)]
            var exceptions: [ItemException] = []
            if !lacking.isEmpty {
                exceptions.append(ItemException("production-unprotected",
                                                "Production connection \(p.connection) has no \(lacking.joined(separator: ", no "))",
                                                severity: .medium, failed: failed,
                                                evidence: "tags \(p.tags.joined(separator: ", ")); gate: \(p.reviewGate.isEmpty ? "none" : p.reviewGate.joined(separator: "; "))",
                                                time: context.asOf))
            }
            return ItemResult(itemID: "connection:" + p.connection, subject: subject, attributes: attributes, exceptions: exceptions, facts: facts)
        }
    }
}
