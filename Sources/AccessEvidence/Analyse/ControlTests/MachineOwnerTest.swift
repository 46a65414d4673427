import Foundation

/// CC6.1: every non-human identity that acted in the period has an accountable owner on record.
final class MachineOwnerTest: SessionTest {
    static let definition = TestDefinition(
        id: "identity.machine-owners",
        title: "Machine identities, service accounts and API keys have an owner",
        population: "Distinct non-human identities (machine identities, API keys, roster service accounts) that acted in the period",
        attributes: [AttributeDefinition("A", "An owner is recorded for the identity (roster owner column)")],
        parameters: [],
        make: { _ in MachineOwnerTest() })

    /// The first session of each non-human identity: bounded by the number of identities.
    var seen: [String: (actor: Actor, first: ItemSubject)] = [:]

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        let kind = IdentityKind.resolve(session.actor, context.directory)
        let rosterKind = context.roster?.entry(for: session.actor)?.kind
        let nonHuman: Bool
        switch kind {
        case .machine, .apiKey: nonHuman = true
        case .directoryUser: nonHuman = rosterKind == "service" || rosterKind == "machine" || rosterKind == "api-key"
        default: nonHuman = false
        }
        guard nonHuman else { return [] }
        if let known = seen[session.actor.subject], known.first.time <= session.createdAt { return [] }
        seen[session.actor.subject] = (session.actor, ItemSubject(session))
        return []
    }

    func finish(_ context: AnalysisContext) -> [ItemResult] {
        seen.keys.sorted().map { subject in
            let (actor, first) = seen[subject]!
            let subjectInfo = first
            if let owner = context.roster?.entry(for: actor)?.owner, !owner.isEmpty {
                return ItemResult(itemID: "identity:" + subject, subject: subjectInfo, attributes: ["A": .pass])
            }
            let e = ItemException("machine-without-owner", "Non-human identity '\(actor.display)' (\(subject)) acted in the period with no owner on record",
                                  severity: .medium, failed: ["A"])
            return ItemResult(itemID: "identity:" + subject, subject: subjectInfo, attributes: ["A": .fail], exceptions: [e])
        }
    }
}
