import Foundation

/// `populations.jsonl`: every item of every population, one JSON object per line, in canonical
/// order per test: the machine-readable twin of the workbook's population sheets, streamed
/// from the spool so it costs no memory.
enum PopulationListing {
    struct Line: Encodable {
        var control: String
        var test: String
        var item: String
        var session: String
        var identity: String
        var resource: String
        var time: String
        var attributes: String
        var exceptions: String
    }

    static func write(to url: URL, document: EvidenceDocument, populations: Analyzer) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: url.path) else {
            throw OutputError(path: url.path, reason: "cannot create the file")
        }
        defer { try? handle.close() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var buffer = Data()
        for control in document.controls {
            try populations.forEachPopulationRow(control: control.id) { test, row in
                buffer.append(try encoder.encode(Gated(Line(control: control.id, test: test, item: row.item, session: row.session, identity: row.identity,
                                                      resource: row.resource, time: Timestamp.format(row.time), attributes: row.outcomes,
                                                      exceptions: row.exceptions))))
                buffer.append(0x0A)
                if buffer.count > 1 << 20 { try handle.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
            }
        }
        try handle.write(contentsOf: buffer)
    }
}
