import CXLSXWriter
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct XLSXError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

enum Cell {
    case text(String)
    /// Text that has already passed the output gate (population rows): not gated again.
    case gated(String)
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

/// A libxlsxwriter workbook; every call is checked.
final class Workbook {
    private var handle: UnsafeMutablePointer<lxw_workbook>?
    let path: String
    let headerFormat: UnsafeMutablePointer<lxw_format>
    let dateFormat: UnsafeMutablePointer<lxw_format>
    let textFormat: UnsafeMutablePointer<lxw_format>
    let titleFormat: UnsafeMutablePointer<lxw_format>
    let linkFormat: UnsafeMutablePointer<lxw_format>
    let organization: String
    private var names = Set<String>()
    private var tmpdir: UnsafeMutablePointer<CChar>?

    /// `tmpdir`: where libxlsxwriter keeps each sheet's rows until the file is assembled (the
    /// report's staging folder, so a full or small TMPDIR cannot fail a report).
    init(path: String, created: Date, tmpdir: String? = nil, organization: String = "") throws {
        self.path = path
        self.organization = organization
        var options = lxw_workbook_options()
        options.constant_memory = UInt8(LXW_TRUE.rawValue)
        options.use_zip64 = UInt8(LXW_TRUE.rawValue)
        if let tmpdir {
            self.tmpdir = strdup(tmpdir)
            options.tmpdir = self.tmpdir
        }
        guard let wb = workbook_new_opt(path, &options) else { throw XLSXError(description: "\(path): cannot create the workbook") }
        handle = wb
        var properties = lxw_doc_properties()
        // The run's time is checked when parsed; out of range it falls back to the epoch rather than trap.
        properties.created = time_t(Cell.excelSeconds(created) ?? 0)
        let title = strdup("Access gateway evidence workpaper"), author = strdup("access-evidence")
        defer { free(title); free(author) }
        properties.title = title
        properties.author = author
        let rc = workbook_set_properties(wb, &properties)
        guard rc == LXW_NO_ERROR else { throw XLSXError(description: "\(path): properties: \(String(cString: lxw_strerror(rc)))") }
        guard let h = workbook_add_format(wb), let d = workbook_add_format(wb), let t = workbook_add_format(wb),
              let title = workbook_add_format(wb), let link = workbook_add_format(wb) else {
            throw XLSXError(description: "\(path): cannot create cell formats")
        }
        format_set_bold(title)
        format_set_font_size(title, 12)
        format_set_underline(link, UInt8(LXW_UNDERLINE_SINGLE.rawValue))
        format_set_font_color(link, 0x0563C1)
        titleFormat = title
        linkFormat = link
        format_set_bold(h)
        format_set_bg_color(h, 0xD9E2F3)
        format_set_border(h, UInt8(LXW_BORDER_THIN.rawValue))
        format_set_text_wrap(h)
        format_set_align(h, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue))
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
        let cleaned = String(name.map { "[]:*?/\\".contains($0) ? "-" : $0 })
        var clean = String(cleaned.prefix(31))
        var n = 2
        while names.contains(clean.lowercased()) { clean = String(cleaned.prefix(26)) + " (\(n))"; n += 1 }
        names.insert(clean.lowercased())
        guard let ws = workbook_add_worksheet(wb, clean) else { throw XLSXError(description: "\(path): cannot add sheet '\(clean)'") }
        return Sheet(ws: ws, name: clean, book: self)
    }

    deinit { free(tmpdir) }

    /// libxlsxwriter prints its own `[ERROR] …` lines to stderr when closing fails (a full disk);
    /// the run reports the failure once, in its own words, so those lines are kept off stderr.
    /// Workbooks closing on several threads at once (the test suite's parallel reports) share one
    /// redirection: the first saves the real stderr, the last puts it back. Without the count, two
    /// overlapping closes could leave stderr pointing at /dev/null for good.
    private static let quietLock = NSLock()
    nonisolated(unsafe) private static var quietDepth = 0
    nonisolated(unsafe) private static var quietSaved: Int32 = -1

    static func quietly<T>(_ body: () -> T) -> T {
        // libxlsxwriter writes with fprintf(stderr, …): unbuffered on glibc, so nothing is pending.
        quietLock.lock()
        if quietDepth == 0 {
            quietSaved = dup(STDERR_FILENO)
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            if quietSaved >= 0, null >= 0 { dup2(null, STDERR_FILENO) }
            if null >= 0 { Glibc.close(null) }
        }
        quietDepth += 1
        quietLock.unlock()
        defer {
            quietLock.lock()
            quietDepth -= 1
            if quietDepth == 0, quietSaved >= 0 {
                dup2(quietSaved, STDERR_FILENO)
                Glibc.close(quietSaved)
                quietSaved = -1
            }
            quietLock.unlock()
        }
        return body()
    }

    /// Device and inode of the stderr the process has outside any `quietly` (the saved one while a close
    /// holds stderr on /dev/null): what a test compares, whatever other closes overlap it.
    static func restoredStderr() -> (UInt64, UInt64) {
        quietLock.lock()
        defer { quietLock.unlock() }
        var st = stat()
        fstat(quietDepth > 0 && quietSaved >= 0 ? quietSaved : STDERR_FILENO, &st)
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    func close() throws {
        guard let wb = handle else { return }
        handle = nil
        let rc = Self.quietly { workbook_close(wb) }
        guard rc == LXW_NO_ERROR else { throw XLSXError(description: "\(path): \(String(cString: lxw_strerror(rc)))") }
    }

    /// On an error path: free the workbook without leaving a half-written file behind.
    func abandon() {
        guard let wb = handle else { return }
        handle = nil
        _ = Self.quietly { workbook_close(wb) }
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
    private var headerRow: UInt32 = 0
    private var pageSetUp = false

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

    /// Column widths (`wrap` columns wrap their text), the frozen header row and the page setup.
    /// `at` is the header's row: a sheet may open with a title line above it.
    func header(_ titles: [String], widths: [Double], wrap: Set<Int> = [], freeze: Bool = true) throws {
        for (i, w) in widths.enumerated() {
            try check(worksheet_set_column(ws, UInt16(i), UInt16(i), w, wrap.contains(i) || w >= 40 ? book.textFormat : nil), "column width")
        }
        if freeze { worksheet_freeze_panes(ws, row + 1, 0) }
        try pageSetup(repeat: row)
        columns = UInt16(titles.count)
        headerRow = row
        try self.row(titles.map(Cell.text), style: .header)
    }

    /// Prints as a workpaper: landscape, one page wide, the header row on every page, the sheet name,
    /// organization and page number in the header and footer, gridlines printed.
    func pageSetup(repeat headerRow: UInt32?) throws {
        guard !pageSetUp else { return }
        pageSetUp = true
        worksheet_set_landscape(ws)
        worksheet_set_paper(ws, 9)   // A4; Excel keeps the printer's own when it differs
        worksheet_fit_to_pages(ws, 1, 0)
        worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6)
        worksheet_gridlines(ws, UInt8(LXW_SHOW_PRINT_GRIDLINES.rawValue))
        if let headerRow { try check(worksheet_repeat_rows(ws, headerRow, headerRow), "print titles") }
        // `&` starts a code in Excel's header language: a literal one is doubled.
        let org = String(OutputGate.text(book.organization).prefix(80)).replacingOccurrences(of: "&", with: "&&")
        try check(worksheet_set_header(ws, "&L&\"-,Bold\"&A&R\(org)"), "page header")
        try check(worksheet_set_footer(ws, "&Laccess-evidence workpaper&RPage &P of &N"), "page footer")
    }

    /// A bold line of text (a block's title) across the sheet.
    func title(_ text: String) throws {
        try check(worksheet_write_string(ws, row, 0, OutputGate.text(text), book.titleFormat), "title")
        row += 1
    }

    func row(_ cells: [Cell], style: Style = .plain) throws {
        for (i, cell) in cells.enumerated() {
            let col = UInt16(i)
            switch cell {
            case .text(let raw):
                // Every cell passes the output gate; libxlsxwriter writes it as a string, never a formula.
                try check(worksheet_write_string(ws, row, col, Self.fitted(OutputGate.text(raw)), style == .header ? book.headerFormat : nil), "text")
            case .gated(let text):
                try check(worksheet_write_string(ws, row, col, Self.fitted(text), style == .header ? book.headerFormat : nil), "text")
            case .link(let url, let text):
                // Excel caps a link at 2,079 characters (libxlsxwriter refuses longer): past that, the text alone.
                let shown = Self.fitted(OutputGate.text(text))
                if url.utf8.count < 2_000, !url.contains("\""), !url.unicodeScalars.contains(where: { $0.value < 32 }) {
                    try check(worksheet_write_url_opt(ws, row, col, url, book.linkFormat, shown, nil), "link")
                } else {
                    try check(worksheet_write_string(ws, row, col, shown, nil), "text")
                }
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

    /// Excel's cell limit is 32,767 UTF-16 units (libxlsxwriter counts code points); longer text is
    /// cut on a scalar boundary and says so.
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
            try check(worksheet_autofilter(ws, headerRow, 0, max(lastDataRow, headerRow + 1), columns - 1), "autofilter")
        }
    }
}
