import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct XLSXError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

enum Cell {
    case text(String)
    case number(Double)
    case date(Date)
    /// A hyperlink (an `https://` URL or `internal:Sheet!A1`) shown as `text`.
    case link(String, String)

    /// An ISO 8601 time from the document as an Excel date; text it cannot read stays text, so no
    /// value of the document can stop the workbook.
    static func time(_ text: String) -> Cell { Timestamp.parse(text).map(Cell.date) ?? .text(text) }

    /// Excel's dates run from 1900 to 9999; `Timestamp`'s range (1970–9999) lies inside it.
    static func excelSeconds(_ date: Date) -> Int64? {
        let t = date.timeIntervalSince1970
        guard t.isFinite, date >= Timestamp.earliest, date < Timestamp.end else { return nil }
        return Int64(t)
    }
}

/// `evidence.xlsx` as SpreadsheetML (ECMA-376 part 1) in a zip, written by the tool itself. Each sheet
/// streams its rows, compressed as they come (`DeflatedPart`), into an unlinked temporary file; closing
/// the workbook only writes the small parts and copies the compressed sheets into the archive. So the
/// compression of a million rows happens on the thread that writes them, alongside the analysis,
/// rather than as one long single-threaded step at the end (libxlsxwriter compressed every sheet at
/// level 6 in `workbook_close`: a fifth of a large run, with the other core idle).
///
/// Strings are inline (`t="inlineStr"`), so memory does not grow with the rows; cells are strings,
/// numbers or dates, never formulas.
final class Workbook {
    let path: String
    let organization: String
    let created: Date
    private let tmpdir: String
    private var names = Set<String>()
    private var sheets: [Sheet] = []
    private var closed = false

    /// zlib level of the sheets. Level 1 takes about half the time of the default 6 on these sheets,
    /// for a file about a quarter larger (measured on a 100k-session report: 4.2 s against 7.6 s
    /// for 415 MB of XML, 56 MB against 45 MB).
    static let sheetLevel: Int32 = 1

    /// `tmpdir`: where each sheet's compressed rows wait until the file is assembled (the report's
    /// staging folder, so a full or small TMPDIR cannot fail a report).
    init(path: String, created: Date, tmpdir: String? = nil, organization: String = "") throws {
        self.path = path
        self.organization = organization
        self.created = created
        let parent = (path as NSString).deletingLastPathComponent
        self.tmpdir = tmpdir ?? (parent.isEmpty ? "." : parent)
    }

    func sheet(_ name: String) throws -> Sheet {
        guard !closed else { throw XLSXError(description: "\(path): workbook already closed") }
        let clean = uniqueName(name)
        let sheet = try Sheet(name: clean, index: sheets.count, book: self,
                              part: DeflatedPart(directory: tmpdir, level: Self.sheetLevel, label: path))
        sheets.append(sheet)
        return sheet
    }

    /// Excel: at most 31 characters, none of []:*?/\ nor a control character, not starting or ending
    /// with an apostrophe, unique ignoring case.
    private func uniqueName(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for s in name.unicodeScalars {
            scalars.append("[]:*?/\\".unicodeScalars.contains(s) || s.value < 0x20 || (0x7F...0x9F).contains(s.value) ? "-" : s)
        }
        var cleaned = String(scalars)
        if cleaned.hasPrefix("'") { cleaned = "-" + cleaned.dropFirst() }
        if cleaned.isEmpty { cleaned = "Sheet" }
        func fit(_ s: String, _ n: Int) -> String {
            var t = String(s.prefix(n))
            while t.utf16.count > n { t.removeLast() }
            if t.hasSuffix("'") { t = t.dropLast() + "-" }
            return t
        }
        var clean = fit(cleaned, 31)
        var n = 2
        while names.contains(clean.lowercased()) { clean = fit(cleaned, 26) + " (\(n))"; n += 1 }
        names.insert(clean.lowercased())
        return clean
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        defer { sheets = [] }
        do {
            let zip = try ZipArchive(path: path)
            do {
                try zip.add("[Content_Types].xml", contentTypes())
                try zip.add("_rels/.rels", Array(SpreadsheetML.packageRelationships.utf8))
                try zip.add("docProps/app.xml", Array(SpreadsheetML.appProperties.utf8))
                try zip.add("docProps/core.xml", coreProperties())
                try zip.add("xl/workbook.xml", workbookPart())
                try zip.add("xl/_rels/workbook.xml.rels", workbookRelationships())
                try zip.add("xl/styles.xml", Array(SpreadsheetML.styles.utf8))
                for sheet in sheets {
                    try sheet.store(in: zip, as: "xl/worksheets/sheet\(sheet.index + 1).xml")
                    if let rels = sheet.relationships() { try zip.add("xl/worksheets/_rels/sheet\(sheet.index + 1).xml.rels", rels) }
                }
                try zip.close()
            } catch {
                unlink(path)
                throw error
            }
        }
    }

    /// On an error path: the sheets' temporary files are closed and no workbook is left behind.
    func abandon() {
        guard !closed else { return }
        closed = true
        sheets = []
    }

    private func contentTypes() -> [UInt8] {
        var x = SpreadsheetML.declaration + #"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#
            + #"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#
            + #"<Default Extension="xml" ContentType="application/xml"/>"#
            + #"<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>"#
            + #"<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>"#
            + #"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#
            + #"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#
        for sheet in sheets {
            x += #"<Override PartName="/xl/worksheets/sheet\#(sheet.index + 1).xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        }
        return Array((x + "</Types>").utf8)
    }

    private func coreProperties() -> [UInt8] {
        // The run's time is checked when parsed; out of Excel's range it falls back to the epoch rather than trap.
        let created = Timestamp.format(Date(timeIntervalSince1970: TimeInterval(Cell.excelSeconds(self.created) ?? 0)))
        return Array((SpreadsheetML.declaration
            + #"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" "#
            + #"xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" "#
            + #"xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#
            + "<dc:title>Access gateway evidence workpaper</dc:title><dc:creator>access-evidence</dc:creator>"
            + "<cp:lastModifiedBy>access-evidence</cp:lastModifiedBy>"
            + #"<dcterms:created xsi:type="dcterms:W3CDTF">\#(created)</dcterms:created>"#
            + #"<dcterms:modified xsi:type="dcterms:W3CDTF">\#(created)</dcterms:modified></cp:coreProperties>"#).utf8)
    }

    private func workbookPart() -> [UInt8] {
        var x = SpreadsheetML.declaration + #"<workbook xmlns="\#(SpreadsheetML.main)" xmlns:r="\#(SpreadsheetML.relationships)">"#
            + #"<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets>"#
        for sheet in sheets {
            x += #"<sheet name="\#(SpreadsheetML.escaped(sheet.name, attribute: true))" sheetId="\#(sheet.index + 1)" r:id="rId\#(sheet.index + 1)"/>"#
        }
        x += "</sheets>"
        // Excel's own names: the autofilter's range (hidden) and the rows printed on every page.
        var defined: [String] = []
        for sheet in sheets {
            if let range = sheet.filterRange {
                defined.append(#"<definedName name="_xlnm._FilterDatabase" localSheetId="\#(sheet.index)" hidden="1">"#
                               + SpreadsheetML.escaped(sheet.reference + "!" + range, attribute: false) + "</definedName>")
            }
        }
        for sheet in sheets {
            if let titles = sheet.printTitles {
                defined.append(#"<definedName name="_xlnm.Print_Titles" localSheetId="\#(sheet.index)">"#
                               + SpreadsheetML.escaped(sheet.reference + "!$\(titles + 1):$\(titles + 1)", attribute: false) + "</definedName>")
            }
        }
        if !defined.isEmpty { x += "<definedNames>" + defined.joined() + "</definedNames>" }
        return Array((x + #"<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>"#).utf8)
    }

    private func workbookRelationships() -> [UInt8] {
        var x = SpreadsheetML.declaration + #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        for sheet in sheets {
            x += #"<Relationship Id="rId\#(sheet.index + 1)" Type="\#(SpreadsheetML.relationships)/worksheet" Target="worksheets/sheet\#(sheet.index + 1).xml"/>"#
        }
        x += #"<Relationship Id="rId\#(sheets.count + 1)" Type="\#(SpreadsheetML.relationships)/styles" Target="styles.xml"/>"#
        return Array((x + "</Relationships>").utf8)
    }
}

final class Sheet {
    enum Style { case plain, header }
    let name: String
    let index: Int
    unowned let book: Workbook
    private(set) var row: UInt32 = 0
    private var columns: UInt16 = 0
    private var lastDataRow: UInt32 = 0
    private var headerRow: UInt32 = 0
    private var pageSetUp = false
    private(set) var printTitles: UInt32?
    private(set) var filterRange: String?
    private var frozenRows: UInt32?
    /// Width and style of each column set by `header`.
    private var columnWidths: [Double] = []
    private var columnStyle: [UInt8?] = []
    private var links: [Link] = []
    /// The used range, for the sheet's `dimension`.
    private var lastRow: UInt32?
    private var lastColumn = 0
    /// The rows' XML on its way to `part`.
    private var xml: [UInt8] = []
    private let part: DeflatedPart
    private var headerFooter = ""
    private var rowOpen = false
    /// The thread that compresses this sheet's rows, when not the writer's own (population sheets
    /// in a background run). Until it is drained, only it touches `part`.
    var compressor: SerialWorker?

    private struct Link {
        let ref: String
        let target: String
        let external: Bool
        let shown: String
    }

    /// Excel's limits: rows, columns, hyperlinks in a sheet.
    static let maxRows: UInt32 = 1_048_576
    static let maxColumns = 16_384
    static let maxLinks = 65_530
    static let flushSize = 64 << 10

    init(name: String, index: Int, book: Workbook, part: DeflatedPart) {
        self.name = name
        self.index = index
        self.book = book
        self.part = part
        xml.reserveCapacity(Self.flushSize + 4096)
    }

    /// The sheet's name as a formula reference: always quoted, quotes doubled.
    var reference: String { "'" + name.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Column widths (`wrap` columns wrap their text), the frozen header row and the page setup.
    /// `at` is the header's row: a sheet may open with a title line above it.
    func header(_ titles: [String], widths: [Double], wrap: Set<Int> = [], freeze: Bool = true) throws {
        columnWidths = widths
        columnStyle = widths.enumerated().map { i, w in wrap.contains(i) || w >= 40 ? SpreadsheetML.XF.text : nil }
        if freeze { frozenRows = row + 1 }
        try pageSetup(repeat: row)
        columns = UInt16(min(titles.count, Self.maxColumns))
        headerRow = row
        try self.row(titles.map(Cell.text), style: .header)
    }

    /// Prints as a workpaper: landscape, one page wide, the header row on every page, the sheet name,
    /// organization and page number in the header and footer, gridlines printed.
    func pageSetup(repeat headerRow: UInt32?) throws {
        guard !pageSetUp else { return }
        pageSetUp = true
        printTitles = headerRow
        // `&` starts a code in Excel's header language: a literal one is doubled.
        let org = String(OutputGate.text(book.organization).prefix(80)).replacingOccurrences(of: "&", with: "&&")
        headerFooter = "<headerFooter><oddHeader>" + SpreadsheetML.escaped("&L&\"-,Bold\"&A&R\(org)", attribute: false)
            + "</oddHeader><oddFooter>" + SpreadsheetML.escaped("&Laccess-evidence workpaper&RPage &P of &N", attribute: false)
            + "</oddFooter></headerFooter>"
    }

    /// A bold line of text (a block's title) across the sheet.
    func title(_ text: String) throws {
        try checkRow(cells: 1)
        self.text(OutputGate.text(text), column: 0, style: SpreadsheetML.XF.title)
        try endRow()
        row += 1
    }

    func row(_ cells: [Cell], style: Style = .plain) throws {
        try checkRow(cells: cells.count)
        let forced = style == .header ? SpreadsheetML.XF.header : nil
        for (column, cell) in cells.enumerated() {
            switch cell {
            case .text(let raw): text(OutputGate.text(raw), column: column, style: forced)
            case .link(let url, let text): link(url, shown: OutputGate.text(text), column: column, style: forced)
            case .number(let d): number(d, column: column, style: forced)
            case .date(let date): self.date(date, column: column, style: forced)
            }
        }
        try endRow()
        lastDataRow = row
        row += 1
    }

    /// A population row, from the row's own fields: no array of cells for each of a million rows.
    /// Its values have passed the output gate already.
    func populationRow(_ r: PopulationRow) throws {
        let count = 6 + r.outcomes.count + r.facts.count
        try checkRow(cells: count)
        text(r.item, column: 0, style: nil)
        text(r.session, column: 1, style: nil)
        text(r.identity, column: 2, style: nil)
        text(r.resource, column: 3, style: nil)
        date(r.time, column: 4, style: nil)
        var column = 5
        for outcome in r.outcomes {
            text(outcome.mark, column: column, style: nil)
            column += 1
        }
        if r.exceptions.count == 1 { text(r.exceptions[0], column: column, style: nil) }
        else if !r.exceptions.isEmpty { text(r.exceptions.joined(separator: " "), column: column, style: nil) }
        column += 1
        for fact in r.facts {
            text(fact, column: column, style: nil)
            column += 1
        }
        try endRow()
        lastDataRow = row
        row += 1
    }

    private func checkRow(cells: Int) throws {
        guard row < Self.maxRows else {
            throw XLSXError(description: "\(book.path): sheet '\(name)' row \(row + 1): past Excel's \(Self.maxRows) rows")
        }
        guard cells <= Self.maxColumns else {
            throw XLSXError(description: "\(book.path): sheet '\(name)' row \(row + 1): \(cells) cells, past Excel's \(Self.maxColumns) columns")
        }
    }

    /// The style of a cell in `column` without one of its own: the column's (wrapped text) if any.
    private func style(_ forced: UInt8?, _ column: Int) -> UInt8? {
        forced ?? (column < columnStyle.count ? columnStyle[column] : nil)
    }

    private func cellWritten(_ column: Int) {
        if !rowOpen {
            rowOpen = true
            xml.append(SpreadsheetML.rowStart)
            SpreadsheetML.appendDecimal(UInt64(row + 1), to: &xml)
            xml.append(SpreadsheetML.tagEnd)
        }
        if column > lastColumn { lastColumn = column }
    }

    /// Gated text; an empty string is no cell unless it has a style of its own (a header's blank).
    private func text(_ text: String, column: Int, style forced: UInt8?) {
        if text.isEmpty && forced == nil { return }
        cellWritten(column)
        // Excel's cell limit is 32,767 UTF-16 units; the count of UTF-8 bytes (free) bounds it first.
        let fitted = text.utf8.count > 32_000 ? Self.fitted(text) : text
        SpreadsheetML.appendText(fitted, column: column, row: row + 1, style: style(forced, column), to: &xml)
    }

    private func link(_ url: String, shown: String, column: Int, style forced: UInt8?) {
        let shown = Self.fitted(shown)
        cellWritten(column)
        // Excel caps a link at 2,079 characters and a sheet at 65,530 links: past that, the text alone.
        if links.count < Self.maxLinks, let target = Self.linkTarget(url) {
            links.append(Link(ref: SpreadsheetML.cellReference(column: column, row: row + 1), target: target.target,
                              external: target.external, shown: shown))
            SpreadsheetML.appendText(shown, column: column, row: row + 1, style: forced ?? SpreadsheetML.XF.link, to: &xml)
        } else {
            SpreadsheetML.appendText(shown, column: column, row: row + 1, style: style(forced, column), to: &xml)
        }
    }

    private func number(_ d: Double, column: Int, style forced: UInt8?) {
        cellWritten(column)
        if d.isFinite {
            SpreadsheetML.appendNumber(d, column: column, row: row + 1, style: style(forced, column), to: &xml)
        } else {
            SpreadsheetML.appendText("\(d)", column: column, row: row + 1, style: style(forced, column), to: &xml)
        }
    }

    private func date(_ date: Date, column: Int, style forced: UInt8?) {
        cellWritten(column)
        // A time outside Excel's range is written as its ISO 8601 text instead.
        if let seconds = Cell.excelSeconds(date) {
            SpreadsheetML.appendNumber(Double(seconds) / 86_400 + 25_569, column: column, row: row + 1,
                                       style: forced ?? SpreadsheetML.XF.date, to: &xml)
        } else {
            SpreadsheetML.appendText(Timestamp.format(date), column: column, row: row + 1, style: style(forced, column), to: &xml)
        }
    }

    private func endRow() throws {
        guard rowOpen else { return }
        rowOpen = false
        xml.append(SpreadsheetML.rowEnd)
        lastRow = row
        if xml.count >= Self.flushSize { try flush() }
    }

    /// Hands the rows' XML to the compressor: the workbook's thread when there is one (the bytes
    /// move to it whole, so no string is shared between threads), else here.
    private func flush() throws {
        guard !xml.isEmpty else { return }
        if let compressor {
            let chunk = UnsafeTransfer(xml), part = UnsafeTransfer(part)
            xml = []
            xml.reserveCapacity(Self.flushSize + 4096)
            try compressor.submit { try part.value.write(chunk.value) }
        } else {
            try part.write(xml)
            xml.removeAll(keepingCapacity: true)
        }
    }

    /// An `https://` (or other) URL, or `internal:Sheet!A1` for a place in the workbook; nil for one
    /// Excel would refuse (too long, quotes, control characters).
    static func linkTarget(_ url: String) -> (target: String, external: Bool)? {
        guard url.utf8.count < 2_000, !url.contains("\""), !url.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 0x7F }) else { return nil }
        if url.hasPrefix("internal:") { return (String(url.dropFirst("internal:".count)), false) }
        return (url, true)
    }

    /// Excel's cell limit is 32,767 UTF-16 units; longer text is cut on a scalar boundary and says so.
    static func fitted(_ s: String) -> String {
        guard s.utf8.count > 32_000, s.utf16.count > 32_000 else { return s }
        var kept = String.UnicodeScalarView(), units = 0
        for scalar in s.unicodeScalars {
            units += scalar.utf16.count
            if units > 32_000 { break }
            kept.append(scalar)
        }
        return String(kept) + " …[truncated]"
    }

    func skip(_ rows: UInt32) { row += rows }

    /// Closes the table: filter over the header and data rows.
    func finish(autofilter: Bool = true) throws {
        if autofilter, columns > 0 {
            let last = min(max(lastDataRow, headerRow + 1), Self.maxRows - 1)
            filterRange = "$A$\(headerRow + 1):$\(SpreadsheetML.columnName(Int(columns) - 1))$\(last + 1)"
        }
    }

    /// The sheet's relationships (its external links), if any.
    func relationships() -> [UInt8]? {
        let external = links.filter(\.external)
        guard !external.isEmpty else { return nil }
        var x = SpreadsheetML.declaration + #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        for (n, link) in external.enumerated() {
            x += #"<Relationship Id="rId\#(n + 1)" Type="\#(SpreadsheetML.relationships)/hyperlink" "#
                + #"Target="\#(SpreadsheetML.escaped(link.target, attribute: true))" TargetMode="External"/>"#
        }
        return Array((x + "</Relationships>").utf8)
    }

    /// Ends the rows and adds the sheet to `zip`: the head (known only now: the used range, the
    /// columns, the frozen rows) compressed here, then the rows' compressed file, which also holds
    /// the tail.
    func store(in zip: ZipArchive, as name: String) throws {
        compressor = nil
        try part.write(xml)
        xml = []
        try part.write(Array(tail().utf8))
        try part.finish(final: true)
        let head = Array(self.head().utf8)
        let compressedHead = try DeflatedPart.deflated(head, level: 6, final: false, label: book.path)
        let headCRC = head.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        let crc = crc32_combine(headCRC, part.crc, Int(part.size))
        try zip.add(name, crc: UInt32(crc), size: UInt64(head.count) + part.size, pieces: [.bytes(compressedHead), .part(part)])
    }

    private func head() -> String {
        var x = SpreadsheetML.declaration + #"<worksheet xmlns="\#(SpreadsheetML.main)" xmlns:r="\#(SpreadsheetML.relationships)">"#
        if pageSetUp { x += #"<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>"# }
        let used = lastRow.map { "A1:\(SpreadsheetML.columnName(lastColumn))\($0 + 1)" } ?? "A1"
        x += #"<dimension ref="\#(used == "A1:A1" ? "A1" : used)"/><sheetViews><sheetView "#
        x += index == 0 ? #"tabSelected="1" workbookViewId="0""# : #"workbookViewId="0""#
        if let frozen = frozenRows, frozen < Self.maxRows {
            x += #"><pane ySplit="\#(frozen)" topLeftCell="A\#(frozen + 1)" activePane="bottomLeft" state="frozen"/>"#
                + #"<selection pane="bottomLeft"/></sheetView></sheetViews>"#
        } else {
            x += "/></sheetViews>"
        }
        x += #"<sheetFormatPr defaultRowHeight="15"/>"#
        if !columnWidths.isEmpty {
            x += "<cols>"
            for (i, w) in columnWidths.enumerated() {
                x += #"<col min="\#(i + 1)" max="\#(i + 1)" width="\#(SpreadsheetML.columnWidth(w))""#
                if let style = columnStyle[i] { x += #" style="\#(style)""# }
                x += #" customWidth="1"/>"#
            }
            x += "</cols>"
        }
        return x + "<sheetData>"
    }

    private func tail() -> String {
        var x = "</sheetData>"
        if let range = filterRange { x += #"<autoFilter ref="\#(range.replacingOccurrences(of: "$", with: ""))"/>"# }
        if !links.isEmpty {
            x += "<hyperlinks>"
            var rel = 0
            for link in links {
                if link.external {
                    rel += 1
                    x += #"<hyperlink ref="\#(link.ref)" r:id="rId\#(rel)"/>"#
                } else {
                    x += #"<hyperlink ref="\#(link.ref)" location="\#(SpreadsheetML.escaped(link.target, attribute: true))" "#
                        + #"display="\#(SpreadsheetML.escaped(link.shown, attribute: true))"/>"#
                }
            }
            x += "</hyperlinks>"
        }
        if pageSetUp {
            x += #"<printOptions gridLines="1"/><pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>"#
                + #"<pageSetup paperSize="9" orientation="landscape" fitToHeight="0"/>"# + headerFooter
        } else {
            x += #"<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#
        }
        return x + "</worksheet>"
    }
}
