import Foundation

/// How far gateway records can evidence a criterion.
public enum GatewayEvidence: String, Sendable, Codable, CaseIterable {
    case primary, supporting, none
}

public struct Criterion: Sendable, Equatable {
    public var id: String
    public var series: String
    public var seriesTitle: String
    public var category: String
    public var title: String
    public var summary: String
    public var gatewayEvidence: GatewayEvidence
    public var reason: String
    /// How the framework itself classes the requirement, where it does (HIPAA: `required`,
    /// `addressable`, or `standard` for a standard with implementation specifications).
    public var obligation: String? = nil
}

/// One framework's requirements, from one criteria file (`framework: KEY`).
public struct Framework: Sendable {
    /// The key controls' crosswalks and `--framework` name it by: `soc2`, `iso27001`, `pci-dss`, …
    public var id: String
    public var title: String
    public var version: String
    /// The criteria file it came from.
    public var file: String
    public var criteria: [Criterion]

    public func criterion(_ id: String) -> Criterion? { criteria.first { $0.id == id } }

    /// The key a catalog without a framework map names its criteria by, and the default `--framework`.
    public static let defaultID = "soc2"

    /// How people name the framework in a heading or before a requirement id (`SOC 2 CC6.1`,
    /// `ISO 27001 A.8.32`): the shipped frameworks by their common names, any other by its title.
    public var shortName: String { Self.shortName(id: id, title: title) }

    public static func shortName(id: String, title: String) -> String {
        switch id {
        case "soc2": return "SOC 2"
        case "iso27001": return "ISO 27001"
        case "pci-dss": return "PCI DSS"
        case "hipaa": return "HIPAA"
        case "nist-800-53": return "NIST 800-53"
        default: return title.isEmpty ? id : title
        }
    }

    /// Requirement ids named with their framework: `SOC 2 CC6.1`, `ISO 27001 A.8.32`.
    public static func qualified(_ ids: [String], id: String, title: String) -> [String] {
        let name = shortName(id: id, title: title)
        return ids.map { "\(name) \($0)" }
    }

    /// The sentence under a framework's criteria: where the ids come from and that the words are ours.
    public var sourceNote: String { Self.sourceNote(id: id, title: title, version: version) }

    public static func sourceNote(id: String, title: String, version: String) -> String {
        id == defaultID
            ? "Criterion IDs follow the AICPA 2017 Trust Services Criteria; titles and summaries are our own words. The full wording is in the AICPA publication."
            : "Requirement IDs follow \(title) (\(version)); titles and summaries are our own words. The full wording is in the standard itself."
    }
}

/// How often a control operates; drives the auditor's sample size.
public enum Frequency: String, Sendable, Codable, CaseIterable {
    case annual, quarterly, monthly, weekly, daily
    case perEvent = "per-event"
    case continuous
}

public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case low, medium, high, critical

    var rank: Int { Severity.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

public struct Control: Sendable, Equatable {
    public var id: String
    public var title: String
    public var description: String
    public var owner: String
    public var frequency: Frequency
    /// High-risk controls get the larger sample.
    public var highRisk: Bool
    /// The requirements the control supports in the run's first framework (SOC 2 by default): what
    /// its exceptions are listed under.
    public var criteria: [String]
    /// Framework key → the requirements the control supports in that framework.
    public var crosswalk: [String: [String]]
    public var tests: [ControlTestSpec]
}

/// A test a control runs, with its parameters resolved against the test's definition.
public struct ControlTestSpec: Sendable, Equatable {
    public var test: String
    public var parameters: TestParameters
}

/// The loaded catalog: every framework's criteria and the controls, with the hash of the files they
/// came from, and the frameworks a run reports against (`--framework`; SOC 2 unless chosen).
public struct Catalog: Sendable {
    /// Every framework of the catalog folder: the default one first, then by file name.
    public private(set) var allFrameworks: [Framework]
    /// The frameworks a run reports against, in the order chosen; the first is the run's primary
    /// framework (its criteria are `criteria`, and exceptions are listed under its requirements).
    public private(set) var frameworks: [Framework]
    public private(set) var controls: [Control]
    public var files: [String]
    public var sha256: String
    public var sampling: SamplingPolicy = SamplingPolicy()
    /// Reason codes that are observations, not exceptions: findings where the control operated
    /// (a refused change, a forced approval, a fully blocked burst), listed for the auditor's judgement.
    public var observations: Set<String> = []

    public func kind(of reasonCode: String) -> FindingKind { observations.contains(reasonCode) ? .observation : .exception }

    public func criterion(_ id: String) -> Criterion? { criteria.first { $0.id == id } }

    public var framework: String { frameworks.first?.id ?? "" }
    public var frameworkTitle: String { frameworks.first?.title ?? "" }
    public var frameworkVersion: String { frameworks.first?.version ?? "" }
    /// The primary framework's criteria.
    public var criteria: [Criterion] { frameworks.first?.criteria ?? [] }

    init(frameworks: [Framework], controls: [Control], files: [String], sha256: String, sampling: SamplingPolicy, observations: Set<String>) {
        allFrameworks = frameworks
        self.frameworks = []
        self.controls = controls
        self.files = files
        self.sha256 = sha256
        self.sampling = sampling
        self.observations = observations
        let first = frameworks.first { $0.id == Framework.defaultID } ?? frameworks.first
        select(first.map { [$0] } ?? [])
    }

    /// The same catalog reporting against `keys` (framework keys, or `all`), in that order; `option`
    /// names where they came from in an error.
    public func choosing(_ keys: [String], option: String = "--framework") throws -> Catalog {
        var chosen: [Framework] = []
        for key in keys {
            let wanted = key.trimmed(.whitespaces).lowercased()
            if wanted == "all" {
                chosen += allFrameworks.filter { f in !chosen.contains { $0.id == f.id } }
                continue
            }
            guard let f = allFrameworks.first(where: { $0.id == Self.canonicalKey(wanted) }) else {
                throw CatalogError(problems: ["\(option): unknown framework '\(key)' (the catalog has: \(allFrameworks.map(\.id).joined(separator: ", ")), or all)"])
            }
            if !chosen.contains(where: { $0.id == f.id }) { chosen.append(f) }
        }
        guard !chosen.isEmpty else { throw CatalogError(problems: ["\(option): name at least one framework (the catalog has: \(allFrameworks.map(\.id).joined(separator: ", ")))"]) }
        var copy = self
        copy.select(chosen)
        return copy
    }

    private mutating func select(_ chosen: [Framework]) {
        frameworks = chosen
        let primary = chosen.first?.id ?? ""
        controls = controls.map { c in var c = c; c.criteria = c.crosswalk[primary] ?? []; return c }
    }

    /// Earlier catalogs named SOC 2 `soc2-tsc`; both name the same framework.
    static func canonicalKey(_ key: String) -> String { key == "soc2-tsc" ? Framework.defaultID : key }
}

/// How many items an auditor samples from a control's population, by how often the control runs.
public struct SamplingPolicy: Sendable, Equatable, Codable {
    public var sizes: [String: Int] = ["annual": 1, "quarterly": 2, "monthly": 2, "weekly": 5, "daily": 25, "per-event": 25, "continuous": 25]
    public var highRisk: Int = 40

    public init() {}

    public func size(for control: Control) -> Int {
        let base = sizes[control.frequency.rawValue] ?? 25
        return control.highRisk ? max(base, highRisk) : base
    }
}

/// Every problem found while loading a catalog, each as `file:line:column: message`.
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}
