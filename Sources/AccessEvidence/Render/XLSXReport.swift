import CXLSXWriter
import Foundation

/// `evidence.xlsx`, the auditor's workpaper, written with libxlsxwriter in constant-memory mode:
/// rows go to disk as they are written, so population sheets of any length cost no memory.
/// Every call's return code is checked; data is only ever written as strings, numbers or dates,
/// never as a formula, whatever it starts with.
public struct XLSXReport {
    public var document: EvidenceDocument
    public var populations: Analyzer

    /// Excel's row limit, header included.
    static let maxRows: UInt32 = 1_048_576
    static let attributeColumns = ["A", "B", "C", "D", "E"]

    public init(document: EvidenceDocument, populations: Analyzer) {
        self.document = document
        self.populations = populations
    }

    public func write(to path: String, generatedAt: Date) throws {
        let book = try Workbook(path: path, created: generatedAt)
        defer { book.abandon() }
        try summary(book.sheet("Summary"))
        try criteria(book.sheet("Criteria"))
        try controls(book.sheet("Controls"))
        try exceptions(book.sheet("Exceptions"))
        try samples(book.sheet("Samples"))
        for control in document.controls { try population(book, control) }
        try about(book.sheet("About"))
        try book.close()
    }

    func summary(_ s: Sheet) throws {
        try s.header(["Item", "Value"], widths: [34, 90])
        let d = document
        let rows: [(String, Cell)] = [
            ("Report", .text("SOC 2 evidence from the access gateway")),
            ("Period", .text(d.period.label)),
            ("Period start (UTC)", Cell.time(d.period.start)),
            ("Period end, exclusive (UTC)", Cell.time(d.period.end)),
            ("Time zone of the period", .text(d.period.timeZone)),
            ("Generated at (UTC)", Cell.time(d.generatedAt)),
            ("Source", .text("\(d.source.kind) \(d.source.location)")),
            ("Source SHA-256", .text(d.source.sha256 ?? "")),
            ("Source schema version", .text(d.source.schemaVersion ?? "")),
            ("Snapshot", .text(d.source.snapshotLine)),
            ("Catalog", .text("\(d.catalog.title) \(d.catalog.version)")),
            ("Catalog SHA-256", .text(d.catalog.sha256)),
            ("Sessions tested", .number(Double(d.source.sessionsInPeriod))),
            ("Controls", .number(Double(d.summary.controls))),
            ("Exceptions", .number(Double(d.summary.exceptions))),
            ("Criteria effective", .number(Double(d.summary.criteria["effective"] ?? 0))),
            ("Criteria with exceptions noted", .number(Double(d.summary.criteria["exceptions-noted"] ?? 0))),
            ("Criteria with no population", .number(Double(d.summary.criteria["no-population"] ?? 0))),
            ("Criteria not addressed by gateway evidence", .number(Double(d.summary.criteria["not-addressed"] ?? 0))),
            ("Data-quality issues", .number(Double(d.summary.dataQualityIssues))),
            ("Tool", .text("access-evidence \(d.tool.version)")),
        ]
        for (label, value) in rows { try s.row([.text(label), value]) }
        try s.finish(autofilter: false)
    }

    func criteria(_ s: Sheet) throws {
        try s.header(["Criterion", "Series", "Category", "Title", "Gateway evidence", "Status", "Controls", "Population", "Exceptions", "Reason"],
                     widths: [10, 8, 16, 40, 16, 18, 24, 12, 12, 80])
        for c in document.criteria {
            try s.row([.text(c.id), .text(c.series), .text(c.category), .text(c.title), .text(c.gatewayEvidence), .text(c.status),
                       .text(c.controls.joined(separator: ", ")), .number(Double(c.populationCount)), .number(Double(c.exceptionCount)), .text(c.reason)])
        }
        try s.finish()
    }

    func controls(_ s: Sheet) throws {
        try s.header(["Control", "Title", "Owner", "Frequency", "High risk", "Criteria", "Test", "Population", "Exceptions", "Sample size", "Population SHA-256"],
                     widths: [12, 50, 22, 12, 10, 22, 32, 12, 12, 12, 66])
        for c in document.controls {
            for t in c.tests {
                try s.row([.text(c.id), .text(c.title), .text(c.owner), .text(c.frequency), .text(c.highRisk ? "yes" : "no"),
                           .text(c.criteria.joined(separator: ", ")), .text(t.test), .number(Double(t.populationCount)),
                           .number(Double(t.exceptions.count)), .number(Double(t.sample?.size ?? 0)), .text(t.provenance?.sha256 ?? "")])
            }
        }
        try s.finish()
    }

    func exceptions(_ s: Sheet) throws {
        try s.header(["Fingerprint", "Control", "Test", "Criteria", "Item", "Session", "Identity", "Resource", "Time (UTC)", "Severity",
                      "Reason code", "Reason", "Evidence (masked)", "Status", "Management response"],
                     widths: [26, 12, 28, 20, 44, 38, 30, 22, 20, 10, 26, 70, 70, 20, 50])
        for c in document.controls {
            for t in c.tests {
                for e in t.exceptions {
                    let response = e.managementResponse.map { "\($0.acceptance): \($0.reason) (approved by \($0.approver), \($0.ticket), until \($0.expires))" } ?? ""
                    try s.row([.text(e.fingerprint), .text(e.control), .text(e.test), .text(e.criteria.joined(separator: ", ")), .text(e.item),
                               .text(e.session), .text(e.identity), .text(e.resource), Cell.time(e.time),
                               .text(e.severity), .text(e.reasonCode), .text(e.reason), .text(e.evidence), .text(e.status), .text(response)])
                }
            }
        }
        try s.finish()
    }

    func samples(_ s: Sheet) throws {
        try s.header(["Control", "Test", "Sample #", "Item key", "Date (UTC)"] + Self.attributeColumns.map { "Attribute \($0)" }
                     + ["Exception note", "Evidence reference"],
                     widths: [12, 28, 10, 44, 20, 12, 12, 12, 12, 12, 40, 40])
        for c in document.controls {
            for t in c.tests {
                for item in t.sample?.items ?? [] {
                    let marks = Self.attributeColumns.map { Cell.text(item.attributes[$0] ?? "") }
                    try s.row([.text(c.id), .text(t.test), .number(Double(item.number)), .text(item.item),
                               Cell.time(item.time)] + marks
                              + [.text(item.exceptions.joined(separator: ", ")), .text("session \(item.session)")])
                }
            }
        }
        try s.finish()
        // The legend explains the tick marks, two rows under the table.
        s.skip(1)
        for line in ["Tick marks", "✓ = agreed to the source record without exception", "✗ = exception, see the Exceptions sheet",
                     "n/a = attribute does not apply to the item",
                     "Attributes are defined per test in report.json (controls[].tests[].attributes)"] {
            try s.row([.text(line)], style: line == "Tick marks" ? .header : .plain)
        }
    }

    func population(_ book: Workbook, _ control: EvidenceDocument.ControlDoc) throws {
        let headers = ["Test", "Item", "Session", "Identity", "Resource", "Time (UTC)"] + Self.attributeColumns.map { "Attribute \($0)" } + ["Exceptions"]
        let widths: [Double] = [28, 44, 38, 30, 22, 20, 12, 12, 12, 12, 12, 30]
        var part = 1
        var sheet = try book.sheet("Population \(control.id)")
        try sheet.header(headers, widths: widths)
        try populations.forEachPopulationRow(control: control.id) { test, row in
            if sheet.row >= Self.maxRows {
                try sheet.finish()
                part += 1
                sheet = try book.sheet("Population \(control.id) (\(part))")
                try sheet.header(headers, widths: widths)
            }
            let outcome = row.marks
            try sheet.row([.text(test), .text(row.item), .text(row.session), .text(row.identity), .text(row.resource), .date(row.time)]
                          + Self.attributeColumns.map { Cell.text(outcome[$0] ?? "") } + [.text(row.exceptions)])
        }
        try sheet.finish()
    }

    func about(_ s: Sheet) throws {
        try s.header(["Control", "Test", "Source", "Source SHA-256", "Query", "Filter", "Period", "Generated at", "Row count", "Population SHA-256", "Hash method"],
                     widths: [12, 28, 40, 66, 80, 80, 44, 22, 12, 66, 60])
        for c in document.controls {
            for t in c.tests {
                guard let p = t.provenance else { continue }
                try s.row([.text(c.id), .text(t.test), .text(p.source), .text(p.sourceSHA256 ?? ""), .text(p.query), .text(p.filter),
                           .text(p.period), .text(p.generatedAt), .number(Double(p.rowCount)), .text(p.sha256), .text(p.hashMethod)])
            }
        }
        try s.finish()
        if let r = document.reconciliation {
            s.skip(1)
            try s.row([.text("Reconciliation")], style: .header)
            try s.row([.text("Sessions in the store for the period"), .number(Double(r.sessionsInStore))])
            try s.row([.text("Sessions tested"), .number(Double(r.sessionsTested))])
            try s.row([.text("Difference"), .number(Double(r.difference))])
            try s.row([.text("Explanation"), .text(r.explanation)])
            try s.row([.text("Store query"), .text(r.storeQuery)])
        }
    }
}

public struct XLSXError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

enum Cell {
    case text(String)
    case number(Double)
    case date(Date)

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

/// A libxlsxwriter workbook; every call is checked.
final class Workbook {
    private var handle: UnsafeMutablePointer<lxw_workbook>?
    let path: String
    let headerFormat: UnsafeMutablePointer<lxw_format>
    let dateFormat: UnsafeMutablePointer<lxw_format>
    let textFormat: UnsafeMutablePointer<lxw_format>
    private var names = Set<String>()

    init(path: String, created: Date) throws {
        self.path = path
        var options = lxw_workbook_options()
        options.constant_memory = UInt8(LXW_TRUE.rawValue)
        options.use_zip64 = UInt8(LXW_TRUE.rawValue)
        guard let wb = workbook_new_opt(path, &options) else { throw XLSXError(description: "\(path): cannot create the workbook") }
        handle = wb
        var properties = lxw_doc_properties()
        // The run's time is checked when parsed; out of range it falls back to the epoch rather than trap.
        properties.created = time_t(Cell.excelSeconds(created) ?? 0)
        let title = strdup("SOC 2 evidence workpaper"), author = strdup("access-evidence")
        defer { free(title); free(author) }
        properties.title = title
        properties.author = author
        let rc = workbook_set_properties(wb, &properties)
        guard rc == LXW_NO_ERROR else { throw XLSXError(description: "\(path): properties: \(String(cString: lxw_strerror(rc)))") }
        guard let h = workbook_add_format(wb), let d = workbook_add_format(wb), let t = workbook_add_format(wb) else {
            throw XLSXError(description: "\(path): cannot create cell formats")
        }
        format_set_bold(h)
        format_set_bg_color(h, 0xD9E2F3)
        format_set_border(h, UInt8(LXW_BORDER_THIN.rawValue))
        format_set_num_format(d, "yyyy-mm-dd hh:mm:ss")
        format_set_text_wrap(t)
        format_set_align(t, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue))
        headerFormat = h
        dateFormat = d
        textFormat = t
    }

    func sheet(_ name: String) throws -> Sheet {
        guard let wb = handle else { throw XLSXError(description: "\(path): workbook already closed") }
        // Excel: at most 31 characters, none of []:*?/\, unique.
        var clean = String(name.map { "[]:*?/\\".contains($0) ? "-" : $0 }.prefix(31))
        var n = 2
        while names.contains(clean.lowercased()) { clean = String(name.prefix(26)) + " (\(n))"; n += 1 }
        names.insert(clean.lowercased())
        guard let ws = workbook_add_worksheet(wb, clean) else { throw XLSXError(description: "\(path): cannot add sheet '\(clean)'") }
        return Sheet(ws: ws, name: clean, book: self)
    }

    func close() throws {
        guard let wb = handle else { return }
        handle = nil
        let rc = workbook_close(wb)
        guard rc == LXW_NO_ERROR else { throw XLSXError(description: "\(path): \(String(cString: lxw_strerror(rc)))") }
    }

    /// On an error path: free the workbook without leaving a half-written file behind.
    func abandon() {
        guard let wb = handle else { return }
        handle = nil
        _ = workbook_close(wb)
        try? FileManager.default.removeItem(atPath: path)
    }
}

final class Sheet {
    enum Style { case plain, header }
    let ws: UnsafeMutablePointer<lxw_worksheet>
    let name: String
    unowned let book: Workbook
    private(set) var row: UInt32 = 0
    private var columns: UInt16 = 0
    private var lastDataRow: UInt32 = 0

    init(ws: UnsafeMutablePointer<lxw_worksheet>, name: String, book: Workbook) {
        self.ws = ws
        self.name = name
        self.book = book
    }

    func check(_ rc: lxw_error, _ what: String) throws {
        guard rc == LXW_NO_ERROR else {
            throw XLSXError(description: "\(book.path): sheet '\(name)' row \(row + 1): \(what): \(String(cString: lxw_strerror(rc)))")
        }
    }

    func header(_ titles: [String], widths: [Double]) throws {
        for (i, w) in widths.enumerated() {
            try check(worksheet_set_column(ws, UInt16(i), UInt16(i), w, nil), "column width")
        }
        worksheet_freeze_panes(ws, 1, 0)
        columns = UInt16(titles.count)
        try row(titles.map(Cell.text), style: .header)
    }

    func row(_ cells: [Cell], style: Style = .plain) throws {
        for (i, cell) in cells.enumerated() {
            let col = UInt16(i)
            switch cell {
            case .text(let raw):
                // Every cell passes the output gate; libxlsxwriter writes it as a string, never a formula.
                let s = OutputGate.text(raw)
                // Excel's cell limit is 32,767 UTF-16 units (libxlsxwriter counts code points); longer text is
                // cut on a scalar boundary and says so.
                var text = s
                if s.utf16.count > 32_000 {
                    var kept = String.UnicodeScalarView(), units = 0
                    for scalar in s.unicodeScalars {
                        units += scalar.utf16.count
                        if units > 32_000 { break }
                        kept.append(scalar)
                    }
                    text = String(kept) + " …[truncated]"
                }
                try check(worksheet_write_string(ws, row, col, text, style == .header ? book.headerFormat : nil), "text")
            case .number(let d):
                try check(worksheet_write_number(ws, row, col, d, nil), "number")
            case .date(let date):
                // A time outside Excel's range is written as its ISO 8601 text instead of trapping.
                guard let seconds = Cell.excelSeconds(date) else {
                    try check(worksheet_write_string(ws, row, col, Timestamp.format(date), nil), "text")
                    continue
                }
                try check(worksheet_write_unixtime(ws, row, col, seconds, book.dateFormat), "date")
            }
        }
        lastDataRow = row
        row += 1
    }

    func skip(_ rows: UInt32) { row += rows }

    /// Closes the table: filter over the header and data rows.
    func finish(autofilter: Bool = true) throws {
        if autofilter, columns > 0 {
            try check(worksheet_autofilter(ws, 0, 0, max(lastDataRow, 1), columns - 1), "autofilter")
        }
    }
}
