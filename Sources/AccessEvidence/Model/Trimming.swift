/// White space trimmed off both ends, as Foundation's `trimmingCharacters(in:)` does for
/// `.whitespaces` and `.whitespacesAndNewlines`, without its detour through `NSString` (which
/// showed in the profile: the reader and the transcript builder trim every line they read).
enum TrimmedSet {
    /// Unicode's space separators (Zs), the tab, and U+200B (zero-width space), which Foundation
    /// counts too.
    case whitespaces
    /// Every separator (Z*), U+000A–U+000D and U+0085.
    case whitespacesAndNewlines

    func contains(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            switch self {
            case .whitespaces: return v == 0x20 || v == 0x09
            case .whitespacesAndNewlines: return v == 0x20 || (0x09...0x0D).contains(v)
            }
        }
        if v == 0x200B { return true }
        switch s.properties.generalCategory {
        case .spaceSeparator: return true
        case .lineSeparator, .paragraphSeparator: return self == .whitespacesAndNewlines
        default: return self == .whitespacesAndNewlines && v == 0x85
        }
    }
}

extension StringProtocol {
    func trimmed(_ set: TrimmedSet) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !set.contains($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !set.contains($0) })!
        if first == scalars.startIndex, scalars.index(after: last) == scalars.endIndex, let s = self as? String { return s }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[first...last])
        return String(out)
    }
}
