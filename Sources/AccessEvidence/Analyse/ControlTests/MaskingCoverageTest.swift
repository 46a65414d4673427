import Foundation

/// C1.1, CC6.7: on connections configured to mask, every sensitive entity the analyzer
/// detected was masked before it reached the user.
final class MaskingCoverageTest: SessionTest {
    static let definition = TestDefinition(
        id: "masking.detected-not-masked",
        title: "Sensitive entities detected on masking connections were masked",
        population: "Sessions on connections configured to mask data",
        attributes: [
            AttributeDefinition("A", "Masking is configured on the connection"),
            AttributeDefinition("B", "Every detected entity was masked (masked count at least the detected count, per type)"),
        ],
        parameters: [],
        facts: [
            FactDefinition("masking_config", "Connection masking (info types)"),
            FactDefinition("detected", "Detected (per info type)"),
            FactDefinition("masked", "Masked (per info type)"),
            FactDefinition("unmasked", "Detected but not masked"),
        ],
        walk: ["Sessions in the period", "Sessions on connections that mask"],
        needs: ["masking"],
        make: { _ in MaskingCoverageTest() })

    /// Connections' masking configuration in words, per connection (fixed for the run).
    private let configurations = Memo<String, String>(capacity: 1_024)
    var sessions = 0, masking = 0
    var walkCounts: [Int] { [sessions, masking] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        let connection = context.directory.connections[session.connectionName]
        let configured = connection?.masksData ?? (session.masking.totalMasked > 0)
        guard configured else { return [] }
        masking += 1
        let unmasked = session.masking.unmaskedTypes
        let config = connection.map { c in configurations.value(c.name, remember: c.name.utf8.count <= 256) { MaskingFacts.configuration(c) } } ?? "connection not in the gateway's list; the session has masked counts"
        var facts = [config, FactText.counts(session.masking.detected), FactText.counts(session.masking.masked)]
        guard !unmasked.isEmpty else {
            return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass, "B": .pass], facts: facts + ["none"])]
        }
        let detail = unmasked.map { "\($0.type): \($0.detected) detected, \($0.masked) masked" }.joined(separator: "; ")
        facts.append(FactText.list(unmasked.map { "\(FactText.name($0.type, limit: 60)) \($0.detected - $0.masked)" }, limit: 20, separator: ", "))
        // Each difference is at most a bounded count (see `StoreLimits.count`); the sum is checked anyway.
        let missed = MaskingCounters.saturatingSum(unmasked.map { $0.detected - $0.masked })
        let exception = ItemException(
            "detected-not-masked", "\(missed) sensitive entit\(missed == 1 ? "y" : "ies") detected but not masked (\(detail))",
            severity: .high, failed: ["B"], evidence: detail)
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass, "B": .fail], exceptions: [exception], facts: facts)]
    }
}

/// Facts about a connection's masking.
enum MaskingFacts {
    /// `masks EMAIL_ADDRESS, PHONE_NUMBER`, or `no masking configured`.
    static func configuration(_ connection: ConnectionConfig) -> String {
        connection.masksData ? "masks " + FactText.list(connection.redactTypes.sorted().map { FactText.name($0, limit: 60) }, limit: 20, separator: ", ")
            : "no masking configured"
    }
}

/// CC6.8: the population of commands guardrails blocked, and any match that did not stop the command.
final class GuardrailBlockTest: SessionTest {
    static let definition = TestDefinition(
        id: "guardrails.blocked-commands",
        title: "Commands matching a guardrail are blocked",
        population: "Guardrail matches in sessions started in the period (one item per match)",
        attributes: [
            AttributeDefinition("A", "The rule and the matched words are recorded"),
            AttributeDefinition("B", "Execution was stopped (the session did not complete with exit code 0)"),
        ],
        parameters: [],
        facts: [
            FactDefinition("rule", "Rule"),
            FactDefinition("rule_type", "Rule type"),
            FactDefinition("direction", "Direction"),
            FactDefinition("matched_words", "Matched words (masked)"),
            FactDefinition("message", "Message (masked)"),
            FactDefinition("exit_code", "Session exit code"),
        ],
        walk: ["Sessions in the period", "Sessions with guardrail matches"],
        needs: ["guardrails"],
        make: { _ in GuardrailBlockTest() })

    var sessions = 0, matched = 0
    var walkCounts: [Int] { [sessions, matched] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        if !session.guardrailHits.isEmpty { matched += 1 }
        return session.guardrailHits.enumerated().map { index, hit in
            let recorded: AttributeOutcome = hit.ruleName.isEmpty && hit.matchedWords.isEmpty ? .fail : .pass
            let stopped: AttributeOutcome = session.exitCode == 0 ? .fail : .pass
            var exceptions: [ItemException] = []
            let evidence = Evidence.excerpt("rule '\(hit.ruleName)' (\(hit.direction)) matched \(hit.matchedWords.joined(separator: ", "))")
            if stopped == .fail {
                exceptions.append(ItemException(
                    "guardrail-not-enforced",
                    "Guardrail '\(hit.ruleName)' matched, but the session completed with exit code 0: the command was not stopped",
                    severity: .high, failed: ["B"], evidence: evidence))
            }
            if recorded == .fail {
                exceptions.append(ItemException("guardrail-unrecorded", "A guardrail match was stored without its rule or matched words",
                                                severity: .low, failed: ["A"], evidence: evidence))
            }
            let facts = [FactText.name(hit.ruleName), FactText.name(hit.ruleType, limit: 60), FactText.name(hit.direction, limit: 40),
                         Evidence.excerpt(FactText.list(hit.matchedWords, limit: 20, separator: ", "), limit: 200),
                         Evidence.excerpt(hit.message, limit: 200), FactText.exitCode(session.exitCode)]
            return ItemResult(itemID: "\(session.id)#g\(index + 1)", subject: ItemSubject(session), attributes: ["A": recorded, "B": stopped],
                              exceptions: exceptions, facts: facts)
        }
    }
}
