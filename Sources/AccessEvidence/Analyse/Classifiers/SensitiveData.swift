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
    }

    public struct Match: Sendable, Equatable {
        public var kind: Kind
        public var range: Range<Int>
        public var masked: String
    }

    /// Every validated match, left to right, non-overlapping.
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
            if boundary, c == UInt8(ascii: "A") || c == UInt8(ascii: "-") || c == UInt8(ascii: "e"),
               let m = awsKey(bytes, i) ?? privateKey(bytes, i) ?? jwt(bytes, i) {
                matches.append(m); i = m.range.upperBound; continue
            }
            if c == UInt8(ascii: "@"), let m = email(bytes, i, after: matches.last?.range.upperBound ?? 0) {
                matches.append(m); i = m.range.upperBound; continue
            }
            i += 1
        }
        return matches
    }

    /// The text with every sensitive value replaced by its masked form.
    public static func mask(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let matches = scan(bytes)
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
        var digits: [UInt8] = []
        var i = start
        var end = start
        while i < b.count, digits.count < 19 {
            if isDigit(b[i]) { digits.append(b[i] - 48); i += 1; end = i; continue }
            if (b[i] == 32 || b[i] == 45), i + 1 < b.count, isDigit(b[i + 1]), !digits.isEmpty { i += 1; continue }
            break
        }
        if end < b.count, isAlnum(b[end]) { return nil }
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
        let positions = [0, 1, 2, 4, 5, 7, 8, 9, 10]
        guard positions.allSatisfy({ isDigit(b[i + $0]) }) else { return nil }
        if i + 11 < b.count, isAlnum(b[i + 11]) || b[i + 11] == 45 { return nil }
        func num(_ r: [Int]) -> Int { r.reduce(0) { $0 * 10 + Int(b[i + $1] - 48) } }
        let area = num([0, 1, 2]), group = num([4, 5]), serial = num([7, 8, 9, 10])
        guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { return nil }
        return Match(kind: .usSSN, range: i..<(i + 11), masked: "***-**-" + String(decoding: b[(i + 7)..<(i + 11)], as: UTF8.self))
    }

    /// AWS access key ids: `AKIA`/`ASIA` and 16 upper-case letters or digits.
    static func awsKey(_ b: [UInt8], _ i: Int) -> Match? {
        guard i + 20 <= b.count, b[i] == 65, b[i + 2] == 73, b[i + 3] == 65, b[i + 1] == 75 || b[i + 1] == 83 else { return nil }
        guard (i + 4..<i + 20).allSatisfy({ isUpper(b[$0]) || isDigit(b[$0]) }) else { return nil }
        if i + 20 < b.count, isAlnum(b[i + 20]) { return nil }
        return Match(kind: .awsAccessKey, range: i..<(i + 20),
                     masked: String(decoding: b[i..<(i + 4)], as: UTF8.self) + "************" + String(decoding: b[(i + 16)..<(i + 20)], as: UTF8.self))
    }

    static let keyBegin = Array("-----BEGIN ".utf8)
    static let keyEnd = Array("-----END ".utf8)

    /// A PEM private-key block, up to its END line (or the end of the text).
    static func privateKey(_ b: [UInt8], _ i: Int) -> Match? {
        guard b.count - i > keyBegin.count, Array(b[i..<(i + keyBegin.count)]) == keyBegin else { return nil }
        var j = i + keyBegin.count
        let labelStart = j
        while j < b.count, b[j] != 45, b[j] != 10, j - labelStart < 40 { j += 1 }
        let label = String(decoding: b[labelStart..<j], as: UTF8.self)
        guard label.hasSuffix("PRIVATE KEY") else { return nil }
        var end = b.count
        var k = j
        while k + keyEnd.count <= b.count {
            if b[k] == 45, Array(b[k..<(k + keyEnd.count)]) == keyEnd {
                // Past the label to the closing dashes of the END line.
                var e = k + keyEnd.count
                while e < b.count, b[e] != 45, b[e] != 10 { e += 1 }
                while e < b.count, b[e] == 45 { e += 1 }
                end = e
                break
            }
            k += 1
        }
        return Match(kind: .privateKey, range: i..<end, masked: "-----BEGIN \(label)----- [redacted] -----END \(label)-----")
    }

    /// `eyJ…` header, payload and signature in base64url.
    static func jwt(_ b: [UInt8], _ i: Int) -> Match? {
        guard i + 20 < b.count, b[i] == 101, b[i + 1] == 121, b[i + 2] == 74 else { return nil }
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
