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
        // Whitespace is normalised before masking: a card number split by tabs or runs of spaces
        // would otherwise be missed by the scanner and joined back together afterwards.
        let flat = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
        let collapsed = flat.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        let masked = Credentials.redact(SensitiveData.mask(collapsed))
        // Bounded in Unicode scalars, not Characters: one Character may carry any number of them.
        let scalars = masked.unicodeScalars
        guard scalars.count > limit else { return masked }
        return String(String.UnicodeScalarView(scalars.prefix(limit))) + " …[\(scalars.count - limit) more characters]"
    }

    /// A finding's reason: it quotes paths, error messages and AI verdict titles from the store, so
    /// sensitive values and credentials are masked; identities' e-mail addresses stay, as they name who.
    static func reason(_ text: String) -> String {
        Credentials.redact(SensitiveData.mask(text, keeping: [.email]))
    }
}

/// Passwords in command text: `scheme://user:password@host`, `PASSWORD 'x'`, `IDENTIFIED BY 'x'`,
/// `--password=x`, `PGPASSWORD=x`-style variables and `mysql -px`. Shown as `****`.
enum Credentials {
    nonisolated(unsafe) static let patterns: [(NSRegularExpression, String)] = [
        (#"([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@"#, "$1****@"),
        (#"(\b(?:password|passwd|identified\s+by)\s*=?\s*)(?:'[^']*'|"[^"]*"|[^\s;,)'"]+)"#, "$1****"),
        (#"(\b[a-z_]*(?:password|passwd|secret|token)[a-z_]*=)(?:'[^']*'|"[^"]*"|\S+)"#, "$1****"),
        (#"(\bmysql(?:dump|admin)?\b[^|;&]*?\s-p)[^\s]+"#, "$1****"),
    ].map { (try! NSRegularExpression(pattern: $0.0, options: [.caseInsensitive]), $0.1) }

    static func redact(_ text: String) -> String {
        // Cheap test first: most command text names none of these.
        let lower = text.lowercased()
        guard lower.contains("://") || lower.contains("pass") || lower.contains("identified") || lower.contains("secret")
                || lower.contains("token") || lower.contains("mysql") else { return text }
        var out = text
        for (regex, template) in patterns {
            out = regex.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: template)
        }
        return out
    }
}
