import Foundation

/// Which connections a test covers, by tag: `env=prod` matches a tag with that key and value,
/// `pci` matches a tag of that name whatever its value.
public struct ConnectionScope: Sendable {
    public var tags: Set<String>

    public init(tags: [String]) { self.tags = Set(tags.map { $0.lowercased() }) }

    public func includes(_ session: SessionRecord, _ directory: StoreDirectory) -> Bool {
        tags.isEmpty || !tags.isDisjoint(with: Self.tags(of: session, directory))
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
        exitCode != nil || !transcript.output.isEmpty || transcript.commands.contains { $0.source == .recordedInput }
    }
}
