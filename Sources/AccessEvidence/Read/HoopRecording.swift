import Foundation

/// hoop's recording format (`blobs.blob_stream` of type `session-stream`): a JSON array of
/// `[elapsed_seconds, "i"|"o"|"e", base64]` triples. Recordings reach 110 MiB, so this is a
/// single pass over the bytes rather than a general JSON parser building objects.
public enum HoopRecording {
    public struct Event: Sendable, Equatable {
        public var elapsed: Double
        public var kind: UInt8
        public var payload: [UInt8]
    }

    public struct DecodeError: Error, Equatable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// Event times the tool accepts, in seconds after the session's start. hoop writes small
    /// non-negative offsets; up to a second before the start is clock jitter between gateway and agent
    /// and is read as the start itself. Anything else (negative, past 31 days, or huge) cannot be a
    /// real offset, would overflow the time arithmetic downstream, and makes the recording unusable.
    public static let jitter = 1.0
    public static let longestSession = 31.0 * 86_400

    public static func decode(_ bytes: [UInt8]) throws -> [Event] {
        var p = Parser(bytes: bytes)
        var events: [Event] = []
        try p.skipSpace()
        try p.expect(UInt8(ascii: "["))
        try p.skipSpace()
        if p.peek() == UInt8(ascii: "]") { return [] }
        while true {
            try p.skipSpace()
            try p.expect(UInt8(ascii: "["))
            try p.skipSpace()
            let elapsedStart = p.i
            var elapsed = try p.number()
            guard elapsed >= -jitter, elapsed <= longestSession else {
                throw DecodeError(offset: elapsedStart, reason: "event time \(elapsed) s is outside 0 to \(Int(longestSession)) s (31 days) after the session's start")
            }
            elapsed = max(elapsed, 0)
            try p.skipSpace(); try p.expect(UInt8(ascii: ",")); try p.skipSpace()
            let kindBytes = try p.string()
            guard kindBytes.count == 1 else { throw DecodeError(offset: p.i, reason: "event type is not one letter") }
            try p.skipSpace(); try p.expect(UInt8(ascii: ",")); try p.skipSpace()
            let encoded = try p.string()
            guard let payload = Base64.decode(encoded) else {
                throw DecodeError(offset: p.i, reason: "event payload is not valid base64")
            }
            try p.skipSpace()
            // Later writers may add fields after the payload; skip them.
            while p.peek() == UInt8(ascii: ",") {
                p.i += 1
                try p.skipValue()
                try p.skipSpace()
            }
            try p.expect(UInt8(ascii: "]"))
            events.append(Event(elapsed: elapsed, kind: kindBytes[0], payload: payload))
            try p.skipSpace()
            if p.peek() == UInt8(ascii: ",") { p.i += 1; continue }
            try p.expect(UInt8(ascii: "]"))
            try p.skipSpace()
            guard p.i == bytes.count else { throw DecodeError(offset: p.i, reason: "unexpected data after the event array") }
            return events
        }
    }

    /// The exec script: a JSON array holding one string (or, in older rows, the bare string).
    public static func decodeInput(_ bytes: [UInt8]) throws -> [UInt8] {
        var p = Parser(bytes: bytes)
        try p.skipSpace()
        if p.peek() == UInt8(ascii: "\"") { return try p.string() }
        try p.expect(UInt8(ascii: "["))
        try p.skipSpace()
        var out: [UInt8] = []
        if p.peek() == UInt8(ascii: "]") { return out }
        while true {
            try p.skipSpace()
            out += try p.string()
            try p.skipSpace()
            if p.peek() == UInt8(ascii: ",") { p.i += 1; continue }
            try p.expect(UInt8(ascii: "]"))
            return out
        }
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipSpace() throws {
            while i < bytes.count, bytes[i] == 32 || bytes[i] == 10 || bytes[i] == 13 || bytes[i] == 9 { i += 1 }
        }

        mutating func expect(_ c: UInt8) throws {
            guard i < bytes.count else { throw DecodeError(offset: i, reason: "unexpected end of JSON") }
            guard bytes[i] == c else {
                throw DecodeError(offset: i, reason: "expected '\(Character(Unicode.Scalar(c)))'")
            }
            i += 1
        }

        mutating func number() throws -> Double {
            let start = i
            while i < bytes.count, (bytes[i] >= 48 && bytes[i] <= 57) || bytes[i] == 45 || bytes[i] == 43
                || bytes[i] == 46 || bytes[i] == 101 || bytes[i] == 69 { i += 1 }
            guard i > start, let value = Double(String(decoding: bytes[start..<i], as: UTF8.self)), value.isFinite else {
                throw DecodeError(offset: start, reason: "expected a number")
            }
            return value
        }

        /// A JSON string's bytes, with escapes resolved (`\u00XX` below 0x100 gives the raw byte, as
        /// hoop's writer produces for binary wire packets).
        mutating func string() throws -> [UInt8] {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            var runStart = i
            while i < bytes.count {
                let c = bytes[i]
                if c == 34 {
                    out.append(contentsOf: bytes[runStart..<i])
                    i += 1
                    return out
                }
                if c == 92 {
                    out.append(contentsOf: bytes[runStart..<i])
                    i += 1
                    guard i < bytes.count else { break }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case 34, 92, 47: out.append(e)
                    case 98: out.append(8)
                    case 102: out.append(12)
                    case 110: out.append(10)
                    case 114: out.append(13)
                    case 116: out.append(9)
                    case 117:
                        guard i + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
                            throw DecodeError(offset: i, reason: "bad \\u escape")
                        }
                        i += 4
                        var scalarValue = code
                        if (0xD800..<0xDC00).contains(code), i + 6 <= bytes.count, bytes[i] == 92, bytes[i + 1] == 117,
                           let low = UInt32(String(decoding: bytes[i + 2..<i + 6], as: UTF8.self), radix: 16),
                           (0xDC00..<0xE000).contains(low) {
                            scalarValue = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        }
                        if scalarValue < 0x80 {
                            out.append(UInt8(scalarValue))
                        } else {
                            let scalar = Unicode.Scalar(scalarValue) ?? "\u{FFFD}"
                            out.append(contentsOf: Array(String(Character(scalar)).utf8))
                        }
                    default:
                        throw DecodeError(offset: i - 1, reason: "bad escape in string")
                    }
                    runStart = i
                    continue
                }
                i += 1
            }
            throw DecodeError(offset: i, reason: "unterminated string")
        }

        mutating func skipValue() throws {
            try skipSpace()
            guard let c = peek() else { throw DecodeError(offset: i, reason: "unexpected end of JSON") }
            switch c {
            case 34: _ = try string()
            case 91, 123:
                var depth = 0
                repeat {
                    guard let d = peek() else { throw DecodeError(offset: i, reason: "unexpected end of JSON") }
                    if d == 34 { _ = try string(); continue }
                    if d == 91 || d == 123 { depth += 1 }
                    if d == 93 || d == 125 { depth -= 1 }
                    i += 1
                } while depth > 0
            default:
                while let d = peek(), d != 44, d != 93, d != 125, d != 32 { i += 1 }
            }
        }
    }
}

/// Standard base64 over bytes (padding optional, whitespace rejected).
public enum Base64 {
    static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    public static func decode(_ input: [UInt8]) -> [UInt8]? {
        var end = input.count
        while end > 0, input[end - 1] == UInt8(ascii: "=") { end -= 1 }
        guard input.count - end <= 2, end % 4 != 1 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(end * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for k in 0..<end {
            let v = table[Int(input[k])]
            guard v != 0xFF else { return nil }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }
}
