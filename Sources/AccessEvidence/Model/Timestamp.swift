import Foundation

/// Parses and formats the timestamps gateway stores hold, without `DateFormatter`:
/// a period has millions of them, and the accepted forms are few and fixed.
public enum Timestamp {
    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]` with an optional `Z`
    /// or `±HH[:MM]` offset. A value without an offset is UTC: hoop writes UTC into its
    /// `TIMESTAMP` (without time zone) columns.
    public static func parse(_ text: String) -> Date? {
        var utf8 = text.utf8
        if utf8.isEmpty { return nil }
        return parse(bytes: &utf8)
    }

    private static func parse(bytes: inout String.UTF8View) -> Date? {
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
        return Date(timeIntervalSince1970: seconds)
    }

    /// ISO 8601 in UTC: `2026-07-01T09:30:00Z`, with milliseconds only when present.
    public static func format(_ date: Date) -> String {
        let totalMillis = (date.timeIntervalSince1970 * 1000).rounded()
        var millis = Int64(totalMillis)
        var secs = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        millis -= secs * 1000
        let days = Int(secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400)
        secs -= Int64(days) * 86_400
        let (y, m, d) = civilFromDays(days)
        let hh = Int(secs / 3600), mm = Int(secs % 3600 / 60), ss = Int(secs % 60)
        var out = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(hh, 2) + ":" + pad(mm, 2) + ":" + pad(ss, 2)
        if millis != 0 { out += "." + pad(Int(millis), 3) }
        return out + "Z"
    }

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
