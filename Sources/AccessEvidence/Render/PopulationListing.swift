import Foundation

/// `populations.jsonl`: every item of every population, one JSON object per line, in the order the
/// tests produced them: the machine-readable twin of the population CSV files. Each line names its
/// record type (`"record": "population-item"`) and follows `Schemas/population-item.schema.json`.
/// Written byte by byte (keys sorted, strings escaped here): a JSON encoder per line cost more than
/// the analysis.
final class PopulationListing: PopulationSink {
    static let fileName = "populations.jsonl"
    /// The `$id` of `Schemas/population-item.schema.json`, the schema each line follows.
    static let schemaID = "https://access-evidence.dev/schemas/population-item-2.0.json"
    let stream: ByteStream
    private var line: [UInt8] = []
    /// What every line of a test shares, by test index: made once, not per line. A class, so a line
    /// takes one reference to it rather than one to each of its arrays.
    private var layouts: [Layout?] = []

    final class Layout {
        /// `"A":` … the attribute keys, escaped, with their colons.
        let attributeKeys: [[UInt8]]
        /// `,"control":"GW-…","exceptions":[`
        let control: [UInt8]
        /// The facts in key order: their index in the row and `"key":`.
        let facts: [(index: Int, key: [UInt8])]
        /// `,"test":"…","time":"`
        let test: [UInt8]

        init(_ test: PopulationTest) {
            func key(_ name: String) -> [UInt8] {
                var out: [UInt8] = []
                JSONBytes.string(name, to: &out)
                out.append(58)
                return out
            }
            attributeKeys = test.definition.attributes.map { key($0.id) }
            var control = Array(#"},"control":"#.utf8)
            JSONBytes.string(test.control.id, to: &control)
            control += #","exceptions":["#.utf8
            self.control = control
            // Keys sorted, as in every JSON file the tool writes.
            facts = test.definition.facts.enumerated().sorted { $0.element.id < $1.element.id }.map { ($0.offset, key($0.element.id)) }
            var testKey = Array(#","test":"#.utf8)
            JSONBytes.string(test.definition.id, to: &testKey)
            testKey += #","time":""#.utf8
            self.test = testKey
        }
    }

    init(path: String) throws {
        stream = try ByteStream(path: path)
        line.reserveCapacity(4096)
    }

    func add(_ row: PopulationRow, record: [UInt8], test: PopulationTest) throws {
        if test.index >= layouts.count { layouts += Array(repeating: nil, count: test.index + 1 - layouts.count) }
        let layout: Layout
        if let known = layouts[test.index] { layout = known } else {
            layout = Layout(test)
            layouts[test.index] = layout
        }
        // Built in a local buffer, not the property: each append to a class's stored array is a
        // checked access of its own, and a line is some forty appends.
        var line = self.line
        self.line = []
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: #"{"attributes":{"#.utf8)
        for i in layout.attributeKeys.indices {
            if i > 0 { line.append(44) }
            line.append(contentsOf: layout.attributeKeys[i])
            line.append(contentsOf: row.outcomes[i].quotedWord)
        }
        line.append(contentsOf: layout.control)
        for i in row.exceptions.indices {
            if i > 0 { line.append(44) }
            JSONBytes.string(row.exceptions[i], to: &line)
        }
        line.append(contentsOf: #"],"facts":{"#.utf8)
        var first = true
        for f in layout.facts.indices {
            let index = layout.facts[f].index
            guard index < row.facts.count, !row.facts[index].isEmpty else { continue }
            if !first { line.append(44) }
            first = false
            line.append(contentsOf: layout.facts[f].key)
            JSONBytes.string(row.facts[index], to: &line)
        }
        line.append(contentsOf: #"},"identity":"#.utf8)
        JSONBytes.string(row.identity, to: &line)
        line.append(contentsOf: #","item":"#.utf8)
        JSONBytes.string(row.item, to: &line)
        line.append(contentsOf: #","record":"population-item","resource":"#.utf8)
        JSONBytes.string(row.resource, to: &line)
        line.append(contentsOf: #","session":"#.utf8)
        JSONBytes.string(row.session, to: &line)
        line.append(contentsOf: layout.test)
        Timestamp.append(row.time, to: &line)
        line.append(contentsOf: "\"}\n".utf8)
        try stream.write(line)
        self.line = line
    }

    func close() throws { try stream.close() }
}

/// JSON string literals as bytes: `"`, `\` and control characters escaped, everything else UTF-8 as it is.
enum JSONBytes {
    static let hex = Array("0123456789abcdef".utf8)

    static func string(_ s: String, to out: inout [UInt8]) {
        // Over the string's own UTF-8 storage: runs that need no escape (most values, whole) are
        // copied in one go; iterating a `String.UTF8View` byte by byte cost more than the rest of the line.
        // `utf8.withContiguousStorageIfAvailable` reads the string where it is (a native string
        // always allows it); `withUTF8` would first copy the string into a variable of its own.
        if s.utf8.withContiguousStorageIfAvailable({ escape($0, to: &out) }) == nil { escape(Array(s.utf8), to: &out) }
    }

    static func escape(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(34)
        var run = 0
        for i in 0..<bytes.count {
            let b = bytes[i]
            guard b < 32 || b == 34 || b == 92 else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
            switch b {
            case 34: out.append(92); out.append(34)
            case 92: out.append(92); out.append(92)
            case 10: out.append(92); out.append(110)
            case 13: out.append(92); out.append(114)
            case 9: out.append(92); out.append(116)
            default: out.append(contentsOf: [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            }
            run = i + 1
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
        out.append(34)
    }

    static func escape(_ bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { escape($0, to: &out) }
    }
}

/// `populations/<control>-<test>.csv` (`.csv.gz` with `--compress`): the full population of every
/// test, one file each, for the analytics tools auditors load populations into. Opened when the
/// run starts so a test with no items still gets its file (header only).
final class PopulationFiles: PopulationSink {
    static let folder = "populations"
    var streams: [ByteStream] = []

    init(directory: URL, tests: [PopulationTest], compressed: Bool) throws {
        let folder = directory.appendingPathComponent(Self.folder)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        } catch {
            throw OutputError(path: folder.path, reason: "cannot create the folder", what: "the population files")
        }
        for test in tests {
            let stream = try ByteStream(path: directory.appendingPathComponent(test.csvPath(compressed: compressed)).path, gzip: compressed)
            // A byte-order mark: Excel opens UTF-8 CSV as UTF-8 only with one; pandas and Power Query skip it.
            try stream.write([0xEF, 0xBB, 0xBF] + PopulationCSV.headerRecord(test.definition))
            streams.append(stream)
        }
    }

    func add(_ row: PopulationRow, record: [UInt8], test: PopulationTest) throws {
        try streams[test.index].write(record)
    }

    func close() throws { for s in streams { try s.close() } }
}
