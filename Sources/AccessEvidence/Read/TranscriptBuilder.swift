import Foundation

/// Turns hoop's raw input blob and recording into commands and output, per protocol:
/// PostgreSQL wire packets, MySQL COM_QUERY packets, HTTP requests, and keystrokes on
/// terminals (assembled into lines).
enum TranscriptBuilder {
    /// The single `e` event hoop records when a session left no log on disk.
    static let noLogOnDisk = "no log found on disk"

    static func build(protocol proto: ConnectionProtocol, verb: String, createdAt: Date,
                      script: [UInt8]?, scriptFormat: String?, events: [HoopRecording.Event]?,
                      truncated: Bool) -> Transcript {
        var commands: [Command] = []
        if let script, !script.isEmpty {
            let texts = scriptFormat == "wire-proto" ? PostgresWire.queries(lenient: script) : [text(script)]
            for t in texts where !t.trimmed(.whitespacesAndNewlines).isEmpty {
                commands.append(Command(index: commands.count, text: t, source: .script, recordedAt: nil))
            }
        }
        var output: [OutputChunk] = []
        var missing = events == nil || events?.isEmpty == true
        if let events, events.count == 1, events[0].kind == UInt8(ascii: "e"),
           String(decoding: events[0].payload, as: UTF8.self).contains(noLogOnDisk) {
            missing = true
        } else if let events {
            // An exec script is also echoed as input on the recording; the script is the command.
            let recordInput = commands.isEmpty
            var lines = LineAssembler()
            for event in events {
                // `HoopRecording.decode` bounds `elapsed` to 0…31 days, and the reader bounds `createdAt`
                // to the years 2000–2100: every time made here formats and compares without trapping.
                let at = createdAt.addingTimeInterval(event.elapsed)
                switch event.kind {
                case UInt8(ascii: "i"):
                    guard recordInput else { continue }
                    for t in inputCommands(proto, event.payload, lines: &lines) {
                        commands.append(Command(index: commands.count, text: t, source: .recordedInput, recordedAt: at))
                    }
                case UInt8(ascii: "o"), UInt8(ascii: "e"):
                    output.append(OutputChunk(at: at, stream: event.kind, bytes: event.payload))
                default:
                    continue
                }
            }
            if recordInput, let rest = lines.flush(), let last = events.last(where: { $0.kind == UInt8(ascii: "i") }) {
                commands.append(Command(index: commands.count, text: rest, source: .recordedInput,
                                        recordedAt: createdAt.addingTimeInterval(last.elapsed)))
            }
        }
        let first = missing ? nil : events?.map(\.elapsed).min().map { createdAt.addingTimeInterval($0) }
        return Transcript(commands: commands, output: output, truncated: truncated, recordingMissing: missing, firstEventAt: first)
    }

    static func inputCommands(_ proto: ConnectionProtocol, _ payload: [UInt8], lines: inout LineAssembler) -> [String] {
        switch proto {
        case .postgres:
            if let queries = PostgresWire.queries(exact: payload) { return queries }
            return lines.feed(payload)
        case .mysql:
            // COM_QUERY: 3-byte length, sequence id, 0x03, query text.
            if payload.count > 5, payload[4] == 0x03,
               Int(payload[0]) | Int(payload[1]) << 8 | Int(payload[2]) << 16 == payload.count - 4 {
                return [text(Array(payload[5...]))]
            }
            return [text(payload)].filter { !$0.isEmpty }
        case .mssql, .mongodb, .oracledb, .dynamodb, .cloudwatch, .mcp:
            let t = text(payload).trimmed(.whitespacesAndNewlines)
            return t.isEmpty ? [] : [t]
        case .http, .kubernetes:
            // One request per event: the request line says what was done.
            let t = text(payload)
            if let line = t.split(separator: "\r\n", maxSplits: 1).first ?? t.split(separator: "\n", maxSplits: 1).first,
               line.contains(" HTTP/") {
                return [String(line)]
            }
            return lines.feed(payload)
        default:
            return lines.feed(payload)
        }
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// Assembles terminal keystrokes into command lines: backspace edits, escape sequences
/// (arrow keys, colours) are dropped, CR or LF ends a line.
struct LineAssembler {
    var current: [UInt8] = []
    var inEscape = false

    mutating func feed(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        for b in bytes {
            if inEscape {
                if (b >= 0x40 && b <= 0x7E) && b != UInt8(ascii: "[") { inEscape = false }
                continue
            }
            switch b {
            case 0x1B: inEscape = true
            case 0x0D, 0x0A:
                let line = String(decoding: current, as: UTF8.self).trimmed(.whitespaces)
                if !line.isEmpty { lines.append(line) }
                current.removeAll(keepingCapacity: true)
            case 0x7F, 0x08:
                if !current.isEmpty { current.removeLast() }
            case 0x03, 0x15: current.removeAll(keepingCapacity: true) // ^C, ^U
            case 0x09: current.append(0x20)
            default:
                if b >= 0x20 { current.append(b) }
            }
        }
        return lines
    }

    mutating func flush() -> String? {
        let line = String(decoding: current, as: UTF8.self).trimmed(.whitespaces)
        current.removeAll()
        return line.isEmpty ? nil : line
    }
}

/// Query text out of PostgreSQL frontend messages: simple `Q`uery and extended-protocol `P`arse.
enum PostgresWire {
    /// Exact framing, as in recorded events (base64 keeps the bytes intact). `nil` when the
    /// bytes are not a sequence of frontend messages.
    static func queries(exact bytes: [UInt8]) -> [String]? {
        var i = 0
        var out: [String] = []
        // A startup or SSL request has no type byte: length, then protocol code.
        if bytes.count >= 8, bytes[0] == 0 {
            let len = Int(readInt32(bytes, 0))
            guard len >= 8, len <= bytes.count else { return nil }
            i = len
        }
        while i < bytes.count {
            guard i + 5 <= bytes.count else { return nil }
            let type = bytes[i]
            let len = Int(readInt32(bytes, i + 1))
            guard isFrontendType(type), len >= 4, i + 1 + len <= bytes.count else { return nil }
            let body = Array(bytes[(i + 5)..<(i + 1 + len)])
            if let q = query(type: type, body: body) { out.append(q) }
            i += 1 + len
        }
        return out
    }

    /// hoop's input blob keeps packets in a JSON string, where length bytes above 0x7F can be
    /// mangled; trust a length only when it lands on the next message, else read to the NUL.
    static func queries(lenient bytes: [UInt8]) -> [String] {
        if let exact = queries(exact: bytes) { return exact }
        var out: [String] = []
        var i = 0
        while i < bytes.count {
            let type = bytes[i]
            guard type == UInt8(ascii: "Q") || type == UInt8(ascii: "P"), i + 5 <= bytes.count else { i += 1; continue }
            var j = i + 5
            var fields: [[UInt8]] = []
            while fields.count < (type == UInt8(ascii: "P") ? 2 : 1), j <= bytes.count {
                let start = j
                while j < bytes.count, bytes[j] != 0 { j += 1 }
                fields.append(Array(bytes[start..<min(j, bytes.count)]))
                j += 1
            }
            if let last = fields.last, !last.isEmpty {
                let q = String(decoding: last, as: UTF8.self)
                if !q.trimmed(.whitespacesAndNewlines).isEmpty { out.append(q) }
            }
            i = j
        }
        if out.isEmpty {
            let t = String(decoding: bytes.filter { $0 >= 0x20 || $0 == 0x0A || $0 == 0x09 }, as: UTF8.self)
            if !t.trimmed(.whitespacesAndNewlines).isEmpty { out.append(t) }
        }
        return out
    }

    static func query(type: UInt8, body: [UInt8]) -> String? {
        switch type {
        case UInt8(ascii: "Q"):
            let end = body.firstIndex(of: 0) ?? body.count
            return String(decoding: body[..<end], as: UTF8.self)
        case UInt8(ascii: "P"):
            guard let nameEnd = body.firstIndex(of: 0) else { return nil }
            let rest = body[(nameEnd + 1)...]
            let end = rest.firstIndex(of: 0) ?? rest.endIndex
            return String(decoding: rest[..<end], as: UTF8.self)
        default:
            return nil
        }
    }

    static func isFrontendType(_ t: UInt8) -> Bool {
        // Q P B E D C S H X F d c f p
        [81, 80, 66, 69, 68, 67, 83, 72, 88, 70, 100, 99, 102, 112].contains(t)
    }

    static func readInt32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}
