import Foundation

/// How a session's actor resolves against the directory.
enum IdentityKind: Equatable {
    case missing
    /// hoop's legacy organization key: `user_id` is the literal `API_KEY`.
    case organizationKey
    case directoryUser(DirectoryUser)
    case machine
    /// An `hpk_` key: the subject is the key's UUID and the "email" is its name.
    case apiKey
    case unknown

    static func resolve(_ actor: Actor, _ directory: StoreDirectory) -> IdentityKind {
        let subject = actor.subject.trimmed(.whitespaces)
        if subject.isEmpty { return .missing }
        if subject == "API_KEY" { return .organizationKey }
        if let user = directory.users[subject] { return .directoryUser(user) }
        if actor.identityType == "machine" || actor.machineIdentityID?.isEmpty == false { return .machine }
        if UUID(uuidString: subject) != nil, !actor.email.contains("@") { return .apiKey }
        return .unknown
    }
}

/// CC6.1: every session is tied to one accountable identity.
final class IdentityAttributionTest: SessionTest {
    static let definition = TestDefinition(
        id: "identity.attribution",
        title: "Sessions are attributed to an individual, registered identity",
        population: "All gateway sessions started in the period",
        attributes: [
            AttributeDefinition("A", "An identity is recorded on the session"),
            AttributeDefinition("B", "The identity is individual, not a shared or organization-wide credential"),
            AttributeDefinition("C", "The identity is registered (directory user, machine identity or API key)"),
        ],
        parameters: [
            ParameterDefinition("shared_identity_patterns", .regexes,
                                default: .strings(["(?i)^(admin|root|dba|shared|generic|team|ops|support)@",
                                                   "(?i)^(shared|generic)[-_.]"]),
                                "Regular expressions matched against the subject, e-mail and name; a match marks a shared account"),
            ParameterDefinition("production_tags", .strings, default: .strings(["env=prod", "env=production", "prod", "production"]),
                                "Connection tags that make a connection production, where API keys may not act"),
        ],
        facts: [
            FactDefinition("subject", "Subject"),
            FactDefinition("identity_kind", "Identity kind"),
            FactDefinition("directory_status", "Directory status"),
            FactDefinition("roster_entry", "Roster entry"),
            FactDefinition("shared_pattern", "Shared-account pattern matched"),
            FactDefinition("production_connection", "On a production connection (API keys)"),
        ],
        walk: ["Sessions in the period"],
        make: { IdentityAttributionTest(parameters: $0) })

    let sharedPatterns: [NSRegularExpression]
    let production: ConnectionScope

    init(parameters: TestParameters) {
        sharedPatterns = parameters.strings("shared_identity_patterns").compactMap { try? NSRegularExpression(pattern: $0) }
        production = ConnectionScope(tags: parameters.strings("production_tags"))
    }

    /// The answer for identities already met: a quarter has millions of sessions but few distinct
    /// identities, and the configured patterns run on ICU's regular-expression engine. Bounded, so
    /// a store of endless distinct names cannot grow it.
    private var sharedPatternMet: [String: String?] = [:]

    func sharedPattern(_ actor: Actor) -> String? {
        let key = actor.subject + "\u{1F}" + actor.email + "\u{1F}" + actor.name
        if let known = sharedPatternMet[key] { return known }
        if sharedPatternMet.count >= 4096 { sharedPatternMet.removeAll(keepingCapacity: true) }
        let found = matchSharedPattern(actor)
        sharedPatternMet[key] = .some(found)
        return found
    }

    func matchSharedPattern(_ actor: Actor) -> String? {
        for regex in sharedPatterns {
            for value in [actor.subject, actor.email, actor.name] where !value.isEmpty {
                if regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil { return regex.pattern }
            }
        }
        return nil
    }

    var sessions = 0
    var walkCounts: [Int] { [sessions] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        let actor = session.actor
        var attributes: AttributeOutcomes = ["A": .pass, "B": .pass, "C": .pass]
        var exceptions: [ItemException] = []
        let kind = IdentityKind.resolve(actor, context.directory)
        var onProduction = ""
        switch kind {
        case .missing:
            attributes = ["A": .fail, "B": .notApplicable, "C": .notApplicable]
            exceptions.append(ItemException("no-identity", "No identity is recorded on the session", severity: .high, failed: ["A"]))
        case .organizationKey:
            attributes["B"] = .fail
            exceptions.append(ItemException("organization-key", "Run with the organization-wide API key (API_KEY), which anyone holding it can use", severity: .high, failed: ["B"]))
        case .unknown:
            attributes["C"] = .fail
            exceptions.append(ItemException("unregistered-identity", "Identity '\(actor.subject)' is not in the gateway's user directory", severity: .medium, failed: ["C"]))
        case .apiKey:
            let isProduction = production.includes(session, context.directory)
            onProduction = isProduction ? "yes" : "no"
            if isProduction {
                attributes["B"] = .fail
                exceptions.append(ItemException("api-key-on-production", "API key '\(actor.display)' acted on production connection \(session.connectionName); no person is accountable for the session", severity: .high, failed: ["B"]))
            }
        case .directoryUser, .machine:
            break
        }
        var shared = ""
        if kind != .missing, kind != .organizationKey, let pattern = sharedPattern(actor) {
            shared = FactText.name(pattern)
            attributes["B"] = .fail
            exceptions.append(ItemException("shared-account", "Identity '\(actor.display)' is a shared or generic account (matches \(pattern))", severity: .high, failed: ["B"]))
        }
        let entry = context.roster?.entry(for: actor)
        let facts = [FactText.name(actor.subject), IdentityFacts.kind(kind, roster: entry), IdentityFacts.directoryStatus(kind),
                     IdentityFacts.roster(entry, context.roster), shared, onProduction]
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions, facts: facts)]
    }
}

/// CC6.2: nobody uses the gateway after their access was removed.
final class TerminatedUserAccessTest: SessionTest {
    static let definition = TestDefinition(
        id: "access.terminated-users",
        title: "Deactivated users have no gateway sessions",
        population: "Sessions by users in the gateway's directory",
        attributes: [
            AttributeDefinition("A", "The user was active when the session started (deactivation plus grace period not passed, no lock on the user in force)"),
        ],
        parameters: [
            ParameterDefinition("grace_period", .duration, default: .duration(0),
                                "Time allowed between deactivation and the last permitted session"),
        ],
        facts: [
            FactDefinition("subject", "Subject"),
            FactDefinition("identity_kind", "Identity kind"),
            FactDefinition("directory_status", "Directory status"),
            FactDefinition("roster_entry", "Roster entry"),
            FactDefinition("access_removed_at", "Access removed at (source)"),
        ],
        walk: ["Sessions in the period", "Sessions by directory users or roster entries"],
        make: { TerminatedUserAccessTest(grace: $0.duration("grace_period")) })

    let grace: Double
    init(grace: Double) { self.grace = grace }

    var sessions = 0, known = 0
    var walkCounts: [Int] { [sessions, known] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        let rosterEntry = context.roster?.entry(for: session.actor)
        let kind = IdentityKind.resolve(session.actor, context.directory)
        let user: DirectoryUser?
        if case .directoryUser(let u) = kind { user = u } else { user = nil }
        if let lock = context.directory.locks.first(where: { $0.user == session.actor.subject && $0.holds(at: session.createdAt) }) {
            known += 1
            let exception = ItemException(
                "access-while-locked",
                "Session by \(session.actor.display) started \(Timestamp.format(session.createdAt)) while lock \(lock.id) on the user (set \(Timestamp.format(lock.from)) by \(lock.by)\(lock.until.map { ", until \(Timestamp.format($0))" } ?? "")) was in force",
                severity: .critical, failed: ["A"])
            let facts = [FactText.name(session.actor.subject), IdentityFacts.kind(kind, roster: rosterEntry), IdentityFacts.directoryStatus(kind),
                         IdentityFacts.roster(rosterEntry, context.roster), "\(Timestamp.format(lock.from)) (lock \(lock.id))"]
            return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .fail], exceptions: [exception], facts: facts)]
        }
        guard user != nil || rosterEntry != nil else { return [] }
        known += 1
        // The roster wins where it disagrees with the gateway's own users table.
        let deactivated: Date?
        let source: String
        let removed: String
        if let rosterEntry {
            deactivated = rosterEntry.isTerminated ? (rosterEntry.terminatedAt ?? user?.updatedAt ?? context.period.start) : nil
            source = "terminated at \(deactivated.map(Timestamp.format) ?? "") per the roster"
            let from = rosterEntry.terminatedAt != nil ? "roster" : user?.updatedAt != nil ? "roster status; time of the gateway's last update"
                : "roster status; start of the period"
            removed = deactivated.map { "\(Timestamp.format($0)) (\(from))" } ?? ""
        } else {
            deactivated = user?.deactivatedAt
            source = "deactivated in the gateway at \(deactivated.map(Timestamp.format) ?? "")"
            removed = deactivated.map { "\(Timestamp.format($0)) (gateway: inactive, last update)" } ?? ""
        }
        let facts = [FactText.name(session.actor.subject), IdentityFacts.kind(kind, roster: rosterEntry), IdentityFacts.directoryStatus(kind),
                     IdentityFacts.roster(rosterEntry, context.roster), removed]
        guard let deactivated, session.createdAt >= deactivated.addingTimeInterval(grace) else {
            return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass], facts: facts)]
        }
        let exception = ItemException(
            "access-after-deactivation",
            "Session by \(session.actor.display) started \(Timestamp.format(session.createdAt)), after the account was \(source)",
            severity: .critical, failed: ["A"])
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .fail], exceptions: [exception], facts: facts)]
    }
}
