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
    public var criteria: [String]
    public var tests: [ControlTestSpec]
}

/// A test a control runs, with its parameters resolved against the test's definition.
public struct ControlTestSpec: Sendable, Equatable {
    public var test: String
    public var parameters: TestParameters
}

/// The loaded catalog: criteria and controls, with the hash of the files they came from.
public struct Catalog: Sendable {
    public var framework: String
    public var frameworkTitle: String
    public var frameworkVersion: String
    public var criteria: [Criterion]
    public var controls: [Control]
    public var files: [String]
    public var sha256: String
    public var sampling: SamplingPolicy = SamplingPolicy()
    /// Reason codes that are observations, not exceptions: findings where the control operated
    /// (a refused change, a forced approval, a fully blocked burst), listed for the auditor's judgement.
    public var observations: Set<String> = []

    public func kind(of reasonCode: String) -> FindingKind { observations.contains(reasonCode) ? .observation : .exception }

    public func criterion(_ id: String) -> Criterion? { criteria.first { $0.id == id } }
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
