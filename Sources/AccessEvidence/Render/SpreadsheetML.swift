/// The XML of a workbook's parts (ECMA-376 part 1, SpreadsheetML), written as bytes: a population
/// sheet has a million cells, and each is appended here without a `String` of its own.
enum SpreadsheetML {
    static let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    static let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    /// Cell formats: indexes into `styles`' `cellXfs`.
    enum XF {
        static let header: UInt8 = 1
        static let date: UInt8 = 2
        static let text: UInt8 = 3
        static let title: UInt8 = 4
        static let link: UInt8 = 5
    }

    /// Calibri 11 (Excel's default); the header bold on light blue with thin borders, wrapped and at
    /// the top; dates as `yyyy-mm-dd hh:mm:ss`; long text wrapped at the top; titles bold 12 pt;
    /// links underlined in blue.
    static let styles = declaration + #"<styleSheet xmlns="\#(main)">"#
        + #"<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>"#
        + #"<fonts count="4">"#
        + #"<font><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>"#
        + #"<font><b/><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>"#
        + #"<font><b/><sz val="12"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>"#
        + #"<font><u/><sz val="11"/><color rgb="FF0563C1"/><name val="Calibri"/><family val="2"/></font>"#
        + "</fonts>"
        + #"<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>"#
        + #"<fill><patternFill patternType="solid"><fgColor rgb="FFD9E2F3"/><bgColor indexed="64"/></patternFill></fill></fills>"#
        + #"<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>"#
        + #"<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>"#
        + #"<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>"#
        + #"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#
        + #"<cellXfs count="6">"#
        + #"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#
        + #"<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" applyAlignment="1">"#
        + #"<alignment vertical="top" wrapText="1"/></xf>"#
        + #"<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>"#
        + #"<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#
        + #"<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#
        + "</cellXfs>"
        + #"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#
        + #"<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>"#
        + "</styleSheet>"

    static let packageRelationships = declaration
        + #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        + #"<Relationship Id="rId1" Type="\#(relationships)/officeDocument" Target="xl/workbook.xml"/>"#
        + #"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>"#
        + #"<Relationship Id="rId3" Type="\#(relationships)/extended-properties" Target="docProps/app.xml"/>"#
        + "</Relationships>"

    static let appProperties = declaration
        + #"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" "#
        + #"xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>access-evidence</Application></Properties>"#

    static let rowStart: StaticString = "<row r=\""
    static let tagEnd: StaticString = "\">"
    static let rowEnd: StaticString = "</row>"
    static let cellStart: StaticString = "<c r=\""
    static let styleStart: StaticString = "\" s=\""
    static let inlineStart: StaticString = "\" t=\"inlineStr\"><is><t>"
    static let inlinePreservedStart: StaticString = "\" t=\"inlineStr\"><is><t xml:space=\"preserve\">"
    static let inlineEnd: StaticString = "</t></is></c>"
    static let valueStart: StaticString = "\"><v>"
    static let valueEnd: StaticString = "</v></c>"
    static let blankEnd: StaticString = "\"/>"

    /// A, B, … Z, AA, … XFD.
    static func columnName(_ column: Int) -> String {
        var n = column + 1, name = ""
        while n > 0 {
            let r = (n - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + r))) + name
            n = (n - 1) / 26
        }
        return name
    }


    static func cellReference(column: Int, row: UInt32) -> String { columnName(column) + String(row) }

    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value, count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[19 - count] = UInt8(48 + n % 10)
                n /= 10
                count += 1
            } while n > 0
            out.append(contentsOf: d[(20 - count)...])
        }
    }

    /// `<c r="B7" s="3"` (no closing quote): the start every cell shares.
    private static func appendCellStart(column: Int, row: UInt32, style: UInt8?, to out: inout [UInt8]) {
        out.append(cellStart)
        if column < 26 {
            out.append(UInt8(65 + column))
        } else if column < 702 {
            out.append(UInt8(64 + column / 26))
            out.append(UInt8(65 + column % 26))
        } else {
            out.append(contentsOf: columnName(column).utf8)
        }
        appendDecimal(UInt64(row), to: &out)
        if let style {
            out.append(styleStart)
            appendDecimal(UInt64(style), to: &out)
        }
    }

    /// A string cell (inline, so nothing is shared across the sheet); empty text is a blank cell.
    static func appendText(_ text: String, column: Int, row: UInt32, style: UInt8?, to out: inout [UInt8]) {
        appendCellStart(column: column, row: row, style: style, to: &out)
        guard let first = text.utf8.first, let last = text.utf8.last else {
            out.append(blankEnd)
            return
        }
        // Leading or trailing white space is kept only when the element says so.
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A }
        out.append(isSpace(first) || isSpace(last) ? inlinePreservedStart : inlineStart)
        appendEscaped(text, to: &out)
        out.append(inlineEnd)
    }

    static func appendNumber(_ value: Double, column: Int, row: UInt32, style: UInt8?, to out: inout [UInt8]) {
        appendCellStart(column: column, row: row, style: style, to: &out)
        out.append(valueStart)
        if value == value.rounded(), abs(value) < 1e15 {
            if value < 0 { out.append(UInt8(ascii: "-")) }
            appendDecimal(UInt64(abs(value)), to: &out)
        } else {
            // Swift's shortest text that reads back as the same Double: the same bytes on every run.
            out.append(contentsOf: value.description.utf8)
        }
        out.append(valueEnd)
    }

    /// Whether `appendEscaped` copies the byte as it is.
    @inline(__always) private static func isPlain(_ b: UInt8) -> Bool {
        b < 0x20 ? b == 0x09 || b == 0x0A : b != 0x26 && b != 0x3C && b != 0x3E && b != 0x5F && b != 0xEF
    }

    private static func isHex(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b) }

    /// Element text: `&`, `<` and `>` as entities; a control character XML 1.0 does not allow (the
    /// output gate has already made them visible: this is the last guard) and U+FFFE/U+FFFF as U+FFFD;
    /// and `_xHHHH_`, which Excel would read as the character HHHH, with its underscore escaped
    /// (`_x005F_`), so the cell shows the text as it was.
    static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        // Native strings are contiguous UTF-8: read in place, no copy and no reference taken.
        if text.utf8.withContiguousStorageIfAvailable({ appendEscaped(bytes: $0, to: &out) }) == nil {
            Array(text.utf8).withUnsafeBufferPointer { appendEscaped(bytes: $0, to: &out) }
        }
    }

    private static func appendEscaped(bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let n = bytes.count
        var start = 0, i = 0
        while i < n {
            let b = bytes[i]
            if isPlain(b) { i += 1; continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
            switch b {
            case 0x26: out.append(contentsOf: "&amp;".utf8)
            case 0x3C: out.append(contentsOf: "&lt;".utf8)
            case 0x3E: out.append(contentsOf: "&gt;".utf8)
            case 0x5F:
                if i + 6 < n, bytes[i + 1] == 0x78, isHex(bytes[i + 2]), isHex(bytes[i + 3]), isHex(bytes[i + 4]), isHex(bytes[i + 5]),
                   bytes[i + 6] == 0x5F {
                    out.append(contentsOf: "_x005F_".utf8)
                } else {
                    out.append(0x5F)
                }
            case 0xEF:
                if i + 2 < n, bytes[i + 1] == 0xBF, bytes[i + 2] == 0xBE || bytes[i + 2] == 0xBF {
                    out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    i += 2
                } else {
                    out.append(0xEF)
                }
            default:
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            }
            i += 1
            start = i
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<n]))
    }

    /// Text for an attribute (`attribute`) or an element of the workbook's small parts.
    static func escaped(_ text: String, attribute: Bool) -> String {
        var bytes: [UInt8] = []
        appendEscaped(text, to: &bytes)
        var s = String(decoding: bytes, as: UTF8.self)
        if attribute {
            s = s.replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "\n", with: "&#10;").replacingOccurrences(of: "\t", with: "&#9;")
        }
        return s
    }

    /// A column width in characters as Excel stores it: the width in pixels of Calibri 11's digits
    /// (7 pixels, plus 5 of padding), back in 1/256ths of a character.
    static func columnWidth(_ characters: Double) -> String {
        let w = max(0, min(characters, 255))
        let pixels = w < 1 ? Int(w * 12 + 0.5) : Int(w * 7 + 0.5) + 5
        let width = Double(Int(Double(pixels) / 7 * 256)) / 256
        return width == width.rounded() ? String(Int(width)) : width.description
    }
}

extension Array where Element == UInt8 {
    /// A literal's bytes, read where the binary holds them (appending a `[UInt8]` constant takes and
    /// drops a reference to it every time).
    @inline(__always) mutating func append(_ literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}
