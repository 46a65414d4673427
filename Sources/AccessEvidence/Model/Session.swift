import Foundation

/// One gateway session with everything the tests need, as a reader produces it.
/// Readers stream these one at a time; nothing downstream keeps a period of them.
public struct SessionRecord: Sendable {
    public var id: String
    public var connectionName: String
    public var connectionType: String
    public var connectionSubtype: String
    public var `protocol`: ConnectionProtocol
    /// The connection's tags as snapshotted on the session (`connection_tags`).
    public var connectionTags: [String: String]
    /// `connect` or `exec`.
    public var verb: String
    public var actor: Actor
    /// `open`, `ready` or `done`.
    public var status: String
    public var exitCode: Int?
    public var createdAt: Date
    public var endedAt: Date?
    public var origin: String?
    public var transcript: Transcript
    public var masking: MaskingCounters
    public var guardrailHits: [GuardrailHit]
    public var aiVerdict: AIVerdict?
    /// The session's own approval request, when it made one.
    public var approval: Approval?
    /// Approved JIT grants of the same person on the same connection whose window
    /// overlaps the session: hoop gives sessions inside a JIT window no review of their own.
    public var jitGrants: [Approval]
    /// When no grant overlaps the session: the grant of the same person on the same connection that
    /// ended last, within `JITGrantWindow.lapseLookback` before the session started (a gate bypassed
    /// just after a grant lapsed reads differently from one never asked for).
    public var lapsedGrant: Approval? = nil
    public var metadata: [String: String]
    /// How the session was authenticated and recorded, where the source says (Teleport); nil where it
    /// says nothing of it (hoop's store).
    public var assurance: SessionAssurance? = nil

    public init(id: String, connectionName: String, connectionType: String, connectionSubtype: String, connectionTags: [String: String], verb: String, actor: Actor, status: String, exitCode: Int?, createdAt: Date, endedAt: Date?, origin: String?, transcript: Transcript, masking: MaskingCounters, guardrailHits: [GuardrailHit], aiVerdict: AIVerdict?, approval: Approval?, jitGrants: [Approval], metadata: [String: String]) {
        self.id = id
        self.connectionName = connectionName
        self.connectionType = connectionType
        self.connectionSubtype = connectionSubtype
        self.protocol = ConnectionProtocol(type: connectionType, subtype: connectionSubtype)
        self.connectionTags = connectionTags
        self.verb = verb
        self.actor = actor
        self.status = status
        self.exitCode = exitCode
        self.createdAt = createdAt
        self.endedAt = endedAt
        self.origin = origin
        self.transcript = transcript
        self.masking = masking
        self.guardrailHits = guardrailHits
        self.aiVerdict = aiVerdict
        self.approval = approval
        self.jitGrants = jitGrants
        self.metadata = metadata
    }
}

/// What a source records about a session's authentication and recording that hoop's store does not.
public struct SessionAssurance: Sendable, Equatable {
    /// The session passed a per-session MFA check (Teleport's `with_mfa`).
    public var mfa: Bool?
    /// The recording mode in force (Teleport's `session_recording`: `node`, `proxy`, `node-sync`, `proxy-sync`, `off`).
    public var recordingMode: String?
    /// Whether the recording was uploaded to the audit store (Teleport's `session.upload`); nil when not known.
    public var recordingUploaded: Bool?
    /// An interactive session (a terminal), as opposed to a single command.
    public var interactive: Bool?
    /// The access requests the session ran under (Teleport's `access_requests`), by id.
    public var accessRequests: [String]

    public init(mfa: Bool? = nil, recordingMode: String? = nil, recordingUploaded: Bool? = nil, interactive: Bool? = nil, accessRequests: [String] = []) {
        self.mfa = mfa
        self.recordingMode = recordingMode
        self.recordingUploaded = recordingUploaded
        self.interactive = interactive
        self.accessRequests = accessRequests
    }
}

/// What was sent and what came back, decoded from the input blob and the recording.
public struct Transcript: Sendable, Equatable {
    public var commands: [Command]
    public var output: [OutputChunk]
    /// The gateway stopped recording (`metrics.truncated`).
    public var truncated: Bool
    /// No recording at all, or hoop's single "no log found on disk" event.
    public var recordingMissing: Bool

    /// When the first recorded event happened, input echo included: the earliest evidence of execution.
    public var firstEventAt: Date?

    public init(commands: [Command] = [], output: [OutputChunk] = [], truncated: Bool = false, recordingMissing: Bool = false, firstEventAt: Date? = nil) {
        self.commands = commands
        self.output = output
        self.truncated = truncated
        self.recordingMissing = recordingMissing
        self.firstEventAt = firstEventAt ?? (commands.compactMap(\.recordedAt) + output.map(\.at)).min()
    }
}

public struct Command: Sendable, Equatable {
    public enum Source: String, Sendable, Codable { case script, recordedInput }
    public var index: Int
    public var text: String
    public var source: Source
    /// When the recording saw it; `nil` for an exec script, which runs when the session executes.
    public var recordedAt: Date?

    public init(index: Int, text: String, source: Source, recordedAt: Date?) {
        self.index = index
        self.text = text
        self.source = source
        self.recordedAt = recordedAt
    }
}

public struct OutputChunk: Sendable, Equatable {
    public var at: Date
    /// `o` (output) or `e` (error).
    public var stream: UInt8
    public var bytes: [UInt8]

    public init(at: Date, stream: UInt8, bytes: [UInt8]) {
        self.at = at
        self.stream = stream
        self.bytes = bytes
    }
}

/// Per info type, how many sensitive entities the analyzer detected and how many were masked.
public struct MaskingCounters: Sendable, Equatable {
    public var detected: [String: Int]
    public var masked: [String: Int]

    public init(detected: [String: Int] = [:], masked: [String: Int] = [:]) {
        self.detected = detected
        self.masked = masked
    }

    public var totalDetected: Int { Self.saturatingSum(detected.values) }
    public var totalMasked: Int { Self.saturatingSum(masked.values) }

    /// Counts are bounded when read, but a session may carry any number of info types: the sum
    /// stops at `Int.max` instead of trapping.
    public static func saturatingSum<S: Sequence>(_ values: S) -> Int where S.Element == Int {
        var total = 0
        for v in values {
            let (sum, overflow) = total.addingReportingOverflow(v)
            if overflow { return v > 0 ? Int.max : Int.min }
            total = sum
        }
        return total
    }

    /// Keeps the higher count per type: hoop writes the same facts to `metrics` and to
    /// `session_metrics`, and either may lag the other.
    public mutating func merge(detected type: String, _ count: Int) {
        detected[type] = max(detected[type] ?? 0, count)
    }

    public mutating func merge(masked type: String, _ count: Int) {
        masked[type] = max(masked[type] ?? 0, count)
    }

    /// Info types detected more often than masked, sorted by name.
    public var unmaskedTypes: [(type: String, detected: Int, masked: Int)] {
        detected.keys.sorted().compactMap { type in
            let d = detected[type] ?? 0, m = masked[type] ?? 0
            return d > m ? (type, d, m) : nil
        }
    }
}

/// One guardrail match (`guardrails_info` entry): the command it stopped.
public struct GuardrailHit: Sendable, Equatable {
    public var ruleName: String
    public var ruleType: String
    public var direction: String
    public var matchedWords: [String]
    public var message: String

    public init(ruleName: String, ruleType: String, direction: String, matchedWords: [String], message: String) {
        self.ruleName = ruleName
        self.ruleType = ruleType
        self.direction = direction
        self.matchedWords = matchedWords
        self.message = message
    }
}

/// hoop's AI analyzer verdict on the session (`ai_analysis`).
public struct AIVerdict: Sendable, Equatable {
    public var riskLevel: String
    public var action: String
    public var title: String

    public init(riskLevel: String, action: String, title: String) {
        self.riskLevel = riskLevel
        self.action = action
        self.title = title
    }
}

/// A row the reader could not fully use, kept so the report says what it could not rely on.
public struct DataQualityIssue: Sendable, Equatable, Hashable, Codable {
    public var table: String
    public var column: String
    public var rowID: String
    public var problem: String

    public init(table: String, column: String, rowID: String, problem: String) {
        self.table = table
        self.column = column
        self.rowID = rowID
        self.problem = problem
    }

    public var description: String { "\(table).\(column) row \(rowID): \(problem)" }
}
