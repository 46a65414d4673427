import Foundation

/// Parses and formats the timestamps gateway stores hold, without `DateFormatter`:
/// a period has millions of them, and the accepted forms are few and fixed.
public enum Timestamp {
    /// The first instant the tool accepts: 1970-01-01T00:00:00Z.
    public static let earliest = Date(timeIntervalSince1970: 0)
    /// The first instant past what the tool accepts, 10000-01-01T00:00:00Z: every accepted time has a
    /// four-digit year in UTC, which ISO 8601 output, Excel dates and the `YYYY` labels all need.
    public static let end = Date(timeIntervalSince1970: Double(daysFromCivil(year: 10_000, month: 1, day: 1)) * 86_400)

    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]` with an optional `Z`
    /// or `±HH[:MM]` offset. A value without an offset is UTC: hoop writes UTC into its
    /// `TIMESTAMP` (without time zone) columns. Written years outside 1970–9999, and instants at
    /// or past 10000-01-01 UTC (9999-12-31T23:00-05:00), are refused like malformed text, so a
    /// parsed time always converts to UTC within 1969–9999 and formats as ISO 8601.
    public static func parse(_ text: String) -> Date? {
        guard case .date(let date) = classify(text) else { return nil }
        return date
    }

    /// `parse` for values a person typed (`--generated-at`, `--from`, `--to`): says whether the text
    /// is malformed or out of range, as a `PeriodError` (exit 64) naming `name`.
    public static func parseChecked(_ text: String, name: String) throws -> Date {
        switch classify(text) {
        case .date(let date): return date
        case .outOfRange: throw PeriodError("\(name) '\(text)' is outside the years 1970–9999 (in UTC)")
        case .malformed: throw PeriodError("\(name) '\(text)' is not an ISO 8601 date or date-time")
        }
    }

    enum Parsed: Equatable {
        case date(Date)
        case outOfRange
        case malformed
    }

    static func classify(_ text: String) -> Parsed {
        var utf8 = text.utf8
        if utf8.isEmpty { return .malformed }
        guard let (date, year) = parse(bytes: &utf8) else { return .malformed }
        guard (1970...9999).contains(year), date < end else { return .outOfRange }
        return .date(date)
    }

    /// The instant and the year as written; four digits keep every intermediate value small.
    private static func parse(bytes: inout String.UTF8View) -> (Date, Int)? {
        let b = Array(bytes)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var value = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            i += n
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction = 0.0
        var offsetSeconds = 0
        if i < b.count {
            guard b[i] == 84 || b[i] == 32 || b[i] == 116 else { return nil } // 'T', ' ', 't'
            i += 1
            guard let h = digits(2), expect(58), let m = digits(2) else { return nil }
            hour = h; minute = m
            if i < b.count, b[i] == 58 {
                i += 1
                guard let s = digits(2) else { return nil }
                second = s
                if i < b.count, b[i] == 46 || b[i] == 44 {
                    i += 1
                    var scale = 0.1
                    var any = false
                    while i < b.count, b[i] >= 48, b[i] <= 57 {
                        fraction += Double(b[i] - 48) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    guard any else { return nil }
                }
            }
            guard hour < 24, minute < 60, second < 61 else { return nil }
            if i < b.count {
                if b[i] == 90 || b[i] == 122 { // 'Z'
                    i += 1
                } else if b[i] == 43 || b[i] == 45 { // '+' / '-'
                    let sign = b[i] == 43 ? 1 : -1
                    i += 1
                    guard let oh = digits(2) else { return nil }
                    var om = 0
                    if i < b.count {
                        _ = expect(58)
                        guard let m = digits(2) else { return nil }
                        om = m
                    }
                    guard oh <= 14, om < 60 else { return nil }
                    offsetSeconds = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds) + fraction
        return (Date(timeIntervalSince1970: seconds), year)
    }

    /// ISO 8601 in UTC: `2026-07-01T09:30:00Z`, with milliseconds when present, microseconds when the
    /// time has them (hoop's PostgreSQL keeps microseconds). Rounded to the microsecond, the source's
    /// precision, so 23:59:59.999999 on a period's last day never prints as the next period's first instant.
    /// Dates outside 0000-01-01 … 9999-12-31T23:59:59.999Z (and NaN) are clamped to those bounds:
    /// callers range-check what they read (`parse`, the reader's plausibility window), and the clamp
    /// only guarantees that a stray value can neither trap the conversion nor print a non-ISO year.
    public static func format(_ date: Date) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(date, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` has the shape `format` writes (`2026-07-01T09:30:00Z`, with three or six
    /// fraction digits): digits, dashes, colons, `T`, `.` and `Z` in place, nothing else.
    public static func isFormatted(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { b in
            guard b.count == 20 || b.count == 24 || b.count == 27 else { return false }
            func digits(_ range: Range<Int>) -> Bool { range.allSatisfy { b[$0] >= 0x30 && b[$0] <= 0x39 } }
            guard digits(0..<4), b[4] == 0x2D, digits(5..<7), b[7] == 0x2D, digits(8..<10), b[10] == 0x54,
                  digits(11..<13), b[13] == 0x3A, digits(14..<16), b[16] == 0x3A, digits(17..<19), b[b.count - 1] == 0x5A
            else { return false }
            return b.count == 20 || b[19] == 0x2E && digits(20..<(b.count - 1))
        }
    }

    /// `format(date)`'s bytes appended to `out`, digit by digit: listings write one per row, and
    /// building strings to join them cost more than the rest of the row.
    public static func append(_ date: Date, to out: inout [UInt8]) {
        let seconds = date.timeIntervalSince1970
        let clamped = seconds.isNaN ? formatMin : min(max(seconds, formatMin), formatMax)
        var micros = microseconds(clamped)
        var secs = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        micros -= secs * 1_000_000
        let days = Int(secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400)
        secs -= Int64(days) * 86_400
        let (y, m, d) = civilFromDays(days)
        // Laid out in a stack buffer and appended once: every population row writes a time or
        // two, and an append per character (each checking capacity) showed in profiles.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var n = 0
            func digits(_ value: Int, _ width: Int) {
                var v = value
                for i in stride(from: width - 1, through: 0, by: -1) {
                    buffer[n + i] = UInt8(48 + v % 10)
                    v /= 10
                }
                n += width
            }
            func put(_ byte: UInt8) {
                buffer[n] = byte
                n += 1
            }
            digits(y, 4); put(45); digits(m, 2); put(45); digits(d, 2); put(84)
            digits(Int(secs / 3600), 2); put(58); digits(Int(secs % 3600 / 60), 2); put(58); digits(Int(secs % 60), 2)
            if micros != 0 {
                put(46)
                if micros % 1000 == 0 { digits(Int(micros / 1000), 3) } else { digits(Int(micros), 6) }
            }
            put(90)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// The UTC month holding `date` as `year * 100 + month` (202608): what samples are spread over.
    public static func utcMonth(_ date: Date) -> Int {
        let seconds = date.timeIntervalSince1970
        let clamped = seconds.isNaN ? formatMin : min(max(seconds, formatMin), formatMax)
        // Rounded to the microsecond as `format` does, so the month is the one the listed time shows.
        let micros = microseconds(clamped)
        let secs = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let days = Int(secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400)
        let (y, m, _) = civilFromDays(days)
        return y * 100 + m
    }

    /// Seconds since 1970 as whole microseconds, rounded to the microsecond where a Double holds that
    /// precision (within a few centuries of 1970, every time the reader accepts) and to the millisecond
    /// beyond, where it does not: the clamped extremes print as they always did.
    static func microseconds(_ seconds: Double) -> Int64 {
        abs(seconds) < 8e9 ? Int64((seconds * 1_000_000).rounded()) : Int64((seconds * 1000).rounded()) * 1000
    }

    static let formatMin = Double(daysFromCivil(year: 0, month: 1, day: 1)) * 86_400
    static let formatMax = Double(daysFromCivil(year: 10_000, month: 1, day: 1)) * 86_400 - 0.001

    /// `YYYY-MM-DD` of the UTC day holding `date`.
    public static func formatDay(_ date: Date) -> String {
        String(format(date).prefix(10))
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
