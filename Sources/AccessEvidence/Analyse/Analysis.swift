import Foundation

public struct AttributeTally: Sendable, Equatable, Codable {
    public var id: String
    public var label: String
    public var passed: Int
    public var failed: Int
    public var notApplicable: Int
}

public struct TestResult: Sendable {
    public var definition: TestDefinition
    public var parameters: TestParameters
    public var populationCount: Int
    public var attributes: [AttributeTally]
    public var findings: [Finding]
    /// Hash and sample of the population (absent when the run kept no population spool).
    public var population: PopulationSummary? = nil
}

public struct ControlResult: Sendable {
    public var control: Control
    public var tests: [TestResult]
    public var populationCount: Int { tests.reduce(0) { $0 + $1.populationCount } }
    public var findings: [Finding] { tests.flatMap(\.findings) }
}

public enum CriterionStatus: String, Sendable, Codable {
    case effective
    case exceptionsNoted = "exceptions-noted"
    case noPopulation = "no-population"
    case notAddressed = "not-addressed"
}

public struct CriterionResult: Sendable {
    public var criterion: Criterion
    public var status: CriterionStatus
    public var reason: String
    public var controls: [String]
    public var populationCount: Int
    public var exceptionCount: Int
}

public struct AnalysisResult: Sendable {
    public var period: Period
    public var sessionsAnalysed: Int
    public var changesAnalysed: Int
    public var controls: [ControlResult]
    public var criteria: [CriterionResult]
    /// Accepted-exception entries past their expiry: they no longer apply, and say so.
    public var expiredAcceptances: [AcceptedExceptions.Entry]
    public var unusedAcceptances: [AcceptedExceptions.Entry]
}

/// Runs every control's tests over one pass of the session stream. Only counts and
/// exceptions are kept, so memory does not grow with the number of sessions.
public final class Analyzer {
    final class RunningTest {
        let control: Control
        let spec: ControlTestSpec
        let definition: TestDefinition
        let test: any SessionTest
        var population = 0
        var tallies: [String: (pass: Int, fail: Int, na: Int)] = [:]
        var findings: [Finding] = []

        init(control: Control, spec: ControlTestSpec, definition: TestDefinition) {
            self.control = control
            self.spec = spec
            self.definition = definition
            self.test = definition.make(spec.parameters)
        }
    }

    let catalog: Catalog
    let context: AnalysisContext
    let accepted: AcceptedExceptions?
    let running: [RunningTest]
    private(set) var spool: PopulationSpool?
    let sampleSeed: String
    public private(set) var sessionsAnalysed = 0
    public private(set) var changesAnalysed = 0

    /// `keepPopulations` spools every tested item to a temporary file for hashing, sampling and listing.
    public init(catalog: Catalog, context: AnalysisContext, accepted: AcceptedExceptions? = nil,
                keepPopulations: Bool = false, sampleSeed: String = "0", spoolDirectory: URL? = nil) throws {
        self.catalog = catalog
        self.context = context
        self.accepted = accepted
        self.spool = keepPopulations ? try PopulationSpool(directory: spoolDirectory) : nil
        self.sampleSeed = sampleSeed
        running = catalog.controls.flatMap { control in
            control.tests.compactMap { spec in
                ControlTestRegistry.definition(spec.test).map { RunningTest(control: control, spec: spec, definition: $0) }
            }
        }
    }

    public func observe(_ session: SessionRecord) throws {
        sessionsAnalysed += 1
        for (index, run) in running.enumerated() { try record(run.test.evaluate(session, context), in: run, index) }
    }

    public func observe(_ change: ConfigChange) throws {
        changesAnalysed += 1
        for (index, run) in running.enumerated() { try record(run.test.evaluate(change, context), in: run, index) }
    }

    func record(_ items: [ItemResult], in run: RunningTest, _ index: Int) throws {
            for raw in items {
                // Item keys and subjects come from the store: gated once here, so the population
                // rows, their hash, the samples and the fingerprints all agree with what is shown.
                var item = raw
                item.itemID = OutputGate.text(raw.itemID)
                item.subject.sessionID = OutputGate.text(raw.subject.sessionID)
                item.subject.identity = OutputGate.text(raw.subject.identity)
                item.subject.resource = OutputGate.text(raw.subject.resource)
                run.population += 1
                try spool?.add(test: index, item)
                for (attribute, outcome) in item.attributes {
                    var t = run.tallies[attribute] ?? (0, 0, 0)
                    switch outcome {
                    case .pass: t.pass += 1
                    case .fail: t.fail += 1
                    case .notApplicable: t.na += 1
                    }
                    run.tallies[attribute] = t
                }
                for e in item.exceptions {
                    run.findings.append(Finding(
                        fingerprint: Finding.fingerprint(control: run.control.id, test: run.definition.id, item: item.itemID, reason: e.reasonCode),
                        controlID: run.control.id, test: run.definition.id, criteria: run.control.criteria,
                        itemID: item.itemID, sessionID: item.subject.sessionID, identity: item.subject.identity,
                        resource: item.subject.resource, time: e.time ?? item.subject.time, reasonCode: e.reasonCode,
                        reason: Evidence.reason(e.reason), severity: e.severity, failedAttributes: e.failedAttributes, evidence: e.evidence))
                }
            }
    }

    /// The rows of one control's populations in canonical order, each with the test it belongs to.
    public func forEachPopulationRow(control: String, _ body: (String, PopulationRow) throws -> Void) throws {
        guard let spool else { return }
        for (index, run) in running.enumerated() where run.control.id == control {
            try spool.forEachRow(test: index) { try body(run.definition.id, $0) }
        }
    }

    /// Removes the population spool once every listing has been written (it must not outlive the
    /// staging folder it was put in, nor be listed in the report's manifest).
    public func closeSpool() throws {
        spool = nil
    }

    public func finish() throws -> AnalysisResult {
        for (index, run) in running.enumerated() { try record(run.test.finish(context), in: run, index) }
        try spool?.seal()
        var used = Set<String>()
        if let accepted {
            for run in running {
                for i in run.findings.indices {
                    if let entry = accepted.acceptance(of: run.findings[i], asOf: context.asOf) {
                        run.findings[i].acceptedBy = entry
                        used.insert(entry.id)
                    }
                }
            }
        }
        let entries = accepted?.entries ?? []
        let expired = entries.filter { accepted!.isExpired($0, asOf: context.asOf) }
        let unused = entries.filter { !used.contains($0.id) && !accepted!.isExpired($0, asOf: context.asOf) }
        var controlResults: [ControlResult] = []
        for control in catalog.controls {
            let tests = try running.enumerated().filter { $0.element.control.id == control.id }.map { index, run in
                var result = TestResult(
                    definition: run.definition, parameters: run.spec.parameters, populationCount: run.population,
                    attributes: run.definition.attributes.map { a in
                        let t = run.tallies[a.id] ?? (0, 0, 0)
                        return AttributeTally(id: a.id, label: a.label, passed: t.pass, failed: t.fail, notApplicable: t.na)
                    },
                    findings: run.findings.sorted(by: Finding.ordered))
                if let spool {
                    result.population = try Sampler.summarize(spool: spool, test: index, sampleSize: catalog.sampling.size(for: control),
                                                              seed: sampleSeed)
                }
                return result
            }
            controlResults.append(ControlResult(control: control, tests: tests))
        }
        return AnalysisResult(period: context.period, sessionsAnalysed: sessionsAnalysed, changesAnalysed: changesAnalysed,
                              controls: controlResults, criteria: RollUp.criteria(catalog: catalog, controls: controlResults),
                              expiredAcceptances: expired, unusedAcceptances: unused)
    }
}

/// Gives each criterion one status from the controls that support it.
public enum RollUp {
    public static func criteria(catalog: Catalog, controls: [ControlResult]) -> [CriterionResult] {
        catalog.criteria.map { criterion in
            let linked = controls.filter { $0.control.criteria.contains(criterion.id) }
            let ids = linked.map(\.control.id).sorted()
            let population = linked.reduce(0) { $0 + $1.populationCount }
            let exceptions = linked.reduce(0) { $0 + $1.findings.count }
            let status: CriterionStatus
            let reason: String
            if linked.isEmpty {
                status = .notAddressed
                reason = criterion.gatewayEvidence == .none
                    ? criterion.reason
                    : "No control in the catalog tests this criterion. \(criterion.reason)"
            } else if exceptions > 0 {
                status = .exceptionsNoted
                let failing = linked.filter { !$0.findings.isEmpty }.map(\.control.id).sorted()
                reason = "\(exceptions) exception\(exceptions == 1 ? "" : "s") in \(failing.joined(separator: ", "))"
            } else if population == 0 {
                status = .noPopulation
                reason = "No items to test in the period for \(ids.joined(separator: ", "))"
            } else {
                status = .effective
                reason = "\(population) item\(population == 1 ? "" : "s") tested by \(ids.joined(separator: ", ")) without exception"
            }
            return CriterionResult(criterion: criterion, status: status, reason: reason, controls: ids,
                                   populationCount: population, exceptionCount: exceptions)
        }
    }
}
