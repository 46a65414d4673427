import Foundation

/// CC6.1: every non-human identity that acted in the period has an accountable owner on record.
final class MachineOwnerTest: SessionTest {
    static let definition = TestDefinition(
        id: "identity.machine-owners",
        title: "Machine identities, service accounts and API keys have an owner",
        population: "Distinct non-human identities (machine identities, API keys, roster service accounts) that acted in the period",
        attributes: [AttributeDefinition("A", "An owner is recorded for the identity (roster owner column)")],
        parameters: [],
        facts: [
            FactDefinition("subject", "Subject"),
            FactDefinition("identity_kind", "Identity kind"),
            FactDefinition("roster_entry", "Roster entry"),
            FactDefinition("owner", "Owner (roster)"),
            FactDefinition("sessions", "Sessions in the period"),
        ],
        walk: ["Sessions in the period", "Sessions by non-human identities"],
        make: { _ in MachineOwnerTest() })

    /// The first session of each non-human identity, what it is and how many sessions it had:
    /// bounded by the number of identities.
    var seen: [String: (actor: Actor, first: ItemSubject, kind: String, sessions: Int)] = [:]
    var sessions = 0, nonHumanSessions = 0
    var walkCounts: [Int] { [sessions, nonHumanSessions] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        let kind = IdentityKind.resolve(session.actor, context.directory)
        let rosterKind = context.roster?.entry(for: session.actor)?.kind
        let nonHuman: Bool
        switch kind {
        case .machine, .apiKey: nonHuman = true
        case .directoryUser: nonHuman = rosterKind == "service" || rosterKind == "machine" || rosterKind == "api-key"
        default: nonHuman = false
        }
        guard nonHuman else { return [] }
        nonHumanSessions += 1
        let count = (seen[session.actor.subject]?.sessions ?? 0) + 1
        if let known = seen[session.actor.subject], known.first.time <= session.createdAt {
            seen[session.actor.subject]!.sessions = count
            return []
        }
        let entry = context.roster?.entry(for: session.actor)
        seen[session.actor.subject] = (session.actor, ItemSubject(session), IdentityFacts.kind(kind, roster: entry), count)
        return []
    }

    func finish(_ context: AnalysisContext) -> [ItemResult] {
        seen.keys.sorted().map { subject in
            let (actor, first, kind, sessions) = seen[subject]!
            let subjectInfo = first
            let entry = context.roster?.entry(for: actor)
            let facts = [FactText.name(subject), kind, IdentityFacts.roster(entry, context.roster),
                         FactText.name(entry?.owner ?? ""), String(sessions)]
            if let owner = entry?.owner, !owner.isEmpty {
                return ItemResult(itemID: "identity:" + subject, subject: subjectInfo, attributes: ["A": .pass], facts: facts)
            }
            let e = ItemException("machine-without-owner", "Non-human identity '\(actor.display)' (\(subject)) acted in the period with no owner on record",
                                  severity: .medium, failed: ["A"])
            return ItemResult(itemID: "identity:" + subject, subject: subjectInfo, attributes: ["A": .fail], exceptions: [e], facts: facts)
        }
    }
}
