import Foundation

/// The inputs a report is made from besides the analysis: provenance of the run.
public struct ReportContext: Sendable {
    public var toolVersion: String
    public var generatedAt: Date
    public var source: SourceInfo
    public var catalog: Catalog
    public var dataQuality: [DataQualityIssue]
    public var accepted: AcceptedExceptions?
    public var roster: Roster?
    public var reconciliation: Reconciliation?
    public var sampleSeed = "0"
    /// Input files besides the store and catalog (roster, accepted exceptions): hashed into the report.
    public var inputFiles: [EvidenceDocument.InputFile] = []
    /// How the report was run: the command line (secrets removed), user and host.
    public var invocation: EvidenceDocument.Invocation?
    /// Where each test's full population is delivered, by `PopulationTest.index`.
    public var populationFiles: [Int: String] = [:]
    /// Rows of each population the workbook holds, when fewer than the population.
    public var workbookRowLimit: Int?
    /// Base URL of the gateway's web app: session ids become links to `BASE/sessions/ID`.
    public var gatewayURL: String?

    public init(toolVersion: String, generatedAt: Date, source: SourceInfo, catalog: Catalog, dataQuality: [DataQualityIssue]) {
        self.toolVersion = toolVersion
        self.generatedAt = generatedAt
        self.source = source
        self.catalog = catalog
        self.dataQuality = dataQuality
    }
}

/// Sessions the store holds for the period against the sessions tested, with the difference explained.
///
/// The store's figure is a plain SQL count; the reader parses every row, so the two can differ, and
/// differences of opposite sign can cancel out. Each cause is therefore stated on its own (and in
/// `components`), and completeness is claimed only when the counts agree and no cause applies.
public struct Reconciliation: Codable, Sendable, Equatable {
    public var sessionsInStore: Int
    public var sessionsTested: Int
    public var skippedUnreadable: Int
    public var difference: Int
    public var explanation: String
    public var storeQuery: String
    /// The causes met, by name, each a number of rows (only those not zero): `skippedUnreadableCreatedAt`,
    /// `duplicateSessionRows` and `countedOutsidePeriod` (counted, not tested), `testedNotCounted`,
    /// `skippedNotCounted` (neither), `sessionsWithSeveralReviews`, and `unexplained` (what is left).
    public var components: [String: Int]

    public init(sessionsInStore: Int, sessionsTested: Int, skippedUnreadable: Int, storeQuery: String) {
        self.sessionsInStore = sessionsInStore
        self.sessionsTested = sessionsTested
        self.skippedUnreadable = skippedUnreadable
        self.storeQuery = storeQuery
        difference = sessionsInStore &- sessionsTested
        // Without the reader's tally (a store that keeps none) causes of opposite sign cannot be told
        // apart: what is known is stated, and the rest is marked unexplained.
        var parts: [String] = []
        var components: [String: Int] = [:]
        if difference == 0 && skippedUnreadable == 0 { parts.append("Every session the store holds for the period was tested.") }
        if skippedUnreadable > 0 {
            components["skippedUnreadableCreatedAt"] = skippedUnreadable
            parts.append("\(Self.sessions(skippedUnreadable, "was", "were")) skipped because created_at could not be read (see dataQuality).")
        }
        let rest = difference &- skippedUnreadable
        if rest != 0 {
            components["unexplained"] = rest
            parts.append("\(Self.sessions(abs(rest))) \(rest > 0 ? "counted by the plain SQL range were not" : "tested were not counted by the plain SQL range"), most likely because created_at is stored with a time-zone offset or a space separator, which the text range compares differently; the reader parses every timestamp.")
        }
        self.components = components
        explanation = parts.joined(separator: " ")
    }

    /// The difference explained cause by cause from how the reader met the rows (`SourceInfo.sessionTally`);
    /// unchanged when the store gave no tally.
    public func explained(by tally: SessionTally?) -> Reconciliation {
        guard let tally else { return self }
        var r = self
        r.skippedUnreadable = tally.unreadableCreatedAt.total
        var components: [String: Int] = [
            "skippedUnreadableCreatedAt": tally.unreadableCreatedAt.counted,
            "duplicateSessionRows": tally.duplicateRows.counted,
            "countedOutsidePeriod": tally.outsidePeriod.counted,
            "testedNotCounted": tally.tested.notCounted,
            "skippedNotCounted": tally.unreadableCreatedAt.notCounted + tally.duplicateRows.notCounted,
            "sessionsWithSeveralReviews": tally.severalReviews,
        ]
        let accounted = tally.unreadableCreatedAt.counted + tally.duplicateRows.counted + tally.outsidePeriod.counted - tally.tested.notCounted
        components["unexplained"] = difference &- accounted
        components = components.filter { $0.value != 0 }
        r.components = components

        var parts: [String] = []
        if difference == 0 && components.isEmpty { parts.append("Every session the store holds for the period was tested.") }
        if let n = components["skippedUnreadableCreatedAt"] {
            parts.append("\(Self.sessions(n)) counted by the plain SQL range \(n == 1 ? "was" : "were") skipped because created_at could not be read or lies outside the years 2000–2100 (see dataQuality).")
        }
        if let n = components["duplicateSessionRows"] {
            parts.append("\(n) row\(n == 1 ? "" : "s") counted by the plain SQL range repeat\(n == 1 ? "s" : "") a session id another row holds (the same id more than once in sessions); each session is tested once (see dataQuality).")
        }
        if let n = components["countedOutsidePeriod"] {
            parts.append("\(Self.sessions(n)) counted by the plain SQL range \(n == 1 ? "lies" : "lie") outside the period once the time-zone offset of created_at is applied; the reader parses every timestamp.")
        }
        if let n = components["testedNotCounted"] {
            parts.append("\(Self.sessions(n)) tested \(n == 1 ? "was" : "were") not counted by the plain SQL range: created_at is stored with a time-zone offset or a space separator, which the text range compares differently; the reader parses every timestamp.")
        }
        if let n = components["skippedNotCounted"] {
            parts.append("\(n) further row\(n == 1 ? " was" : "s were") skipped (unreadable created_at, or a repeated session id) that the plain SQL range did not count either (see dataQuality).")
        }
        if let n = components["sessionsWithSeveralReviews"] {
            parts.append("\(Self.sessions(n)) \(n == 1 ? "has" : "have") more than one review; each was tested once, with its first review (see dataQuality).")
        }
        if let n = components["unexplained"] {
            parts.append("\(abs(n)) session\(abs(n) == 1 ? "" : "s") of the difference \(abs(n) == 1 ? "is" : "are") not explained by the causes above.")
        }
        r.explanation = parts.joined(separator: " ")
        return r
    }

    static func sessions(_ n: Int, _ singular: String = "", _ plural: String = "") -> String {
        let word = "\(n) session\(n == 1 ? "" : "s")"
        return singular.isEmpty ? word : word + " " + (n == 1 ? singular : plural)
    }
}

/// `report.json`: the complete, versioned, machine-readable evidence. Every array is in a fixed
/// order and every timestamp comes from the data or `generatedAt`, so equal inputs give equal bytes.
public struct EvidenceDocument: Codable, Sendable {
    public static let schemaVersion = "2.1"
    /// The JSON Schema `report.json` follows, shipped in the repository's `Schemas/` folder.
    public static let schemaID = "https://access-evidence.dev/schemas/report-2.1.json"

    public var schema: String
    public var schemaVersion: String
    public var tool: Tool
    public var generatedAt: String
    public var period: PeriodDoc
    public var source: Source
    public var catalog: CatalogDoc
    public var summary: Summary
    /// The primary (first chosen) framework's criteria: the same as `frameworks[0].criteria`, kept
    /// where readers of earlier reports look for them.
    public var criteria: [CriterionDoc]
    /// Every framework the run reports against, in the order chosen, with its roll-up and coverage.
    public var frameworks: [FrameworkDoc]
    public var controls: [ControlDoc]
    public var dataQuality: [DataQualityIssue]
    /// Every connection's configured protections as of extraction, and their changes in the period.
    public var posture: [ConnectionPosture]
    public var acceptedExceptions: AcceptedDoc?
    public var roster: RosterDoc?
    public var reconciliation: Reconciliation?
    public var inputs: [InputFile]
    public var invocation: Invocation?
    public var gatewayURL: String?

    enum CodingKeys: String, CodingKey {
        case schema = "$schema"
        case schemaVersion, tool, generatedAt, period, source, catalog, summary, criteria, frameworks, controls, dataQuality, posture
        case acceptedExceptions, roster, reconciliation, inputs, invocation, gatewayURL
    }

    /// An input file that changes results (roster, accepted exceptions): where, its hash and entries.
    public struct InputFile: Codable, Sendable, Equatable {
        public var role: String; public var path: String; public var sha256: String; public var entries: Int
        public init(role: String, path: String, sha256: String, entries: Int) {
            self.role = role; self.path = path; self.sha256 = sha256; self.entries = entries
        }
    }
    /// Who ran the report, where, and how (the command line with secrets removed).
    public struct Invocation: Codable, Sendable, Equatable {
        public var commandLine: String; public var user: String; public var host: String
        public init(commandLine: String, user: String, host: String) {
            self.commandLine = commandLine; self.user = user; self.host = host
        }
    }

    public struct AcceptedDoc: Codable, Sendable {
        public var source: String
        public var applied: Int
        public var expired: [AcceptedExceptions.Entry]
        public var unused: [AcceptedExceptions.Entry]
    }
    public struct RosterDoc: Codable, Sendable { public var source: String; public var entries: Int }

    public struct Tool: Codable, Sendable { public var name: String; public var version: String }
    public struct PeriodDoc: Codable, Sendable {
        public var label: String; public var start: String; public var end: String; public var timeZone: String
    }
    public struct Source: Codable, Sendable {
        public var kind: String; public var location: String; public var sha256: String?
        public var schemaVersion: String?; public var rowCounts: [String: Int]; public var sessionsInPeriod: Int
        public var queries: [String: String]
        /// Set when the store is a snapshot: its origin, extraction time and verified table hashes.
        public var snapshot: SnapshotProvenance?
        /// The tenant read, when the store names one; the counts are of its rows only.
        public var organization: OrganizationRef?
        /// Columns of later hoop versions the store lacks, with what each limits; absent when none.
        public var absentColumns: [AbsentColumn]?

        /// One sentence on a snapshot's origin for the HTML cover and the workbook; empty otherwise.
        public var snapshotLine: String {
            guard let s = snapshot else { return "" }
            return "extracted from \(s.extractedFrom) at \(s.extractedAt) (schema \(s.schemaVersion ?? "unknown"), \(s.period)) by \(s.tool); "
                + "\(s.tables.count) tables match the extract manifest's row counts and SHA-256"
        }
    }
    public struct CatalogDoc: Codable, Sendable {
        public var framework: String; public var title: String; public var version: String
        public var files: [String]; public var sha256: String
    }
    public struct Summary: Codable, Sendable {
        public var criteria: [String: Int]
        public var controls: Int
        /// Findings where the control failed; observations are counted apart.
        public var exceptions: Int
        public var exceptionsBySeverity: [String: Int]
        public var exceptionsOpen: Int
        public var exceptionsAccepted: Int
        public var observations: Int
        public var dataQualityIssues: Int
    }
    public struct FrameworkDoc: Codable, Sendable {
        /// The key `--framework` and the controls' crosswalks name it by.
        public var id: String; public var title: String; public var version: String
        /// The catalog file its requirements come from.
        public var file: String
        public var coverage: Coverage
        public var criteria: [CriterionDoc]
    }
    /// How far gateway testing reaches into a framework: its requirements counted by status.
    public struct Coverage: Codable, Sendable, Equatable {
        public var requirements: Int
        /// Requirements a tested control supports (any status but not-addressed).
        public var withGatewayEvidence: Int
        public var withExceptions: Int
        public var noExceptions: Int
        public var noPopulation: Int
        public var notAddressed: Int
        /// Not addressed although the framework file marks gateway evidence as primary or supporting:
        /// where the catalog could add a control.
        public var evidenceExpectedNotTested: Int

        init(_ criteria: [CriterionDoc]) {
            func count(_ status: CriterionStatus) -> Int { criteria.filter { $0.status == status.rawValue }.count }
            requirements = criteria.count
            withExceptions = count(.exceptionsNoted)
            noExceptions = count(.noExceptions)
            noPopulation = count(.noPopulation)
            notAddressed = count(.notAddressed)
            withGatewayEvidence = requirements - notAddressed
            evidenceExpectedNotTested = criteria.filter {
                $0.status == CriterionStatus.notAddressed.rawValue && $0.gatewayEvidence != GatewayEvidence.none.rawValue
            }.count
        }
    }
    public struct CriterionDoc: Codable, Sendable {
        public var id: String; public var series: String; public var seriesTitle: String; public var category: String
        public var title: String; public var gatewayEvidence: String; public var status: String; public var reason: String
        /// How the framework classes the requirement, where it does (HIPAA: required, addressable, standard).
        public var obligation: String?
        public var controls: [String]; public var populationCount: Int; public var exceptionCount: Int
        public var observationCount: Int
        /// Each test behind the criterion with its own counts: one exception can support several criteria,
        /// and items of different tests are not added up as one unit.
        public var tests: [CriterionTest]
    }
    public struct ControlDoc: Codable, Sendable {
        public var id: String; public var title: String; public var description: String; public var owner: String
        public var frequency: String; public var highRisk: Bool; public var criteria: [String]
        /// Framework key → the requirements the control supports, for every framework of the run.
        public var crosswalk: [String: [String]]
        public var populationCount: Int; public var exceptionCount: Int; public var observationCount: Int
        public var tests: [TestDoc]
    }
    public struct TestDoc: Codable, Sendable {
        public var test: String; public var title: String; public var population: String
        public var parameters: [String: ParameterValue]; public var populationCount: Int
        public var attributes: [AttributeTally]
        /// The facts each item of the population carries, in column order.
        public var facts: [FactDefinition]
        public var exceptions: [ExceptionDoc]
        public var observations: [ExceptionDoc]
        public var provenance: Provenance?
        public var sample: SampleDoc?
        /// From the source to the population, counted at each step.
        public var walk: [WalkStep]
        /// What the test assumed or could not test.
        public var notes: [String]?
        /// Why the source cannot feed the test, which was then not run.
        public var notSupported: String?
        /// The full population, relative to the report folder (`populations/….csv`).
        public var populationFile: String?
        /// Rows of the population the workbook holds (the rest are in `populationFile`).
        public var workbookRows: Int?
    }
    /// What an auditor needs to rely on a population produced by the tool (IPE).
    public struct Provenance: Codable, Sendable {
        public var source: String; public var sourceSHA256: String?; public var query: String; public var filter: String
        public var period: String; public var generatedAt: String; public var rowCount: Int; public var sha256: String
        public var hashMethod: String
    }
    public struct SampleDoc: Codable, Sendable {
        public var size: Int; public var seed: String; public var method: String; public var items: [SampleItemDoc]
    }
    public struct SampleItemDoc: Codable, Sendable {
        public var number: Int; public var item: String; public var session: String; public var identity: String
        public var resource: String; public var time: String
        /// Attribute id → `pass`, `fail` or `n/a`.
        public var attributes: [String: String]
        public var exceptions: [String]; public var rank: String
        /// Fact id → value (masked), per `TestDoc.facts`.
        public var facts: [String: String]
    }
    public struct ExceptionDoc: Codable, Sendable {
        public var fingerprint: String; public var control: String; public var test: String; public var criteria: [String]
        public var item: String; public var session: String; public var identity: String; public var resource: String
        public var time: String; public var reasonCode: String; public var reason: String; public var severity: String
        public var failedAttributes: [String]; public var evidence: String
        /// `exception` (the control failed) or `observation` (listed for the auditor's judgement).
        public var kind: String
        /// `open`, or `accepted` when management's response covers it.
        public var status: String
        public var managementResponse: ManagementResponse?
        /// Fact id → value (masked): the item's facts, as in the population listing.
        public var facts: [String: String]
    }
    public struct ManagementResponse: Codable, Sendable {
        public var acceptance: String; public var reason: String; public var approver: String
        public var ticket: String; public var expires: String
    }

    public init(analysis: AnalysisResult, context: ReportContext) {
        schema = Self.schemaID
        schemaVersion = Self.schemaVersion
        tool = Tool(name: ToolInfo.name, version: context.toolVersion)
        generatedAt = Timestamp.format(context.generatedAt)
        let p = analysis.period
        period = PeriodDoc(label: p.label, start: Timestamp.format(p.start), end: Timestamp.format(p.end), timeZone: p.timeZone)
        source = Source(kind: context.source.kind, location: context.source.location, sha256: context.source.sha256,
                        schemaVersion: context.source.schemaVersion, rowCounts: context.source.rowCounts,
                        sessionsInPeriod: analysis.sessionsAnalysed, queries: context.source.queries,
                        snapshot: context.source.snapshot, organization: context.source.organization,
                        absentColumns: context.source.absentColumns.isEmpty ? nil : context.source.absentColumns)
        let c = context.catalog
        catalog = CatalogDoc(framework: c.framework, title: c.frameworkTitle, version: c.frameworkVersion, files: c.files, sha256: c.sha256)
        func criterion(_ r: CriterionResult) -> CriterionDoc {
            CriterionDoc(id: r.criterion.id, series: r.criterion.series, seriesTitle: r.criterion.seriesTitle,
                         category: r.criterion.category, title: r.criterion.title,
                         gatewayEvidence: r.criterion.gatewayEvidence.rawValue, status: r.status.rawValue, reason: r.reason,
                         obligation: r.criterion.obligation,
                         controls: r.controls, populationCount: r.populationCount, exceptionCount: r.exceptionCount,
                         observationCount: r.observationCount, tests: r.tests)
        }
        frameworks = analysis.frameworks.map { f in
            let criteria = f.criteria.map(criterion)
            return FrameworkDoc(id: f.framework.id, title: f.framework.title, version: f.framework.version, file: f.framework.file,
                                coverage: Coverage(criteria), criteria: criteria)
        }
        criteria = frameworks.first?.criteria ?? []
        let chosen = analysis.frameworks.map(\.framework.id)
        let periodText = "\(analysis.period.label) [\(Timestamp.format(analysis.period.start)), \(Timestamp.format(analysis.period.end)))"
        let source = context.source
        let seed = context.sampleSeed
        func provenance(_ t: TestResult, _ p: PopulationSummary) -> Provenance {
            let fromChanges = t.definition.id.hasPrefix("changes.")
            return Provenance(
                source: "\(source.kind) \(source.location)", sourceSHA256: source.sha256,
                query: source.queries[fromChanges ? "configuration_changes" : "sessions"] ?? "",
                filter: t.definition.population + "; parameters " + t.parameters.values.keys.sorted().map { key in
                    "\(key)=\(CanonicalJSON.compact(t.parameters.values[key]!))"
                }.joined(separator: ", "),
                period: periodText, generatedAt: Timestamp.format(context.generatedAt), rowCount: p.count, sha256: p.sha256,
                hashMethod: "SHA-256 over the population's CSV records in the order the tests produced them (the store's created_at order), header excluded: each record as written to the population file (RFC 4180, CRLF-terminated); `tail -n +2 FILE | sha256sum` recomputes it from the uncompressed file")
        }
        func sample(_ t: TestResult, _ p: PopulationSummary) -> SampleDoc {
            SampleDoc(size: p.sampleSize, seed: seed, method: Sampler.method,
                      items: p.samples.map { s in
                          SampleItemDoc(number: s.number, item: s.row.item, session: s.row.session, identity: s.row.identity,
                                        resource: s.row.resource, time: Timestamp.format(s.row.time),
                                        attributes: Self.outcomes(t.definition, s.row.outcomes),
                                        exceptions: s.row.exceptions, rank: s.rank, facts: Self.facts(t.definition, s.row.facts))
                      })
        }
        var testIndex = 0
        controls = analysis.controls.map { r in
            ControlDoc(id: r.control.id, title: r.control.title, description: r.control.description, owner: r.control.owner,
                       frequency: r.control.frequency.rawValue, highRisk: r.control.highRisk, criteria: r.control.criteria,
                       crosswalk: r.control.crosswalk.filter { chosen.contains($0.key) },
                       populationCount: r.populationCount, exceptionCount: r.exceptions.count, observationCount: r.observations.count,
                       tests: r.tests.map { t in
                           defer { testIndex += 1 }
                           let file = context.populationFiles[testIndex]
                           return TestDoc(test: t.definition.id, title: t.definition.title, population: t.definition.population,
                                          parameters: t.parameters.values, populationCount: t.populationCount,
                                          attributes: t.attributes, facts: t.definition.facts,
                                          exceptions: t.exceptions.map { Self.exception($0, t.definition) },
                                          observations: t.observations.map { Self.exception($0, t.definition) },
                                          provenance: t.population.map { provenance(t, $0) }, sample: t.population.map { sample(t, $0) },
                                          walk: t.walk, notes: t.notes.isEmpty ? nil : t.notes, notSupported: t.notSupported, populationFile: file,
                                          workbookRows: context.workbookRowLimit.map { min($0, t.populationCount) })
                       })
        }.sorted { $0.id < $1.id }
        dataQuality = context.dataQuality.sorted {
            ($0.table, $0.column, $0.rowID, $0.problem) < ($1.table, $1.column, $1.rowID, $1.problem)
        }
        posture = analysis.posture
        var statusCounts: [String: Int] = [:]
        for r in analysis.criteria { statusCounts[r.status.rawValue, default: 0] += 1 }
        let all = analysis.controls.flatMap(\.exceptions)
        var bySeverity: [String: Int] = [:]
        for f in all { bySeverity[f.severity.rawValue, default: 0] += 1 }
        let observationCount = analysis.controls.reduce(0) { $0 + $1.observations.count }
        let findingsAccepted = analysis.controls.flatMap(\.findings).filter { $0.acceptedBy != nil }.count
        if let accepted = context.accepted {
            acceptedExceptions = AcceptedDoc(source: accepted.source, applied: findingsAccepted,
                                             expired: analysis.expiredAcceptances, unused: analysis.unusedAcceptances)
        }
        reconciliation = context.reconciliation?.explained(by: context.source.sessionTally)
        roster = context.roster.map { RosterDoc(source: $0.source, entries: $0.entries.count) }
        let accepted = all.filter { $0.acceptedBy != nil }.count
        summary = Summary(criteria: statusCounts, controls: analysis.controls.count, exceptions: all.count,
                          exceptionsBySeverity: bySeverity, exceptionsOpen: all.count - accepted, exceptionsAccepted: accepted,
                          observations: observationCount, dataQualityIssues: dataQuality.count)
        inputs = context.inputFiles
        invocation = context.invocation
        gatewayURL = context.gatewayURL
    }

    /// Attribute id → `pass`, `fail`, `n/a`: the one encoding of outcomes in machine output.
    static func outcomes(_ definition: TestDefinition, _ outcomes: [AttributeOutcome]) -> [String: String] {
        Dictionary(zip(definition.attributes.map(\.id), outcomes.map(\.word)), uniquingKeysWith: { a, _ in a })
    }

    static func facts(_ definition: TestDefinition, _ values: [String]) -> [String: String] {
        Dictionary(zip(definition.facts.map(\.id), values).filter { !$0.1.isEmpty }, uniquingKeysWith: { a, _ in a })
    }

    static func exception(_ f: Finding, _ definition: TestDefinition) -> ExceptionDoc {
        ExceptionDoc(fingerprint: f.fingerprint, control: f.controlID, test: f.test, criteria: f.criteria, item: f.itemID,
                     session: f.sessionID, identity: f.identity, resource: f.resource, time: Timestamp.format(f.time),
                     reasonCode: f.reasonCode, reason: f.reason, severity: f.severity.rawValue,
                     failedAttributes: f.failedAttributes, evidence: f.evidence, kind: f.kind.rawValue,
                     status: f.acceptedBy == nil ? "open" : "accepted",
                     managementResponse: f.acceptedBy.map {
                         ManagementResponse(acceptance: $0.id, reason: $0.reason, approver: $0.approver, ticket: $0.ticket, expires: $0.expires)
                     },
                     facts: facts(definition, f.facts))
    }

    public func encoded() throws -> Data { try CanonicalJSON.encode(self) }
}

/// Pretty, key-sorted JSON with a final newline: the same value always gives the same bytes. Every
/// string goes through the output gate (`Gated`): JSON is a way out of the tool like any other.
public enum CanonicalJSON {
    /// One line, key-sorted: for values quoted inside text.
    public static func compact<T: Encodable>(_ value: T) -> String {
        (try? compactEncoder().encode(Gated(value))).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Each value on one line, key-sorted, gated, ending in a newline: the records of a JSON Lines file.
    public static func lines<T: Encodable>(_ values: [T]) throws -> [UInt8] {
        let encoder = compactEncoder()
        var out: [UInt8] = []
        for value in values {
            out += try encoder.encode(Gated(value))
            out.append(0x0A)
        }
        return out
    }

    static func compactEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(Gated(value))
        data.append(0x0A)
        return data
    }
}
