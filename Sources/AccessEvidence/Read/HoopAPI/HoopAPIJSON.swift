import Foundation

/// JSON as hoop's API sends it, written back into the gateway layout's JSON columns.
extension JSONValue {
    /// The value as JSON text: members in the order received, numbers as written, strings escaped
    /// as JSON requires (control characters as `\u00XX`).
    var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let literal): out += literal
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                element.write(to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (i, member) in object.members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(member.key, to: &out)
                out += ":"
                member.value.write(to: &out)
            }
            out += "}"
        }
    }

    /// The report's own string escaper (`JSONBytes`): `"`, `\\`, `\n`, `\r`, `\t`, other controls as `\u00xx`.
    static func writeString(_ s: String, to out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count + 2)
        JSONBytes.string(s, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON array of strings as text (`text[]` columns in the gateway layout).
    static func stringArrayText(_ strings: [String]) -> String {
        JSONValue.array(strings.map { .string($0) }).jsonText
    }
}

/// Reads fields of one API object, leniently: hoop sends `null` for many fields its document does
/// not mark nullable (hoop-openapi.README.md), so a null or absent field reads as NULL, never as an error.
struct APIObject {
    let object: JSONObject

    init(_ object: JSONObject) { self.object = object }

    init?(_ value: JSONValue?) {
        guard let o = value?.object else { return nil }
        object = o
    }

    subscript(key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) -> String? { self[key]?.string }

    /// Text for a gateway column: a string as is, a number or boolean as written; objects and arrays
    /// as JSON text (hoop's jsonb columns).
    func text(_ key: String) -> SQLiteValue {
        switch self[key] {
        case nil: return .null
        case .string(let s)?: return .text(s)
        case .number(let literal)?: return .text(literal)
        case .bool(let b)?: return .text(b ? "true" : "false")
        case let value?: return .text(value.jsonText)
        }
    }

    /// JSON text of an object or array field (jsonb), NULL when absent or null.
    func json(_ key: String) -> SQLiteValue {
        guard let value = self[key] else { return .null }
        return .text(value.jsonText)
    }

    /// An integer column: a whole number within Int's range as an integer; anything else kept as
    /// its text, so the reader's range checks report it against its column and row.
    func integer(_ key: String) -> SQLiteValue {
        switch self[key] {
        case nil: return .null
        case .number(let literal)?: return Int(literal).map { .int($0) } ?? .text(literal)
        case .bool(let b)?: return .int(b ? 1 : 0)
        case let value?: return .text(value.string ?? value.jsonText)
        }
    }

    func flag(_ key: String) -> SQLiteValue {
        switch self[key] {
        case .bool(let b)?: return .int(b ? 1 : 0)
        case nil: return .null
        default: return integer(key)
        }
    }
}
