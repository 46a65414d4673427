import Foundation
import Mustache

/// `report.html`: one self-contained page (inline CSS, CSS bar chart, no network request) rendered
/// with Mustache from `Templates/`. Every value goes through `{{…}}`, which HTML-escapes it.
public struct HTMLReport {
    public var document: EvidenceDocument
    public var organization: String

    public init(document: EvidenceDocument, organization: String) {
        self.document = document
        self.organization = organization
    }

    /// Loads `report.mustache` and its partials (every `*.mustache` in the folder).
    public static func templates(directory: String) throws -> MustacheLibrary {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var templates: [String: MustacheTemplate] = [:]
        for name in names.sorted() where name.hasSuffix(".mustache") {
            let path = directory + "/" + name
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw TemplateError(description: "\(path): cannot read the template")
            }
            do { templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text) } catch {
                throw TemplateError(description: "\(path): \(error)")
            }
        }
        guard templates["report"] != nil else { throw TemplateError(description: "\(directory): no report.mustache") }
        try checkPartials(templates, directory: directory)
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
    static func anchor(control id: String) -> String { "control-" + id }

    func context() -> [String: Any] {
        let d = document
        let controlTitles = Dictionary(uniqueKeysWithValues: d.controls.map { ($0.id, $0.title) })
        let criteria: [[String: Any]] = d.criteria.map { c in
            let controls = c.controls.enumerated().map { i, id -> [String: Any] in
                ["id": id, "anchor": Self.anchor(control: id), "title": controlTitles[id] ?? "", "last": i == c.controls.count - 1]
            }
            return ["id": c.id, "anchor": Self.anchor(criterion: c.id), "title": c.title, "category": c.category, "status": c.status,
                    "statusLabel": c.status.replacingOccurrences(of: "-", with: " "), "exceptionCount": c.exceptionCount,
                    "gatewayEvidence": c.gatewayEvidence, "reason": c.reason, "controls": controls, "hasControls": !controls.isEmpty]
        }
        let controls: [[String: Any]] = d.controls.map { c in
            let tests: [[String: Any]] = c.tests.map { t in
                let attributeIDs = t.attributes.map(\.id)
                let samples: [[String: Any]] = (t.sample?.items ?? []).map { s in
                    ["number": s.number, "item": s.item, "time": s.time, "marks": attributeIDs.map { WorkpaperSheets.mark(s.attributes[$0]) },
                     "exceptions": s.exceptions.joined(separator: ", ")]
                }
                let exceptions: [[String: Any]] = t.exceptions.map { e in
                    var row: [String: Any] = ["time": e.time, "item": e.item, "identity": e.identity, "resource": e.resource,
                                              "severity": e.severity, "reason": e.reason, "reasonCode": e.reasonCode,
                                              "evidence": e.evidence, "status": e.status]
                    if let r = e.managementResponse {
                        row["response"] = "\(r.acceptance), \(r.reason) (\(r.approver), \(r.ticket), until \(r.expires))"
                    }
                    return row
                }
                return ["test": t.test, "title": t.title, "population": t.population, "populationCount": t.populationCount,
                        "sha256": t.provenance?.sha256 ?? "", "controlID": c.id,
                        "attributes": t.attributes.map { ["id": $0.id, "label": $0.label, "passed": $0.passed, "failed": $0.failed, "notApplicable": $0.notApplicable] as [String: Any] },
                        "exceptions": exceptions, "exceptionCount": exceptions.count, "hasExceptions": !exceptions.isEmpty,
                        "samples": samples, "hasSamples": !samples.isEmpty, "sampleCount": samples.count, "seed": t.sample?.seed ?? "",
                        "attributeIDs": attributeIDs]
            }
            return ["id": c.id, "anchor": Self.anchor(control: c.id), "title": c.title, "description": c.description, "owner": c.owner,
                    "frequency": c.frequency, "highRisk": c.highRisk,
                    "criteria": c.criteria.map { ["id": $0, "anchor": Self.anchor(criterion: $0)] }, "tests": tests]
        }
        let provenance: [[String: Any]] = d.controls.flatMap { c in
            c.tests.compactMap { t -> [String: Any]? in
                guard let p = t.provenance else { return nil }
                return ["control": c.id, "anchor": Self.anchor(control: c.id), "test": t.test, "rows": p.rowCount, "sha256": p.sha256, "filter": p.filter]
            }
        }
        var context: [String: Any] = [
            "organization": organization.isEmpty ? "(organization not given)" : organization,
            "scope": "Sessions, approvals, masking counters, guardrail blocks and configuration changes recorded by the access gateway",
            "period": ["label": d.period.label, "start": d.period.start, "end": d.period.end, "timeZone": d.period.timeZone],
            "generatedAt": d.generatedAt, "toolVersion": d.tool.version,
            "source": source(),
            "catalog": ["title": d.catalog.title, "version": d.catalog.version, "sha256": d.catalog.sha256, "files": d.catalog.files.joined(separator: ", ")],
            "summary": ["effective": d.summary.criteria["no-exceptions"] ?? 0, "exceptionsNoted": d.summary.criteria["exceptions-noted"] ?? 0,
                        "noPopulation": d.summary.criteria["no-population"] ?? 0, "notAddressed": d.summary.criteria["not-addressed"] ?? 0,
                        "exceptions": d.summary.exceptions],
            "criteria": criteria, "controls": controls, "chart": chart(), "provenance": provenance,
            "hashMethod": d.controls.first?.tests.first?.provenance?.hashMethod ?? "",
            "queries": d.source.queries.keys.sorted().map { ["name": $0, "query": d.source.queries[$0]!] },
            "dataQuality": d.dataQuality.map { ["table": $0.table, "column": $0.column, "rowID": $0.rowID, "problem": $0.problem] },
            "hasDataQuality": !d.dataQuality.isEmpty,
        ]
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

    /// The cover's source facts. Optional ones are left out when empty: a Mustache section renders
    /// for an empty string too.
    func source() -> [String: Any] {
        let d = document.source
        var source: [String: Any] = ["kind": d.kind, "location": d.location, "sessions": d.sessionsInPeriod]
        for (key, value) in [("sha256", d.sha256 ?? ""), ("schemaVersion", d.schemaVersion ?? ""), ("snapshot", d.snapshotLine)] where !value.isEmpty {
            source[key] = value
        }
        return source
    }

    /// Exceptions per month of the period, as bar heights in pixels.
    func chart() -> [[String: Any]] {
        guard let start = Timestamp.parse(document.period.start), let end = Timestamp.parse(document.period.end) else { return [] }
        // Months of the period's own time zone, as its boundaries are.
        let period = Period(label: document.period.label, start: start, end: end, timeZone: document.period.timeZone)
        let calendar = period.calendar
        let months = period.units(.month, until: end, wholeOnly: false, limit: 60).map(\.label)
        var counts = Dictionary(uniqueKeysWithValues: months.map { ($0, 0) })
        for c in document.controls { for t in c.tests { for e in t.exceptions {
            guard let time = Timestamp.parse(e.time) else { continue }
            let m = Period.localLabel(time, .month, in: calendar)
            if counts[m] != nil { counts[m]! += 1 }
        } } }
        let top = max(counts.values.max() ?? 0, 1)
        return months.map { m in
            let n = counts[m]!
            return ["label": m, "count": n, "height": max(2, n * 140 / top), "zero": n == 0]
        }
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
