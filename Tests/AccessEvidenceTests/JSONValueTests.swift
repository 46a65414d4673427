@testable import AccessEvidence
import Foundation
import Testing

/// The reader's own JSON parser (which replaced Foundation's on the per-session path): what it
/// accepts, what it rejects, and the text it gives numbers, which the evidence shows.
@Suite struct JSONValueTests {
    @Test func parsesTheValuesStoresHold() throws {
        let value = try JSONValue.parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d\u00e9\ud83d\ude00\n\"\/"}, "a2": []} "#)
        let object = try #require(value.object)
        #expect(object.members.map(\.key) == ["a", "b", "a2"])
        #expect(object["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(object["b"]?.object?["c"]?.string == "d\u{e9}\u{1F600}\n\"/")
        #expect(object["a2"]?.array == [])
        #expect(object["missing"] == nil)
        // A key written twice reads as its last value.
        #expect(try JSONValue.parse(#"{"k": 1, "k": 2}"#).object?["k"] == .number("2"))
        let members = try #require(try JSONValue.parse(#"{"k": 1, "j": 0, "k": 2}"#).object?.sortedMembers)
        #expect(members.map(\.key) == ["j", "k"] && members.map(\.value) == [.number("0"), .number("2")])
        #expect(try JSONValue.parse(#"["a", "b"]"#).strings == ["a", "b"])
        #expect(try JSONValue.parse(#"["a", 1]"#).strings == nil)
        // A lone surrogate cannot be text: it reads as U+FFFD.
        #expect(try JSONValue.parse(#""\ud800x""#).string == "\u{FFFD}x")
    }

    @Test func numbersReadAsTheEvidenceShowsThem() throws {
        func text(_ json: String) throws -> String? { try JSONValue.parse(json).numberText }
        #expect(try text("10") == "10")
        #expect(try text("-0") == "0")
        #expect(try text("1.5") == "1.5")
        #expect(try text("1.0") == "1.0")
        #expect(try text("1E2") == "100.0")
        #expect(try text("1e300") == "1e+300")
        #expect(try text("12345678901234567890") == "12345678901234567890")
        #expect(try text("true") == "1")
        #expect(try text("\"7\"") == nil)
        #expect(try JSONValue.parse("1").bool == true)
        #expect(try JSONValue.parse("0").bool == false)
        #expect(try JSONValue.parse("2").bool == nil)
        #expect(try JSONValue.parse("1e400").doubleValue == .infinity)
    }

    @Test func rejectsWhatIsNotJSON() {
        for bad in ["", "[1,]", "{\"a\" 1}", "[01]", "[1.]", "[-]", "[1e]", "\"abc", "\"a\\q\"", "[\"\\u12\"]", "tru", "[1] x", "{1: 2}",
                    "nul", "[", "{\"a\":1,}"] {
            #expect(throws: JSONValue.ParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }

    @Test func nestingIsBoundedNotAStackOverflow() throws {
        let depth = JSONValue.maximumDepth
        #expect(throws: Never.self) { try JSONValue.parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth)) }
        #expect(throws: JSONValue.ParseError.self) {
            try JSONValue.parse(String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1))
        }
        #expect(throws: JSONValue.ParseError.self) {
            try JSONValue.parse(String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000))
        }
    }

    /// An object repeating keys many times (hostile metrics) gives each key once, its last value, in
    /// key order; read member by member, not by a lookup per key (which would be quadratic).
    @Test func manyKeysReadOnceEach() throws {
        let text = "{" + (0..<100_000).map { "\"k\($0 % 50_000)\": \($0)" }.joined(separator: ",") + "}"
        let members = try #require(try JSONValue.parse(text).object?.sortedMembers)
        #expect(members.count == 50_000)
        #expect(members.first?.key == "k0" && members.first?.value == .number("50000"))
        #expect(members.last?.key == "k9999" && members.last?.value == .number("59999"))
    }

    @Test func trimmingMatchesFoundation() {
        let samples = ["  a b  ", "\t\nx\r\n", "\u{00A0}y\u{3000}", "\u{2028}z\u{2029}", "\u{0085}w\u{0085}", "", "   ", "\u{200B}v\u{200B}",
                       "é ", "\u{1680}q"]
        for s in samples {
            #expect(s.trimmed(.whitespaces) == s.trimmingCharacters(in: .whitespaces), "\(s.unicodeScalars.map(\.value))")
            #expect(s.trimmed(.whitespacesAndNewlines) == s.trimmingCharacters(in: .whitespacesAndNewlines), "\(s.unicodeScalars.map(\.value))")
        }
    }

    /// What the API pull writes back into JSON columns: every control character escaped, the rest as
    /// it came, and the text parses back to the same value.
    @Test func jsonTextRoundTrips() throws {
        let tricky = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + "\"\\/é\u{2028}😀"
        let value = JSONValue.object(JSONObject(members: [.init(key: "k\u{1}", value: .array([.string(tricky), .number("1e3"), .bool(true), .null]))]))
        let text = value.jsonText
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 })
        #expect(text.hasPrefix(#"{"k\u0001":["\u0000\u0001"#))
        #expect(text.contains(#"\b\u0009"#) == false && text.contains(#"\u0008\t\n\u000b\u000c\r"#))
        #expect(try JSONValue.parse(text) == value)
    }
}
