@testable import AccessEvidence
import Foundation
import Testing

@Suite struct PeriodTests {
    @Test func quarterMonthWeekYear() throws {
        let q = try Period.parse("2026-Q3")
        #expect(Timestamp.format(q.start) == "2026-07-01T00:00:00Z")
        #expect(Timestamp.format(q.end) == "2026-10-01T00:00:00Z")
        let q4 = try Period.parse("2026-q4")
        #expect(Timestamp.format(q4.end) == "2027-01-01T00:00:00Z")
        let m = try Period.parse("2026-09")
        #expect(Timestamp.format(m.start) == "2026-09-01T00:00:00Z")
        #expect(Timestamp.format(m.end) == "2026-10-01T00:00:00Z")
        let dec = try Period.parse("2026-12")
        #expect(Timestamp.format(dec.end) == "2027-01-01T00:00:00Z")
        // ISO week 38 of 2026 starts on Monday 14 September.
        let w = try Period.parse("2026-W38")
        #expect(Timestamp.format(w.start) == "2026-09-14T00:00:00Z")
        #expect(Timestamp.format(w.end) == "2026-09-21T00:00:00Z")
        // Week 1 of 2026 starts in 2025 (29 December).
        #expect(Timestamp.format(try Period.parse("2026-W01").start) == "2025-12-29T00:00:00Z")
        let y = try Period.parse("2026")
        #expect(Timestamp.format(y.start) == "2026-01-01T00:00:00Z")
        #expect(Timestamp.format(y.end) == "2027-01-01T00:00:00Z")
    }

    @Test func halfOpen() throws {
        let q = try Period.parse("2026-Q3")
        #expect(q.contains(date("2026-07-01T00:00:00Z")))
        #expect(q.contains(date("2026-09-30T23:59:59.999Z")))
        #expect(!q.contains(date("2026-10-01T00:00:00Z")))
        #expect(!q.contains(date("2026-06-30T23:59:59Z")))
    }

    @Test func timeZoneMovesTheBoundaries() throws {
        let berlin = try Period.parse("2026-09", timeZone: "Europe/Berlin")
        #expect(Timestamp.format(berlin.start) == "2026-08-31T22:00:00Z")
        #expect(Timestamp.format(berlin.end) == "2026-09-30T22:00:00Z")
        let ny = try Period.parse(from: "2026-07-01", to: "2026-07-02", timeZone: "America/New_York")
        #expect(Timestamp.format(ny.start) == "2026-07-01T04:00:00Z")
        #expect(Timestamp.format(ny.end) == "2026-07-02T04:00:00Z")
    }

    @Test func fromTo() throws {
        let p = try Period.parse(from: "2026-07-01T08:00:00Z", to: "2026-07-01T12:30:00+02:00")
        #expect(Timestamp.format(p.start) == "2026-07-01T08:00:00Z")
        #expect(Timestamp.format(p.end) == "2026-07-01T10:30:00Z")
    }

    @Test(arguments: ["2026-Q5", "2026-13", "2026-W54", "26-Q1", "Q3", "2026-Q3-1", "", "2026-00", "2026-W00"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: PeriodError.self) { try Period.parse(text) }
    }

    @Test func rejectsBadRangesAndZones() {
        #expect(throws: PeriodError.self) { try Period.parse(from: "2026-07-02", to: "2026-07-01") }
        #expect(throws: PeriodError.self) { try Period.parse(from: "yesterday", to: "2026-07-01") }
        #expect(throws: PeriodError.self) { try Period.parse("2026-Q3", timeZone: "Mars/Olympus") }
    }
}

@Suite struct TimestampTests {
    @Test func acceptsStoreForms() {
        let expected = date("2026-07-01T09:30:00Z").timeIntervalSince1970
        for text in ["2026-07-01T09:30:00Z", "2026-07-01 09:30:00", "2026-07-01T09:30:00+00:00", "2026-07-01T11:30:00+02:00", "2026-07-01T09:30"] {
            #expect(Timestamp.parse(text)?.timeIntervalSince1970 == expected, "\(text)")
        }
        #expect(Timestamp.parse("2026-07-01T09:30:00.250Z")!.timeIntervalSince1970 == expected + 0.25)
        #expect(Timestamp.parse("2024-02-29")!.timeIntervalSince1970 == 1_709_164_800)
    }

    @Test func rejectsGarbage() {
        for text in ["", "yesterday", "2026-02-30", "2026-13-01", "2026-07-01T25:00:00Z", "2026-07-01T09:30:00Zjunk", "1688203800"] {
            #expect(Timestamp.parse(text) == nil, "\(text)")
        }
    }

    @Test func formatsUTCWithOptionalMilliseconds() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_782_898_200.5)) == "2026-07-01T09:30:00.500Z")
    }

    /// hoop's PostgreSQL keeps microseconds: they are shown, and the last microsecond of a period
    /// stays in it (it was shown rounded to the next period's first instant).
    @Test func keepsMicrosecondsAndNeverRoundsAcrossAPeriodBoundary() throws {
        let last = try #require(Timestamp.parse("2026-09-30T23:59:59.999999Z"))
        #expect(Timestamp.format(last) == "2026-09-30T23:59:59.999999Z")
        #expect(q3.contains(last) && Timestamp.utcMonth(last) == 202_609)
        for text in ["2026-07-01T00:00:00.000001Z", "2026-08-15T12:34:56.123456Z", "2026-08-15T12:34:56.120Z", "2026-09-30T23:59:59.999Z"] {
            #expect(Timestamp.format(try #require(Timestamp.parse(text))) == text)
        }
        // PostgreSQL's to_char form, always six digits: shown at its precision.
        #expect(Timestamp.format(try #require(Timestamp.parse("2026-08-15T12:34:56.000000Z"))) == "2026-08-15T12:34:56Z")
        #expect(Timestamp.format(try #require(Timestamp.parse("2026-08-15T12:34:56.250000Z"))) == "2026-08-15T12:34:56.250Z")
    }
}
