@testable import AccessEvidence
import Crypto
import CZlib
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
    let workbook: XMLDocument

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
        self.workbook = workbook
    }

    /// The print titles (rows repeated on every printed page) of each sheet, from the workbook's defined names.
    func printTitles() throws -> [String: String] {
        var out: [String: String] = [:]
        for node in try workbook.nodes(forXPath: "//*[local-name()='definedName'][@name='_xlnm.Print_Titles']") {
            let e = node as! XMLElement
            let index = Int(attr(e, "localSheetId") ?? "-1")!
            out[order[index]] = e.stringValue ?? ""
        }
        return out
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
        #expect(Array(book.order.prefix(8)) == ["Summary", "Procedures", "Criteria", "Controls", "Exceptions", "Observations", "Posture", "Samples"])
        #expect(book.order.last == "About")
        // One population sheet per test, not per control.
        let populationSheets = Array(book.order.dropFirst(8).dropLast())
        #expect(populationSheets.count == 16)
        #expect(populationSheets.contains("GW-CHG-01 privileged-commands") && populationSheets.contains("GW-DLP-01 sensitive-output"))
        let criteria = try book.rows("Criteria")
        #expect(criteria.count == 62 + 1)   // header, 61 criteria, the note on counting (blank rows are not written)
        #expect(criteria[0]["A"]?.text == "Criterion" && criteria[0]["F"]?.text == "Status")
        #expect(criteria[0]["A"]?.style == criteria[0]["J"]?.style)   // one header style
        let cc61 = try #require(criteria.first { $0["A"]?.text == "CC6.1" })
        #expect(cc61["F"]?.text == "Exceptions noted")
        #expect(cc61["H"]?.type == "n")                                // exception count is a number
        #expect(cc61["J"]?.text.contains("GW-CHG-01 approval.privileged-commands: ") == true)
        // Dates are numbers with a date format.
        let exceptions = try book.rows("Exceptions")
        let first = exceptions[1]
        #expect(first["I"]?.type == "n")
        #expect(try book.numberFormat(style: first["I"]!.style) == "yyyy-mm-dd hh:mm:ss")
        let serial = try #require(Double(first["I"]!.text))
        let expected = date("2026-07-09T10:15:00Z").timeIntervalSince1970 / 86_400 + 25_569
        #expect(exceptions.dropFirst().contains { Double($0["I"]!.text).map { abs($0 - expected) < 0.0001 } ?? false })
        #expect(serial > 46_000 && serial < 46_300)
        #expect(exceptions.count == 1 + 38 + 1)                         // header, 38 exceptions, the note
        #expect(exceptions[0]["Q"]?.text == "Auditor tick mark" && exceptions[0]["S"]?.text == "Exception evaluation (auditor)")
        let observations = try book.rows("Observations")
        #expect(Set(observations.dropFirst().compactMap { $0["K"]?.text }) == ["failed-change", "forced-approval", "guardrail-burst-blocked", "production-unprotected"])
        // The configured posture: one row per connection, with what a production connection lacks.
        let posture = try book.rows("Posture")
        #expect(posture[0]["A"]?.text == "Connection" && posture[0]["E"]?.text == "Review gate" && posture[0]["K"]?.text == "Production connection lacks")
        #expect(posture.dropFirst().compactMap { $0["A"]?.text } == ["billing-api", "k8s-prod", "mysql-billing", "pg-prod", "pg-staging", "reports-api", "ssh-bastion"])
        let bastion = try #require(posture.first { $0["A"]?.text == "ssh-bastion" })
        #expect(bastion["D"]?.text == "yes" && bastion["K"]?.text == "masking, guardrails")
        #expect(bastion["E"]?.text == "review plugin (reviewers sre-leads); rule Hoop-JIT_8_hours (jit; everyone; reviewers dba-leads, sre-leads; 1 approval)")
        let pgProd = try #require(posture.first { $0["A"]?.text == "pg-prod" })
        #expect((pgProd["K"]?.text ?? "") == "" && pgProd["H"]?.text == "Hoop - destructive DDL")
        #expect(pgProd["J"]?.text.hasPrefix("2026-07-02T09:00:00Z carol.nguyen@acme.example update (reviewers)") == true)
        // Frozen header and autofilter.
        let doc = try #require(book.sheets["Exceptions"])
        #expect(try !doc.nodes(forXPath: "//*[local-name()='pane'][@state='frozen']").isEmpty)
        #expect(try !doc.nodes(forXPath: "//*[local-name()='autoFilter']").isEmpty)
        // The Procedures sheet: one row per test with the auditor's empty columns and sign-off.
        let procedures = try book.rows("Procedures")
        #expect(procedures.count == 1 + 16)
        #expect(procedures[0]["L"]?.text == "Auditor tick mark" && procedures[0]["O"]?.text == "Prepared by" && procedures[0]["P"]?.text == "Reviewed by")
        let change = try #require(procedures.first { $0["B"]?.text == "approval.privileged-commands" })
        #expect(change["E"]?.text.hasPrefix("A: An approval covers the command") == true)
        #expect(change["I"]?.text.contains("seed 0") == true)
        #expect(change["K"]?.text == "populations/GW-CHG-01-approval.privileged-commands.csv")
    }

    /// Every sheet prints as a workpaper: landscape, one page wide, header rows repeated, a header and
    /// footer naming the sheet and page.
    @Test func everySheetHasAPageSetup() throws {
        let book = try sampleWorkpaper()
        let titles = try book.printTitles()
        for name in book.order {
            let doc = try #require(book.sheets[name])
            let setup = try #require(try doc.nodes(forXPath: "//*[local-name()='pageSetup']").first as? XMLElement, "\(name)")
            #expect(attr(setup, "orientation") == "landscape", "\(name)")
            #expect(attr(setup, "fitToWidth") == nil || attr(setup, "fitToWidth") == "1", "\(name)")
            #expect(attr(setup, "fitToHeight") == "0", "\(name)")
            #expect(try !doc.nodes(forXPath: "//*[local-name()='pageSetUpPr'][@fitToPage='1']").isEmpty, "\(name)")
            #expect(try !doc.nodes(forXPath: "//*[local-name()='printOptions'][@gridLines='1']").isEmpty, "\(name)")
            let footer = try doc.nodes(forXPath: "//*[local-name()='oddFooter']").first?.stringValue ?? ""
            #expect(footer.contains("Page &P of &N"), "\(name)")
            let header = try doc.nodes(forXPath: "//*[local-name()='oddHeader']").first?.stringValue ?? ""
            #expect(header.contains("&A"), "\(name)")
            if name != "Samples" { #expect(titles[name]?.hasSuffix("$1:$1") == true, "\(name): \(titles[name] ?? "no print titles")") }
        }
        // Long text wraps.
        let exceptions = try #require(book.sheets["Exceptions"])
        let wrapped = try exceptions.nodes(forXPath: "//*[local-name()='col'][@style]").count
        #expect(wrapped >= 4)
    }

    @Test func samplesAndPopulations() throws {
        let book = try sampleWorkpaper()
        let samples = try book.rows("Samples")
        // One block per test: its title, the method, then a header naming each attribute.
        let header = try #require(samples.firstIndex { $0["A"]?.text == "Sample #" && $0["G"]?.text.hasPrefix("A: An approval covers") == true })
        #expect(samples[header - 2]["A"]?.text.hasPrefix("GW-CHG-01 — approval.privileged-commands") == true)
        #expect(samples[header - 2]["A"]?.text.contains("40 of") == true)
        #expect(samples[header - 1]["A"]?.text.hasPrefix("Method: Each item is ranked by SHA-256 of the seed") == true)
        let change = Array(samples[(header + 1)...].prefix { $0["A"]?.type == "n" })
        #expect(change.count == 40)
        #expect(change.map { $0["A"]!.text } == (1...40).map { String($0) })
        for column in ["G", "H", "I", "J"] { #expect(change.allSatisfy { ["✓", "✗", "n/a"].contains($0[column]!.text) }) }
        #expect(samples.contains { $0["A"]?.text.hasPrefix("Tick marks") == true })
        #expect(!samples.contains { $0["A"]?.text.contains("agreed to") == true })
        // Every attribute cell of every population sheet is ✓, ✗ or n/a, under a header that names it.
        for name in book.order.dropFirst(8).dropLast() {
            let rows = try book.rows(name)
            let headers = rows[0].filter { $0.value.text.range(of: #"^[A-E]: "#, options: .regularExpression) != nil }
            #expect(!headers.isEmpty, "\(name)")
            for row in rows.dropFirst() where row["E"]?.type == "n" {
                for column in headers.keys { #expect(["✓", "✗", "n/a"].contains(row[column]?.text ?? ""), "\(name) \(column)") }
            }
        }
        let population = try book.rows("GW-IAM-01 attribution")
        #expect(population.count == 1248 + 1)                          // header, every session, the note
        #expect(population.dropFirst().prefix(1247).allSatisfy { $0["E"]?.type == "n" })
        #expect(population.last?["A"]?.text == "All 1247 rows of the population; also in populations/GW-IAM-01-identity.attribution.csv.")
    }

    /// An auditor re-performs a sampled privileged command from its row alone: the command, the
    /// approval id, approver and group, approval and execution times are in that row.
    @Test func aSampledCommandCarriesItsFacts() throws {
        let book = try sampleWorkpaper()
        let samples = try book.rows("Samples")
        let header = try #require(samples.firstIndex { $0["A"]?.text == "Sample #" && $0["G"]?.text.hasPrefix("A: An approval covers") == true })
        let columns = Dictionary(samples[header].map { ($0.value.text, $0.key) }, uniquingKeysWith: { a, _ in a })
        let rows = Array(samples[(header + 1)...].prefix { $0["A"]?.type == "n" })
        func value(_ row: [String: Workpaper.CellValue], _ label: String) -> String { columns[label].flatMap { row[$0]?.text } ?? "" }
        for label in ["Command (masked)", "Approval id", "Approvers (group, decision time)", "Approved at", "Executed at"] {
            #expect(columns[label] != nil, "no column \(label)")
        }
        // A row whose command ran under an approval given by a group member.
        let approved = try #require(rows.first { $0["G"]?.text == "✓" && !value($0, "Approval id").isEmpty && !value($0, "Approved at").isEmpty })
        #expect(!value(approved, "Command (masked)").isEmpty)
        #expect(value(approved, "Approvers (group, decision time)").range(of: #"^[^ ]+@[^ ]+ \([^,]+, 20\d\d-"#, options: .regularExpression) != nil,
                "\(value(approved, "Approvers (group, decision time)"))")
        #expect(value(approved, "Approved at").range(of: #"^20\d\d-\d\d-\d\dT"#, options: .regularExpression) != nil)
        #expect(value(approved, "Executed at").range(of: #"^20\d\d-\d\d-\d\dT"#, options: .regularExpression) != nil)
    }

    /// Past `--xlsx-population-limit` the sheet stops and says where the rest is; the CSV has every row.
    @Test func populationLimitPointsToTheFile() throws {
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.xlsx]
        run.xlsxPopulationLimit = 100
        run.compressPopulations = true
        try run.write(to: dir.appendingPathComponent("r").path)
        let book = try Workpaper(path: dir.appendingPathComponent("r/evidence.xlsx").path)
        let population = try book.rows("GW-IAM-01 attribution")
        #expect(population.count == 1 + 100 + 1)
        #expect(population.last?["A"]?.text == "1147 further rows are not in this sheet (limit 100 rows): the full population of 1247 rows is in populations/GW-IAM-01-identity.attribution.csv.gz beside this workbook.")
        let gz = dir.appendingPathComponent("r/populations/GW-IAM-01-identity.attribution.csv.gz")
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", gz.path]
        let pipe = Pipe()
        gunzip.standardOutput = pipe
        try gunzip.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        gunzip.waitUntilExit()
        #expect(gunzip.terminationStatus == 0)
        #expect(text.split(separator: "\r\n").count == 1 + 1247)
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

/// The workbook as a spreadsheet application reads it (LibreOffice, which imports SpreadsheetML as
/// Excel does, `_xHHHH_` escapes included), and the zip container underneath.
@Suite struct WorkbookFileTests {
    /// Every sheet of the workbook exported by LibreOffice as CSV: sheet name → rows of cells.
    func libreOfficeSheets(_ xlsx: String, in dir: URL) throws -> [String: [[String]]] {
        let soffice = ["/usr/bin/soffice", "/usr/local/bin/soffice"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let office = try #require(soffice, "LibreOffice is not installed: `make test-deps` installs libreoffice-calc-nogui")
        let out = dir.appendingPathComponent("libreoffice-csv")
        let profile = dir.appendingPathComponent("libreoffice-profile")
        // Filter options: comma, double quote, UTF-8, from line 1, …, sheet -1 = every sheet to a file of its own.
        let converted = try SchemaTests.run(office, ["-env:UserInstallation=file://" + profile.path, "--headless", "--convert-to",
                                                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                                                    "--outdir", out.path, xlsx])
        try #require(converted.code == 0, "\(converted.output)")
        let script = """
            import csv, json, os, sys
            out, prefix = sys.argv[1], sys.argv[2]
            sheets = {}
            for name in os.listdir(out):
                with open(os.path.join(out, name), newline='', encoding='utf-8') as f:
                    sheets[name[len(prefix):-4]] = list(csv.reader(f))
            print(json.dumps(sheets))
            """
        let stem = (xlsx as NSString).lastPathComponent.replacingOccurrences(of: ".xlsx", with: "")
        let read = try SchemaTests.runSeparately("/usr/bin/python3", ["-c", script, out.path, stem + "-"])
        try #require(read.code == 0, "\(read.stderr)")
        return try JSONDecoder().decode([String: [[String]]].self, from: Data(read.stdout.utf8))
    }

    @Test func aSpreadsheetApplicationReadsEverySheetAsWritten() throws {
        let f = try StoreFixture()
        // Text that XML or Excel would read as something else: entities, an escape of Excel's own,
        // white space at both ends.
        try f.session("s1", connection: "_x0041_<b>&amp;", user: "okta|u1", email: "  spaced@acme.example ",
                      created: "2026-07-01T10:00:00Z", script: "SELECT 1")
        try f.session("s2", connection: "pg-prod", user: "okta|u2", email: "dana@acme.example", created: "2026-08-15T23:59:59Z", script: "SELECT 2")
        try f.finish()
        var run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.xlsx]
        let out = f.directory.appendingPathComponent("r")
        try run.write(to: out.path)
        let xlsx = out.appendingPathComponent("evidence.xlsx").path
        let book = try Workpaper(path: xlsx)
        let sheets = try libreOfficeSheets(xlsx, in: f.directory)
        #expect(Set(sheets.keys) == Set(book.order))
        let summary = try #require(sheets["Summary"])
        #expect(summary.first == ["Item", "Value"])
        #expect(summary.contains(["Period start (UTC)", "2026-07-01 00:00:00"]))   // a date cell with the date format
        #expect(summary.contains(["Sessions tested", "2"]))                        // a number cell
        let attribution = try #require(sheets["GW-IAM-01 attribution"])
        #expect(attribution[0].prefix(5) == ["Item", "Session", "Identity", "Resource", "Time (UTC)"])
        let s1 = try #require(attribution.first { $0.count > 1 && $0[1] == "s1" })
        #expect(s1[3] == "_x0041_<b>&amp;")                                       // not "A<b>&"
        // Stored with Excel's escape for the underscore (ECMA-376 ST_Xstring), which Excel decodes
        // back to the text; unescaped, Excel would show "A<b>&amp;". (LibreOffice shows both forms alike.)
        let stored = try #require(try book.rows("GW-IAM-01 attribution").first { $0["B"]?.text == "s1" })
        #expect(stored["D"]?.text == "_x005F_x0041_<b>&amp;")
        #expect(s1[2] == "  spaced@acme.example ")
        let s2 = try #require(attribution.first { $0.count > 1 && $0[1] == "s2" })
        #expect(s2[4] == "2026-08-15 23:59:59")
        #expect(attribution.last?.first == "All 2 rows of the population; also in populations/GW-IAM-01-identity.attribution.csv.")
    }

    /// The archive's records read back by two other implementations (Info-ZIP's `unzip -t` and
    /// Python's `zipfile`, which checks each entry's CRC-32), with and without ZIP64 records, for an
    /// entry compressed whole and one made of a sync-flushed piece followed by a streamed part.
    @Test(arguments: [false, true]) func zipEntriesReadBack(zip64: Bool) throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("a.zip").path
        let zip = try ZipArchive(path: path, alwaysZip64: zip64)
        let small = Array("<small>part</small>".utf8)
        try zip.add("small.xml", small)
        let head = Array(String(repeating: "head ", count: 1000).utf8)
        var body: [UInt8] = []
        for i in 0..<200_000 { body += Array("<row r=\"\(i)\"/>".utf8) }
        let part = try DeflatedPart(directory: dir.path, level: 1, label: path)
        for chunk in stride(from: 0, to: body.count, by: 65_536) { try part.write(Array(body[chunk..<min(chunk + 65_536, body.count)])) }
        try part.finish(final: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.zip"])   // the part's file has no name
        let headCRC = head.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        try zip.add("joined.xml", crc: UInt32(crc32_combine(headCRC, part.crc, Int(part.size))), size: UInt64(head.count) + part.size,
                    pieces: [.bytes(try DeflatedPart.deflated(head, level: 6, final: false, label: path)), .part(part)])
        try zip.close()
        let test = try SchemaTests.run("/usr/bin/unzip", ["-t", path])
        #expect(test.code == 0, "\(test.output)")
        let script = """
            import hashlib, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            for i in z.infolist():
                print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest())
            """
        let read = try SchemaTests.runSeparately("/usr/bin/python3", ["-c", script, path])
        try #require(read.code == 0, "\(read.stderr)")
        func sha(_ b: [UInt8]) -> String { Hex.encode(SHA256.hash(data: b)) }
        #expect(read.stdout == "small.xml \(small.count) \(sha(small))\njoined.xml \(head.count + body.count) \(sha(head + body))\n")
    }
}

extension WorkbookFileTests {
    /// Sheet names Excel refuses are mended; past Excel's 65,530 links in a sheet the cells are text,
    /// not a workbook Excel must repair; a link to a place in the workbook needs no relationship.
    @Test func sheetNamesAndLinksStayInsideExcelsRules() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("w.xlsx").path
        let book = try Workbook(path: path, created: date("2026-10-01T00:00:00Z"), tmpdir: dir.path)
        let names = try ["'quoted'", "a[b]:c*d?e/f\\g", "tab\there", String(repeating: "x", count: 40), String(repeating: "X", count: 40), "Links"]
            .map { try book.sheet($0).name }
        #expect(names == ["-quoted-", "a-b--c-d-e-f-g", "tab-here", String(repeating: "x", count: 31),
                          String(repeating: "X", count: 26) + " (2)", "Links"])
        let links = try book.sheet("Links 2")
        try links.header(["Session"], widths: [30])
        try links.row([.link("internal:'Links'!A1", "back to Links")])
        for i in 0..<(Sheet.maxLinks + 5) { try links.row([.link("https://gw.example/sessions/\(i)", "s\(i)")]) }
        try links.finish()
        try book.close()
        let paper = try Workpaper(path: path)
        let doc = try #require(paper.sheets["Links 2"])
        let hyperlinks = try doc.nodes(forXPath: "//*[local-name()='hyperlink']").compactMap { $0 as? XMLElement }
        #expect(hyperlinks.count == Sheet.maxLinks)
        #expect(attr(hyperlinks[0], "location") == "'Links'!A1" && attr(hyperlinks[0], "ref") == "A2")
        #expect(attr(hyperlinks[1], "ref") == "A3" && attr(hyperlinks[1], "id") == "rId1")
        let rows = try paper.rows("Links 2")
        #expect(rows.count == 1 + 1 + Sheet.maxLinks + 5)
        #expect(rows[2]["A"]?.text == "s0" && rows[2]["A"]?.style == Int(SpreadsheetML.XF.link))
        #expect(rows.last?["A"]?.text == "s\(Sheet.maxLinks + 4)" && rows.last?["A"]?.style != Int(SpreadsheetML.XF.link))
        let unzip = try SchemaTests.run("/usr/bin/unzip", ["-p", path, "xl/worksheets/_rels/sheet7.xml.rels"])
        #expect(unzip.output.components(separatedBy: "TargetMode=\"External\"").count - 1 == Sheet.maxLinks - 1)
        #expect(unzip.output.contains("Target=\"https://gw.example/sessions/0\""))
    }
}
