import Foundation

/// An HR or identity-provider roster (`--roster FILE`, CSV or JSON): who exists, their status,
/// when they left, and who owns each non-human identity. Where it disagrees with the gateway's
/// `users` table, the roster wins.
public struct Roster: Sendable {
    public struct Entry: Sendable, Equatable {
        public var subject: String?
        public var email: String?
        /// `active`, `terminated`, `inactive`, `suspended`.
        public var status: String
        public var terminatedAt: Date?
        /// `person`, `service`, `machine` or `api-key`.
        public var kind: String
        public var owner: String?
        public var line: Int

        public var isTerminated: Bool { terminatedAt != nil || ["terminated", "inactive", "suspended", "disabled"].contains(status) }
    }

    public var source: String
    public var entries: [Entry]
    /// SHA-256 of the bytes the roster was read from (empty when built in code).
    public var sha256 = ""
    var bySubject: [String: Int] = [:]
    var byEmail: [String: Int] = [:]

    public init(source: String, entries: [Entry]) {
        self.source = source
        self.entries = entries
        for (i, e) in entries.enumerated() {
            if let s = e.subject, !s.isEmpty { bySubject[s] = i }
            if let m = e.email, !m.isEmpty { byEmail[m.lowercased()] = i }
        }
    }

    public func entry(for actor: Actor) -> Entry? {
        if let i = bySubject[actor.subject] { return entries[i] }
        if !actor.email.isEmpty, let i = byEmail[actor.email.lowercased()] { return entries[i] }
        return nil
    }

    static let columns = ["subject", "email", "status", "terminated_at", "kind", "owner"]

    public static func load(path: String) throws -> Roster {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw RosterError("\(path): cannot read the roster")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var roster = trimmed.hasPrefix("[") || trimmed.hasPrefix("{") ? try loadJSON(path: path, data: data) : try loadCSV(path: path, text: text)
        roster.sha256 = sha256Hex(data)
        return roster
    }

    static func entry(_ fields: [String: String], path: String, line: Int) throws -> Entry {
        func value(_ k: String) -> String? {
            let v = fields[k]?.trimmingCharacters(in: .whitespaces)
            return v?.isEmpty == false ? v : nil
        }
        guard value("subject") != nil || value("email") != nil else {
            throw RosterError("\(path):\(line): an entry needs a subject or an email")
        }
        var terminated: Date?
        if let t = value("terminated_at") {
            guard let d = Timestamp.parse(t) else { throw RosterError("\(path):\(line): terminated_at '\(t)' is not an ISO 8601 date or date-time") }
            terminated = d
        }
        let status = (value("status") ?? (terminated == nil ? "active" : "terminated")).lowercased()
        let kind = (value("kind") ?? "person").lowercased()
        guard ["person", "service", "machine", "api-key"].contains(kind) else {
            throw RosterError("\(path):\(line): kind '\(kind)' is not person, service, machine or api-key")
        }
        return Entry(subject: value("subject"), email: value("email"), status: status, terminatedAt: terminated, kind: kind,
                     owner: value("owner"), line: line)
    }

    static func loadCSV(path: String, text: String) throws -> Roster {
        // Exports from spreadsheets start with a byte-order mark.
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let lines = body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        guard let headerIndex = lines.firstIndex(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            throw RosterError("\(path): empty roster")
        }
        let header = csvFields(lines[headerIndex]).map { $0.lowercased().trimmingCharacters(in: .whitespaces) }
        var seen = Set<String>()
        for h in header {
            guard columns.contains(h) else {
                throw RosterError("\(path):\(headerIndex + 1): unknown column '\(h)' (columns: \(columns.joined(separator: ", ")))")
            }
            guard seen.insert(h).inserted else { throw RosterError("\(path):\(headerIndex + 1): column '\(h)' appears twice") }
        }
        var entries: [Entry] = []
        for (index, line) in lines.enumerated() where index > headerIndex && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let values = csvFields(line)
            guard values.count == header.count else {
                throw RosterError("\(path):\(index + 1): \(values.count) fields, the header has \(header.count)")
            }
            entries.append(try entry(Dictionary(uniqueKeysWithValues: zip(header, values)), path: path, line: index + 1))
        }
        return Roster(source: path, entries: entries)
    }

    /// One CSV record: commas separate, double quotes quote, `""` is a quote.
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var chars = line.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    if let n = chars.next() {
                        if n == "\"" { current.append("\"") } else { quoted = false; if n == "," { fields.append(current); current = "" } else { current.append(n) } }
                    } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { fields.append(current); current = "" }
            else { current.append(c) }
        }
        fields.append(current)
        return fields
    }

    static func loadJSON(path: String, data: Data) throws -> Roster {
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: data) } catch {
            throw RosterError("\(path): not valid JSON")
        }
        let items: [Any]
        if let array = value as? [Any] { items = array }
        else if let object = value as? [String: Any], let array = object["identities"] as? [Any] { items = array }
        else { throw RosterError("\(path): expected an array of identities (or {\"identities\": [...]})") }
        var entries: [Entry] = []
        for (i, item) in items.enumerated() {
            guard let object = item as? [String: Any] else { throw RosterError("\(path): identity #\(i + 1) is not an object") }
            var fields: [String: String] = [:]
            for (k, v) in object {
                guard columns.contains(k) else { throw RosterError("\(path): identity #\(i + 1): unknown field '\(k)'") }
                if let s = v as? String { fields[k] = s } else if !(v is NSNull) {
                    throw RosterError("\(path): identity #\(i + 1): field '\(k)' must be a string")
                }
            }
            entries.append(try entry(fields, path: path, line: i + 1))
        }
        return Roster(source: path, entries: entries)
    }
}

public struct RosterError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}
