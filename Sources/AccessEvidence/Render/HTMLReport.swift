import Foundation
import Mustache

/// `report.html`: one self-contained page (inline CSS, inline SVG chart, no network request)
/// rendered with Mustache from `Templates/`. Every value goes through the output gate (`gated`) and
/// then `{{…}}`, which HTML-escapes it. The first page tells the state (a control scoreboard, the
/// exceptions by severity, open and accepted); the control sections are workpapers (attributes
/// defined where they are ticked, the sample with its facts and links to its exceptions); the
/// appendix holds provenance (completeness walks, population files and hashes, the store's tables).
public struct HTMLReport {
    public var document: EvidenceDocument
    public var organization: String

    public init(document: EvidenceDocument, organization: String) {
        self.document = document
        self.organization = organization
    }

    /// Loads `report.mustache` and its partials (every `*.mustache` in the folder given with `option`).
    public static func templates(directory: String, option: String = "--templates") throws -> MustacheLibrary {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw TemplateError(description: "\(option) \(directory): cannot read the template folder (without \(option), the built-in templates are used)")
        }
        var files: [(name: String, path: String, data: Data)] = []
        for name in names.sorted() where name.hasSuffix(".mustache") {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TemplateError(description: "\(path): cannot read the template")
            }
            files.append((name, path, data))
        }
        return try templates(files, folder: directory)
    }

    /// The templates built into the binary (`Templates/` at build time).
    public static func builtInTemplates() throws -> MustacheLibrary {
        try templates(BuiltInDefaults.templates.map { ($0.name, BuiltInDefaults.origin("Templates", $0.name), $0.data) },
                      folder: "built-in Templates")
    }

    static func templates(_ files: [(name: String, path: String, data: Data)], folder: String) throws -> MustacheLibrary {
        var templates: [String: MustacheTemplate] = [:]
        for file in files {
            guard let text = String(data: file.data, encoding: .utf8) else {
                throw TemplateError(description: "\(file.path): cannot read the template")
            }
            do { templates[String(file.name.dropLast(".mustache".count))] = try MustacheTemplate(string: text) } catch {
                throw TemplateError(description: "\(file.path): \(error)")
            }
        }
        guard templates["report"] != nil else { throw TemplateError(description: "\(folder): no report.mustache") }
        try checkPartials(templates, directory: folder)
        return MustacheLibrary(templates: templates)
    }

    /// The renderer expands partials recursively with no limit, so a template that includes itself,
    /// directly or through other partials, overflows the stack. Such a folder is refused when loaded,
    /// naming the cycle. Dynamic partials (`{{>*name}}`) take their name from the report's data, which
    /// comes from the store, so the data could choose a cycle: they are refused too.
    static func checkPartials(_ templates: [String: MustacheTemplate], directory: String) throws {
        var edges: [String: [String]] = [:]
        for (name, template) in templates {
            var found = PartialReferences()
            found.collect(template)
            if let dynamic = found.dynamic.sorted().first {
                throw TemplateError(description: "\(directory)/\(name).mustache: the dynamic partial {{>*\(dynamic)}} is not supported: the report's data would choose the template")
            }
            // A partial that is not in the folder renders as nothing: no edge.
            edges[name] = found.names.filter { templates[$0] != nil }.sorted()
        }
        // Depth-first search from every template in name order; a template met again on the current
        // path closes a cycle. Iterative, so a long chain of partials cannot overflow the stack either.
        var done = Set<String>()
        for root in edges.keys.sorted() where !done.contains(root) {
            var path: [(name: String, next: Int)] = [(root, 0)]
            var onPath: Set<String> = [root]
            while var top = path.popLast() {
                let targets = edges[top.name] ?? []
                guard top.next < targets.count else {
                    onPath.remove(top.name)
                    done.insert(top.name)
                    continue
                }
                let target = targets[top.next]
                top.next += 1
                path.append(top)
                if onPath.contains(target) {
                    let names = path.map(\.name)
                    let cycle = names.drop { $0 != target } + [target]
                    throw TemplateError(description: "\(directory): the templates include each other in a cycle: \(cycle.joined(separator: " → "))")
                }
                if !done.contains(target) {
                    path.append((target, 0))
                    onPath.insert(target)
                }
            }
        }
    }

    public func render(library: MustacheLibrary) throws -> String {
        guard let html = library.render(Self.gated(context()), withTemplate: "report") else {
            throw TemplateError(description: "report.mustache did not render")
        }
        return html
    }

    /// The context with every string passed through the output gate (the template engine then
    /// HTML-escapes it): one rule for every value the page shows, whichever template uses it.
    static func gated(_ value: Any) -> Any {
        switch value {
        case let s as String: return OutputGate.text(s)
        case let d as [String: Any]: return d.mapValues(gated)
        case let a as [[String: Any]]: return a.map { $0.mapValues(gated) }
        case let a as [String]: return a.map(OutputGate.text)
        case let a as [Any]: return a.map(gated)
        default: return value
        }
    }

    static func anchor(criterion id: String) -> String { "criterion-" + id }
    /// The primary framework's requirements keep the plain anchors earlier reports linked to; the
    /// others are prefixed with their framework, as two frameworks can number alike.
    static func anchor(criterion id: String, framework: String, primary: Bool) -> String {
        primary ? anchor(criterion: id) : "criterion-\(framework)-\(id)"
    }
    /// `framework-KEY`, not `criteria-KEY`: a catalog's own key could be `summary` or `addressed`,
    /// which would repeat ids the page already has.
    static func anchor(framework: String, primary: Bool) -> String { primary ? "criteria" : "framework-" + framework }
    static func anchor(control id: String) -> String { "control-" + id }
    static func anchor(control: String, test: String) -> String { "test-\(control)-\(test)" }
    static func anchor(exception fingerprint: String) -> String { "exception-" + fingerprint }
    static func anchor(observation fingerprint: String) -> String { "observation-" + fingerprint }

    /// How many open exceptions the first page lists by name.
    static let topExceptionCount = 10

    /// What an observation is, where observations are listed.
    static let observationNote = "An observation is listed for the auditor's judgement, not as an exception: the control operated "
        + "(for example a refused change, a forced approval or a blocked burst of commands), and the record is shown so the "
        + "auditor can decide whether it matters. Observations never make a criterion “exceptions noted”; the catalog's "
        + "observations list decides which reason codes they are."

    static func severityRank(_ s: String) -> Int { Severity(rawValue: s)?.rank ?? -1 }

    /// Severities most severe first: the order the page lists and stacks them in.
    static let severities = Severity.allCases.reversed().map(\.rawValue)

    func context() -> [String: Any] {
        let d = document
        let organization = organization.isEmpty ? "(organization not given)" : organization
        let controlTitles = Dictionary(uniqueKeysWithValues: d.controls.map { ($0.id, $0.title) })
        let allExceptions = d.controls.flatMap { $0.tests.flatMap(\.exceptions) }
        let allObservations = d.controls.flatMap { $0.tests.flatMap(\.observations) }

        var context: [String: Any] = [
            "organization": organization,
            "runningHead": Self.cssString(OutputGate.text("\(organization) · \(frameworkNames) gateway evidence · \(d.period.label)")),
            "frameworkNames": frameworkNames,
            "runningFoot": Self.cssString(OutputGate.text("Generated \(d.generatedAt) by access-evidence \(d.tool.version)")),
            "scope": "Sessions, approvals, masking counters, guardrail blocks and configuration changes recorded by the access gateway",
            "period": ["label": d.period.label, "start": d.period.start, "end": d.period.end, "timeZone": d.period.timeZone],
            "generatedAt": d.generatedAt, "toolVersion": d.tool.version,
            "source": source(),
            "catalog": ["title": d.catalog.title, "version": d.catalog.version, "sha256": d.catalog.sha256, "files": d.catalog.files.joined(separator: ", ")],
            "summary": summary(allExceptions),
            "scoreboard": scoreboard(), "severities": severityTable(allExceptions),
            "topExceptions": topExceptions(allExceptions),
            "criteriaSummary": criteriaSummary(controlTitles),
            "criteria": criteria(controlTitles),
            "frameworks": d.frameworks.enumerated().map { i, f in framework(f, primary: i == 0, controlTitles) },
            "hasSeveralFrameworks": d.frameworks.count > 1,
            "frameworkCoverage": d.frameworks.enumerated().map { i, f in
                ["name": Self.frameworkName(f), "anchor": Self.anchor(framework: f.id, primary: i == 0),
                 "requirements": f.coverage.requirements, "withGatewayEvidence": f.coverage.withGatewayEvidence,
                 "withExceptions": f.coverage.withExceptions, "noExceptions": f.coverage.noExceptions,
                 "noPopulation": f.coverage.noPopulation, "notAddressed": f.coverage.notAddressed,
                 "evidenceExpectedNotTested": f.coverage.evidenceExpectedNotTested] as [String: Any]
            },
            "observations": allObservations.map { e in
                ["anchor": Self.anchor(observation: e.fingerprint), "control": e.control, "test": e.test, "time": e.time,
                 "item": e.item, "identity": e.identity, "reason": e.reason, "reasonCode": e.reasonCode] as [String: Any]
            },
            "hasObservations": !allObservations.isEmpty, "observationCount": allObservations.count,
            "observationNote": Self.observationNote,
            "controls": controls(),
            "appendixTests": appendixTests(),
            "hashMethod": d.controls.first?.tests.first?.provenance?.hashMethod ?? "",
            "queries": d.source.queries.keys.sorted().map { ["name": $0, "query": d.source.queries[$0]!] },
            "rowCounts": d.source.rowCounts.keys.sorted().map { ["table": $0, "rows": d.source.rowCounts[$0]!] as [String: Any] },
            "hasRowCounts": !d.source.rowCounts.isEmpty,
            "posture": d.posture.map { p -> [String: Any] in
                ["connection": p.connection, "protocol": p.protocol, "tags": p.tags.joined(separator: ", "),
                 "production": p.production, "gate": p.reviewGate.isEmpty ? "none" : p.reviewGate.joined(separator: "; "),
                 "approvals": p.minApprovals.map(String.init) ?? "", "masking": p.masking.isEmpty ? "none" : p.masking.joined(separator: "; "),
                 "guardrails": p.guardrails.isEmpty ? "none" : p.guardrails.joined(separator: ", "), "modes": p.accessModes,
                 "changes": p.changes, "hasChanges": !p.changes.isEmpty, "missing": p.missing.joined(separator: ", "), "hasMissing": !p.missing.isEmpty]
            },
            "hasPosture": !d.posture.isEmpty,
            "dataQuality": d.dataQuality.map { ["table": $0.table, "column": $0.column, "rowID": $0.rowID, "problem": $0.problem] },
            "hasDataQuality": !d.dataQuality.isEmpty,
            "inputs": d.inputs.map { ["role": $0.role, "path": $0.path, "sha256": $0.sha256, "entries": $0.entries] as [String: Any] },
        ]
        if let chart = chart(allExceptions) { context["chart"] = chart }
        if let i = d.invocation {
            context["invocation"] = ["commandLine": i.commandLine, "user": i.user, "host": i.host]
        }
        if let url = d.gatewayURL, !url.isEmpty { context["gatewayURL"] = url }
        if let r = d.reconciliation {
            context["reconciliation"] = ["sessionsInStore": r.sessionsInStore, "sessionsTested": r.sessionsTested, "difference": r.difference,
                                         "explanation": r.explanation, "storeQuery": r.storeQuery]
        }
        if let a = d.acceptedExceptions {
            context["accepted"] = ["source": a.source, "applied": a.applied,
                                   "expired": a.expired.map { ["id": $0.id, "reason": $0.reason, "approver": $0.approver, "ticket": $0.ticket, "expires": $0.expires] },
                                   "unused": a.unused.map { ["id": $0.id, "ticket": $0.ticket] }]
        }
        return context
    }

    /// The headline figures: criteria by status, exceptions open and accepted, observations.
    func summary(_ exceptions: [EvidenceDocument.ExceptionDoc]) -> [String: Any] {
        let s = document.summary
        let statuses: [CriterionStatus] = [.exceptionsNoted, .noExceptions, .noPopulation, .notAddressed]
        // One exception counts under every criterion its control supports.
        let perCriterion = document.criteria.reduce(0) { $0 + $1.exceptionCount }
        return [
            "noExceptions": s.criteria[CriterionStatus.noExceptions.rawValue] ?? 0,
            "exceptionsNoted": s.criteria[CriterionStatus.exceptionsNoted.rawValue] ?? 0,
            "noPopulation": s.criteria[CriterionStatus.noPopulation.rawValue] ?? 0,
            "notAddressed": s.criteria[CriterionStatus.notAddressed.rawValue] ?? 0,
            "criteria": statuses.map { status in
                ["status": status.rawValue, "label": EvidenceDocument.statusLabel(status.rawValue), "count": s.criteria[status.rawValue] ?? 0] as [String: Any]
            },
            "criteriaTotal": document.criteria.count,
            "exceptions": s.exceptions, "open": s.exceptionsOpen, "accepted": s.exceptionsAccepted, "observations": s.observations,
            "controls": s.controls, "sessions": document.source.sessionsInPeriod, "dataQualityIssues": s.dataQualityIssues,
            "bySeverity": Self.severities.map { ["severity": $0, "count": s.exceptionsBySeverity[$0] ?? 0] as [String: Any] },
            "perCriterion": perCriterion, "perCriterionExceedsTotal": perCriterion > s.exceptions,
        ]
    }

    /// One row per control: its tests' populations (not added up: they count unlike items), its
    /// exceptions open and accepted, observations, and the highest severity among its exceptions.
    func scoreboard() -> [[String: Any]] {
        document.controls.map { c in
            let exceptions = c.tests.flatMap(\.exceptions)
            let accepted = exceptions.filter { $0.status == "accepted" }.count
            let highest = exceptions.map(\.severity).max { Self.severityRank($0) < Self.severityRank($1) }
            return ["id": c.id, "anchor": Self.anchor(control: c.id), "title": c.title,
                    "tests": c.tests.map { t in
                        ["test": t.test, "anchor": Self.anchor(control: c.id, test: t.test), "population": t.populationCount,
                         "notSupported": t.notSupported != nil] as [String: Any]
                    },
                    "exceptions": exceptions.count, "open": exceptions.count - accepted, "accepted": accepted,
                    "observations": c.observationCount, "highest": highest ?? "", "hasHighest": highest != nil,
                    "clean": exceptions.isEmpty]
        }
    }

    /// Exceptions by severity, open and accepted.
    func severityTable(_ exceptions: [EvidenceDocument.ExceptionDoc]) -> [[String: Any]] {
        Self.severities.map { severity in
            let these = exceptions.filter { $0.severity == severity }
            let accepted = these.filter { $0.status == "accepted" }.count
            return ["severity": severity, "open": these.count - accepted, "accepted": accepted, "total": these.count]
        }
    }

    /// The most severe open exceptions, earliest first within a severity.
    func topExceptions(_ exceptions: [EvidenceDocument.ExceptionDoc]) -> [String: Any] {
        let open = exceptions.filter { $0.status == "open" }
        let top = open.sorted {
            let a = Self.severityRank($0.severity), b = Self.severityRank($1.severity)
            if a != b { return a > b }
            return ($0.time, $0.control, $0.test, $0.fingerprint) < ($1.time, $1.control, $1.test, $1.fingerprint)
        }.prefix(Self.topExceptionCount)
        return ["shown": top.count, "open": open.count, "hasAny": !top.isEmpty, "allShown": top.count == open.count,
                "rows": top.map { e in
                    ["anchor": Self.anchor(exception: e.fingerprint), "severity": e.severity, "control": e.control, "test": e.test,
                     "time": e.time, "identity": e.identity, "resource": e.resource, "reason": e.reason] as [String: Any]
                }]
    }

    /// Criteria for the first pages: those with exceptions first, then the others addressed by
    /// gateway testing, and the ones not addressed as one compact list.
    func criteriaSummary(_ controlTitles: [String: String]) -> [String: Any] {
        let d = document.criteria
        let noted = d.filter { $0.status == CriterionStatus.exceptionsNoted.rawValue }
        let others = d.filter { $0.status != CriterionStatus.exceptionsNoted.rawValue && $0.status != CriterionStatus.notAddressed.rawValue }
        let notAddressed = d.filter { $0.status == CriterionStatus.notAddressed.rawValue }
        return [
            "noted": noted.map { c in
                ["id": c.id, "anchor": Self.anchor(criterion: c.id), "title": c.title, "exceptions": c.exceptionCount,
                 "observations": c.observationCount,
                 "controls": Self.listed(c.controls.map { ["id": $0, "anchor": Self.anchor(control: $0)] })] as [String: Any]
            },
            "hasNoted": !noted.isEmpty,
            "others": Self.listed(others.map { ["id": $0.id, "anchor": Self.anchor(criterion: $0.id), "label": EvidenceDocument.statusLabel($0.status)] }),
            "hasOthers": !others.isEmpty,
            "notAddressed": Self.listed(notAddressed.map { ["id": $0.id, "anchor": Self.anchor(criterion: $0.id), "title": $0.title] }),
            "hasNotAddressed": !notAddressed.isEmpty, "notAddressedCount": notAddressed.count,
        ]
    }

    /// Marks the last element, for separators between list items.
    static func listed(_ items: [[String: Any]]) -> [[String: Any]] {
        items.enumerated().map { i, item in item.merging(["last": i == items.count - 1]) { a, _ in a } }
    }

    /// Every criterion with an anchor: those addressed by gateway testing with their tests' counts,
    /// those not addressed in a compact table.
    func criteria(_ controlTitles: [String: String]) -> [String: Any] {
        criteria(document.criteria, framework: document.frameworks.first?.id ?? "", primary: true, controlTitles)
    }

    func criteria(_ all: [EvidenceDocument.CriterionDoc], framework: String, primary: Bool, _ controlTitles: [String: String]) -> [String: Any] {
        let addressed = all.filter { $0.status != CriterionStatus.notAddressed.rawValue }
        let notAddressed = all.filter { $0.status == CriterionStatus.notAddressed.rawValue }
        func obligation(_ c: EvidenceDocument.CriterionDoc) -> String { c.obligation.map { "; \($0)" } ?? "" }
        return [
            "addressed": addressed.map { c in
                ["id": c.id, "anchor": Self.anchor(criterion: c.id, framework: framework, primary: primary), "title": c.title,
                 "category": c.category + obligation(c), "status": c.status,
                 "statusLabel": EvidenceDocument.statusLabel(c.status), "exceptionCount": c.exceptionCount,
                 "observationCount": c.observationCount, "gatewayEvidence": c.gatewayEvidence, "reason": c.reason,
                 "tests": c.tests.map { t in
                     ["control": t.control, "test": t.test, "anchor": Self.anchor(control: t.control, test: t.test),
                      "title": controlTitles[t.control] ?? "", "population": t.population, "exceptions": t.exceptions,
                      "observations": t.observations, "hasObservations": t.observations > 0] as [String: Any]
                 }] as [String: Any]
            },
            "hasAddressed": !addressed.isEmpty,
            "notAddressed": notAddressed.map { c in
                ["id": c.id, "anchor": Self.anchor(criterion: c.id, framework: framework, primary: primary), "title": c.title,
                 "category": c.category + obligation(c), "gatewayEvidence": c.gatewayEvidence, "reason": c.reason] as [String: Any]
            },
            "hasNotAddressed": !notAddressed.isEmpty,
        ]
    }

    /// One framework's criteria section: the first chosen keeps the ids earlier reports used
    /// (`criteria`, `criteria-addressed`, `criteria-not-addressed`).
    func framework(_ f: EvidenceDocument.FrameworkDoc, primary: Bool, _ controlTitles: [String: String]) -> [String: Any] {
        let anchor = Self.anchor(framework: f.id, primary: primary)
        return ["id": f.id, "name": Self.frameworkName(f), "anchor": anchor,
                "addressedAnchor": anchor + "-addressed", "notAddressedAnchor": anchor + "-not-addressed",
                "note": Framework.sourceNote(id: f.id, title: f.title, version: f.version),
                "heading": primary && document.frameworks.count == 1 ? "Criteria" : "Criteria: " + Self.frameworkName(f),
                "criteria": criteria(f.criteria, framework: f.id, primary: primary, controlTitles)]
    }

    static func frameworkName(_ f: EvidenceDocument.FrameworkDoc) -> String { f.title.isEmpty ? f.id : f.title }

    /// The frameworks of the run as people name them: `SOC 2`, `SOC 2, ISO 27001`.
    var frameworkNames: String { WorkpaperSheets.frameworkNames(document) }

    /// A session id as a link into the gateway's web app, when its base URL was given (`link.mustache`).
    func sessionLink(_ id: String) -> [String: Any] {
        guard Self.isSession(id), let base = document.gatewayURL, GatewayLinks.validate(base) else { return ["id": id] }
        return ["id": id, "href": GatewayLinks.session(base: base, id: id)]
    }

    /// Whether an item's session id names a session: items that are not sessions carry the audit
    /// row's id (`audit:…`, configuration changes) or the day (`period:…`) instead, which are no
    /// page of the gateway's web app.
    static func isSession(_ id: String) -> Bool { GatewayLinks.isSession(id) }

    /// An item and its session: the item is the link when it is the session, or when it is the
    /// session and a suffix (`SESSION#2`, a command of the session); otherwise the session follows on
    /// its own line.
    func itemCells(item: String, session: String) -> [String: Any] {
        if !session.isEmpty, item.hasPrefix(session) {
            return ["itemLink": sessionLink(session), "itemSuffix": String(item.dropFirst(session.count)), "hasSession": false]
        }
        return ["itemLink": ["id": item] as [String: Any], "itemSuffix": "", "session": sessionLink(session),
                "hasSession": !session.isEmpty]
    }

    func controls() -> [[String: Any]] {
        document.controls.map { c in
            let tests: [[String: Any]] = c.tests.map { t in test(t, control: c) }
            return ["id": c.id, "anchor": Self.anchor(control: c.id), "title": c.title, "description": c.description, "owner": c.owner,
                    "frequency": c.frequency, "highRisk": c.highRisk,
                    "criteria": Self.listed(c.criteria.map { ["id": $0, "anchor": Self.anchor(criterion: $0)] }), "tests": tests,
                    "hasCriteria": !c.criteria.isEmpty,
                    "alsoSupports": Self.listed(document.frameworks.dropFirst().compactMap { f -> [String: Any]? in
                        guard let ids = c.crosswalk[f.id], !ids.isEmpty else { return nil }
                        return ["name": Framework.shortName(id: f.id, title: f.title),
                                "ids": Self.listed(ids.map { ["id": $0, "anchor": Self.anchor(criterion: $0, framework: f.id, primary: false)] })]
                    }),
                    "testLinks": Self.listed(c.tests.map { ["test": $0.test, "anchor": Self.anchor(control: c.id, test: $0.test)] })]
        }
    }

    /// One test as a workpaper: attributes defined where they are ticked, the exceptions and the
    /// observations apart, the sample with its selection, facts and links to its findings.
    func test(_ t: EvidenceDocument.TestDoc, control c: EvidenceDocument.ControlDoc) -> [String: Any] {
        let attributes = t.attributes.map { a in
            ["id": a.id, "label": a.label, "header": "\(a.id): \(a.label)", "passed": a.passed, "failed": a.failed,
             "notApplicable": a.notApplicable] as [String: Any]
        }
        let factLabels = Dictionary(t.facts.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
        func facts(_ values: [String: String]) -> [[String: Any]] {
            t.facts.compactMap { f in values[f.id].map { ["label": factLabels[f.id] ?? f.id, "value": $0] } }
        }
        func finding(_ e: EvidenceDocument.ExceptionDoc, anchor: String) -> [String: Any] {
            var row: [String: Any] = ["anchor": anchor, "fingerprint": e.fingerprint, "time": e.time, "item": e.item,
                                      "identity": e.identity, "resource": e.resource, "severity": e.severity, "reason": e.reason,
                                      "reasonCode": e.reasonCode, "evidence": e.evidence, "status": e.status,
                                      "failed": e.failedAttributes.joined(separator: ", "), "hasFailed": !e.failedAttributes.isEmpty,
                                      "criteria": e.criteria.joined(separator: ", "), "facts": facts(e.facts)]
            row["hasFacts"] = !e.facts.isEmpty
            row.merge(itemCells(item: e.item, session: e.session)) { a, _ in a }
            if let r = e.managementResponse {
                row["response"] = "\(r.acceptance): \(r.reason) (approved by \(r.approver), \(r.ticket), until \(r.expires))"
            }
            return row
        }
        // A store that repeats a row gives two findings one fingerprint: the second anchor gets a
        // suffix, so every id on the page is unique and links go to the first.
        var seen: [String: Int] = [:]
        func unique(_ anchor: String) -> String {
            seen[anchor, default: 0] += 1
            return seen[anchor]! == 1 ? anchor : "\(anchor)-\(seen[anchor]!)"
        }
        let exceptions = t.exceptions.map { finding($0, anchor: unique(Self.anchor(exception: $0.fingerprint))) }
        let observations = t.observations.map { finding($0, anchor: unique(Self.anchor(observation: $0.fingerprint))) }
        let exceptionPrints = Set(t.exceptions.map(\.fingerprint)), observationPrints = Set(t.observations.map(\.fingerprint))

        // Column widths of the sample table, in per cent: no table wider than the page.
        let weights: [(String, Double)] = [("number", 3.5), ("item", 16), ("time", 12.5)]
            + t.facts.map { ($0.id, 12) } + t.attributes.map { ($0.id, 9) } + [("exceptions", 13)]
        let total = weights.reduce(0) { $0 + $1.1 }
        // Rounded down to a tenth, so the sum of many columns stays within the page.
        let widths = weights.map { String(format: "%.1f", ($0.1 * 1000 / total).rounded(.down) / 10) }
        let samples: [[String: Any]] = (t.sample?.items ?? []).map { s in
            let links = s.exceptions.map { code -> [String: Any] in
                let print = Finding.fingerprint(control: c.id, test: t.test, item: s.item, reason: code)
                let anchor = exceptionPrints.contains(print) ? Self.anchor(exception: print)
                    : observationPrints.contains(print) ? Self.anchor(observation: print) : ""
                return ["code": code, "anchor": anchor, "linked": !anchor.isEmpty, "fingerprint": print]
            }
            return ["number": s.number, "item": s.item, "time": s.time,
                    "facts": t.facts.map { ["value": s.facts[$0.id] ?? ""] },
                    "marks": t.attributes.map { a -> [String: Any] in
                        let word = s.attributes[a.id]
                        return ["mark": WorkpaperSheets.mark(word), "class": word == "fail" ? "mark-fail" : word == "pass" ? "mark-pass" : "mark-na"]
                    },
                    "exceptions": Self.listed(links), "hasExceptions": !links.isEmpty]
                .merging(itemCells(item: s.item, session: s.session)) { a, _ in a }
        }
        let parameters = t.parameters.keys.sorted().map { "\($0)=\(CanonicalJSON.compact(t.parameters[$0]!))" }.joined(separator: ", ")
        var test: [String: Any] = [
            "test": t.test, "title": t.title, "anchor": Self.anchor(control: c.id, test: t.test), "controlID": c.id,
            "population": t.population, "populationCount": t.populationCount, "sha256": t.provenance?.sha256 ?? "",
            "parameters": parameters, "hasParameters": !parameters.isEmpty,
            "attributes": attributes, "hasAttributes": !attributes.isEmpty,
            "notes": t.notes ?? [], "hasNotes": !(t.notes ?? []).isEmpty,
            "exceptions": exceptions, "exceptionCount": exceptions.count, "hasExceptions": !exceptions.isEmpty,
            "observations": observations, "observationCount": observations.count, "hasObservations": !observations.isEmpty,
            "samples": samples, "hasSamples": !samples.isEmpty, "sampleCount": samples.count,
            "factColumns": zip(t.facts, widths[3..<(3 + t.facts.count)]).map { ["label": $0.0.label, "width": $0.1] },
            "attributeColumns": zip(attributes, widths[(3 + t.facts.count)...]).map { $0.0.merging(["width": $0.1]) { a, _ in a } },
            "widths": ["number": widths[0], "item": widths[1], "time": widths[2], "exceptions": widths.last!],
        ]
        if let file = t.populationFile { test["populationFile"] = file }
        if let rows = t.workbookRows {
            test["workbook"] = ["rows": rows, "partial": rows < t.populationCount]
        }
        if let sample = t.sample {
            test["sample"] = ["size": sample.size, "seed": sample.seed, "method": sample.method]
        }
        return test
    }

    /// Per test, for the appendix: the completeness walk, the population's file, rows and hash.
    func appendixTests() -> [[String: Any]] {
        document.controls.flatMap { c in
            c.tests.map { t -> [String: Any] in
                var row: [String: Any] = ["control": c.id, "test": t.test, "anchor": Self.anchor(control: c.id, test: t.test),
                                          "populationCount": t.populationCount,
                                          "walk": t.walk.map { ["step": $0.step, "count": $0.count] as [String: Any] }, "hasWalk": !t.walk.isEmpty]
                if let p = t.provenance { row["provenance"] = ["rows": p.rowCount, "sha256": p.sha256, "filter": p.filter, "query": p.query] }
                if let file = t.populationFile { row["populationFile"] = file }
                return row
            }
        }
    }

    /// The cover's source facts. Optional ones are left out when empty: a Mustache section renders
    /// for an empty string too.
    func source() -> [String: Any] {
        let d = document.source
        var source: [String: Any] = ["kind": d.kind, "location": d.location, "sessions": d.sessionsInPeriod]
        let organization = d.organization.map { o in o.name.map { "\($0) (\(o.id))" } ?? o.id } ?? ""
        for (key, value) in [("sha256", d.sha256 ?? ""), ("schemaVersion", d.schemaVersion ?? ""), ("snapshot", d.snapshotLine),
                             ("organization", organization),
                             ("absentColumns", (d.absentColumns ?? []).map { $0.shown }
                                .joined(separator: "; "))] where !value.isEmpty {
            source[key] = value
        }
        return source
    }

    /// A CSS string's content for `value`: everything but letters, digits, spaces and `-_.,:()/`
    /// as a six-digit CSS escape and a space, so the text cannot end the string, the rule or the `<style>`
    /// element, and HTML escaping leaves it unchanged.
    static func cssString(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            let v = scalar.value
            let plain = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || " -_.,:()/".unicodeScalars.contains(scalar)
            if plain { out.unicodeScalars.append(scalar) } else {
                let hex = String(v, radix: 16, uppercase: true)
                // Six digits and a space: the space ends the escape and is not shown.
                out += "\\" + String(repeating: "0", count: max(0, 6 - hex.count)) + hex + " "
            }
        }
        return out
    }

    /// Exceptions (open and accepted) per week of the period, or per month for a period longer
    /// than half a year, stacked by severity: the geometry of an inline SVG chart.
    func chart(_ exceptions: [EvidenceDocument.ExceptionDoc]) -> [String: Any]? {
        guard let start = Timestamp.parse(document.period.start), let end = Timestamp.parse(document.period.end), start < end else { return nil }
        let period = Period(label: document.period.label, start: start, end: end, timeZone: document.period.timeZone)
        var calendar = period.calendar
        calendar.firstWeekday = 2
        let weekly = end.timeIntervalSince(start) <= 27 * 7 * 86_400
        // Buckets in the period's own time zone, as its boundaries are: weeks start on Monday.
        var starts: [Date] = []
        if weekly {
            var cursor = start
            while cursor < end, starts.count < 60 {
                starts.append(cursor)
                guard let next = calendar.dateInterval(of: .weekOfYear, for: cursor)?.end, next > cursor else { break }
                cursor = next
            }
        } else {
            var cursor = start
            while cursor < end, starts.count < 60 {
                starts.append(cursor)
                guard let next = calendar.dateInterval(of: .month, for: cursor)?.end, next > cursor else { break }
                cursor = next
            }
        }
        guard !starts.isEmpty else { return nil }
        var counts = Array(repeating: [String: Int](), count: starts.count)
        for e in exceptions {
            guard let time = Timestamp.parse(e.time), time >= start, time < end,
                  let i = starts.lastIndex(where: { $0 <= time }) else { continue }
            counts[i][e.severity, default: 0] += 1
        }
        let labels = starts.map { date -> String in
            let day = Period.localLabel(date, weekly ? .day : .month, in: calendar)
            return weekly ? String(day.dropFirst(5)) : day
        }
        let totals = counts.map { $0.values.reduce(0, +) }
        let highest = totals.max() ?? 0
        // A round top for the axis, with at most five steps.
        var step = 1
        for candidate in [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000] {
            step = candidate
            if (max(highest, 1) + candidate - 1) / candidate <= 5 { break }
        }
        let top = max(1, (max(highest, 1) + step - 1) / step) * step

        let width = 720.0, height = 280.0, left = 52.0, right = 12.0, plotTop = 22.0, plotBottom = 212.0
        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        func y(_ v: Int) -> Double { plotBottom - Double(v) / Double(top) * (plotBottom - plotTop) }
        let slot = (width - left - right) / Double(starts.count)
        let barWidth = min(slot * 0.68, 46)
        let labelEvery = (starts.count + 15) / 16
        let bars: [[String: Any]] = starts.indices.map { i in
            let x = left + slot * Double(i) + (slot - barWidth) / 2
            var base = 0
            // Most severe at the base of the bar.
            let segments: [[String: Any]] = Self.severities.compactMap { severity in
                guard let n = counts[i][severity], n > 0 else { return nil }
                defer { base += n }
                return ["severity": severity, "x": f(x), "y": f(y(base + n)), "width": f(barWidth), "height": f(y(base) - y(base + n)),
                        "tooltip": "\(weekly ? "Week starting" : "Month") \(labels[i]): \(n) \(severity)"]
            }
            return ["segments": segments, "center": f(x + barWidth / 2), "total": totals[i], "hasTotal": totals[i] > 0,
                    "totalY": f(y(totals[i]) - 4), "label": labels[i], "labelY": f(plotBottom + 15), "showLabel": i % labelEvery == 0]
        }
        let ticks: [[String: Any]] = stride(from: 0, through: top, by: step).map { v in
            ["value": v, "y": f(y(v)), "labelY": f(y(v) + 4), "x1": f(left), "x2": f(width - right), "labelX": f(left - 6)]
        }
        let legend: [[String: Any]] = Self.severities.enumerated().map { i, severity in
            let x = left + Double(i) * 110
            return ["severity": severity, "x": f(x), "y": f(height - 20), "textX": f(x + 17), "textY": f(height - 10),
                    "label": String(severity.prefix(1).uppercased() + severity.dropFirst())]
        }
        let unit = weekly ? "week" : "month"
        let busiest = totals.indices.max { totals[$0] < totals[$1] || (totals[$0] == totals[$1] && $0 > $1) }
        var description = "\(exceptions.count) exception\(exceptions.count == 1 ? "" : "s") per \(unit) from \(document.period.start) to \(document.period.end), stacked by severity: "
            + Self.severities.map { s in "\(s) \(exceptions.filter { $0.severity == s }.count)" }.joined(separator: ", ") + "."
        if let busiest, totals[busiest] > 0 {
            description += " Most in the \(unit) \(weekly ? "starting " : "")\(labels[busiest]) (\(totals[busiest]))."
        }
        return [
            "width": f(width), "height": f(height), "title": "Exceptions per \(unit), stacked by severity",
            "description": description, "bars": bars, "ticks": ticks, "legend": legend,
            "axisY": f(plotBottom), "axisX1": f(left), "axisX2": f(width - right),
            "xTitle": weekly ? "Week starting (Monday, \(document.period.timeZone); the first week starts with the period)" : "Month (\(document.period.timeZone))",
            "xTitleX": f(left + (width - left - right) / 2), "xTitleY": f(plotBottom + 33),
            "yTitleX": f(14), "yTitleY": f((plotTop + plotBottom) / 2),
        ]
    }
}

public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The partials a parsed template refers to, found in the parser's own tokens (sections, inverted
/// sections, blocks and parents included), so what is checked is exactly what the renderer will
/// expand. swift-mustache keeps its tokens internal; `Mirror` reads them. HTMLTests checks that a
/// cycle is still found, so a change of the library's internals cannot silently disable the check.
struct PartialReferences {
    var names: Set<String> = []
    var dynamic: Set<String> = []

    mutating func collect(_ template: MustacheTemplate) {
        for child in Mirror(reflecting: template).children where child.label == "tokens" {
            walk(child.value)
        }
    }

    /// Walks a value of the token tree: enum cases name partials, nested templates are walked in turn.
    private mutating func walk(_ value: Any) {
        if let template = value as? MustacheTemplate {
            collect(template)
            return
        }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .enum, let case_ = mirror.children.first {
            if case_.label == "partial" || case_.label == "dynamicNamePartial",
               let name = Mirror(reflecting: case_.value).children.first?.value as? String {
                if case_.label == "partial" { names.insert(name) } else { dynamic.insert(name) }
            }
            walk(case_.value)
            return
        }
        for child in mirror.children { walk(child.value) }
    }
}
