import Foundation

/// Facts every test may consult besides the session itself.
public struct AnalysisContext: Sendable {
    public var period: Period
    public var directory: StoreDirectory
    /// The run's timestamp: nothing in the store may be later.
    public var generatedAt: Date
    public var roster: Roster?

    public init(period: Period, directory: StoreDirectory, generatedAt: Date? = nil, roster: Roster? = nil) {
        self.period = period
        self.directory = directory
        self.generatedAt = generatedAt ?? period.end
        self.roster = roster
    }

    /// The moment ages are measured at: the period's end, or the run if it comes first.
    public var asOf: Date { min(period.end, generatedAt) }
}

/// A control test turns sessions and configuration changes into results for the items of its
/// population. Tests are created per run and see records one at a time, so they may keep
/// (bounded) state and conclude in `finish`.
public protocol SessionTest: AnyObject {
    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult]
    func evaluate(_ change: ConfigChange, _ context: AnalysisContext) -> [ItemResult]
    func finish(_ context: AnalysisContext) -> [ItemResult]
    /// How many records reached each step of `TestDefinition.walk` (same order), read at the end of
    /// the run: the completeness walk from the source to the population.
    var walkCounts: [Int] { get }
    /// What the test assumed or could not test, in an auditor's words, read at the end of the run.
    var notes: [String] { get }
}

extension SessionTest {
    public func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] { [] }
    public func evaluate(_ change: ConfigChange, _ context: AnalysisContext) -> [ItemResult] { [] }
    public func finish(_ context: AnalysisContext) -> [ItemResult] { [] }
    public var walkCounts: [Int] { [] }
    public var notes: [String] { [] }
}

public struct TestDefinition: Sendable {
    public var id: String
    public var title: String
    /// What the population is, in an auditor's words.
    public var population: String
    public var attributes: [AttributeDefinition]
    public var parameters: [ParameterDefinition]
    public var make: @Sendable (TestParameters) -> any SessionTest
    /// The facts each item carries (`ItemResult.facts` in this order): the listing's columns.
    public var facts: [FactDefinition] = []
    /// What the population is drawn from: the steps from the source to the population, each
    /// counted during the run (`CompletenessWalk`), e.g. sessions in the period → in scope → items.
    public var walk: [String] = []
    /// Kinds of evidence the test cannot do without (`StoreDirectory.unsupported`): on a source that
    /// records none of one, the test is not run and says so.
    public var needs: [String] = []

    public init(id: String, title: String, population: String, attributes: [AttributeDefinition], parameters: [ParameterDefinition],
                facts: [FactDefinition] = [], walk: [String] = [], needs: [String] = [], make: @escaping @Sendable (TestParameters) -> any SessionTest) {
        self.id = id
        self.title = title
        self.population = population
        self.attributes = attributes
        self.parameters = parameters
        self.facts = facts
        self.walk = walk
        self.needs = needs
        self.make = make
    }

    /// Every parameter at its default: what a catalog entry without `parameters:` gets.
    public var defaultParameters: TestParameters {
        TestParameters(Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.defaultValue) }))
    }
}

/// The tests a catalog may name.
public enum ControlTestRegistry {
    public static let all: [TestDefinition] = [
        IdentityAttributionTest.definition,
        MachineOwnerTest.definition,
        TerminatedUserAccessTest.definition,
        PrivilegedCommandApprovalTest.definition,
        ReviewGateTest.definition,
        PendingApprovalTest.definition,
        MaskingCoverageTest.definition,
        SensitiveOutputTest.definition,
        GuardrailBlockTest.definition,
        AuditTrailTest.definition,
        GuardrailBurstTest.definition,
        HighRiskVerdictTest.definition,
        ConfigurationChangeTest.definition,
        SessionMFATest.definition,
        AccessRequestUseTest.definition,
        ProductionProtectionTest.definition,
    ]

    public static func definition(_ id: String) -> TestDefinition? { all.first { $0.id == id } }
}
