/// What every value leaving the tool goes through. Command text, recorded output and every text
/// column of the store are attacker-controlled, so what a report quotes from them is gated:
///
/// - credentials are redacted to `****` (`Credentials`: URL passwords, SQL `PASSWORD`/`IDENTIFIED BY`,
///   secret-named assignments and options, `Authorization`/`Cookie` headers, tools' password options);
/// - sensitive values are masked (`SensitiveData`: card numbers, US SSNs, AWS access keys, IBANs,
///   JWTs, API tokens, PEM private keys), also when written with fullwidth or other Unicode digits,
///   Unicode spaces or dashes, or invisible characters inside; e-mail addresses are masked in
///   evidence excerpts but stay in `text`, where they are the identities that name who acted;
/// - characters that would not show, or would change how the rest shows, become visible codes
///   `[U+XXXX]` (four or more upper-case hex digits): C0 controls (tab, newline and carriage return
///   too), DEL, C1 controls, noncharacters (U+FDD0–FDEF, U+xFFFE/xFFFF), the line and paragraph
///   separators, format characters (bidi controls, zero-width spaces and joiners, the BOM, soft
///   hyphen, tag characters, …) and invisible fillers (Hangul fillers, combining grapheme joiner).
///
/// Gating is idempotent: `text(text(x)) == text(x)`. Codes are made visible first and the
/// scanners read a visible code as the character it stands for (a tab between card digits
/// separates them whether it is a tab or `[U+0009]`); redaction and masking then repeat until
/// they change nothing (one round, and one to confirm when it masked something). Printable ASCII
/// without a visible code in it skips both the visible-code pass and the normalised copy.
public enum OutputGate {
    /// `s` as it may leave the tool: credentials redacted, sensitive values but e-mail addresses
    /// masked, control and invisible characters made visible.
    public static func text(_ s: String) -> String {
        isInertID(s) ? s : gate(s, maskingEmails: false)
    }

    /// Whether `s` is an id the gate would leave as it is, known without running it: a canonical
    /// lower-case UUID, optionally followed by `#`, an optional `g` and one to four digits (the item
    /// keys of commands and guardrail matches), in which no run of digits joined by `-` reaches 9
    /// digits. Session, review and approval ids are most of the distinct values a run gates.
    ///
    /// Why nothing can match: lower-case `a`–`f` and digits begin no API token (`ghp_`, `xox…`,
    /// `sk_live_`, …), JWT (`eyJ`), PEM block, AWS key or IBAN (upper case), hold no `@`, and name
    /// no secret, tool or header (the whole UUID is one 36-byte word; the suffix's `g1` none either);
    /// so only a card number (13 or more digits) or an SSN (9 digits and two `-`) could, and both lie
    /// within a run of digits and separators, which a letter ends. The visible-code pass has nothing
    /// to do in ASCII. `inertIDsAreLeftAsTheGateWouldLeaveThem` compares it with the full gate.
    static func isInertID(_ s: String) -> Bool {
        let count = s.utf8.count
        guard count >= 36, count <= 42 else { return false }
        return s.utf8.withContiguousStorageIfAvailable { b -> Bool in
            var digits = 0
            for i in 0..<36 {
                let c = b[i]
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard c == 45 else { return false }
                } else if c >= 48 && c <= 57 {
                    digits += 1
                    if digits >= 9 { return false }
                } else if c >= 97 && c <= 102 {
                    digits = 0
                } else {
                    return false
                }
            }
            guard count > 36 else { return true }
            guard b[36] == 35 else { return false }
            var k = 37
            if k < count, b[k] == 103 { k += 1 }
            guard count - k >= 1, count - k <= 4 else { return false }
            while k < count {
                guard b[k] >= 48 && b[k] <= 57 else { return false }
                k += 1
            }
            return true
        } ?? false
    }

    /// Evidence quoted from command text: white space (tabs, newlines, Unicode spaces) collapsed to
    /// single spaces and trimmed before masking, so a value split by runs of it is still found;
    /// gated as `text` with e-mail addresses masked too; at most `limit` Unicode scalars (not
    /// Characters: one Character may carry any number of them), then ` …[N more characters]`.
    public static func excerpt(_ s: String, limit: Int = 400) -> String {
        bounded(gate(collapsingWhitespace(s), maskingEmails: true), limit: max(0, limit))
    }

    /// Rounds of redaction and masking at most: see `gate`.
    static let maximumRounds = 8

    static func gate(_ s: String, maskingEmails: Bool) -> String {
        let plain = s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        var bytes = plain ? Array(s.utf8) : visible(s)
        var changed = !plain
        // Masking a value changes its neighbours' context: a token's kept last four characters
        // may begin an IBAN, a redacted value may join the word after it into a new one. So the
        // rules apply until they change nothing, and gating the output again changes nothing. In
        // practice a second round confirms the first; the bound keeps contrived chains linear.
        for _ in 0..<maximumRounds {
            guard let next = round(bytes, maskingEmails: maskingEmails) else { break }
            bytes = next
            changed = true
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : s
    }

    /// One round of redaction and masking over text with visible codes; nil when it changes nothing.
    static func round(_ bytes: [UInt8], maskingEmails: Bool) -> [UInt8]? {
        var out = bytes
        // Credentials first: they go whole, where masking a card number in a password would show its ends.
        var view = NormalisedText.view(out, decodingEscapes: true)
        let secrets = Credentials.values(view?.bytes ?? out)
        if !secrets.isEmpty {
            out = SensitiveData.splice(out, secrets.map { (view?.originalRange($0) ?? $0, "****") })
            view = NormalisedText.view(out, decodingEscapes: true)
        }
        let matches = SensitiveData.scanNormalised(view?.bytes ?? out).filter { maskingEmails || $0.kind != .email }
        if !matches.isEmpty {
            out = SensitiveData.splice(out, matches.map { (view?.originalRange($0.range) ?? $0.range, $0.masked) })
        }
        return secrets.isEmpty && matches.isEmpty || out == bytes ? nil : out
    }

    /// `s` in UTF-8 with the characters `NormalisedText.isShownAsCode` names written as `[U+XXXX]`.
    static func visible(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            guard NormalisedText.isShownAsCode(scalar.value) else {
                UTF8.encode(scalar) { out.append($0) }
                continue
            }
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out += "[U+".utf8
            out += repeatElement(UInt8(ascii: "0"), count: max(0, 4 - hex.utf8.count))
            out += hex.utf8
            out.append(UInt8(ascii: "]"))
        }
        return out
    }

    static func isWhitespace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    static func collapsingWhitespace(_ s: String) -> String {
        // Most command text is printable ASCII with single spaces between words: nothing to do.
        // Checked over the string's own bytes (a native string always has them in one piece).
        let settled = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var previous: UInt8 = 0x20
            for byte in bytes {
                guard byte > 0x20 && byte < 0x7F || byte == 0x20 && previous != 0x20 else { return false }
                previous = byte
            }
            return previous != 0x20
        } ?? false
        if settled { return s }
        var out = String.UnicodeScalarView()
        var space = false
        for scalar in s.unicodeScalars {
            if isWhitespace(scalar.value) { space = !out.isEmpty; continue }
            if space { out.append(" "); space = false }
            out.append(scalar)
        }
        return String(out)
    }

    /// At most `limit` scalars of `s`, never ending inside a visible code (`[U+20` would read as text).
    static func bounded(_ s: String, limit: Int) -> String {
        // No more bytes than the limit, so no more scalars: nothing to cut, without walking them.
        if s.utf8.count <= limit { return s }
        let scalars = s.unicodeScalars
        guard let end = scalars.index(scalars.startIndex, offsetBy: limit, limitedBy: scalars.endIndex), end != scalars.endIndex else { return s }
        var cut = end
        var k = end
        for back in 1...9 {
            guard k > scalars.startIndex else { break }
            k = scalars.index(before: k)
            guard scalars[k] == "[" else { continue }
            let ahead = Array(String(scalars[k..<(scalars.index(k, offsetBy: 10, limitedBy: scalars.endIndex) ?? scalars.endIndex)]).utf8)
            if let (_, length) = NormalisedText.escape(ahead, 0), length > back { cut = k }
            break
        }
        return String(scalars[..<cut]) + " …[\(scalars[cut...].count) more characters]"
    }
}
