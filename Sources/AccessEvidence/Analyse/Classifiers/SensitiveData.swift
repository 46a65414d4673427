/// Finds sensitive values in text by scanning bytes, and masks them so a report can show
/// where a value was without showing the value.
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
        public var range: Range<Int>
        public var masked: String
    }

    /// Every validated match, left to right, non-overlapping. Candidates are found by a cheap
    /// look at one byte; only then does a validator run, so most bytes cost one comparison.
    public static func scan(_ bytes: [UInt8]) -> [Match] {
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
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var last = 0
        for m in matches {
            out += bytes[last..<m.range.lowerBound]
            out += Array(m.masked.utf8)
            last = m.range.upperBound
        }
        out += bytes[last...]
        return String(decoding: out, as: UTF8.self)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isUpper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
    static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isUpper(c) || (c >= 97 && c <= 122) }

    /// 13–19 digits, optionally grouped by single spaces or dashes, with a known issuer prefix
    /// and a valid Luhn check digit: `4111 **** **** 1111`.
    static func card(_ b: [UInt8], _ start: Int) -> Match? {
        // Cheap rejection first: most digit runs in output are short numbers.
        var probe = start, run = 0
        while probe < b.count, run < 13 {
            if isDigit(b[probe]) { run += 1 } else if !(b[probe] == 32 || b[probe] == 45) { break }
            probe += 1
        }
        guard run >= 13 else { return nil }
        var digits: [UInt8] = []
        digits.reserveCapacity(19)
        var i = start
        var end = start
        var separator: UInt8?
        while i < b.count, digits.count < 19 {
            if isDigit(b[i]) { digits.append(b[i] - 48); i += 1; end = i; continue }
            // One kind of separator, single, between digit groups.
            if (b[i] == 32 || b[i] == 45), separator == nil || separator == b[i], i + 1 < b.count, isDigit(b[i + 1]), !digits.isEmpty {
                separator = b[i]; i += 1; continue
            }
            break
        }
        if end < b.count, isAlnum(b[end]) || (b[end] == 45 && end + 1 < b.count && isDigit(b[end + 1])) { return nil }
        guard digits.count >= 13, luhn(digits), issuer(digits) else { return nil }
        let first4 = digits.prefix(4).map(String.init).joined()
        let last4 = digits.suffix(4).map(String.init).joined()
        return Match(kind: .cardNumber, range: start..<end, masked: "\(first4) **** **** \(last4)")
    }

    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (k, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if k % 2 == 1 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return sum % 10 == 0
    }

    static func issuer(_ d: [UInt8]) -> Bool {
        func prefix(_ n: Int) -> Int { d.prefix(n).reduce(0) { $0 * 10 + Int($1) } }
        let len = d.count
        if d[0] == 4 { return [13, 16, 19].contains(len) }                                   // Visa
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

    /// `eyJ…` header, payload and signature in base64url.
    static func jwt(_ b: [UInt8], _ i: Int) -> Match? {
        guard b[i] == 101, i + 20 < b.count, b[i + 1] == 121, b[i + 2] == 74 else { return nil }
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
        let lengths: [String: Int] = ["DE": 22, "GB": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "BE": 16, "CH": 21, "AT": 20,
                                      "IE": 22, "PT": 25, "PL": 28, "SE": 24, "DK": 18, "NO": 15, "FI": 18, "LU": 20, "CZ": 24]
        let country = String(decoding: chars[0..<2], as: UTF8.self)
        if let expected = lengths[country], expected != chars.count { return nil }
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
