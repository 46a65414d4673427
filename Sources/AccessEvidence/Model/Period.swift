import Foundation

/// A half-open audit period `[start, end)` with the label the user asked for.
public struct Period: Sendable, Equatable, Codable {
    public var label: String
    public var start: Date
    public var end: Date
    public var timeZone: String

    public init(label: String, start: Date, end: Date, timeZone: String) {
        self.label = label
        self.start = start
        self.end = end
        self.timeZone = timeZone
    }

    public func contains(_ date: Date) -> Bool { date >= start && date < end }

    /// The Gregorian calendar in the period's time zone: days, hours and months of the period are its.
    public var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        return calendar
    }

    /// The local month (`2026-07`), day (`2026-07-01`) or hour (`2026-07-01T09:00`) holding `date`.
    public static func localLabel(_ date: Date, _ unit: Calendar.Component, in calendar: Calendar) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour], from: date)
        let month = Timestamp.pad(c.year ?? 0, 4) + "-" + Timestamp.pad(c.month ?? 0, 2)
        switch unit {
        case .month: return month
        case .hour: return month + "-" + Timestamp.pad(c.day ?? 0, 2) + "T" + Timestamp.pad(c.hour ?? 0, 2) + ":00"
        default: return month + "-" + Timestamp.pad(c.day ?? 0, 2)
        }
    }

    /// The starts of the local units (`.month`, `.day`, `.hour`) from the period's start up to `until`,
    /// each once (a repeated hour at the end of summer time is one unit); with `wholeOnly`, only
    /// units that end by `until`.
    public func units(_ unit: Calendar.Component, until: Date, wholeOnly: Bool = true, limit: Int = 100_000) -> [(start: Date, label: String)] {
        let calendar = self.calendar
        var out: [(Date, String)] = []
        var cursor = start
        while out.count < limit, cursor < until, let next = calendar.date(byAdding: unit, value: 1, to: cursor), !wholeOnly || next <= until {
            let label = Self.localLabel(cursor, unit, in: calendar)
            if out.last?.1 != label { out.append((cursor, label)) }
            cursor = next
        }
        return out
    }

    /// Parses `2026`, `2026-Q3`, `2026-09`, `2026-W38` (ISO week, Monday first)
    /// as calendar periods in `timeZone`.
    public static func parse(_ text: String, timeZone identifier: String = "UTC") throws -> Period {
        let zone = try resolve(timeZone: identifier)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let spec = text.trimmingCharacters(in: .whitespaces)
        func date(_ year: Int, _ month: Int, _ day: Int) -> Date? {
            calendar.date(from: DateComponents(year: year, month: month, day: day))
        }
        func fail() -> PeriodError {
            PeriodError("period '\(text)' is not one of YYYY, YYYY-Qn, YYYY-MM, YYYY-Wnn")
        }
        let parts = spec.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, first.count == 4, first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let year = Int(first) else {
            throw fail()
        }
        guard year >= 1970 else { throw PeriodError("period '\(text)': years before 1970 are not supported (1970–9999)") }
        var start: Date?
        var end: Date?
        if parts.count == 1 {
            start = date(year, 1, 1); end = date(year + 1, 1, 1)
        } else if parts.count == 2 {
            let p = parts[1].uppercased()
            if p.hasPrefix("Q"), p.count == 2, let q = Int(p.dropFirst()), (1...4).contains(q) {
                start = date(year, (q - 1) * 3 + 1, 1)
                end = q == 4 ? date(year + 1, 1, 1) : date(year, q * 3 + 1, 1)
            } else if p.hasPrefix("W"), p.count == 3, let w = Int(p.dropFirst()), w >= 1 {
                var iso = Calendar(identifier: .iso8601)
                iso.timeZone = zone
                guard let s = iso.date(from: DateComponents(weekOfYear: w, yearForWeekOfYear: year)),
                      iso.component(.yearForWeekOfYear, from: s) == year,
                      iso.component(.weekOfYear, from: s) == w else {
                    throw PeriodError("period '\(text)': \(year) has no ISO week \(w)")
                }
                start = s
                end = iso.date(byAdding: .day, value: 7, to: s)
            } else if p.count == 2, let m = Int(p), (1...12).contains(m) {
                start = date(year, m, 1)
                end = m == 12 ? date(year + 1, 1, 1) : date(year, m + 1, 1)
            }
        }
        guard let s = start, let e = end else { throw fail() }
        try checkRange(s, e, "period '\(text)'")
        return Period(label: spec.uppercased(), start: s, end: e, timeZone: zone.identifier)
    }

    /// Every time a report prints, converts to an Excel date or labels by year must have a four-digit
    /// year in UTC. A period ending at or after 10000-01-01 UTC (`9999`, or `9999-12` west of UTC)
    /// would print its end as year 10000, so it is refused; its start is then at most 9999 too.
    static func checkRange(_ start: Date, _ end: Date, _ what: String) throws {
        // The start cannot fail for a year of 1970 or later (time zones are at most 14 h east of UTC);
        // checked anyway, so the guarantee does not rest on that.
        guard start >= Timestamp.earliest.addingTimeInterval(-86_400), end < Timestamp.end else {
            throw PeriodError("\(what) ends after 9999-12-31 in UTC: periods must lie within the years 1970–9999")
        }
    }

    /// `--from/--to`: ISO 8601 dates or date-times. A bare date means midnight in `timeZone`;
    /// a date-time without an offset is read in `timeZone` too.
    public static func parse(from: String, to: String, timeZone identifier: String = "UTC") throws -> Period {
        let zone = try resolve(timeZone: identifier)
        let start = try instant(from, zone: zone, name: "--from")
        let end = try instant(to, zone: zone, name: "--to")
        guard start < end else {
            throw PeriodError("--from \(from) is not before --to \(to)")
        }
        try checkRange(start, end, "--from \(from) --to \(to)")
        return Period(label: "\(from)/\(to)", start: start, end: end, timeZone: zone.identifier)
    }

    static func instant(_ text: String, zone: TimeZone, name: String) throws -> Date {
        let utc = try Timestamp.parseChecked(text, name: name)
        let hasOffset = text.count > 10 && (text.hasSuffix("Z") || text.hasSuffix("z") || text.dropFirst(11).contains("+") || text.dropFirst(11).contains("-"))
        if hasOffset { return utc }
        // The parsed value treated the wall-clock time as UTC; shift it to the zone's offset at that moment.
        let offset = zone.secondsFromGMT(for: utc.addingTimeInterval(-Double(zone.secondsFromGMT(for: utc))))
        return utc.addingTimeInterval(-Double(offset))
    }

    static func resolve(timeZone identifier: String) throws -> TimeZone {
        if identifier.uppercased() == "UTC" || identifier == "Z" {
            return TimeZone(identifier: "UTC")!
        }
        guard let zone = TimeZone(identifier: identifier) else {
            throw PeriodError("unknown time zone '\(identifier)' (use an IANA name such as Europe/Berlin)")
        }
        return zone
    }
}

public struct PeriodError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
