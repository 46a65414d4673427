@testable import AccessEvidence
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

func attr(_ e: XMLElement, _ name: String) -> String? {
    e.attributes?.first { $0.name == name || $0.localName == name }?.stringValue
}

/// Opens the workbook as an auditor's tool would: unzip, parse each sheet's XML.
struct Workpaper {
    let sheets: [String: XMLDocument]
    let order: [String]
    let styles: XMLDocument

    init(path: String) throws {
        let dir = try temporaryDirectory()
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
        unzip.arguments = ["-q", path, "-d", dir.path]
        try unzip.run()
        unzip.waitUntilExit()
        try #require(unzip.terminationStatus == 0)
        let workbook = try XMLDocument(contentsOf: dir.appendingPathComponent("xl/workbook.xml"))
        let rels = try XMLDocument(contentsOf: dir.appendingPathComponent("xl/_rels/workbook.xml.rels"))
        var targets: [String: String] = [:]
        for rel in try rels.nodes(forXPath: "//*[local-name()='Relationship']") {
            let e = rel as! XMLElement
            targets[attr(e, "Id")!] = attr(e, "Target")!
        }
        var sheets: [String: XMLDocument] = [:]
        var order: [String] = []
        for node in try workbook.nodes(forXPath: "//*[local-name()='sheet']") {
            let e = node as! XMLElement
            let name = attr(e, "name")!
            let rid = attr(e, "r:id") ?? attr(e, "id")!
            sheets[name] = try XMLDocument(contentsOf: dir.appendingPathComponent("xl/" + targets[rid]!))
            order.append(name)
        }
        self.sheets = sheets
        self.order = order
        styles = try XMLDocument(contentsOf: dir.appendingPathComponent("xl/styles.xml"))
    }

    struct CellValue: Equatable {
        var type: String   // inlineStr, s, n, str (formula result) …
        var text: String
        var style: Int
        var hasFormula: Bool
    }

    /// Rows of a sheet as cell reference → value.
    func rows(_ sheet: String) throws -> [[String: CellValue]] {
        let doc = try #require(sheets[sheet])
        return try doc.nodes(forXPath: "//*[local-name()='row']").map { row in
            var cells: [String: CellValue] = [:]
            for c in (row as! XMLElement).children?.compactMap({ $0 as? XMLElement }).filter({ $0.localName == "c" }) ?? [] {
                let ref = attr(c, "r")!
                let column = String(ref.prefix { $0.isLetter })
                cells[column] = CellValue(type: attr(c, "t") ?? "n",
                                          text: c.stringValue ?? "",
                                          style: Int(attr(c, "s") ?? "0") ?? 0,
                                          hasFormula: c.children?.contains { $0.localName == "f" } ?? false)
            }
            return cells
        }
    }

    /// The number format of a cell style index.
    func numberFormat(style: Int) throws -> String {
        let xfs = try styles.nodes(forXPath: "//*[local-name()='cellXfs']/*[local-name()='xf']")
        let id = attr(xfs[style] as! XMLElement, "numFmtId")!
        let custom = try styles.nodes(forXPath: "//*[local-name()='numFmt']").compactMap { $0 as? XMLElement }.first { attr($0, "numFmtId") == id }
        return custom.flatMap { attr($0, "formatCode") } ?? "builtin \(id)"
    }
}

@Suite(.serialized) struct XLSXTests {
    func sampleWorkpaper() throws -> Workpaper {
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
        run.formats = [.json, .xlsx]
        try run.write(to: dir.appendingPathComponent("r").path)
        return try Workpaper(path: dir.appendingPathComponent("r/evidence.xlsx").path)
    }

    @Test func sheetsHeadersAndTypes() throws {
        let book = try sampleWorkpaper()
        #expect(Array(book.order.prefix(5)) == ["Summary", "Criteria", "Controls", "Exceptions", "Samples"])
        #expect(book.order.last == "About")
        #expect(book.order.filter { $0.hasPrefix("Population ") }.count == 10)
        let criteria = try book.rows("Criteria")
        #expect(criteria.count == 62)
        #expect(criteria[0]["A"]?.text == "Criterion" && criteria[0]["F"]?.text == "Status")
        #expect(criteria[0]["A"]?.style == criteria[0]["J"]?.style)   // one header style
        let cc61 = try #require(criteria.first { $0["A"]?.text == "CC6.1" })
        #expect(cc61["F"]?.text == "exceptions-noted")
        #expect(cc61["H"]?.type == "n")                                // population count is a number
        // Dates are numbers with a date format.
        let exceptions = try book.rows("Exceptions")
        let first = exceptions[1]
        #expect(first["I"]?.type == "n")
        #expect(try book.numberFormat(style: first["I"]!.style) == "yyyy-mm-dd hh:mm:ss")
        let serial = try #require(Double(first["I"]!.text))
        let expected = date("2026-07-09T10:15:00Z").timeIntervalSince1970 / 86_400 + 25_569
        #expect(exceptions.dropFirst().contains { Double($0["I"]!.text).map { abs($0 - expected) < 0.0001 } ?? false })
        #expect(serial > 46_000 && serial < 46_300)
        #expect(exceptions.count == 37)
        // Frozen header and autofilter.
        let doc = try #require(book.sheets["Exceptions"])
        #expect(try !doc.nodes(forXPath: "//*[local-name()='pane'][@state='frozen']").isEmpty)
        #expect(try !doc.nodes(forXPath: "//*[local-name()='autoFilter']").isEmpty)
    }

    @Test func samplesAndPopulations() throws {
        let book = try sampleWorkpaper()
        let samples = try book.rows("Samples")
        #expect(samples[0]["C"]?.text == "Sample #" && samples[0]["F"]?.text == "Attribute A")
        let change = samples.filter { $0["A"]?.text == "GW-CHG-01" }
        #expect(change.count == 40)
        #expect(change.map { $0["C"]!.text } == (1...40).map { String($0) })
        #expect(change.allSatisfy { ["✓", "✗"].contains($0["F"]!.text) })
        #expect(samples.contains { $0["A"]?.text == "Tick marks" })
        let population = try book.rows("Population GW-IAM-01")
        #expect(population.count == 1245)                              // header + every session
        #expect(population.dropFirst().allSatisfy { $0["F"]?.type == "n" })
    }

    @Test func attackerControlledTextStaysText() throws {
        let f = try StoreFixture()
        try f.session("s1", connection: "@SUM(1)", user: "okta|evil", email: "=HYPERLINK(\"http://x\",\"y\")",
                      created: "2026-07-01T10:00:00Z", script: "-1+2")
        try f.finish()
        var run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.xlsx]
        try run.write(to: f.directory.appendingPathComponent("r").path)
        let book = try Workpaper(path: f.directory.appendingPathComponent("r/evidence.xlsx").path)
        let rows = try book.rows("Exceptions")
        let evil = try #require(rows.first { $0["G"]?.text == "=HYPERLINK(\"http://x\",\"y\")" })
        #expect(evil["G"]?.type == "inlineStr" && evil["G"]?.hasFormula == false)
        #expect(evil["H"]?.text == "@SUM(1)" && evil["H"]?.type == "inlineStr")
        for sheet in book.order {
            for row in try book.rows(sheet) { #expect(!row.values.contains { $0.hasFormula }, "formula in \(sheet)") }
        }
    }

    @Test func workbookIsDeterministic() throws {
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.xlsx]
        try run.write(to: dir.appendingPathComponent("a").path)
        try run.write(to: dir.appendingPathComponent("b").path)
        #expect(try Data(contentsOf: dir.appendingPathComponent("a/evidence.xlsx")) == Data(contentsOf: dir.appendingPathComponent("b/evidence.xlsx")))
    }
}
