import Crypto
import Foundation

/// The outcome of one test attribute for one item.
public enum AttributeOutcome: Sendable {
    case pass, fail, notApplicable
}

public struct AttributeDefinition: Sendable, Codable, Equatable {
    /// "A", "B", …: the workpaper column.
    public var id: String
    public var label: String

    public init(_ id: String, _ label: String) {
        self.id = id
        self.label = label
    }
}

/// An exception: one item that failed a test attribute, with what an auditor needs to trace it.
public struct Finding: Sendable, Equatable, Codable {
    public var fingerprint: String
    public var controlID: String
    public var test: String
    public var criteria: [String]
    public var itemID: String
    public var sessionID: String
    public var identity: String
    public var resource: String
    public var time: Date
    /// Stable code of the reason (`no-approval`, `self-approval`, …): what alerts key on.
    public var reasonCode: String
    public var reason: String
    public var severity: Severity
    public var failedAttributes: [String]
    /// Command text or counters, with every sensitive value masked.
    public var evidence: String
    /// Management's response, when an accepted-exceptions entry covers the finding.
    public var acceptedBy: AcceptedExceptions.Entry? = nil

    /// Sorts by time, then item, then reason: the order reports list exceptions in.
    static func ordered(_ a: Finding, _ b: Finding) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.itemID != b.itemID { return a.itemID < b.itemID }
        return a.reasonCode < b.reasonCode
    }

    static func fingerprint(control: String, test: String, item: String, reason: String) -> String {
        let digest = SHA256.hash(data: Data("\(control)\u{1F}\(test)\u{1F}\(item)\u{1F}\(reason)".utf8))
        return Hex.encode(digest.prefix(12))
    }
}

/// Who and what an item is about, for tracing an exception back to the store.
public struct ItemSubject: Sendable, Equatable {
    /// The session, or the row id for items that are not sessions (configuration changes, days).
    public var sessionID: String
    public var identity: String
    public var resource: String
    public var time: Date

    public init(sessionID: String, identity: String, resource: String, time: Date) {
        self.sessionID = sessionID
        self.identity = identity
        self.resource = resource
        self.time = time
    }

    public init(_ session: SessionRecord) {
        self.init(sessionID: session.id, identity: session.actor.display, resource: session.connectionName, time: session.createdAt)
    }
}

/// What a test concluded about one item of its population.
public struct ItemResult: Sendable {
    public var itemID: String
    public var subject: ItemSubject
    public var attributes: [String: AttributeOutcome]
    public var exceptions: [ItemException]

    public init(itemID: String, subject: ItemSubject, attributes: [String: AttributeOutcome], exceptions: [ItemException] = []) {
        self.itemID = itemID
        self.subject = subject
        self.attributes = attributes
        self.exceptions = exceptions
    }
}

/// An exception as a test raises it; the engine adds the control, criteria and fingerprint.
public struct ItemException: Sendable {
    public var reasonCode: String
    public var reason: String
    public var severity: Severity
    public var failedAttributes: [String]
    public var evidence: String
    public var time: Date?

    public init(_ reasonCode: String, _ reason: String, severity: Severity, failed: [String], evidence: String = "", time: Date? = nil) {
        self.reasonCode = reasonCode
        self.reason = reason
        self.severity = severity
        self.failedAttributes = failed
        self.evidence = evidence
        self.time = time
    }
}

/// Evidence excerpts: masked, single-line and bounded, because command text is attacker-controlled
/// and may carry the very values the report must not repeat.
enum Evidence {
    static func excerpt(_ text: String, limit: Int = 400) -> String {
        var masked = SensitiveData.mask(text)
        masked = String(masked.unicodeScalars.map { scalar -> Character in
            scalar.value < 0x20 || scalar.value == 0x7F ? " " : Character(scalar)
        })
        let collapsed = masked.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        guard collapsed.count > limit else { return collapsed }
        return String(collapsed.prefix(limit)) + " …[\(collapsed.count - limit) more characters]"
    }
}
