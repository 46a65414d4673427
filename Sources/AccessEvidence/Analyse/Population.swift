import Crypto
import Foundation

/// One tested item as every listing shows it: the population CSV, `populations.jsonl`, the
/// workbook's population sheet and the samples. Strings have passed the output gate.
public struct PopulationRow: Sendable, Equatable {
    public var item: String
    public var session: String
    public var identity: String
    public var resource: String
    public var time: Date
    /// One outcome per attribute of the test, in the definition's order: an attribute a test did
    /// not state for the item is not applicable to it.
    public var outcomes: [AttributeOutcome]
    /// Reason codes of the findings raised on the item, in the order raised.
    public var exceptions: [String]
    /// One value per fact of the test (`TestDefinition.facts`), empty when the item has none.
    public var facts: [String]

    public init(item: String, session: String, identity: String, resource: String, time: Date,
                outcomes: [AttributeOutcome], exceptions: [String] = [], facts: [String] = []) {
        self.item = item
        self.session = session
        self.identity = identity
        self.resource = resource
        self.time = time
        self.outcomes = outcomes
        self.exceptions = exceptions
        self.facts = facts
    }

    /// ✓ passed, ✗ failed, n/a not applicable: one per attribute.
    public var marks: [String] { outcomes.map(\.mark) }
}

extension AttributeOutcome {
    /// The one encoding of an outcome in machine-readable output.
    public var word: String {
        switch self {
        case .pass: return "pass"
        case .fail: return "fail"
        case .notApplicable: return "n/a"
        }
    }

    /// `word` as a JSON string, its bytes made once: `populations.jsonl` writes one per attribute
    /// of every item.
    var quotedWord: [UInt8] {
        switch self {
        case .pass: return Self.quotedPass
        case .fail: return Self.quotedFail
        case .notApplicable: return Self.quotedNotApplicable
        }
    }

    private static let quotedPass = Array(#""pass""#.utf8), quotedFail = Array(#""fail""#.utf8),
                       quotedNotApplicable = Array(#""n/a""#.utf8)

    /// The tick mark a workpaper shows.
    public var mark: String {
        switch self {
        case .pass: return "✓"
        case .fail: return "✗"
        case .notApplicable: return "n/a"
        }
    }
}

/// A test whose items are listed: what a population writer needs to lay out its columns.
/// A class, as it goes with every row to every sink: passing a reference costs one retain, a
/// copy of the control and definition a few dozen.
public final class PopulationTest: Sendable {
    /// Position in the run (the order listings are written in).
    public let index: Int
    public let control: Control
    public let definition: TestDefinition

    public init(index: Int, control: Control, definition: TestDefinition) {
        self.index = index
        self.control = control
        self.definition = definition
    }

    /// `GW-CHG-01-approval.privileged-commands`: the file and sheet stem of the test's population.
    public var name: String { "\(control.id)-\(definition.id)" }
    /// Where the full population is delivered, relative to the report folder.
    public func csvPath(compressed: Bool) -> String { "populations/\(name).csv" + (compressed ? ".gz" : "") }
}

/// Receives every tested item as the tests produce it, in stream order: nothing is spooled and
/// read back. `record` is the item's CSV record (`PopulationCSV.record`), which the population
/// hash is taken over, handed on so a writer need not encode it again.
public protocol PopulationSink: AnyObject {
    func add(_ row: PopulationRow, record: [UInt8], test: PopulationTest) throws
}

/// The population files' one row format, RFC 4180: fields separated by commas, quoted when they
/// hold a comma, quote, CR or LF (quotes doubled), records ended by CRLF. Text that a spreadsheet
/// would read as a formula (`=`, `+`, `-`, `@` first, or a tab or CR) starts with `'`, as in the
/// workbook, so opening the file in Excel runs nothing; numbers and times are written as they are.
public enum PopulationCSV {
    /// The header: the fixed columns, one per attribute (`A: label`), the exceptions, then the facts.
    public static func header(_ definition: TestDefinition) -> [String] {
        ["item", "session", "identity", "resource", "time_utc"]
            + definition.attributes.map { "\($0.id): \($0.label)" }
            + ["exceptions"] + definition.facts.map(\.label)
    }

    public static func headerRecord(_ definition: TestDefinition) -> [UInt8] {
        var out: [UInt8] = []
        for (i, field) in header(definition).enumerated() {
            if i > 0 { out.append(44) }
            append(field, to: &out, neutralise: false)
        }
        out.append(13); out.append(10)
        return out
    }

    /// One record: item, session, identity, resource, time (ISO 8601 UTC), an outcome per attribute
    /// (`pass`, `fail`, `n/a`), the exception reason codes space-separated, and the facts.
    public static func record(_ row: PopulationRow) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + row.item.utf8.count + row.facts.reduce(0) { $0 + $1.utf8.count })
        append(row.item, to: &out); out.append(44)
        append(row.session, to: &out); out.append(44)
        append(row.identity, to: &out); out.append(44)
        append(row.resource, to: &out); out.append(44)
        Timestamp.append(row.time, to: &out)
        for outcome in row.outcomes {
            out.append(44)
            out.append(contentsOf: outcome.word.utf8)
        }
        out.append(44)
        append(row.exceptions.joined(separator: " "), to: &out)
        for fact in row.facts {
            out.append(44)
            append(fact, to: &out)
        }
        out.append(13); out.append(10)
        return out
    }

    static func append(_ field: String, to out: inout [UInt8], neutralise: Bool = true) {
        // Over the string's own UTF-8 storage, not its `UTF8View` byte by byte: millions of fields.
        // (`withContiguousStorageIfAvailable` reads it in place; a native string always allows it.)
        if field.utf8.withContiguousStorageIfAvailable({ append($0, to: &out, neutralise: neutralise) }) == nil {
            Array(field.utf8).withUnsafeBufferPointer { append($0, to: &out, neutralise: neutralise) }
        }
    }

    static func append(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8], neutralise: Bool) {
        var prefix = false
        if neutralise, let first = bytes.first, first == 61 || first == 43 || first == 45 || first == 64 || first == 9 || first == 13 {
            // `-3` and `+1` are numbers, not formulas: only text is prefixed.
            prefix = !isNumber(bytes)
        }
        var needsQuotes = false
        for b in bytes where b == 44 || b == 34 || b == 13 || b == 10 {
            needsQuotes = true
            break
        }
        if !needsQuotes && !prefix {
            out.append(contentsOf: bytes)
            return
        }
        if needsQuotes { out.append(34) }
        if prefix { out.append(39) }
        if needsQuotes {
            for b in bytes {
                if b == 34 { out.append(34) }
                out.append(b)
            }
            out.append(34)
        } else {
            out.append(contentsOf: bytes)
        }
    }

    static func isNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var digits = 0, dots = 0
        for (i, b) in bytes.enumerated() {
            if (48...57).contains(b) { digits += 1 } else if b == 46 { dots += 1 } else if i == 0 && (b == 45 || b == 43) {} else { return false }
        }
        return digits > 0 && dots <= 1
    }
}

/// Hash, count and sample of one test's population, kept while its items stream past.
struct PopulationDigest {
    var hasher = SHA256()
    var count = 0
    var selector: Sampler.Selector

    init(sampleSize: Int, seed: String) {
        selector = Sampler.Selector(seed: seed, size: sampleSize)
    }

    mutating func add(_ row: PopulationRow, record: [UInt8]) {
        record.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        selector.offer(row)
        count += 1
    }

    func summary() -> PopulationSummary {
        PopulationSummary(count: count, sha256: Hex.encode(hasher.finalize()), sampleSize: min(selector.size, count),
                          samples: selector.selection())
    }
}
