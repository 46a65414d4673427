@testable import AccessEvidence
import Foundation
import Testing

/// Issue 11's shortcuts on the per-item paths must never change what a report says: the memo
/// returns what the function would, the timestamp shortcut skips only text the gate leaves as it
/// is, whitespace collapsing keeps its meaning, and the generator lays rows out as a gateway would.
struct SpeedShortcutTests {
    @Test func memoComputesEachRecurringKeyOnceAndForgetsWhatIsMetOnce() {
        let memo = Memo<String, Int>(capacity: 2)
        var made: [String] = []
        func value(_ key: String, remember: Bool = true) -> Int {
            memo.value(key, remember: remember) { made.append(key); return key.count }
        }
        #expect(value("connection") == 10)
        #expect(value("connection") == 10)
        #expect(made == ["connection"])
        // One-off keys fill the current generation twice over; the recurring key, met between them,
        // moves back each time and is never made again.
        for k in 0..<6 {
            _ = value("session-\(k)")
            #expect(value("connection") == 10)
        }
        #expect(made.filter { $0 == "connection" }.count == 1)
        // The first one-off key has aged out: asked again, it is made again.
        _ = value("session-0")
        #expect(made.filter { $0 == "session-0" }.count == 2)
        // Not remembered: made every time.
        _ = value("long", remember: false)
        _ = value("long", remember: false)
        #expect(made.filter { $0 == "long" }.count == 2)
    }

    @Test func gateLeavesTimestampShapedTextAsItIs() {
        var rng = SeededGenerator(seed: 11)
        // Whole seconds, milliseconds and microseconds, over four centuries of dates.
        for i in 0..<20_000 {
            let seconds = Double(Int64.random(in: -2_208_988_800...11_000_000_000, using: &rng))
            let fraction = [0, 0.123, 0.999, 0.000001, 0.424242][i % 5]
            let text = Timestamp.format(Date(timeIntervalSince1970: seconds + fraction))
            #expect(Timestamp.isFormatted(text), "\(text)")
            #expect(OutputGate.text(text) == text, "\(text)")
        }
        // The shortcut applies to any text of that shape, also from the store: random digits in it,
        // including the digits of test card numbers and SSNs, are left as they are by the gate too.
        for i in 0..<20_000 {
            let digits = (0..<20).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) }
            let d = i % 3 == 0 ? Array("41111111111111111111") : i % 3 == 1 ? Array("07812345678901234567") : digits
            let fraction = ["", ".\(String(d[14..<17]))", ".\(String(d[14..<20]))"][i % 3]
            let text = "\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8]))T\(String(d[8..<10])):\(String(d[10..<12])):\(String(d[12..<14]))\(fraction)Z"
            #expect(Timestamp.isFormatted(text), "\(text)")
            #expect(OutputGate.text(text) == text, "\(text)")
        }
        for text in ["2026-07-01T09:30:00", "2026-07-01 09:30:00Z", "2026-07-01T09:30:00.1Z", "4111-1111-1111-1111",
                     "2026-07-01T09:30:00+02:00", "2026-07-01T09:30:00.1234Z", "２026-07-01T09:30:00Z", ""] {
            #expect(!Timestamp.isFormatted(text), "\(text)")
        }
    }

    /// The id shortcut (`OutputGate.isInertID`) gives what the full gate gives, on random ids and on
    /// ids made of digits (a test card number in UUID form), and takes only ids the gate leaves alone.
    @Test func inertIDsAreLeftAsTheGateWouldLeaveThem() {
        var rng = SeededGenerator(seed: 12)
        let hex = Array("0123456789abcdef"), digitsOnly = Array("0123456789")
        var taken = 0, masked = 0
        for i in 0..<60_000 {
            // Every fourth id draws from digits alone, so long runs of digits (and cards) turn up.
            let alphabet = i % 4 == 0 ? digitsOnly : hex
            var id = String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
            for at in [8, 13, 18, 23] { id.insert("-", at: id.index(id.startIndex, offsetBy: at)) }
            let suffix = ["", "#1", "#g12", "#9999", "#g", "#12345", "#x1"][i % 7]
            let text = id + suffix
            let full = OutputGate.gate(text, maskingEmails: false)
            if OutputGate.isInertID(text) {
                taken += 1
                #expect(full == text, "\(text)")
            }
            #expect(OutputGate.text(text) == full, "\(text)")
            if full != text { masked += 1 }
        }
        // Both sides are exercised: most random ids are taken, and some digit ids are cards the gate masks.
        #expect(taken > 15_000)
        #expect(masked > 0)
        // A Visa test number spread over a UUID's first groups: not taken, and masked.
        let card = "41111111-1111-1111-abcd-abcdefabcdef"
        #expect(!OutputGate.isInertID(card))
        #expect(OutputGate.text(card) != card)
        for text in ["B7ECEC6A-1D9F-4244-B62C-C2A4C9F20D97", "b7ecec6a-1d9f-4244-b62c-c2a4c9f20d9", "b7ecec6a-1d9f-4244-b62c-c2a4c9f20d97#",
                     "b7ecec6a_1d9f-4244-b62c-c2a4c9f20d97", "review:b7ecec6a-1d9f-4244-b62c-c2a4c9f20d97", "b7ecec6a-1d9f-4244-b62c-c2a4c9f20d97#g12345"] {
            #expect(!OutputGate.isInertID(text), "\(text)")
        }
        #expect(OutputGate.isInertID("b7ecec6a-1d9f-4244-b62c-c2a4c9f20d97"))
        #expect(OutputGate.isInertID("b7ecec6a-1d9f-4244-b62c-c2a4c9f20d97#g123"))
    }

    /// An item's outcomes, a short list in place of a dictionary, read and set as one.
    @Test func attributeOutcomesBehaveAsADictionary() {
        var outcomes: AttributeOutcomes = ["A": .pass, "B": .pass]
        outcomes["B"] = .fail
        outcomes["C"] = .notApplicable
        #expect(outcomes["A"] == .pass && outcomes["B"] == .fail && outcomes["C"] == .notApplicable && outcomes["D"] == nil)
        #expect(outcomes.count == 3)
        #expect(outcomes == ["C": .notApplicable, "B": .fail, "A": .pass])
        #expect(outcomes != ["A": .pass, "B": .pass, "C": .notApplicable])
        outcomes["A"] = nil
        #expect(outcomes.map(\.key) == ["B", "C"])
        // An id named twice in a literal keeps the last outcome, once.
        let twice: AttributeOutcomes = ["A": .pass, "B": .pass, "A": .fail]
        #expect(twice.count == 2 && twice["A"] == .fail)
    }

    @Test(arguments: [
        ("SELECT 1;", "SELECT 1;"), ("a  b", "a b"), (" a b", "a b"), ("a b ", "a b"), ("a\tb", "a b"),
        ("a\u{3000}\u{A0}b", "a b"), ("", ""), ("   ", ""), ("café au lait", "café au lait"), ("x\n\ny", "x y"),
    ])
    func collapsingWhitespace(_ input: String, _ expected: String) {
        #expect(OutputGate.collapsingWhitespace(input) == expected)
    }

    /// A gateway appends rows as sessions happen; the generator writes its tables the same way, so
    /// reading a period walks the store in order as it would a real one.
    @Test func generatedTablesLieInTimeOrder() throws {
        let db = try SQLiteDatabase(path: sampleStorePath, mode: .immutable)
        for (table, order) in StoreWriter.timeOrder {
            let outOfOrder = try db.scalarInt("""
                SELECT count(*) FROM (SELECT rowid AS r, row_number() OVER (ORDER BY \(order)) AS n,
                                             row_number() OVER (ORDER BY rowid) AS m FROM \(table)) WHERE n != m
                """)
            #expect(outOfOrder == 0, "\(table)")
            #expect(try db.scalarInt("SELECT count(*) FROM \(table)") > 0, "\(table)")
        }
    }
}
