import Foundation

/// Which connections a test covers, by tag: `env=prod` matches a tag with that key and value,
/// `pci` matches a tag of that name whatever its value. A class, as each test keeps its own: it
/// remembers the tag set of each connection and tag snapshot it met (every session asks again).
public final class ConnectionScope {
    public let tags: Set<String>
    private let known = Memo<TagSource, Set<String>>(capacity: 1_024)
    private struct TagSource: Hashable {
        let connection: String
        let snapshot: [String: String]
    }

    public init(tags: [String]) { self.tags = Set(tags.map { $0.lowercased() }) }

    public func includes(_ session: SessionRecord, _ directory: StoreDirectory) -> Bool {
        tags.isEmpty || !tags.isDisjoint(with: tagSet(of: session, directory))
    }

    /// `tags(of:_:)`, remembered: the store's connections are fixed for the run.
    public func tagSet(of session: SessionRecord, _ directory: StoreDirectory) -> Set<String> {
        let short = session.connectionName.utf8.count <= 256 && session.connectionTags.count <= 16
            && session.connectionTags.allSatisfy { $0.key.utf8.count + $0.value.utf8.count <= 256 }
        // Without `Memo.value`'s closure, which would copy the session and the directory into its context.
        guard short else { return Self.tags(of: session, directory) }
        let source = TagSource(connection: session.connectionName, snapshot: session.connectionTags)
        if let tags = known.known(source) { return tags }
        let tags = Self.tags(of: session, directory)
        known.store(tags, for: source)
        return tags
    }

    /// The session's tag snapshot, plus the connection's current tags.
    public static func tags(of session: SessionRecord, _ directory: StoreDirectory) -> Set<String> {
        var out = Set<String>()
        for (k, v) in session.connectionTags {
            out.insert(k.lowercased())
            out.insert("\(k)=\(v)".lowercased())
        }
        for tag in directory.connections[session.connectionName]?.tags ?? [] {
            out.insert(tag.lowercased())
            if let key = tag.split(separator: "=", maxSplits: 1).first { out.insert(key.lowercased()) }
        }
        return out
    }
}

extension SessionRecord {
    /// Whether the gateway stopped the session's command (guardrail or AI block with a failing exit).
    public var wasBlocked: Bool {
        (!guardrailHits.isEmpty || aiVerdict?.action == "block_execution") && exitCode != 0
    }

    /// Commands that never ran because the gateway blocked them: an exec script as a whole;
    /// in an interactive session, the last command (the gateway ends the session there).
    public var blockedCommandIndexes: Set<Int> {
        guard wasBlocked, let last = transcript.commands.last else { return [] }
        return verb == "exec" ? Set(transcript.commands.map(\.index)) : [last.index]
    }

    /// Evidence that something executed: an exit code, output, or recorded input.
    public var ran: Bool {
        // A source that says how the session was recorded (Teleport) lists only sessions it opened.
        exitCode != nil || !transcript.output.isEmpty || transcript.commands.contains { $0.source == .recordedInput } || assurance != nil
    }
}

/// Values of item facts (`ItemResult.facts`): short, single-line text. The engine gates every value
/// on the way out; text that may hold sensitive values (commands, messages, paths) goes through
/// `Evidence.excerpt` here, which also masks e-mail addresses. Names of who acted keep theirs.
enum FactText {
    static func time(_ date: Date?) -> String { date.map(Timestamp.format) ?? "" }

    /// A name from the store (an identity, a group, a rule, an owner): single-line and bounded.
    static func name(_ text: String, limit: Int = 200) -> String {
        OutputGate.bounded(OutputGate.collapsingWhitespace(text), limit: limit)
    }

    /// At most `limit` entries, then `… (+N more)`: an item's lists come from the store, unbounded.
    static func list(_ items: [String], limit: Int = 10, separator: String = "; ") -> String {
        guard items.count > limit else { return items.joined(separator: separator) }
        return items.prefix(limit).joined(separator: separator) + "\(separator)… (+\(items.count - limit) more)"
    }

    static func exitCode(_ code: Int?) -> String { code.map(String.init) ?? "" }

    /// `3d 4h`, `26h 5m`, `12m`, `40s`: an age or a duration, to the minute.
    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded(.down)))
        if s >= 86_400 { return "\(s / 86_400)d \(s % 86_400 / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \(s % 3600 / 60)m" }
        if s >= 60 { return "\(s / 60)m" }
        return "\(s)s"
    }

    /// Per info type counts, `EMAIL_ADDRESS 3, PHONE_NUMBER 1`, sorted by type; `none` without any.
    static func counts(_ counts: [String: Int]) -> String {
        guard !counts.isEmpty else { return "none" }
        return list(counts.keys.sorted().map { "\(name($0, limit: 60)) \(counts[$0]!)" }, limit: 20, separator: ", ")
    }

    /// `12 commands, 3 output events, 4096 bytes`: what a session's recording holds.
    static func recording(_ t: Transcript) -> String {
        "\(t.commands.count) command\(t.commands.count == 1 ? "" : "s"), " + output(t.output)
    }

    /// `3 output events, 4096 bytes`.
    static func output(_ chunks: [OutputChunk]) -> String {
        var bytes = 0
        for chunk in chunks { bytes += chunk.bytes.count }
        return "\(chunks.count) output event\(chunks.count == 1 ? "" : "s"), \(bytes) byte\(bytes == 1 ? "" : "s")"
    }
}

/// Facts about who acted, shared by the identity tests.
enum IdentityFacts {
    /// What the identity is: a person, a service account, a machine identity, an API key, ….
    static func kind(_ kind: IdentityKind, roster: Roster.Entry?) -> String {
        switch kind {
        case .missing: return "none recorded"
        case .organizationKey: return "organization API key"
        case .machine: return "machine identity"
        case .apiKey: return "API key"
        case .unknown: return "unregistered"
        case .directoryUser:
            switch roster?.kind {
            case "person": return "person (directory user)"
            case "service": return "service account (directory user)"
            case "machine": return "machine (directory user)"
            case "api-key": return "API key (directory user)"
            default: return "directory user"
            }
        }
    }

    /// The gateway directory's status of a directory user (`active`, `inactive`, …).
    static func directoryStatus(_ kind: IdentityKind) -> String {
        if case .directoryUser(let user) = kind { return name(user.status) }
        return ""
    }

    /// The roster line that matched, with its status, termination, kind and owner; empty without a roster.
    static func roster(_ entry: Roster.Entry?, _ roster: Roster?) -> String {
        guard roster != nil else { return "" }
        guard let e = entry else { return "not on the roster" }
        var parts = ["status \(name(e.status, limit: 40))"]
        if let t = e.terminatedAt { parts.append("terminated_at \(Timestamp.format(t))") }
        parts.append("kind \(e.kind)")
        if let owner = e.owner, !owner.isEmpty { parts.append("owner \(name(owner, limit: 120))") }
        return "line \(e.line): " + parts.joined(separator: ", ")
    }

    static func name(_ text: String, limit: Int = 200) -> String { FactText.name(text, limit: limit) }
}
