import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One Teleport audit event: a flat JSON object (teleport-audit.md §1.2), read with the tolerance real
/// logs need. The event JSON may sit in an Athena `event_data` or a DynamoDB `Fields` string; field names
/// may be Panther's (`addr_remote` for `addr.remote`); codes may be lowercase; `time` may be RFC 3339 with
/// any precision, a space-separated time without a zone (read as UTC), or a number of seconds,
/// milliseconds or nanoseconds since 1970. Each departure from Teleport's own form is reported once per
/// line through `note`, never a stop.
struct TeleportEvent {
    /// Where a file's findings go, named `file:line` only when one is made (not for every line read).
    final class Notes {
        let file: String
        let sink: (DataQualityIssue) -> Void
        init(file: String, sink: @escaping (DataQualityIssue) -> Void) {
            self.file = file
            self.sink = sink
        }
        func note(line: Int, _ field: String, _ problem: String) {
            sink(DataQualityIssue(table: "teleport", column: field, rowID: "\(file):\(line)", problem: problem))
        }
    }

    let object: JSONObject
    let type: String
    let time: Date
    /// Nil: findings are not kept (a pass that does not report them).
    let notes: Notes?
    let line: Int

    /// `file:line`.
    var location: String { notes.map { "\($0.file):\(line)" } ?? "" }

    func note(_ field: String, _ problem: String) { notes?.note(line: line, field, problem) }

    /// Reads `line` (number `number` of its file); nil (with the reason noted) for a line that is no usable event.
    static func read(_ line: [UInt8], number: Int, notes: Notes?) -> TeleportEvent? {
        let note = { (field: String, problem: String) -> Void in notes?.note(line: number, field, problem) }
        let text = String(decoding: line, as: UTF8.self)
        var object: JSONObject
        do {
            guard case .object(let o) = try JSONValue.parse(text) else {
                note("json", "not a JSON object; the line is skipped")
                return nil
            }
            object = o
        } catch {
            note("json", "malformed JSON at byte \(error.offset + 1) (\(error.reason)); the line is skipped")
            return nil
        }
        // An export row with the event inside it as a string.
        for wrapper in ["event_data", "Fields"] {
            guard case .string(let inner)? = object[wrapper] else { continue }
            guard case .object(let o)? = try? JSONValue.parse(inner) else {
                note(wrapper, "the \(wrapper) string is not a JSON object; the line is skipped")
                return nil
            }
            object = o
            break
        }
        guard case .string(let type)? = object["event"], !type.isEmpty else {
            note("event", "no event type; the line is skipped")
            return nil
        }
        if type == "unknown" {
            let original = object["unknown_type"]?.string.map { " (\($0))" } ?? ""
            note("event", "an event Teleport itself could not type\(original); skipped")
            return nil
        }
        guard let time = Self.time(object["time"], field: "time", note: note) else { return nil }
        return TeleportEvent(object: object, type: type, time: time, notes: notes, line: number)
    }

    /// The event type of a line written as Teleport writes it (`"event":"session.command"`, no escapes),
    /// found without parsing the line; nil when it is not that simple (then the line is parsed).
    static func sniffType(_ line: [UInt8]) -> String? {
        let key: [UInt8] = Array(#""event":""#.utf8)
        return line.withUnsafeBufferPointer { b -> String? in
            guard let base = b.baseAddress else { return nil }
            // The first `"event":"`: memchr to each quote, then a compare (Glibc's module has no memmem).
            var at = 0
            var found: Int?
            while at + key.count <= b.count, let q = memchr(base + at, 34, b.count - at) {
                let k = base.distance(to: q.assumingMemoryBound(to: UInt8.self))
                if k + key.count <= b.count, memcmp(base + k, key, key.count) == 0 { found = k; break }
                at = k + 1
            }
            guard let found else { return nil }
            let start = found + key.count
            var i = start
            while i < b.count, i - start < 64 {
                let c = b[i]
                if c == 34 { return i > start ? String(decoding: b[start..<i], as: UTF8.self) : nil }
                if c == 92 || c < 32 { return nil }
                i += 1
            }
            return nil
        }
    }

    /// A time in any of the forms logs and exports hold, within the years 2000–2100.
    static func time(_ value: JSONValue?, field: String, note: (String, String) -> Void) -> Date? {
        switch value {
        case .string(let text)?:
            // Bytes, not Characters: this runs for every event. Teleport's own form ends in Z.
            let last = text.utf8.last
            if last != UInt8(ascii: "Z"), last != UInt8(ascii: "z"), text.utf8.count > 10,
               !text.utf8.dropFirst(10).contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "Z") || $0 == UInt8(ascii: "z") }) {
                note(field, "'\(text.prefix(40))' has no time zone; read as UTC")
            }
            switch GatewayRecordReader.storeTime(text) {
            case .success(let date): return date
            case .failure(let problem):
                note(field, problem.description + "; the event is skipped")
                return nil
            }
        case .number(let literal)?:
            guard let n = Double(literal), n.isFinite else {
                note(field, "'\(literal.prefix(40))' is not a time; the event is skipped")
                return nil
            }
            // Seconds, milliseconds or nanoseconds since 1970, told apart by size.
            let seconds = n > 1e17 ? n / 1e9 : n > 1e11 ? n / 1e3 : n
            let date = Date(timeIntervalSince1970: seconds)
            guard date >= StoreLimits.earliestTime, date < StoreLimits.endOfTime else {
                note(field, "\(literal.prefix(40)) is outside the years 2000–2100; the event is skipped")
                return nil
            }
            return date
        case nil, .null?:
            note(field, "missing; the event is skipped")
            return nil
        default:
            note(field, "not a time; the event is skipped")
            return nil
        }
    }

    /// A string field; Panther's underscore spelling of a dotted key is accepted (and noted).
    func string(_ key: String) -> String? {
        if let value = object[key] {
            switch value {
            case .string(let s): return s
            case .null: return nil
            case .number, .bool: return value.numberText
            default:
                note(key, "expected a string")
                return nil
            }
        }
        if key.utf8.contains(UInt8(ascii: ".")), case .string(let s)? = object[key.replacingOccurrences(of: ".", with: "_")] {
            note(key, "read from \(key.replacingOccurrences(of: ".", with: "_")) (a renamed field)")
            return s
        }
        return nil
    }

    func nonEmpty(_ key: String) -> String? {
        guard let s = string(key), !s.isEmpty else { return nil }
        return s
    }

    func bool(_ key: String) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        if case .string(let s) = value { return s == "true" ? true : s == "false" ? false : nil }
        return value.bool
    }

    /// A whole number, given as a number or as a string (`exitCode` is one), within `range`.
    func int(_ key: String, _ range: ClosedRange<Int>) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        let text: String
        switch value {
        case .number(let literal): text = literal
        case .string(let s): text = s
        default:
            note(key, "expected a whole number")
            return nil
        }
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
            if !text.isEmpty { note(key, "'\(text.prefix(40))' is not a whole number") }
            return nil
        }
        guard range.contains(n) else {
            note(key, "\(n) is outside \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return n
    }

    /// A list of strings; null (as Teleport writes an empty list) is empty.
    func strings(_ key: String) -> [String] {
        guard let value = object[key], value != .null else { return [] }
        guard let list = value.strings else {
            note(key, "expected a list of strings")
            return []
        }
        return list
    }

    /// A map of labels; non-string values are shown as their JSON numbers or booleans.
    func labels(_ key: String) -> [String: String] {
        guard let value = object[key], value != .null else { return [:] }
        guard case .object(let o) = value else {
            note(key, "expected an object of labels")
            return [:]
        }
        var out: [String: String] = [:]
        for member in o.sortedMembers {
            if case .string(let s) = member.value { out[member.key] = s } else if let n = member.value.numberText { out[member.key] = n }
        }
        return out
    }

    func nested(_ key: String) -> TeleportEvent? {
        guard case .object(let o)? = object[key] else { return nil }
        return TeleportEvent(object: o, type: type, time: time, notes: notes, line: line)
    }

    /// The event's code, upper-cased (Panther lowercases them).
    var code: String {
        let raw = string("code") ?? ""
        guard raw.utf8.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) else { return raw }
        let upper = raw.uppercased()
        note("code", "'\(raw)' read as \(upper)")
        return upper
    }

    /// Whether the event reports success: `success` when given, else the code's last letter (`I`).
    var succeeded: Bool {
        if let success = bool("success") { return success }
        guard let last = code.last else { return true }
        return last == "I"
    }

    var uid: String? { nonEmpty("uid") }
    var sid: String? { nonEmpty("sid") }
    var user: String? { nonEmpty("user") }

    /// Who acted, as the tests see them: a bot (`user_kind` 2, or a `bot_name`) is a machine identity.
    func actor(_ name: String) -> Actor {
        let bot = nonEmpty("bot_name")
        let machine = bot != nil || int("user_kind", 0...3) == 2
        return Actor(subject: name, email: name.contains("@") ? name : "", name: name,
                     identityType: machine ? "machine" : "user", machineIdentityID: machine ? (bot ?? name) : nil)
    }
}
