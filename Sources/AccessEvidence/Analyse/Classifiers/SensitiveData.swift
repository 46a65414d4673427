/// Finds sensitive values in text by scanning bytes, and masks them so a report can show
/// where a value was without showing the value.
///
/// The text is attacker-controlled, so the detectors look at a normalised form of it
/// (`NormalisedText`): fullwidth and other Unicode decimal digits and fullwidth ASCII read as
/// ASCII, Unicode spaces as spaces, Unicode dashes as `-`, and invisible characters (zero-width,
/// bidi controls, soft hyphen, tag characters' framing) not at all. A card number written
/// `４１１１ １１１１ …` or with a zero-width space in every group is the card number a reader
/// sees. Matches are reported in the offsets of the bytes given, so masking replaces the whole
/// original span, odd characters included. Text with no byte ≥ 0x80 is scanned as it is.
public enum SensitiveData {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case cardNumber = "card-number"
        case usSSN = "us-ssn"
        case email
        case awsAccessKey = "aws-access-key"
        case privateKey = "private-key"
        case jwt
        case iban
        case apiToken = "api-token"
    }

    public struct Match: Sendable, Equatable {
        public var kind: Kind
        /// Byte offsets in the text given to `scan`.
        public var range: Range<Int>
        public var masked: String
    }

    /// Every validated match, left to right, non-overlapping, in offsets of `bytes`.
    public static func scan(_ bytes: [UInt8]) -> [Match] {
        // The fast path: ASCII text is its own normal form, and costs one OR per 8 bytes extra.
        guard let view = NormalisedText.view(bytes, decodingEscapes: false) else { return scanNormalised(bytes) }
        return scanNormalised(view.bytes).map { Match(kind: $0.kind, range: view.originalRange($0.range), masked: $0.masked) }
    }

    /// The matches in text that is already in normal form (offsets in `bytes`). Candidates are
    /// found by a cheap look at one byte; only then does a validator run, so most bytes cost one
    /// comparison. Every validator either reads a bounded number of bytes or consumes what it
    /// reads, so the scan is linear in the text.
    static func scanNormalised(_ bytes: [UInt8]) -> [Match] {
        var matches: [Match] = []
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            let boundary = i == 0 || !isAlnum(bytes[i - 1])
            if boundary, isDigit(c), let m = card(bytes, i) ?? ssn(bytes, i) {
                matches.append(m); i = m.range.upperBound; continue
            }
            if boundary, isUpper(c), i + 1 < n, isUpper(bytes[i + 1]), let m = awsKey(bytes, i) ?? iban(bytes, i) ?? token(bytes, i) {
                matches.append(m); i = m.range.upperBound; continue
            }
            if boundary, c == UInt8(ascii: "-") || c == UInt8(ascii: "e") || c == UInt8(ascii: "g") || c == UInt8(ascii: "x") || c == UInt8(ascii: "s") || c == UInt8(ascii: "r") || c == UInt8(ascii: "h"),
               let m = privateKey(bytes, i) ?? jwt(bytes, i) ?? token(bytes, i) {
                matches.append(m); i = m.range.upperBound; continue
            }
            if c == UInt8(ascii: "@"), let m = email(bytes, i, after: matches.last?.range.upperBound ?? 0) {
                matches.append(m); i = m.range.upperBound; continue
            }
            i += 1
        }
        return matches
    }

    /// The text with every sensitive value replaced by its masked form, but for the kinds in `keeping`.
    public static func mask(_ text: String, keeping: Set<Kind> = []) -> String {
        let bytes = Array(text.utf8)
        let matches = scan(bytes).filter { !keeping.contains($0.kind) }
        guard !matches.isEmpty else { return text }
        return String(decoding: splice(bytes, matches.map { ($0.range, $0.masked) }), as: UTF8.self)
    }

    /// `bytes` with each range (sorted, disjoint) replaced by its text.
    static func splice(_ bytes: [UInt8], _ edits: [(Range<Int>, String)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var last = 0
        for (range, text) in edits {
            out += bytes[last..<range.lowerBound]
            out += text.utf8
            last = range.upperBound
        }
        out += bytes[last...]
        return out
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isUpper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
    static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isUpper(c) || (c >= 97 && c <= 122) }

    /// What may stand between the digit groups of a card number: space, tab, `-`, `.`, `_`, `/`
    /// (Unicode spaces and dashes arrive here as space and `-`).
    static func isCardSeparator(_ c: UInt8) -> Bool { c == 32 || c == 45 || c == 46 || c == 95 || c == 47 || c == 9 }

    /// 13–19 digits with a known issuer prefix and a valid Luhn check digit, ungrouped or in groups
    /// separated by one separator character or one flanked by spaces (`4111 - 1111`), in any mix:
    /// `4111 **** **** 1111`. Mixed separators admit more look-alikes (dates, versions, IP
    /// addresses), so then every group but the last has at least 3 digits and the last at least 2.
    /// A longer run of groups may hold a card followed by another number, split at a space.
    static func card(_ b: [UInt8], _ start: Int) -> Match? {
        let n = b.count
        // Cheap rejection first: most digit runs in output are short numbers.
        var probe = start, run = 0
        while probe < n, run < 13 {
            if isDigit(b[probe]) { run += 1 } else if !isCardSeparator(b[probe]) { break }
            probe += 1
        }
        guard run >= 13 else { return nil }
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        // Per group: digits up to its end, its end in bytes, whether a space or tab follows it, and
        // whether every separator before it is the same single character.
        var groups: [(digits: Int, end: Int, spaceAfter: Bool, uniform: Bool)] = []
        groups.reserveCapacity(20)
        var first: (byte: UInt8, length: Int)?
        var uniform = true
        var i = start
        while true {
            // At most 20 digits are read: one more than a card proves the run is longer.
            while i < n, isDigit(b[i]), digits.count < 20 { digits.append(b[i] - 48); i += 1 }
            var next: Int?
            var separator = (byte: UInt8(0), length: 0)
            if digits.count <= 19, i + 1 < n, isCardSeparator(b[i]), isDigit(b[i + 1]) {
                next = i + 1; separator = (b[i], 1)
            } else if digits.count <= 19, i + 3 < n, b[i] == 32, isCardSeparator(b[i + 1]), b[i + 1] != 32, b[i + 1] != 9,
                      b[i + 2] == 32, isDigit(b[i + 3]) {
                next = i + 3; separator = (b[i + 1], 3)
            }
            groups.append((digits.count, i, separator.length == 1 && (separator.byte == 32 || separator.byte == 9), uniform))
            guard let following = next else { break }
            if let f = first { uniform = uniform && separator.length == 1 && f.byte == separator.byte } else { first = separator; uniform = separator.length == 1 }
            i = following
        }
        // The run ends in a word character or goes on past 19 digits: only a prefix that ends
        // at a space can be a card.
        let last = groups[groups.count - 1]
        let runContinues = digits.count > 19 || (last.end < n && isAlnum(b[last.end]))
        candidates: for k in stride(from: groups.count, to: 0, by: -1) {
            let g = groups[k - 1]
            if g.digits > 19 { continue }
            if g.digits < 13 { break }
            let endsWell = k == groups.count ? !runContinues : g.spaceAfter
            if !endsWell { continue }
            if !g.uniform {
                var previous = 0
                for j in 0..<k {
                    let size = groups[j].digits - previous
                    if size < (j == k - 1 ? 2 : 3) { continue candidates }
                    previous = groups[j].digits
                }
            }
            let d = digits[0..<g.digits]
            guard luhn(d), issuer(d) else { continue }
            var masked: [UInt8] = d.prefix(4).map { $0 + 48 }
            masked += " **** **** ".utf8
            masked += d.suffix(4).map { $0 + 48 }
            return Match(kind: .cardNumber, range: start..<g.end, masked: String(decoding: masked, as: UTF8.self))
        }
        return nil
    }

    static func luhn(_ digits: ArraySlice<UInt8>) -> Bool {
        var sum = 0
        for (k, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if k % 2 == 1 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return sum % 10 == 0
    }

    static func issuer(_ d: ArraySlice<UInt8>) -> Bool {
        func prefix(_ n: Int) -> Int { d.prefix(n).reduce(0) { $0 * 10 + Int($1) } }
        let len = d.count
        if d.first == 4 { return [13, 16, 19].contains(len) }                                   // Visa
        if (51...55).contains(prefix(2)) || (2221...2720).contains(prefix(4)) { return len == 16 } // Mastercard
        if prefix(2) == 34 || prefix(2) == 37 { return len == 15 }                               // Amex
        if prefix(4) == 6011 || prefix(2) == 65 || (644...649).contains(prefix(3)) { return len >= 16 } // Discover
        if (3528...3589).contains(prefix(4)) { return len >= 16 }                                 // JCB
        if prefix(2) == 36 || (300...305).contains(prefix(3)) || prefix(2) == 38 { return len == 14 } // Diners
        if prefix(2) == 62 { return len >= 16 }                                                   // UnionPay
        return false
    }

    /// `AAA-GG-SSSS` with the SSA's rules: area not 000, 666 or 9xx; group and serial not zero.
    static func ssn(_ b: [UInt8], _ i: Int) -> Match? {
        guard i + 11 <= b.count, b[i + 3] == 45, b[i + 6] == 45 else { return nil }
        for k in [0, 1, 2, 4, 5, 7, 8, 9, 10] where !isDigit(b[i + k]) { return nil }
        if i + 11 < b.count, isAlnum(b[i + 11]) || b[i + 11] == 45 { return nil }
        func num(_ r: [Int]) -> Int { r.reduce(0) { $0 * 10 + Int(b[i + $1] - 48) } }
        let area = num([0, 1, 2]), group = num([4, 5]), serial = num([7, 8, 9, 10])
        guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { return nil }
        return Match(kind: .usSSN, range: i..<(i + 11), masked: "***-**-" + String(decoding: b[(i + 7)..<(i + 11)], as: UTF8.self))
    }

    /// AWS access key ids: `AKIA`/`ASIA` and 16 upper-case letters or digits.
    static func awsKey(_ b: [UInt8], _ i: Int) -> Match? {
        guard b[i] == 65, i + 20 <= b.count, b[i + 2] == 73, b[i + 3] == 65, b[i + 1] == 75 || b[i + 1] == 83 else { return nil }
        guard (i + 4..<i + 20).allSatisfy({ isUpper(b[$0]) || isDigit(b[$0]) }) else { return nil }
        if i + 20 < b.count, isAlnum(b[i + 20]) { return nil }
        return Match(kind: .awsAccessKey, range: i..<(i + 20),
                     masked: String(decoding: b[i..<(i + 4)], as: UTF8.self) + "************" + String(decoding: b[(i + 16)..<(i + 20)], as: UTF8.self))
    }

    static let keyBegin = Array("-----BEGIN ".utf8)
    static let keyEnd = Array("-----END ".utf8)

    /// A PEM private-key block, up to its END line (or the end of the text).
    static func privateKey(_ b: [UInt8], _ i: Int) -> Match? {
        guard b[i] == 45, b.count - i > keyBegin.count, hasPrefix(b, at: i, keyBegin) else { return nil }
        var j = i + keyBegin.count
        let labelStart = j
        while j < b.count, b[j] != 45, b[j] != 10, j - labelStart < 40 { j += 1 }
        let label = String(decoding: b[labelStart..<j], as: UTF8.self)
        guard label.hasSuffix("PRIVATE KEY") else { return nil }
        var end = b.count
        var k = j
        while k + keyEnd.count <= b.count {
            if b[k] == 45, hasPrefix(b, at: k, keyEnd) {
                // Past the label to the closing dashes of the END line.
                var e = k + keyEnd.count
                while e < b.count, b[e] != 45, b[e] != 10 { e += 1 }
                while e < b.count, b[e] == 45 { e += 1 }
                end = e
                break
            }
            k += 1
        }
        return Match(kind: .privateKey, range: i..<end, masked: "[\(label) block redacted]")
    }

    /// `eyJ…` header, payload and signature in base64url. A token starts after a byte that cannot
    /// be part of one: were `eyJ` after `-` or `_` a start, `eyJ-eyJ-eyJ-…` would be read from every
    /// `eyJ` to its end, quadratic in the text.
    static func jwt(_ b: [UInt8], _ i: Int) -> Match? {
        guard b[i] == 101, i + 20 < b.count, b[i + 1] == 121, b[i + 2] == 74 else { return nil }
        if i > 0, b[i - 1] == 45 || b[i - 1] == 95 { return nil }
        var j = i
        var dots = 0
        var segment = 0
        while j < b.count {
            let c = b[j]
            if isAlnum(c) || c == 45 || c == 95 { segment += 1; j += 1; continue }
            if c == 46, segment >= 4, dots < 2 { dots += 1; segment = 0; j += 1; continue }
            break
        }
        guard dots == 2, segment >= 8 else { return nil }
        return Match(kind: .jwt, range: i..<j, masked: "eyJ***.[redacted JWT]")
    }

    /// An IBAN: country code, two check digits, up to 30 letters or digits (optionally in groups of
    /// four), valid under ISO 13616's mod-97 check: `DE89 **** **** **** **** 00`.
    static func iban(_ b: [UInt8], _ start: Int) -> Match? {
        guard start + 15 <= b.count, isDigit(b[start + 2]), isDigit(b[start + 3]) else { return nil }
        var chars: [UInt8] = []
        var i = start
        var end = start
        while i < b.count, chars.count < 34 {
            let c = b[i]
            if isDigit(c) || isUpper(c) { chars.append(c); i += 1; end = i; continue }
            if c == 32, chars.count % 4 == 0, i + 1 < b.count, isDigit(b[i + 1]) || isUpper(b[i + 1]) { i += 1; continue }
            break
        }
        if end < b.count, isAlnum(b[end]) { return nil }
        guard chars.count >= 15, chars.count <= 34 else { return nil }
        let country = String(decoding: chars[0..<2], as: UTF8.self)
        if let expected = ibanLengths[country], expected != chars.count { return nil }
        // Move the first four characters to the end, letters to numbers, then mod 97 must be 1.
        var remainder = 0
        for c in chars[4...] + chars[0..<4] {
            if isDigit(c) { remainder = (remainder * 10 + Int(c - 48)) % 97 }
            else { remainder = (remainder * 100 + Int(c - 55)) % 97 }
        }
        guard remainder == 1 else { return nil }
        let text = String(decoding: chars, as: UTF8.self)
        return Match(kind: .iban, range: start..<end, masked: String(text.prefix(4)) + " **** " + String(text.suffix(2)))
    }

    static let ibanLengths: [String: Int] = ["DE": 22, "GB": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "BE": 16, "CH": 21, "AT": 20,
                                             "IE": 22, "PT": 25, "PL": 28, "SE": 24, "DK": 18, "NO": 15, "FI": 18, "LU": 20, "CZ": 24]

    static let tokenPrefixes: [(prefix: [UInt8], minimum: Int)] = [
        ("ghp_", 36), ("gho_", 36), ("ghu_", 36), ("ghs_", 36), ("ghr_", 36), ("github_pat_", 40),
        ("xoxb-", 20), ("xoxp-", 20), ("xoxa-", 20), ("xoxr-", 20),
        ("sk_live_", 20), ("rk_live_", 20), ("AIza", 35), ("glpat-", 20), ("hpk_", 20),
    ].map { (Array($0.0.utf8), $0.1) }

    static func hasPrefix(_ b: [UInt8], at start: Int, _ p: [UInt8]) -> Bool {
        guard start + p.count <= b.count else { return false }
        for k in 0..<p.count where b[start + k] != p[k] { return false }
        return true
    }

    /// Well-known API token formats, by prefix and a minimum length of token characters.
    static func token(_ b: [UInt8], _ start: Int) -> Match? {
        for (p, minimum) in tokenPrefixes where p[0] == b[start] {
            guard start + p.count + minimum <= b.count, hasPrefix(b, at: start, p) else { continue }
            let prefix = String(decoding: p, as: UTF8.self)
            var j = start + p.count
            while j < b.count, isAlnum(b[j]) || b[j] == 95 || b[j] == 45 { j += 1 }
            guard j - start - p.count >= minimum else { continue }
            return Match(kind: .apiToken, range: start..<j, masked: prefix + "****" + String(decoding: b[(j - 4)..<j], as: UTF8.self))
        }
        return nil
    }

    /// An address around the `@` at `at`: `j***@example.com` keeps the domain, hides the person.
    static func email(_ b: [UInt8], _ at: Int, after floor: Int) -> Match? {
        func localByte(_ c: UInt8) -> Bool { isAlnum(c) || c == 46 || c == 95 || c == 37 || c == 43 || c == 45 }
        var s = at
        while s > floor, localByte(b[s - 1]) { s -= 1 }
        guard s < at, b[s] != 46 else { return nil }
        var e = at + 1
        var lastDot = -1
        while e < b.count, isAlnum(b[e]) || b[e] == 45 || b[e] == 46 {
            if b[e] == 46 { lastDot = e }
            e += 1
        }
        while e > at + 1, b[e - 1] == 46 { e -= 1 }
        guard lastDot > at + 1, lastDot < e - 2 else { return nil }
        let domain = String(decoding: b[(at + 1)..<e], as: UTF8.self)
        return Match(kind: .email, range: s..<e, masked: String(UnicodeScalar(b[s])) + "***@" + domain)
    }
}

/// Text as the detectors read it, with a map from each of its bytes back to the span of the
/// original it came from.
///
/// Each original character becomes: itself (ASCII, and characters with no ASCII reading, byte
/// for byte); one ASCII byte (fullwidth ASCII, Unicode decimal digits, Unicode spaces as a space,
/// dashes as `-`, tag characters as the ASCII they shadow); or nothing (invisible characters).
/// With `decodingEscapes`, a visible code as `OutputGate` writes it (`[U+200B]`) reads as the
/// character it stands for, so text that went through the gate reads the same the second time.
struct NormalisedText {
    private(set) var bytes: [UInt8] = []
    /// Where the 1:1 correspondence with the original breaks: normalised byte `norm` came from
    /// `width` original bytes at `orig`, and the bytes after it (to the next anchor) one each.
    /// Before the first anchor, offsets are equal.
    private var anchors: [(norm: Int, orig: Int, width: Int)] = []
    private var expected = 0

    /// The normal form of `source`, or nil when it is its own normal form (plain ASCII, and no
    /// visible codes when `decodingEscapes`): the common case costs no copy.
    static func view(_ source: [UInt8], decodingEscapes: Bool) -> NormalisedText? {
        if isASCII(source), !decodingEscapes || !containsEscape(source) { return nil }
        return NormalisedText(source, decodingEscapes: decodingEscapes)
    }

    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var acc: UInt64 = 0
            var i = 0
            while i + 8 <= raw.count { acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self); i += 8 }
            while i < raw.count { acc |= UInt64(raw[i]); i += 1 }
            return acc & 0x8080_8080_8080_8080 == 0
        }
    }

    static func containsEscape(_ b: [UInt8]) -> Bool {
        var i = 0
        while i + 2 < b.count {
            if b[i] == 91, b[i + 1] == 85, b[i + 2] == 43 { return true }
            i += 1
        }
        return false
    }

    init(_ source: [UInt8], decodingEscapes: Bool) {
        bytes.reserveCapacity(source.count)
        let n = source.count
        var i = 0
        while i < n {
            let c = source[i]
            if c < 0x80 {
                if decodingEscapes, c == 91, let (v, length) = Self.escape(source, i) {
                    switch Self.fold(v) {
                    case .skip: break
                    case .byte(let b): emit(b, orig: i, width: length)
                    // Controls and other codes with no ASCII reading: one byte that is no word
                    // character, separator or space, as the raw character would be.
                    case .keep: emit(v < 0x80 ? UInt8(v) : 0x1A, orig: i, width: length)
                    }
                    i += length
                    continue
                }
                emit(c, orig: i, width: 1)
                i += 1
                continue
            }
            guard let (v, length) = Self.decode(source, i) else {
                emit(c, orig: i, width: 1)   // not UTF-8: kept as it is
                i += 1
                continue
            }
            switch Self.fold(v) {
            case .skip: break
            case .byte(let b): emit(b, orig: i, width: length)
            case .keep: for k in i..<(i + length) { emit(source[k], orig: k, width: 1) }
            }
            i += length
        }
    }

    private mutating func emit(_ byte: UInt8, orig: Int, width: Int) {
        if width != 1 || orig != expected { anchors.append((bytes.count, orig, width)) }
        bytes.append(byte)
        expected = orig + width
    }

    /// The original span of normalised bytes `range` (non-empty), invisible characters inside it included.
    func originalRange(_ range: Range<Int>) -> Range<Int> {
        span(range.lowerBound).lowerBound..<span(range.upperBound - 1).upperBound
    }

    private func span(_ k: Int) -> Range<Int> {
        // The last anchor at or before k.
        var lo = 0, hi = anchors.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if anchors[mid].norm <= k { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return k..<(k + 1) }
        let a = anchors[lo - 1]
        if a.norm == k { return a.orig..<(a.orig + a.width) }
        let start = a.orig + a.width + (k - a.norm - 1)
        return start..<(start + 1)
    }

    enum Fold { case skip, byte(UInt8), keep }

    /// How a non-ASCII character (or a control, from a visible code) reads.
    static func fold(_ v: UInt32) -> Fold {
        if v < 0x80 { return .keep }
        if isInvisible(v) { return .skip }
        switch v {
        case 0xFF01...0xFF5E: return .byte(UInt8(v - 0xFEE0))            // fullwidth ASCII
        case 0xE0020...0xE007E: return .byte(UInt8(v - 0xE0000))         // tag characters ("ASCII smuggling")
        case 0x00A0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: return .byte(32)
        case 0x2028, 0x2029: return .byte(10)
        case 0x2010...0x2015, 0x2212, 0xFE58, 0xFE63: return .byte(45)
        default: break
        }
        // Unicode decimal digits (Arabic-Indic, Devanagari, mathematical, …) read as ASCII digits.
        if v >= 0x0660, let scalar = Unicode.Scalar(v), scalar.properties.numericType == .decimal,
           let value = scalar.properties.numericValue, value >= 0, value <= 9 {
            return .byte(48 + UInt8(value))
        }
        return .keep
    }

    /// Characters that show nothing and may be slipped into a value to break it up: zero-width
    /// spaces and joiners, the word joiner and invisible operators, bidi controls, the BOM, soft
    /// hyphen, combining grapheme joiner, Hangul fillers, variation selectors, tag framing.
    static func isInvisible(_ v: UInt32) -> Bool {
        switch v {
        case 0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180F, 0x200B...0x200F, 0x202A...0x202E,
             0x2060...0x2064, 0x2066...0x206F, 0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0x1BCA0...0x1BCA3,
             0xE0001, 0xE007F, 0xE0100...0xE01EF:
            return true
        default:
            return false
        }
    }

    /// Whether `OutputGate` shows the character as `[U+XXXX]` (and so whether a code here reads as
    /// a character): controls, noncharacters, line and paragraph separators, format characters,
    /// invisible fillers. Variation selectors are not shown, though the scanners skip them: emoji
    /// need them.
    static func isShownAsCode(_ v: UInt32) -> Bool {
        if v < 0x20 || v == 0x7F { return true }
        if v < 0xA0 { return v >= 0x80 }
        if v == 0x2028 || v == 0x2029 { return true }
        if (0xFDD0...0xFDEF).contains(v) || v & 0xFFFE == 0xFFFE { return true }
        if isInvisible(v) { return !(0xFE00...0xFE0F).contains(v) && !(0xE0100...0xE01EF).contains(v) }
        guard let scalar = Unicode.Scalar(v) else { return false }
        return scalar.properties.generalCategory == .format
    }

    /// The scalar and length of the UTF-8 sequence at `i`, or nil if it is not well-formed.
    static func decode(_ b: [UInt8], _ i: Int) -> (UInt32, Int)? {
        let c = b[i]
        let length: Int, initial: UInt32, minimum: UInt32
        switch c {
        case 0xC2...0xDF: length = 2; initial = UInt32(c & 0x1F); minimum = 0x80
        case 0xE0...0xEF: length = 3; initial = UInt32(c & 0x0F); minimum = 0x800
        case 0xF0...0xF4: length = 4; initial = UInt32(c & 0x07); minimum = 0x10000
        default: return nil
        }
        guard i + length <= b.count else { return nil }
        var v = initial
        for k in 1..<length {
            let cc = b[i + k]
            guard cc & 0xC0 == 0x80 else { return nil }
            v = v << 6 | UInt32(cc & 0x3F)
        }
        guard v >= minimum, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { return nil }
        return (v, length)
    }

    /// A visible code `[U+XXXX]` at `i` (4 to 6 upper-case hex digits, no padding beyond 4) for a
    /// character the gate shows that way; anything else is literal text.
    static func escape(_ b: [UInt8], _ i: Int) -> (UInt32, Int)? {
        guard i + 8 <= b.count, b[i + 1] == 85, b[i + 2] == 43 else { return nil }
        var v: UInt32 = 0
        var j = i + 3
        while j < b.count, j - i - 3 < 6 {
            let c = b[j]
            if c >= 48 && c <= 57 { v = v << 4 | UInt32(c - 48) } else if c >= 65 && c <= 70 { v = v << 4 | UInt32(c - 55) } else { break }
            j += 1
        }
        let digits = j - i - 3
        guard digits >= 4, j < b.count, b[j] == 93, digits == 4 || b[i + 3] != 48 else { return nil }
        guard isShownAsCode(v) else { return nil }
        return (v, j + 1 - i)
    }
}
