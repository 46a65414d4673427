import Foundation

/// Facts every test may consult besides the session itself.
public struct AnalysisContext: Sendable {
    public var period: Period
    public var directory: StoreDirectory

    public init(period: Period, directory: StoreDirectory) {
        self.period = period
        self.directory = directory
    }
}

/// A control test turns each session into results for the items of its population.
/// Tests are created per run and see sessions one at a time, so they may keep state.
public protocol SessionTest: AnyObject {
    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult]
}

public struct TestDefinition: Sendable {
    public var id: String
    public var title: String
    /// What the population is, in an auditor's words.
    public var population: String
    public var attributes: [AttributeDefinition]
    public var parameters: [ParameterDefinition]
    public var make: @Sendable (TestParameters) -> any SessionTest
}

/// The tests a catalog may name.
public enum ControlTestRegistry {
    public static let all: [TestDefinition] = [
        IdentityAttributionTest.definition,
        TerminatedUserAccessTest.definition,
        PrivilegedCommandApprovalTest.definition,
        MaskingCoverageTest.definition,
        GuardrailBlockTest.definition,
    ]

    public static func definition(_ id: String) -> TestDefinition? { all.first { $0.id == id } }
}
