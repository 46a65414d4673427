import Foundation

/// `--format oscal`: the report as NIST OSCAL 1.1.2 documents for GRC platforms, a self-contained set
/// of three that point at each other by relative href:
///
/// - `oscal-catalog.json`: the criteria the catalog in `Controls/` uses, grouped by series, with our
///   own titles (no AICPA text), each with an assessment objective part (`<id>_obj`) that findings
///   target, and the gateway controls as a group of their own linked to the criteria they support.
/// - `oscal-assessment-plan.json`: the period (a task within its dates), one activity per control test
///   (its population definition, attributes and sampling method), the reviewed criteria, and the
///   methodology as terms and conditions. There is no system security plan: `import-ssp` points at a
///   back-matter resource saying so.
/// - `oscal-assessment-results.json` (`import-ap` → the plan): one result for the period with one
///   observation per test (method TEST, the gateway store as subject, report.json and evidence.xlsx as
///   relevant evidence with their SHA-256), one finding per criterion a test bears on (target: its
///   objective, satisfied when no exception was found, not-satisfied otherwise; linked to the
///   observations of its tests and to the risks of its exceptions), and one risk per exception with
///   its severity as the impact facet; an accepted exception is a risk whose status is
///   deviation-approved, with the acceptance as a completed response and its expiry as the deadline.
///
/// With several frameworks (`--framework`), each further framework gets a set of its own,
/// `oscal-<key>-catalog.json`, `oscal-<key>-assessment-plan.json` and `oscal-<key>-assessment-results.json`:
/// the same tests and findings, seen through that framework's requirements and the controls' crosswalk.
///
/// UUIDs are UUIDv5 of what they stand for and the run's time, so a rerun with the same
/// `--generated-at` writes the same bytes. Values pass the output gate (`CanonicalJSON`).
public enum OSCALDocuments {
    public static let catalogFile = "oscal-catalog.json"
    public static let planFile = "oscal-assessment-plan.json"
    public static let resultsFile = "oscal-assessment-results.json"
    public static let oscalVersion = "1.1.2"

    /// The three documents of every framework of the run, by file name. `evidence` gives the SHA-256
    /// of report files already written (report.json, evidence.xlsx), by name.
    public static func documents(_ document: EvidenceDocument, evidence: [String: String]) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for (i, framework) in document.frameworks.enumerated() {
            // The primary framework keeps the names (and UUIDs) of a single-framework run.
            let names = Names(framework: i == 0 ? nil : framework.id)
            let view = i == 0 ? document : viewed(document, through: framework)
            let ids = IDs(view, framework: i == 0 ? nil : framework.id)
            out[names.catalog] = try CanonicalJSON.encode(J.o(["catalog": catalog(view, ids)]))
            out[names.plan] = try CanonicalJSON.encode(J.o(["assessment-plan": plan(view, ids)]))
            out[names.results] = try CanonicalJSON.encode(J.o(["assessment-results": results(view, ids, evidence: evidence, names: names)]))
        }
        return out
    }

    /// The file names of one framework's set: `oscal-catalog.json` …, or `oscal-<key>-catalog.json` ….
    public struct Names: Sendable {
        public let catalog: String, plan: String, results: String
        public init(framework: String?) {
            let prefix = framework.map { "oscal-\($0)-" } ?? "oscal-"
            catalog = prefix + "catalog.json"
            plan = prefix + "assessment-plan.json"
            results = prefix + "assessment-results.json"
        }
    }

    /// The report as OSCAL sees it with `framework` as its primary one: the catalog's title and
    /// version, the criteria, and each control's requirements from the crosswalk (the summary, the
    /// catalog's files and hash, and the findings' own `criteria` stay the run's: risks are linked to
    /// findings through their tests).
    static func viewed(_ document: EvidenceDocument, through framework: EvidenceDocument.FrameworkDoc) -> EvidenceDocument {
        var view = document
        view.catalog.framework = framework.id
        view.catalog.title = framework.title
        view.catalog.version = framework.version
        view.criteria = framework.criteria
        for c in view.controls.indices {
            view.controls[c].criteria = view.controls[c].crosswalk[framework.id] ?? []
        }
        return view
    }

    /// A control id as OSCAL spells them: lower case (`CC6.1` → `cc6.1`, `GW-IAM-01` → `gw-iam-01`);
    /// anything outside a token's characters becomes `-`.
    static func token(_ id: String) -> String {
        var out = ""
        for scalar in id.lowercased().unicodeScalars {
            let c = Character(scalar)
            out.append(c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "-" || c == "_") ? c : "-")
        }
        if let first = out.first, !(first.isLetter || first == "_") { out = "_" + out }
        return out.isEmpty ? "_" : out
    }

    /// Stable UUIDs: v5 of the thing and the run.
    struct IDs {
        let seed: String
        /// The further framework the set is for; nil for the primary one.
        let framework: String?
        init(_ document: EvidenceDocument, framework: String?) {
            // A further framework's seed differs from the primary's at its start ("oscal/KEY:"), so no
            // name of one set can give another set's UUID.
            seed = (framework.map { "oscal/\($0):" } ?? "oscal:") + "\(document.catalog.sha256):\(document.period.label):\(document.generatedAt):"
            self.framework = framework
        }
        func callAsFunction(_ name: String) -> String { UUIDv5.make(seed + name) }
    }

    /// A further framework's documents say which framework they are for, in the title and a
    /// `framework` property; the primary set's stay as a single-framework run writes them.
    static func metadata(_ document: EvidenceDocument, title: String, _ ids: IDs) -> J {
        var props = [prop("tool", "\(document.tool.name) \(document.tool.version)"), prop("catalog-sha256", document.catalog.sha256)]
        var title = title
        if let framework = ids.framework {
            props.append(prop("framework", framework))
            if !title.hasPrefix(document.catalog.title) { title += " (\(document.catalog.title))" }
        }
        return .o(["title": .s(title), "last-modified": .s(document.generatedAt), "version": .s(document.catalog.version),
                   "oscal-version": .s(oscalVersion), "props": .a(props)])
    }

    static func prop(_ name: String, _ value: String) -> J {
        .o(["name": .s(name), "ns": .s(namespace), "value": .s(value.isEmpty ? "none" : value)])
    }

    /// Our own properties are named in this namespace, as OSCAL asks of names it does not define (a
    /// URN: it names, and points at no web page).
    static let namespace = "urn:access-evidence:oscal"

    // MARK: catalog

    static func catalog(_ document: EvidenceDocument, _ ids: IDs) -> J {
        var series: [(id: String, title: String, controls: [J])] = []
        for c in document.criteria {
            let control = J.o([
                "id": .s(token(c.id)), "class": .s("criterion"), "title": .s(c.title),
                "props": .a([.o(["name": .s("label"), "value": .s(c.id)]), prop("category", c.category),
                             prop("gateway-evidence", c.gatewayEvidence)]),
                "parts": .a([.o(["id": .s(token(c.id) + "_obj"), "name": .s("assessment-objective"),
                                 "prose": .s(c.reason.isEmpty ? "Gateway evidence: \(c.gatewayEvidence)" : c.reason)])]),
            ])
            if let i = series.firstIndex(where: { $0.id == c.series }) { series[i].controls.append(control) } else {
                series.append((c.series, c.seriesTitle, [control]))
            }
        }
        var groups = series.map { s in
            J.o(["id": .s(token(s.id)), "class": .s("series"), "title": .s(s.title.isEmpty ? s.id : s.title), "controls": .a(s.controls)])
        }
        groups.append(.o([
            "id": .s("gateway-controls"), "class": .s("gateway-controls"), "title": .s("Access gateway controls"),
            "controls": .a(document.controls.map { c in
                var fields: [String: J] = [
                    "id": .s(token(c.id)), "class": .s("gateway-control"), "title": .s(c.title),
                    "props": .a([.o(["name": .s("label"), "value": .s(c.id)]), prop("owner", c.owner), prop("frequency", c.frequency)]),
                    "parts": .a([.o(["id": .s(token(c.id) + "_smt"), "name": .s("statement"), "prose": .s(c.description)])])]
                // OSCAL lists hold at least one item: a control of a catalog's own that supports nothing
                // in the primary framework has no links.
                if !c.criteria.isEmpty { fields["links"] = .a(c.criteria.map { .o(["href": .s("#" + token($0)), "rel": .s("related")]) }) }
                return .o(fields)
            }),
        ]))
        return .o([
            "uuid": .s(ids("catalog")),
            "metadata": metadata(document, title: "\(document.catalog.title): criteria and access gateway controls", ids),
            "groups": .a(groups),
        ])
    }

    // MARK: assessment plan

    static func activityID(_ ids: IDs, _ control: String, _ test: String) -> String { ids("activity:\(control):\(test)") }

    static func reviewed(_ document: EvidenceDocument) -> J {
        let tested = document.criteria.filter { !$0.tests.isEmpty }.map { J.o(["control-id": .s(token($0.id))]) }
        // Nothing tested (no control supports a requirement of the primary framework): the catalog as a whole was reviewed.
        return .o(["control-selections": .a([tested.isEmpty ? .o(["include-all": .o([:])]) : .o(["include-controls": .a(tested)])])])
    }

    static func plan(_ document: EvidenceDocument, _ ids: IDs) -> J {
        let noSSP = ids("no-ssp")
        let activities: [J] = document.controls.flatMap { control in
            control.tests.map { test in
                var description = "Population: \(test.population). Each item is tested on: "
                    + test.attributes.map { "\($0.id) \($0.label)" }.joined(separator: "; ") + "."
                if let sample = test.sample { description += " Sample: \(sample.size) item\(sample.size == 1 ? "" : "s") a month, \(sample.method)" }
                var fields: [String: J] = [
                    "uuid": .s(activityID(ids, control.id, test.test)), "title": .s("\(control.id) \(test.test): \(test.title)"),
                    "description": .s(description),
                    "props": .a([.o(["name": .s("method"), "value": .s("TEST")]), prop("test", test.test)]),
                ]
                if !control.criteria.isEmpty {
                    fields["related-controls"] = .o(["control-selections": .a([.o(["include-controls": .a(control.criteria.map { .o(["control-id": .s(token($0))]) })])])])
                }
                return J.o(fields)
            }
        }
        let period = document.period
        return .o([
            "uuid": .s(ids("assessment-plan")),
            "metadata": metadata(document, title: "Access gateway evidence plan, \(period.label)", ids),
            "import-ssp": .o(["href": .s("#" + noSSP), "remarks": .s("No system security plan: the subject is the access gateway's audit store.")]),
            "local-definitions": .o(["activities": .a(activities)]),
            "terms-and-conditions": .o(["parts": .a([
                .o(["name": .s("assessment-inclusions"), "title": .s("Period"),
                    "prose": .s("Sessions started and configuration changes made in \(period.label): [\(period.start), \(period.end)), time zone \(period.timeZone).")]),
                .o(["name": .s("methodology"), "title": .s("Method"),
                    "prose": .s("Every item of each test's population is tested (re-performance by the tool); per month, the items with the lowest SHA-256 of the sampling seed and the item are the sample an auditor re-performs. Populations are listed in populations/<control>-<test>.csv with their SHA-256.")]),
            ])]),
            "reviewed-controls": reviewed(document),
            "assessment-subjects": .a([.o(["type": .s("component"), "include-all": .o([:])])]),
            "tasks": .a([.o([
                "uuid": .s(ids("task:period")), "type": .s("action"), "title": .s("Test the period \(period.label)"),
                "timing": .o(["within-date-range": .o(["start": .s(period.start), "end": .s(period.end)])]),
                "associated-activities": .a(document.controls.flatMap { control in
                    control.tests.map { test in
                        J.o(["activity-uuid": .s(activityID(ids, control.id, test.test)),
                             "subjects": .a([.o(["type": .s("component"), "include-all": .o([:])])])])
                    }
                }),
            ])]),
            "back-matter": .o(["resources": .a([.o([
                "uuid": .s(noSSP), "title": .s("No system security plan"),
                "description": .s("The assessment covers the access gateway's audit trail as read from \(document.source.kind) store \(document.source.location)."),
            ])])]),
        ])
    }

    // MARK: assessment results

    static func results(_ document: EvidenceDocument, _ ids: IDs, evidence: [String: String], names: Names) -> J {
        let store = ids("subject:store")
        let tool = ids("party:tool")
        let origin = J.o(["actors": .a([.o(["type": .s("tool"), "actor-uuid": .s(tool)])])])
        var resources: [J] = [.o([
            "uuid": .s(store), "title": .s("Gateway store"),
            "description": .s("\(document.source.kind) store \(document.source.location)"),
            "rlinks": .a([.o(["href": .s(document.source.location)]
                .merging(document.source.sha256.map { ["hashes": J.a([.o(["algorithm": .s("SHA-256"), "value": .s($0)])])] } ?? [:]) { a, _ in a })]),
        ])]
        var evidenceLinks: [J] = []
        for name in ["report.json", "evidence.xlsx"] {
            guard let sha = evidence[name] else { continue }
            let id = ids("evidence:" + name)
            resources.append(.o(["uuid": .s(id), "title": .s(name),
                                 "rlinks": .a([.o(["href": .s(name), "hashes": .a([.o(["algorithm": .s("SHA-256"), "value": .s(sha)])])])])]))
            evidenceLinks.append(.o(["href": .s("#" + id), "description": .s("\(name) of this report (SHA-256 \(sha))")]))
        }
        var observations: [J] = []
        var risks: [J] = []
        var observationOf: [String: String] = [:]
        /// Risk UUIDs by `control:test`: a finding on a criterion relates to the risks of its tests.
        var risksOf: [String: [String]] = [:]
        for control in document.controls {
            for test in control.tests {
                let key = "\(control.id):\(test.test)"
                let id = ids("observation:" + key)
                observationOf[key] = id
                var links = evidenceLinks
                if let file = test.populationFile { links.append(.o(["href": .s(file), "description": .s("The full population of the test")])) }
                observations.append(.o([
                    "uuid": .s(id), "title": .s("\(control.id) \(test.test): \(test.title)"),
                    "description": .s("\(test.populationCount) item\(test.populationCount == 1 ? "" : "s") tested, \(test.exceptions.count) exception\(test.exceptions.count == 1 ? "" : "s"), \(test.observations.count) observation\(test.observations.count == 1 ? "" : "s"). Population: \(test.population)."),
                    "methods": .a([.s("TEST")]), "types": .a([.s("control-objective")]),
                    "origins": .a([origin]),
                    "subjects": .a([.o(["subject-uuid": .s(store), "type": .s("resource"), "title": .s("Gateway store")])]),
                    "relevant-evidence": .a(links.isEmpty ? [.o(["href": .s("#" + store), "description": .s("The gateway store's records of the period")])] : links),
                    "collected": .s(document.generatedAt),
                ]))
                for e in test.exceptions {
                    let riskID = ids("risk:" + e.fingerprint)
                    risksOf[key, default: []].append(riskID)
                    var risk: [String: J] = [
                        "uuid": .s(riskID), "title": .s("\(e.reasonCode): \(control.id) \(e.item)"),
                        "description": .s(e.reason), "statement": .s(e.evidence.isEmpty ? e.reason : e.evidence),
                        "status": .s(e.managementResponse == nil ? "open" : "deviation-approved"),
                        "props": .a([prop("fingerprint", e.fingerprint), prop("severity", e.severity), prop("session", e.session),
                                     prop("identity", e.identity), prop("resource", e.resource), prop("time", e.time)]),
                        "origins": .a([origin]),
                        "characterizations": .a([.o(["origin": origin, "facets": .a([.o([
                            "name": .s("impact"), "system": .s("http://csrc.nist.gov/ns/oscal"), "value": .s(impact(e.severity)),
                        ])])])]),
                        "related-observations": .a([.o(["observation-uuid": .s(id)])]),
                    ]
                    if let accepted = e.managementResponse {
                        risk["remediations"] = .a([.o([
                            "uuid": .s(ids("response:" + e.fingerprint)), "lifecycle": .s("completed"),
                            "title": .s("Risk accepted as \(accepted.acceptance)"),
                            "description": .s("\(accepted.reason) (approved by \(accepted.approver), \(accepted.ticket), until \(accepted.expires))"),
                            "origins": .a([origin]),
                        ])])
                        if let expires = Timestamp.parse(accepted.expires) ?? Timestamp.parse(accepted.expires + "T00:00:00Z") {
                            risk["deadline"] = .s(Timestamp.format(expires))
                        }
                    }
                    risks.append(.o(risk))
                }
            }
        }
        let findings: [J] = document.criteria.filter { !$0.tests.isEmpty }.map { c in
            let satisfied = c.exceptionCount == 0 && c.populationCount > 0
            let reason = c.exceptionCount > 0 ? "fail" : c.populationCount > 0 ? "pass" : "other"
            var finding: [String: J] = [
                "uuid": .s(ids("finding:" + c.id)), "title": .s("\(c.id): \(c.title)"),
                "description": .s("\(c.status): \(c.populationCount) item\(c.populationCount == 1 ? "" : "s") tested by \(c.tests.count) test\(c.tests.count == 1 ? "" : "s"), \(c.exceptionCount) exception\(c.exceptionCount == 1 ? "" : "s"), \(c.observationCount) observation\(c.observationCount == 1 ? "" : "s")"),
                "target": .o([
                    "type": .s("objective-id"), "target-id": .s(token(c.id) + "_obj"), "title": .s(c.id),
                    "status": .o(["state": .s(satisfied ? "satisfied" : "not-satisfied"), "reason": .s(reason)]
                        .merging(c.populationCount == 0
                                 ? ["remarks": J.s(c.reason.hasPrefix("Not supported by this source") ? c.reason + "." : "No item in the period's population: nothing was tested.")]
                                 : [:]) { a, _ in a }),
                ]),
                "props": .a([prop("status", c.status)]),
                "origins": .a([origin]),
                "related-observations": .a(c.tests.compactMap { t in observationOf["\(t.control):\(t.test)"].map { J.o(["observation-uuid": .s($0)]) } }),
            ]
            let related = c.tests.flatMap { risksOf["\($0.control):\($0.test)"] ?? [] }
            if !related.isEmpty { finding["related-risks"] = .a(related.map { .o(["risk-uuid": .s($0)]) }) }
            return .o(finding)
        }
        var result: [String: J] = [
            "uuid": .s(ids("result")), "title": .s("Access gateway evidence, \(document.period.label)"),
            "description": .s("Every control test of the catalog over the period's sessions and configuration changes."),
            "start": .s(document.period.start), "end": .s(document.period.end),
            "reviewed-controls": reviewed(document),
            "observations": .a(observations),
        ]
        // OSCAL lists hold at least one item: a framework no control maps into has no finding.
        if !findings.isEmpty { result["findings"] = .a(findings) }
        if !risks.isEmpty { result["risks"] = .a(risks) }
        return .o([
            "uuid": .s(ids("assessment-results")),
            "metadata": metadata(document, title: "Access gateway evidence results, \(document.period.label)", ids)
                .adding("parties", .a([.o(["uuid": .s(tool), "type": .s("organization"), "name": .s(document.tool.name)])])),
            "import-ap": .o(["href": .s(names.plan)]),
            "results": .a([.o(result)]),
            "back-matter": .o(["resources": .a(resources)]),
        ])
    }

    /// OSCAL's impact facet values.
    static func impact(_ severity: String) -> String {
        switch severity.lowercased() {
        case "critical", "high": "high"
        case "medium": "moderate"
        default: "low"
        }
    }

    /// A JSON value built in place: the documents are trees of OSCAL's hyphenated names.
    indirect enum J: Encodable {
        case s(String)
        case a([J])
        case o([String: J])

        func encode(to encoder: Encoder) throws {
            switch self {
            case .s(let text):
                var c = encoder.singleValueContainer()
                try c.encode(text)
            case .a(let items):
                var c = encoder.unkeyedContainer()
                for item in items { try c.encode(item) }
            case .o(let fields):
                var c = encoder.container(keyedBy: Key.self)
                for (k, v) in fields { try c.encode(v, forKey: Key(k)) }
            }
        }

        func adding(_ key: String, _ value: J) -> J {
            guard case .o(var fields) = self else { return self }
            fields[key] = value
            return .o(fields)
        }

        struct Key: CodingKey {
            let stringValue: String
            init(_ s: String) { stringValue = s }
            init?(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
    }
}
