import Foundation

/// A parameter value in a control's test configuration.
public enum ParameterValue: Sendable, Equatable, Codable {
    case string(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case strings([String])
    /// Seconds; written in YAML as `90s`, `15m`, `24h`, `7d`.
    case duration(Double)
    /// Lists keyed by a selector, e.g. `tag:pci: [sql.read]`.
    case listMap([String: [String]])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .boolean(let b): try c.encode(b)
        case .strings(let a): try c.encode(a)
        case .duration(let d): try c.encode(ParameterValue.formatDuration(d))
        case .listMap(let m): try c.encode(m)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .boolean(b) }
        else if let i = try? c.decode(Int.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let a = try? c.decode([String].self) { self = .strings(a) }
        else if let m = try? c.decode([String: [String]].self) { self = .listMap(m) }
        else { self = .string(try c.decode(String.self)) }
    }

    static func formatDuration(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s % 86_400 == 0, s > 0 { return "\(s / 86_400)d" }
        if s % 3600 == 0, s > 0 { return "\(s / 3600)h" }
        if s % 60 == 0, s > 0 { return "\(s / 60)m" }
        return "\(s)s"
    }

    /// `30s`, `15m`, `24h`, `7d`, or a bare number of seconds.
    public static func parseDuration(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = t.last else { return nil }
        let factor: Double
        switch unit {
        case "s": factor = 1
        case "m": factor = 60
        case "h": factor = 3600
        case "d": factor = 86_400
        case "w": factor = 604_800
        default: return Double(t).flatMap(bounded)
        }
        return Double(t.dropLast()).flatMap { bounded($0 * factor) }
    }

    /// Up to 100 years: `inf`, `nan` and absurd values are not durations (and would not format).
    static func bounded(_ seconds: Double) -> Double? {
        seconds.isFinite && seconds >= 0 && seconds <= 100 * 366 * 86_400 ? seconds : nil
    }
}

public enum ParameterKind: String, Sendable {
    case string, integer, number, boolean, strings, duration, regexes
    /// A mapping from selectors (`tag:…`, `protocol:…`, `connection:…`) to lists of allowed names.
    case selectorLists

    var label: String {
        switch self {
        case .strings: return "list of strings"
        case .regexes: return "list of regular expressions"
        default: return rawValue
        }
    }
}

public struct ParameterDefinition: Sendable {
    public var name: String
    public var kind: ParameterKind
    public var defaultValue: ParameterValue
    public var description: String
    /// For lists of names: the names allowed.
    public var allowed: [String]?

    public init(_ name: String, _ kind: ParameterKind, default value: ParameterValue, _ description: String, allowed: [String]? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = value
        self.description = description
        self.allowed = allowed
    }
}

/// A test's parameters, with defaults filled in for those the catalog leaves out.
public struct TestParameters: Sendable, Equatable {
    public var values: [String: ParameterValue]

    public init(_ values: [String: ParameterValue] = [:]) { self.values = values }

    public func string(_ name: String) -> String {
        if case .string(let s)? = values[name] { return s }
        return ""
    }

    public func strings(_ name: String) -> [String] {
        if case .strings(let a)? = values[name] { return a }
        return []
    }

    public func integer(_ name: String) -> Int {
        switch values[name] {
        case .integer(let i)?: return i
        case .number(let d)?: return Int(d)
        default: return 0
        }
    }

    public func duration(_ name: String) -> Double {
        if case .duration(let d)? = values[name] { return d }
        return 0
    }

    public func listMap(_ name: String) -> [String: [String]] {
        if case .listMap(let m)? = values[name] { return m }
        return [:]
    }

    public func boolean(_ name: String) -> Bool {
        if case .boolean(let b)? = values[name] { return b }
        return false
    }
}
