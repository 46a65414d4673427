/// A JSON value read from a store column (metrics, tags, metadata, guardrail hits, aggregated review
/// and metric rows). The reader decodes several such columns per session; Foundation's
/// `JSONSerialization` builds bridged `NSDictionary`/`NSNumber` objects whose creation and casting
/// cost more than the rest of the reading together, so this is a small parser of its own: one pass
/// over the UTF-8 bytes, plain Swift values, depth bounded (hostile nesting is an error, not a
/// stack overflow), numbers kept as their literal text so no range is lost before it is checked.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    /// The number as written (validated against JSON's grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    struct ParseError: Error, Equatable {
        let offset: Int
        let reason: String
    }

    /// Deeper nesting than any gateway writes; past it the text is rejected as malformed.
    static let maximumDepth = 256

    /// Parses `text` (one value, surrounding white space allowed).
    static func parse(_ text: String) throws(ParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { bytes -> Result<JSONValue, ParseError> in
            var parser = JSONParser(bytes: bytes)
            parser.skipSpace()
            do throws(ParseError) {
                let value = try parser.value(depth: 0)
                parser.skipSpace()
                guard parser.i == bytes.count else { return .failure(ParseError(offset: parser.i, reason: "unexpected data after the value")) }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var object: JSONObject? { if case .object(let o) = self { o } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }

    /// An array whose every element is a string (a list of words); nil for anything else.
    var strings: [String]? {
        guard case .array(let elements) = self else { return nil }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let s) = element else { return nil }
            out.append(s)
        }
        return out
    }

    /// A boolean, or a number equal to 0 or 1 (which Foundation's bridging read as one too).
    var bool: Bool? {
        switch self {
        case .bool(let b): return b
        case .number:
            switch doubleValue {
            case 0: return false
            case 1: return true
            default: return nil
            }
        default: return nil
        }
    }

    /// A number's (or boolean's, as 1/0) value as a double; nil for other values.
    var doubleValue: Double? {
        switch self {
        case .number(let literal): return Double(literal)
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// A number or boolean as the evidence shows it: a whole-number literal as written (`-0` as
    /// `0`), any other number in Swift's shortest form (`1.5`, `100.0` for `1E2`, `1e+300`), a
    /// boolean as `1`/`0`; the same text `NSNumber.stringValue` gave, so reports did not change.
    var numberText: String? {
        switch self {
        case .bool(let b): return b ? "1" : "0"
        case .number(let literal):
            if !literal.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                return literal.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "0") }) ? "0" : literal
            }
            return Double(literal).map { $0.description } ?? literal
        default: return nil
        }
    }
}

/// A JSON object's members in the order written. A key written twice reads as its last value, as
/// with Foundation's parser.
struct JSONObject: Equatable {
    struct Member: Equatable {
        let key: String
        let value: JSONValue
    }

    var members: [Member]

    subscript(key: String) -> JSONValue? {
        for member in members.reversed() where member.key == key { return member.value }
        return nil
    }

    var count: Int { members.count }

    /// Each key once, with its last value, in code-point order of the keys: O(n log n) however many
    /// keys a hostile object repeats (a lookup per key would be quadratic).
    var sortedMembers: [Member] {
        var last: [String: Int] = [:]
        for (i, member) in members.enumerated() { last[member.key] = i }
        return last.sorted { $0.key < $1.key }.map { members[$0.value] }
    }
}

/// Recursive descent over UTF-8 bytes; `depth` bounds the recursion.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ reason: String) -> JSONValue.ParseError { JSONValue.ParseError(offset: i, reason: reason) }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard i < bytes.count else { throw fail("unexpected end of JSON") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { throw fail("unexpected end of JSON") }
        for k in 0..<count where bytes[i + k] != word.utf8Start[k] { throw fail("unexpected character") }
        i += count
    }

    mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw fail("nested deeper than \(JSONValue.maximumDepth) levels") }
        i += 1
        var members: [JSONObject.Member] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(JSONObject(members: members)) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            skipSpace()
            members.append(JSONObject.Member(key: key, value: try value(depth: depth)))
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of JSON") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            i += 1
            return .object(JSONObject(members: members))
        }
    }

    mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw fail("nested deeper than \(JSONValue.maximumDepth) levels") }
        i += 1
        var elements: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
        while true {
            skipSpace()
            elements.append(try value(depth: depth))
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of JSON") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
            i += 1
            return .array(elements)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as text.
    mutating func number() throws(JSONValue.ParseError) -> String {
        let start = i
        func digit(_ k: Int) -> Bool { k < bytes.count && bytes[k] >= 0x30 && bytes[k] <= 0x39 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { throw fail("unexpected character") }
        if bytes[i] == 0x30 { i += 1 } else { while digit(i) { i += 1 } }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { throw fail("expected a digit") }
            while digit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { throw fail("expected a digit") }
            while digit(i) { i += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    /// A string with its escapes resolved; a lone surrogate becomes U+FFFD. Control characters are
    /// kept (the output gate makes them visible) rather than failing the whole column.
    mutating func string() throws(JSONValue.ParseError) -> String {
        i += 1
        let start = i
        // The common case: no escape, so the bytes are the string.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
        guard i < bytes.count else { throw fail("unterminated string") }
        if bytes[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                    }
                }
                let resolved = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                UTF8.encode(resolved) { out.append($0) }
            default:
                i -= 1
                throw fail("bad escape in string")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("bad \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let v: UInt32
            switch c {
            case 0x30...0x39: v = UInt32(c - 0x30)
            case 0x41...0x46: v = UInt32(c - 0x41 + 10)
            case 0x61...0x66: v = UInt32(c - 0x61 + 10)
            default: throw fail("bad \\u escape")
            }
            value = value << 4 | v
            i += 1
        }
        return value
    }
}
