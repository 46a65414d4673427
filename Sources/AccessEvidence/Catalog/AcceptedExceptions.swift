import Foundation
import Yams

/// Exceptions management has accepted (`--exceptions FILE`, YAML). An entry matches a finding by
/// fingerprint, or by rule (control, and optionally identity and resource), and carries the
/// management response. An entry past its expiry no longer applies and is itself reported.
public struct AcceptedExceptions: Sendable {
    public struct Entry: Sendable, Equatable, Codable {
        public var id: String
        public var fingerprint: String?
        public var control: String?
        public var identity: String?
        public var resource: String?
        public var reason: String
        public var approver: String
        public var ticket: String
        public var expires: String
        public var line: Int

        func matches(_ f: Finding) -> Bool {
            if let fingerprint { return fingerprint == f.fingerprint }
            guard control == f.controlID else { return false }
            if let identity, identity.lowercased() != f.identity.lowercased() { return false }
            if let resource, resource != f.resource { return false }
            return true
        }
    }

    public var source: String
    public var entries: [Entry]
    /// SHA-256 of the bytes the file was read from (empty when built in code).
    public var sha256 = ""

    public init(source: String, entries: [Entry]) {
        self.source = source
        self.entries = entries
    }

    /// The entry that accepts `finding`, if one in force on `asOf` does.
    public func acceptance(of finding: Finding, asOf: Date) -> Entry? {
        entries.first { $0.matches(finding) && !isExpired($0, asOf: asOf) }
    }

    public func isExpired(_ entry: Entry, asOf: Date) -> Bool {
        guard let expiry = Timestamp.parse(entry.expires) else { return true }
        // A bare date is valid through the end of that day.
        let end = entry.expires.count == 10 ? expiry.addingTimeInterval(86_400) : expiry
        return asOf >= end
    }

    public static func load(path: String, controls: [String]) throws -> AcceptedExceptions {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CatalogError(problems: ["\(path): cannot read the accepted-exceptions file"])
        }
        let file = YAMLFile(name: path, problems: Problems())
        var entries: [Entry] = []
        var firstLine: [String: Int] = [:]
        if let root = file.parse(text), let top = file.mapping(root, "the file") {
            for (key, value) in top where key != "exceptions" { file.fail(value, "unknown top-level key '\(key)'") }
            for item in top.first(where: { $0.0 == "exceptions" }).flatMap({ file.sequence($0.1, "exceptions") }) ?? [] {
                guard let m = file.mapping(item, "an accepted exception") else { continue }
                let f = file.fields(m, at: item, required: ["id", "reason", "approver", "ticket", "expires"],
                                    optional: ["fingerprint", "control", "identity", "resource"])
                let location = file.location(item)
                // An id names one management response; two entries with it would make the report ambiguous.
                if let idNode = f.node("id"), let id = idNode.string {
                    if let first = firstLine[id] {
                        file.fail(idNode, "duplicate accepted-exception id '\(id)' (first at line \(first))")
                    } else {
                        firstLine[id] = file.location(idNode).line
                    }
                }
                if f.node("fingerprint") == nil && f.node("control") == nil {
                    file.fail(item, "an accepted exception needs a fingerprint or a control")
                }
                if let control = f.string("control"), !controls.contains(control) {
                    file.fail(f.node("control")!, "unknown control '\(control)'")
                }
                if let expires = f.string("expires"), Timestamp.parse(expires) == nil {
                    file.fail(f.node("expires")!, "expires must be an ISO 8601 date (got '\(expires)')")
                }
                guard let id = f.string("id"), let reason = f.string("reason"), let approver = f.string("approver"),
                      let ticket = f.string("ticket"), let expires = f.string("expires") else { continue }
                entries.append(Entry(id: id, fingerprint: f.node("fingerprint").flatMap { _ in f.string("fingerprint") },
                                     control: f.node("control").flatMap { _ in f.string("control") },
                                     identity: f.node("identity").flatMap { _ in f.string("identity") },
                                     resource: f.node("resource").flatMap { _ in f.string("resource") },
                                     reason: reason, approver: approver, ticket: ticket, expires: expires, line: location.line))
            }
        }
        if !file.problems.list.isEmpty { throw CatalogError(problems: file.problems.list) }
        var accepted = AcceptedExceptions(source: path, entries: entries)
        accepted.sha256 = sha256Hex(data)
        return accepted
    }
}
