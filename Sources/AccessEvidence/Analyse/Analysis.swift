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
    /// Hash and sample of the population (absent when the run kept no populations).
    public var population: PopulationSummary? = nil
    /// From the source to the population, with the count at each step (`TestDefinition.walk`).
    public var walk: [WalkStep] = []
    /// What the test assumed or could not test (`SessionTest.notes`).
    public var notes: [String] = []
    /// Why the source cannot feed the test, which was then not run (nil: it was run).
    public var notSupported: String? = nil
    /// Findings that are exceptions (the control failed), not observations.
    public var exceptions: [Finding] { findings.filter { $0.kind == .exception } }
    public var observations: [Finding] { findings.filter { $0.kind == .observation } }
}

/// One step of a completeness walk: what was counted, and how many.
public struct WalkStep: Sendable, Codable, Equatable {
    public var step: String
    public var count: Int
}

public struct ControlResult: Sendable {
    public var control: Control
    public var tests: [TestResult]
    public var populationCount: Int { tests.reduce(0) { $0 + $1.populationCount } }
    public var findings: [Finding] { tests.flatMap(\.findings) }
    public var exceptions: [Finding] { tests.flatMap(\.exceptions) }
    public var observations: [Finding] { tests.flatMap(\.observations) }
}

/// A criterion's standing from gateway testing alone: the words claim no more than the tool tested.
public enum CriterionStatus: String, Sendable, Codable {
    /// Items were tested and none failed ("no exceptions in gateway testing").
    case noExceptions = "no-exceptions"
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
    public var observationCount: Int = 0
    /// Per test behind the criterion: its population and exceptions, rather than a sum of unlike items.
    public var tests: [CriterionTest] = []
}

public struct CriterionTest: Sendable, Codable, Equatable {
    public var control: String
    public var test: String
    public var population: Int
    public var exceptions: Int
    public var observations: Int
}

/// One framework's roll-up: every requirement with its status from the controls that support it.
public struct FrameworkResult: Sendable {
    public var framework: Framework
    public var criteria: [CriterionResult]
}

public struct AnalysisResult: Sendable {
    public var period: Period
    public var sessionsAnalysed: Int
    public var changesAnalysed: Int
    public var controls: [ControlResult]
    /// Per chosen framework, in the order chosen.
    public var frameworks: [FrameworkResult]
    /// The primary (first chosen) framework's roll-up.
    public var criteria: [CriterionResult] { frameworks.first?.criteria ?? [] }
    /// Accepted-exception entries past their expiry: they no longer apply, and say so.
    public var expiredAcceptances: [AcceptedExceptions.Entry]
    public var unusedAcceptances: [AcceptedExceptions.Entry]
    /// Every connection's configured protections as of extraction (`ConnectionPosture`).
    public var posture: [ConnectionPosture] = []
}

/// Runs every control's tests over one pass of the session stream. Each tested item goes, as it is
/// produced, to the population's hash and sample and to every listing (`PopulationSink`); only
/// counts, findings and samples stay in memory, so memory does not grow with the number of sessions.
public final class Analyzer {
    final class RunningTest {
        let control: Control
        let spec: ControlTestSpec
        let definition: TestDefinition
        let test: any SessionTest
        /// Attribute ids in the definition's order (outcomes are kept in that order): a few short
        /// strings, compared in turn, cheaper than hashing each id of each item.
        let attributeIDs: [String]
        var population = 0
        var tallies: [(pass: Int, fail: Int, na: Int)]
        var findings: [Finding] = []
        /// Position in the run: where the writing side keeps the test's hash, sample and listing.
        let index: Int
        /// Whether the population is hashed and listed: fixed before any row is written.
        let listed: Bool
        /// Why the source cannot feed the test (`TestDefinition.needs`): it is then not run.
        let notSupported: String?
        /// First of the test's places in `Analyzer.recent`: its item key, then one per fact.
        var slots = 0

        init(control: Control, spec: ControlTestSpec, definition: TestDefinition, index: Int, listed: Bool,
             unsupported: [String: String]) {
            self.index = index
            let missing = definition.needs.compactMap { unsupported[$0] }
            notSupported = missing.isEmpty ? nil : missing.joined(separator: "; ")
            self.listed = listed
            self.control = control
            self.spec = spec
            self.definition = definition
            self.test = definition.make(spec.parameters)
            attributeIDs = definition.attributes.map(\.id)
            tallies = Array(repeating: (0, 0, 0), count: definition.attributes.count)
        }
    }

    let catalog: Catalog
    let context: AnalysisContext
    let accepted: AcceptedExceptions?
    let running: [RunningTest]
    /// The tests the source can feed: the ones that see records.
    let supported: [RunningTest]
    let sampleSeed: String
    /// Gated values of the strings met most recently: every test of a session repeats its id,
    /// identity and connection, and identities and connections repeat across sessions, so most
    /// values are gated once instead of once per item. Bounded (`Memo`: two generations).
    private let gated = Memo<String, String>()
    /// The last two values gated in each place, with their gated forms (`recent[2 × slot]` the
    /// latest): the session's id, identity and resource (slots 0–2), then per test its item key and
    /// its facts (`RunningTest.slots`). Two, as many facts alternate between a few values from item to
    /// item (`yes`/`no`, one of two groups, a connection and the next), which one entry missed
    /// every other time, each miss then hashing the text for the memo.
    private var recent: [(input: String, output: String)]
    /// With `background`, the population rows are encoded, hashed, sampled and written by a thread
    /// of their own while the tests go on (in the order they were produced, so the bytes are the
    /// same as without it).
    private let writers: SerialWorker?
    /// Rows on their way to the writing side, and each one's test by position. By position, not by
    /// `RunningTest`: a reference taken here and dropped there moves the test's counts between cores.
    /// Two arrays, so the rows go to the writing side as an array of rows alone, which it takes
    /// over (see `handOver`).
    private var pendingRows: [PopulationRow] = []
    private var pendingTests: [Int] = []
    /// The writing side's own state, apart from the tests' counts and findings: the hashing thread
    /// writes it for every row, and sharing memory with what the analysing thread updates for every
    /// item made each core's writes evict the other's.
    private let listing: ListingState

    /// Per test, its population's hash and sample and what its listings lay out their rows by, and
    /// the sinks. With a background writer only that thread touches it until `finish` has drained it.
    final class ListingState {
        var digests: [PopulationDigest?]
        let tests: [PopulationTest]
        let sinks: [any PopulationSink]

        init(digests: [PopulationDigest?], tests: [PopulationTest], sinks: [any PopulationSink]) {
            (self.digests, self.tests, self.sinks) = (digests, tests, sinks)
        }

        /// Encodes one row, adds it to its population's hash and sample, and gives it to every sink.
        /// `inout` only so the caller lends the row in place: it is not changed.
        func write(_ row: inout PopulationRow, of test: Int) throws {
            let record = PopulationCSV.record(row)
            digests[test]!.add(row, record: record)
            let shape = tests[test]
            for sink in sinks { try sink.add(row, record: record, test: shape) }
        }
    }
    public private(set) var sessionsAnalysed = 0
    public private(set) var changesAnalysed = 0

    /// The tests the catalog runs, in run order: what listings lay out their files and sheets by.
    public static func tests(of catalog: Catalog) -> [PopulationTest] {
        var out: [PopulationTest] = []
        for control in catalog.controls {
            for spec in control.tests {
                if let definition = ControlTestRegistry.definition(spec.test) {
                    out.append(PopulationTest(index: out.count, control: control, definition: definition))
                }
            }
        }
        return out
    }

    /// `keepPopulations` hashes and samples every population; `sinks` receive every item as it is tested.
    public init(catalog: Catalog, context: AnalysisContext, accepted: AcceptedExceptions? = nil,
                keepPopulations: Bool = false, sampleSeed: String = "0", sinks: [any PopulationSink] = [],
                background: Bool = false) {
        self.catalog = catalog
        self.context = context
        self.accepted = accepted
        self.sampleSeed = sampleSeed
        let specs = catalog.controls.flatMap { control in control.tests.map { (control, $0) } }
            .filter { ControlTestRegistry.definition($0.1.test) != nil }
        let tests = Self.tests(of: catalog)
        let listed = keepPopulations || !sinks.isEmpty
        running = zip(tests, specs).map { test, pair in
            RunningTest(control: test.control, spec: pair.1, definition: test.definition, index: test.index, listed: listed,
                        unsupported: context.directory.unsupported)
        }
        listing = ListingState(digests: tests.map { test in
            listed ? PopulationDigest(sampleSize: catalog.sampling.size(for: test.control), seed: sampleSeed) : nil
        }, tests: tests, sinks: sinks)
        supported = running.filter { $0.notSupported == nil }
        var slots = 3
        for run in running {
            run.slots = slots
            slots += 1 + run.definition.facts.count
        }
        recent = Array(repeating: ("", ""), count: 2 * slots)
        writers = background && running.contains { $0.listed } ? SerialWorker(name: "access-evidence populations") : nil
    }

    deinit { writers?.stop() }

    /// On an error path: the population writers stop (rows not yet written are dropped) before the
    /// caller abandons the sinks they write to.
    public func abandon() { writers?.stop() }

    public func observe(_ session: SessionRecord) throws {
        sessionsAnalysed += 1
        for run in supported { try record(run.test.evaluate(session, context), in: run) }
    }

    public func observe(_ change: ConfigChange) throws {
        changesAnalysed += 1
        for run in supported { try record(run.test.evaluate(change, context), in: run) }
    }

    func record(_ items: [ItemResult], in run: RunningTest) throws {
        for raw in items {
            // Item keys, subjects and facts come from the store: gated once here, so the listings,
            // their hash, the samples and the fingerprints all agree with what is shown.
            // Session ids and item keys are unique to their item: the memo would only hash and keep them.
            let session = gate(raw.subject.sessionID, slot: 0, unique: true)
            let identity = gate(raw.subject.identity, slot: 1)
            let resource = gate(raw.subject.resource, slot: 2)
            // Most items are sessions: their key is the session's id, gated just above.
            let itemID = raw.itemID == raw.subject.sessionID ? session : gate(raw.itemID, slot: run.slots, unique: true)
            let factCount = run.definition.facts.count
            var facts: [String] = []
            facts.reserveCapacity(factCount)
            for (i, fact) in raw.facts.prefix(factCount).enumerated() {
                facts.append(fact.isEmpty ? fact : gate(fact, slot: run.slots + 1 + i))
            }
            while facts.count < factCount { facts.append("") }
            var outcomes = Array(repeating: AttributeOutcome.notApplicable, count: run.tallies.count)
            for (attribute, outcome) in raw.attributes {
                guard let i = run.attributeIDs.firstIndex(of: attribute) else { continue }
                outcomes[i] = outcome
            }
            for (i, outcome) in outcomes.enumerated() {
                switch outcome {
                case .pass: run.tallies[i].pass += 1
                case .fail: run.tallies[i].fail += 1
                case .notApplicable: run.tallies[i].na += 1
                }
            }
            run.population += 1
            for e in raw.exceptions {
                var finding = Finding(
                    fingerprint: Finding.fingerprint(control: run.control.id, test: run.definition.id, item: itemID, reason: e.reasonCode),
                    controlID: run.control.id, test: run.definition.id, criteria: run.control.criteria,
                    itemID: itemID, sessionID: session, identity: identity,
                    resource: resource, time: e.time ?? raw.subject.time, reasonCode: e.reasonCode,
                    reason: Evidence.reason(e.reason), severity: e.severity, failedAttributes: e.failedAttributes, evidence: e.evidence)
                finding.kind = catalog.kind(of: e.reasonCode)
                finding.facts = facts
                run.findings.append(finding)
            }
            guard run.listed else { continue }
            let row = PopulationRow(item: itemID, session: session, identity: identity, resource: resource, time: raw.subject.time,
                                    outcomes: outcomes, exceptions: raw.exceptions.map(\.reasonCode), facts: facts)
            guard let writers else {
                var written = consume row
                try listing.write(&written, of: run.index)
                continue
            }
            pendingRows.append(consume row)
            pendingTests.append(run.index)
            if pendingRows.count >= 256 { try handOver(to: writers) }
        }
    }


    private func handOver(to writers: SerialWorker) throws {
        // The listing state, not the analyzer: the writing thread reads nothing the analysing one writes.
        let batch = UnsafeTransfer(RowBatch(rows: pendingRows, tests: pendingTests)), state = UnsafeTransfer(listing)
        pendingRows.removeAll(keepingCapacity: true)
        pendingTests.removeAll(keepingCapacity: true)
        try writers.submit {
            // The rows taken out of the batch, so this array is their only owner, and each is lent to
            // `write` in place (`inout`). Read from an array or a buffer instead, each row was copied
            // for the call (a retain of each of its fields, then a release), as the callee might
            // otherwise see the memory change under it.
            var rows = batch.value.rows
            batch.value.rows = []
            let tests = batch.value.tests
            for i in rows.indices { try state.value.write(&rows[i], of: tests[i]) }
        }
    }

    /// One hand-over's rows, a box so the writing side can take the rows and own them alone.
    private final class RowBatch {
        var rows: [PopulationRow]
        let tests: [Int]
        init(rows: [PopulationRow], tests: [Int]) { (self.rows, self.tests) = (rows, tests) }
    }

    /// `gate`, first compared with the last value met in the same place (`slot`): a session's id,
    /// identity and connection come back on every item of every test of the session, and a test's
    /// facts often repeat from one item to the next. Comparing costs less than hashing the text
    /// for the memo (the same string object compares without reading it).
    private func gate(_ value: String, slot: Int, unique: Bool = false) -> String {
        let at = 2 * slot
        if recent[at].input == value { return recent[at].output }
        if recent[at + 1].input == value {
            recent.swapAt(at, at + 1)
            return recent[at].output
        }
        let output = unique ? gateOnce(value) : gate(value)
        recent[at + 1] = recent[at]
        recent[at] = (value, output)
        return output
    }

    /// `OutputGate.text`, remembered for short values (ids, identities, connection names, and facts:
    /// statuses, kinds, group names and the same commands recur on item after item). The gate is a
    /// pure function, so what is remembered never changes an output; the bound keeps memory flat.
    func gate(_ value: String) -> String {
        // Text in the shape of the tool's own timestamps (most facts that differ from item to item are
        // times the tests wrote) holds nothing the gate would change, whoever wrote it: digit runs are
        // cut by `T` and `:` below any card or SSN length, and no other rule matches without letters.
        // `gateLeavesTimestampShapedTextAsItIs` checks it on timestamps and on random digits in that shape.
        if Timestamp.isFormatted(value) { return value }
        return gated.value(value, remember: value.utf8.count <= 256) { OutputGate.text(value) }
    }

    /// `gate` for a value that will not come back in another item (a session's id, an item key):
    /// not looked up in the memo nor kept there, where it would push out values that do recur.
    func gateOnce(_ value: String) -> String {
        Timestamp.isFormatted(value) ? value : OutputGate.text(value)
    }

    public func finish() throws -> AnalysisResult {
        for run in supported { try record(run.test.finish(context), in: run) }
        if let writers {
            // Every row written before the populations' hashes and samples are read.
            if !pendingRows.isEmpty { try handOver(to: writers) }
            try writers.drain()
            writers.stop()
        }
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
            let tests = running.filter { $0.control.id == control.id }.map { run in
                var result = TestResult(
                    definition: run.definition, parameters: run.spec.parameters, populationCount: run.population,
                    attributes: run.definition.attributes.enumerated().map { i, a in
                        let t = run.tallies[i]
                        return AttributeTally(id: a.id, label: a.label, passed: t.pass, failed: t.fail, notApplicable: t.na)
                    },
                    findings: run.findings.sorted(by: Finding.ordered))
                result.population = listing.digests[run.index]?.summary()
                result.walk = zip(run.definition.walk, run.test.walkCounts + Array(repeating: 0, count: max(0, run.definition.walk.count - run.test.walkCounts.count)))
                    .map { WalkStep(step: $0.0, count: $0.1) }
                if !result.walk.isEmpty { result.walk.append(WalkStep(step: "Items in the population", count: run.population)) }
                result.notes = run.test.notes
                for limit in context.directory.limited[run.definition.id] ?? [] { result.notes.append("Limited by this source: \(limit).") }
                if let reason = run.notSupported {
                    result.notSupported = reason
                    result.walk = []
                    result.notes.insert("Not supported by this source, so not run: \(reason).", at: 0)
                }
                return result
            }
            controlResults.append(ControlResult(control: control, tests: tests))
        }
        var result = AnalysisResult(period: context.period, sessionsAnalysed: sessionsAnalysed, changesAnalysed: changesAnalysed,
                                    controls: controlResults, frameworks: RollUp.frameworks(catalog.frameworks, controls: controlResults),
                                    expiredAcceptances: expired, unusedAcceptances: unused)
        // Production as the posture test is configured to see it, else as its default.
        let postureTest = running.first { $0.definition.id == ProductionProtectionTest.definition.id }
        let productionTags = (postureTest?.spec.parameters ?? ProductionProtectionTest.definition.defaultParameters).strings("production_tags")
        result.posture = ConnectionPosture.build(context.directory, period: context.period, productionTags: productionTags)
        return result
    }
}

/// Gives each criterion one status from the controls that support it.
public enum RollUp {
    /// The primary framework's roll-up.
    public static func criteria(catalog: Catalog, controls: [ControlResult]) -> [CriterionResult] {
        catalog.frameworks.first.map { framework($0, controls: controls).criteria } ?? []
    }

    /// Every chosen framework's roll-up, the controls' counts taken once.
    public static func frameworks(_ frameworks: [Framework], controls: [ControlResult]) -> [FrameworkResult] {
        let tallies = controls.map(ControlTally.init)
        return frameworks.map { framework($0, tallies: tallies) }
    }

    /// The tests ran once; each framework's requirements take their status from the controls its
    /// crosswalk links them to.
    public static func framework(_ framework: Framework, controls: [ControlResult]) -> FrameworkResult {
        Self.framework(framework, tallies: controls.map(ControlTally.init))
    }

    /// A control's counts, taken once: every requirement its crosswalk names, in every framework,
    /// adds them up.
    struct ControlTally {
        let control: Control
        let population: Int, exceptions: Int, observations: Int
        let tests: [CriterionTest]
        /// Every test of the control is one the source cannot feed.
        let notSupported: Bool
        init(_ result: ControlResult) {
            control = result.control
            notSupported = !result.tests.isEmpty && result.tests.allSatisfy { $0.notSupported != nil }
            tests = result.tests.map { t in
                let exceptions = t.findings.filter { $0.kind == .exception }.count
                return CriterionTest(control: result.control.id, test: t.definition.id, population: t.populationCount,
                                     exceptions: exceptions, observations: t.findings.count - exceptions)
            }
            population = tests.reduce(0) { $0 + $1.population }
            exceptions = tests.reduce(0) { $0 + $1.exceptions }
            observations = tests.reduce(0) { $0 + $1.observations }
        }
    }

    static func framework(_ framework: Framework, tallies: [ControlTally]) -> FrameworkResult {
        let supported = tallies.map { Set($0.control.crosswalk[framework.id] ?? []) }
        let criteria = framework.criteria.map { criterion in
            let linked = zip(tallies, supported).filter { $0.1.contains(criterion.id) }.map(\.0)
            let ids = linked.map(\.control.id).sorted()
            let population = linked.reduce(0) { $0 + $1.population }
            let exceptions = linked.reduce(0) { $0 + $1.exceptions }
            let observations = linked.reduce(0) { $0 + $1.observations }
            let status: CriterionStatus
            let reason: String
            if linked.isEmpty {
                status = .notAddressed
                reason = criterion.gatewayEvidence == .none
                    ? criterion.reason
                    : "No control in the catalog tests this criterion. \(criterion.reason)"
            } else if exceptions > 0 {
                status = .exceptionsNoted
                let failing = linked.filter { $0.exceptions > 0 }.map(\.control.id).sorted()
                reason = "\(exceptions) exception\(exceptions == 1 ? "" : "s") in \(failing.joined(separator: ", "))"
            } else if population == 0, linked.allSatisfy(\.notSupported) {
                status = .noPopulation
                reason = "Not supported by this source: \(ids.joined(separator: ", ")) could not be tested (see the controls)"
            } else if population == 0 {
                status = .noPopulation
                reason = "No items to test in the period for \(ids.joined(separator: ", "))"
            } else {
                status = .noExceptions
                let untested = linked.filter(\.notSupported).map(\.control.id).sorted()
                reason = "No exceptions in gateway testing by \(ids.filter { !untested.contains($0) }.joined(separator: ", ")) (items per test: "
                    + linked.filter { !$0.notSupported }.flatMap(\.tests).map { "\($0.test) \($0.population)" }.joined(separator: ", ") + ")"
                    + (observations > 0 ? "; \(observations) observation\(observations == 1 ? "" : "s") listed for review" : "")
                    + (untested.isEmpty ? "" : "; not supported by this source, so not tested: \(untested.joined(separator: ", "))")
            }
            let perTest = linked.sorted { $0.control.id < $1.control.id }.flatMap(\.tests)
            return CriterionResult(criterion: criterion, status: status, reason: reason, controls: ids,
                                   populationCount: population, exceptionCount: exceptions, observationCount: observations,
                                   tests: perTest)
        }
        return FrameworkResult(framework: framework, criteria: criteria)
    }
}
