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
        make: { _ in MaskingCoverageTest() })

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        let configured = context.directory.connections[session.connectionName]?.masksData
            ?? (session.masking.totalMasked > 0)
        guard configured else { return [] }
        let unmasked = session.masking.unmaskedTypes
        guard !unmasked.isEmpty else {
            return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass, "B": .pass])]
        }
        let detail = unmasked.map { "\($0.type): \($0.detected) detected, \($0.masked) masked" }.joined(separator: "; ")
        // Each difference is at most a bounded count (see `StoreLimits.count`); the sum is checked anyway.
        let missed = MaskingCounters.saturatingSum(unmasked.map { $0.detected - $0.masked })
        let exception = ItemException(
            "detected-not-masked", "\(missed) sensitive entit\(missed == 1 ? "y" : "ies") detected but not masked (\(detail))",
            severity: .high, failed: ["B"], evidence: detail)
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass, "B": .fail], exceptions: [exception])]
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
        make: { _ in GuardrailBlockTest() })

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        session.guardrailHits.enumerated().map { index, hit in
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
            return ItemResult(itemID: "\(session.id)#g\(index + 1)", subject: ItemSubject(session), attributes: ["A": recorded, "B": stopped], exceptions: exceptions)
        }
    }
}
