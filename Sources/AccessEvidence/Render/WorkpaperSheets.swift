import Foundation

/// The workpaper's sheets that come from the finished report (all but the population sheets).
/// Management's tool does not write the auditor's conclusions: the columns for tick marks,
/// comments, exception evaluation and sign-off are left empty for the audit team.
struct WorkpaperSheets {
    let document: EvidenceDocument
    let gatewayURL: String?
    let tests: [PopulationTest]
    let limit: Int
    /// Each test's population sheet as the workbook named it (by `PopulationTest.index`): the name
    /// may have been cut to Excel's 31 characters.
    var populationSheets: [Int: String] = [:]

    static let auditorColumns = ["Auditor tick mark", "Auditor comments", "Exception evaluation (auditor)"]
    static let auditorWidths: [Double] = [14, 40, 40]

    /// A session id as a link into the gateway's web app, when `--gateway-url` was given.
    func session(_ id: String) -> Cell {
        guard let base = gatewayURL, GatewayLinks.isSession(id) else { return .text(id) }
        return .link(GatewayLinks.session(base: base, id: id), id)
    }

    /// One row per connection: its configured protections at extraction and their changes in the period.
    func posture(_ s: Sheet) throws {
        try s.header(["Connection", "Protocol", "Tags", "Production", "Review gate", "Min. approvals", "Masking", "Guardrails",
                      "Access modes", "Changed during the period", "Production connection lacks"] + Self.auditorColumns,
                     widths: [22, 12, 24, 11, 50, 10, 40, 30, 30, 60, 24] + Self.auditorWidths, wrap: [4, 6, 9])
        for p in document.posture {
            try s.row([.text(p.connection), .text(p.protocol), .text(p.tags.joined(separator: ", ")), .text(p.production ? "yes" : "no"),
                       .text(p.reviewGate.isEmpty ? "none" : p.reviewGate.joined(separator: "; ")),
                       p.minApprovals.map { .number(Double($0)) } ?? .text(""),
                       .text(p.masking.isEmpty ? "none" : p.masking.joined(separator: "; ")),
                       .text(p.guardrails.isEmpty ? "none" : p.guardrails.joined(separator: ", ")), .text(p.accessModes),
                       .text(p.changes.joined(separator: "; ")), .text(p.missing.joined(separator: ", ")), .text(""), .text(""), .text("")])
        }
        try s.finish()
    }

    func summary(_ s: Sheet) throws {
        try s.header(["Item", "Value"], widths: [40, 100])
        let d = document
        var rows: [(String, Cell)] = [
            ("Report", .text("\(Self.frameworkNames(d)) evidence from the access gateway: the gateway's records tested against the catalog's controls")),
            ("Period", .text(d.period.label)),
            ("Period start (UTC)", Cell.time(d.period.start)),
            ("Period end, exclusive (UTC)", Cell.time(d.period.end)),
            ("Time zone of the period", .text(d.period.timeZone)),
            ("Generated at (UTC)", Cell.time(d.generatedAt)),
            ("Source", .text("\(d.source.kind) \(d.source.location)")),
            ("Source SHA-256", .text(d.source.sha256 ?? "")),
            ("Source schema version", .text(d.source.schemaVersion ?? "")),
            ("Snapshot", .text(d.source.snapshotLine)),
            ("Columns the store's schema lacks", .text((d.source.absentColumns ?? []).map { $0.shown }
                .joined(separator: "; "))),
            ("Organization in the store", .text(d.source.organization.map { o in o.name.map { "\($0) (\(o.id))" } ?? o.id } ?? "")),
            ("Catalog", .text("\(d.catalog.title) \(d.catalog.version)")),
            ("Frameworks", .text(d.frameworks.map { "\($0.title) (\($0.version))" }.joined(separator: "; "))),
            ("Catalog SHA-256", .text(d.catalog.sha256)),
            ("Sessions tested", .number(Double(d.source.sessionsInPeriod))),
            ("Controls", .number(Double(d.summary.controls))),
            ("Exceptions (the control failed for the item)", .number(Double(d.summary.exceptions))),
            ("  open", .number(Double(d.summary.exceptionsOpen))),
            ("  with management's accepted response", .number(Double(d.summary.exceptionsAccepted))),
        ]
        for severity in Severity.allCases.reversed() {
            rows.append(("  \(severity.rawValue) severity", .number(Double(d.summary.exceptionsBySeverity[severity.rawValue] ?? 0))))
        }
        rows += [
            ("Observations (listed for the auditor's judgement; not exceptions)", .number(Double(d.summary.observations))),
            ("Criteria with no exceptions in gateway testing", .number(Double(d.summary.criteria[CriterionStatus.noExceptions.rawValue] ?? 0))),
            ("Criteria with exceptions noted", .number(Double(d.summary.criteria[CriterionStatus.exceptionsNoted.rawValue] ?? 0))),
            ("Criteria with no population in the period", .number(Double(d.summary.criteria[CriterionStatus.noPopulation.rawValue] ?? 0))),
            ("Criteria not addressed by gateway evidence", .number(Double(d.summary.criteria[CriterionStatus.notAddressed.rawValue] ?? 0))),
        ]
        if d.frameworks.count > 1 {
            for f in d.frameworks { rows.append(("Coverage: \(f.title)", .text(Self.coverageLine(f.coverage)))) }
        }
        rows += [
            ("Data-quality issues", .number(Double(d.summary.dataQualityIssues))),
            ("Tool", .text("access-evidence \(d.tool.version)")),
        ]
        if let i = d.invocation {
            rows += [("Run by", .text("\(i.user) on \(i.host)")), ("Command line", .text(i.commandLine))]
        }
        for input in d.inputs {
            rows.append(("Input: \(input.role)", .text("\(input.path) (\(input.entries) entries, SHA-256 \(input.sha256))")))
        }
        for (label, value) in rows { try s.row([.text(label), value]) }
        try s.finish(autofilter: false)
        s.skip(1)
        try s.title("Sign-off")
        for line in ["Prepared by (management)", "Date prepared", "Reviewed by (auditor)", "Date reviewed"] {
            try s.row([.text(line), .text("")])
        }
    }

    func procedures(_ s: Sheet) throws {
        try s.header(["Control", "Test", "Objective", "Population definition", "Attributes tested", "Population", "Exceptions", "Observations",
                      "Sample size and method", "Result of gateway testing", "Population file"] + Self.auditorColumns
                     + ["Prepared by", "Reviewed by"],
                     widths: [12, 28, 44, 44, 60, 12, 12, 12, 50, 36, 36] + Self.auditorWidths + [16, 16],
                     wrap: [2, 3, 4, 8, 9])
        for c in document.controls {
            for t in c.tests {
                let attributes = t.attributes.map { "\($0.id): \($0.label) (✓ \($0.passed), ✗ \($0.failed), n/a \($0.notApplicable))" }
                    .joined(separator: "\n")
                let sample = t.sample.map { "\($0.size) item\($0.size == 1 ? "" : "s"), seed \($0.seed): \($0.method)" } ?? ""
                let result = t.notSupported.map { "Not supported by this source, so not run: \($0)" } ?? (t.exceptions.isEmpty
                    ? (t.populationCount == 0 ? "No items in the period" : "No exceptions in gateway testing")
                    : "\(t.exceptions.count) exception\(t.exceptions.count == 1 ? "" : "s"): see the Exceptions sheet")
                try s.row([.text(c.id), .text(t.test), .text(t.title), .text(t.population), .text(attributes),
                           .number(Double(t.populationCount)), .number(Double(t.exceptions.count)), .number(Double(t.observations.count)),
                           .text(sample), .text(result), .text(t.populationFile ?? ""), .text(""), .text(""), .text(""), .text(""), .text("")])
            }
        }
        try s.finish()
    }

    /// A framework's criteria with their standing; a framework that classes its requirements (HIPAA's
    /// required and addressable specifications) gets an Obligation column.
    func criteria(_ s: Sheet, framework: EvidenceDocument.FrameworkDoc) throws {
        let obligations = framework.criteria.contains { $0.obligation != nil }
        try s.header(["Criterion", "Series", "Category"] + (obligations ? ["Obligation"] : []) + ["Title", "Gateway evidence", "Status", "Controls",
                      "Exceptions", "Observations", "Items tested, per test", "Reason"],
                     widths: [10, 8, 16] + (obligations ? [14] : []) + [40, 16, 30, 24, 12, 12, 50, 80],
                     wrap: obligations ? [4, 10, 11] : [3, 9, 10])
        for c in framework.criteria {
            let perTest = c.tests.map { "\($0.control) \($0.test): \($0.population)" }.joined(separator: "\n")
            try s.row([.text(c.id), .text(c.series), .text(c.category)] + (obligations ? [.text(c.obligation ?? "")] : [])
                      + [.text(c.title), .text(c.gatewayEvidence),
                       .text(EvidenceDocument.statusLabel(c.status)), .text(c.controls.joined(separator: ", ")),
                       .number(Double(c.exceptionCount)), .number(Double(c.observationCount)), .text(perTest), .text(c.reason)])
        }
        try s.finish()
        s.skip(1)
        try s.title("\(framework.title) (\(framework.version)), from \(framework.file): \(Self.coverageLine(framework.coverage)) "
                    + "One exception can support several criteria: a control's exceptions count under each criterion it supports.")
    }

    /// `SOC 2`, `SOC 2, ISO 27001`: the run's frameworks as people name them.
    static func frameworkNames(_ d: EvidenceDocument) -> String {
        d.frameworks.isEmpty ? "SOC 2" : d.frameworks.map { Framework.shortName(id: $0.id, title: $0.title) }.joined(separator: ", ")
    }

    static func coverageLine(_ c: EvidenceDocument.Coverage) -> String {
        "\(c.requirements) requirements, \(c.withGatewayEvidence) with gateway evidence (\(c.withExceptions) with exceptions noted, "
            + "\(c.noExceptions) with no exceptions, \(c.noPopulation) with no population), \(c.notAddressed) not addressed"
            + (c.evidenceExpectedNotTested > 0 ? " (\(c.evidenceExpectedNotTested) of them marked as gateway-evidenced but tested by no control)." : ".")
    }

    /// The framework whose controls the statement-of-applicability sheet lists.
    static let applicabilityFramework = "iso27001"
    static let applicabilitySheetName = "ISO 27001 SoA"

    /// ISO/IEC 27001 clause 6.1.3 d asks for a statement of applicability: every Annex A control, whether
    /// it applies, why, and whether it is implemented. Applicability is the organization's decision; this
    /// sheet gives what gateway evidence can contribute to each line, to paste beside it.
    func applicability(_ s: Sheet, framework: EvidenceDocument.FrameworkDoc) throws {
        try s.header(["Annex A control", "Theme", "Title (our words)", "Supported by gateway evidence", "Gateway evidence (catalog)",
                      "Gateway controls", "Result in the period", "Evidence reference", "Why (for the justification column)"],
                     widths: [12, 24, 44, 14, 16, 24, 30, 70, 80], wrap: [2, 7, 8])
        let sheets = Dictionary(self.tests.map { ("\($0.control.id) \($0.definition.id)", populationSheets[$0.index]) },
                                uniquingKeysWith: { a, _ in a })
        for c in framework.criteria {
            let supported = c.status != CriterionStatus.notAddressed.rawValue
            var references: [String] = []
            for t in c.tests {
                let sheet = sheets["\(t.control) \(t.test)"] ?? nil
                references.append("\(t.control) \(t.test): \(t.population) items, \(t.exceptions) exceptions"
                                  + (sheet.map { " (sheet '\($0)')" } ?? ""))
            }
            if supported { references.append("report.json: frameworks › \(framework.id) › \(c.id)") }
            try s.row([.text(c.id), .text(c.seriesTitle), .text(c.title), .text(supported ? "Yes" : "No"), .text(c.gatewayEvidence),
                       .text(c.controls.joined(separator: ", ")), .text(supported ? EvidenceDocument.statusLabel(c.status) : ""),
                       .text(references.joined(separator: "\n")), .text(c.reason)])
        }
        try s.finish()
        s.skip(1)
        try s.title("For the statement of applicability (ISO/IEC 27001:2022, 6.1.3 d): whether each control applies and is implemented is the "
                    + "organization's decision; this sheet lists what gateway evidence supports. \(Self.coverageLine(framework.coverage))")
    }


    func controls(_ s: Sheet) throws {
        try s.header(["Control", "Title", "Owner", "Frequency", "High risk", "Criteria", "Test", "Population", "Exceptions", "Observations",
                      "Sample size", "Population SHA-256"],
                     widths: [12, 50, 22, 12, 10, 22, 32, 12, 12, 12, 12, 66], wrap: [1])
        for c in document.controls {
            for t in c.tests {
                try s.row([.text(c.id), .text(c.title), .text(c.owner), .text(c.frequency), .text(c.highRisk ? "yes" : "no"),
                           .text(c.criteria.joined(separator: ", ")), .text(t.test), .number(Double(t.populationCount)),
                           .number(Double(t.exceptions.count)), .number(Double(t.observations.count)),
                           .number(Double(t.sample?.size ?? 0)), .text(t.provenance?.sha256 ?? "")])
            }
        }
        try s.finish()
    }

    /// The Exceptions or Observations sheet: each finding with the item's facts and the auditor's columns.
    func findings(_ s: Sheet, kind: FindingKind) throws {
        try s.header(["Fingerprint", "Control", "Test", "Criteria", "Item", "Session", "Identity", "Resource", "Time (UTC)", "Severity",
                      "Reason code", "Reason", "Evidence (masked)", "Status", "Management response", "Facts"] + Self.auditorColumns,
                     widths: [26, 12, 28, 20, 40, 38, 30, 22, 20, 10, 26, 60, 60, 12, 50, 70] + Self.auditorWidths,
                     wrap: [11, 12, 14, 15])
        for c in document.controls {
            for t in c.tests {
                let labels = Dictionary(t.facts.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
                for e in kind == .exception ? t.exceptions : t.observations {
                    let response = e.managementResponse.map { "\($0.acceptance): \($0.reason) (approved by \($0.approver), \($0.ticket), until \($0.expires))" } ?? ""
                    let facts = t.facts.compactMap { f in e.facts[f.id].map { "\(labels[f.id] ?? f.id): \($0)" } }.joined(separator: "\n")
                    try s.row([.text(e.fingerprint), .text(e.control), .text(e.test), .text(e.criteria.joined(separator: ", ")), .text(e.item),
                               session(e.session), .text(e.identity), .text(e.resource), Cell.time(e.time),
                               .text(e.severity), .text(e.reasonCode), .text(e.reason), .text(e.evidence), .text(e.status), .text(response),
                               .text(facts), .text(""), .text(""), .text("")])
                }
            }
        }
        try s.finish()
        s.skip(1)
        try s.title(kind == .exception
                    ? "An exception is an item for which the control failed. Auditor columns are for the audit team's evaluation."
                    : "An observation is listed for the auditor's judgement: the control operated (a refused change, a forced approval, a blocked burst). Observations do not make a criterion 'exceptions noted'; the catalog's observations list decides which reason codes they are.")
    }

    /// One block per test: a title naming the test, the sample size, seed and method; a header
    /// naming each attribute and fact; the sampled rows with their tick marks.
    func samples(_ s: Sheet) throws {
        try s.pageSetup(repeat: nil)
        try s.title("Samples: one block per test. Tick marks are what the tool found in the gateway's records, not the auditor's conclusion.")
        for c in document.controls {
            for t in c.tests {
                guard let sample = t.sample else { continue }
                s.skip(1)
                try s.title("\(c.id) — \(t.test): \(t.title). \(sample.size) of \(t.populationCount) items, seed \(sample.seed).")
                try s.row([.text("Method: \(sample.method)")])
                let titles = ["Sample #", "Item", "Session", "Identity", "Resource", "Time (UTC)"]
                    + t.attributes.map { "\($0.id): \($0.label)" } + ["Exceptions (fingerprint)"] + t.facts.map(\.label)
                    + Self.auditorColumns
                try s.row(titles.map(Cell.text), style: .header)
                for item in sample.items {
                    let fingerprints = item.exceptions.map { code in
                        Finding.fingerprint(control: c.id, test: t.test, item: item.item, reason: code) + " " + code
                    }.joined(separator: "\n")
                    try s.row([.number(Double(item.number)), .text(item.item), session(item.session), .text(item.identity),
                               .text(item.resource), Cell.time(item.time)]
                              + t.attributes.map { .text(Self.mark(item.attributes[$0.id])) }
                              + [.text(fingerprints)] + t.facts.map { .text(item.facts[$0.id] ?? "") }
                              + [.text(""), .text(""), .text("")])
                }
                if sample.items.isEmpty { try s.row([.text("No items in the period: nothing to sample.")]) }
            }
        }
        s.skip(1)
        for line in ["Tick marks (what the tool checked in the gateway's records)",
                     "✓ = the tool found the attribute met in the gateway's record of the item",
                     "✗ = the tool found the attribute not met: an exception or observation, listed with its fingerprint on the Exceptions or Observations sheet",
                     "n/a = the attribute does not apply to the item",
                     "Auditor tick mark / comments / exception evaluation: left for the audit team"] {
            try s.row([.text(line)], style: line.hasPrefix("Tick marks") ? .header : .plain)
        }
    }

    static func mark(_ word: String?) -> String {
        switch word {
        case "pass": return "✓"
        case "fail": return "✗"
        default: return "n/a"
        }
    }

    func about(_ s: Sheet) throws {
        try s.header(["Control", "Test", "Source", "Source SHA-256", "Query", "Filter", "Period", "Generated at", "Row count",
                      "Population SHA-256", "Hash method", "Population file", "Rows in this workbook"],
                     widths: [12, 28, 40, 66, 80, 80, 44, 22, 12, 66, 60, 40, 14], wrap: [4, 5, 10])
        for c in document.controls {
            for t in c.tests {
                guard let p = t.provenance else { continue }
                try s.row([.text(c.id), .text(t.test), .text(p.source), .text(p.sourceSHA256 ?? ""), .text(p.query), .text(p.filter),
                           .text(p.period), .text(p.generatedAt), .number(Double(p.rowCount)), .text(p.sha256), .text(p.hashMethod),
                           .text(t.populationFile ?? ""), .number(Double(t.workbookRows ?? t.populationCount))])
            }
        }
        try s.finish()
        s.skip(1)
        try s.title("Completeness: from the source to each population")
        try s.row([.text("Control"), .text("Test"), .text("Step"), .text("Count")], style: .header)
        for c in document.controls {
            for t in c.tests {
                for step in t.walk { try s.row([.text(c.id), .text(t.test), .text(step.step), .number(Double(step.count))]) }
                // What the test assumed or could not test, beside its walk.
                for note in t.notes ?? [] { try s.row([.text(c.id), .text(t.test), .text("Note: " + note), .text("")]) }
            }
        }
        s.skip(1)
        try s.title("Rows in the store's tables")
        for table in document.source.rowCounts.keys.sorted() {
            try s.row([.text(table), .number(Double(document.source.rowCounts[table]!))])
        }
        if let r = document.reconciliation {
            s.skip(1)
            try s.title("Reconciliation")
            try s.row([.text("Sessions in the store for the period"), .number(Double(r.sessionsInStore))])
            try s.row([.text("Sessions tested"), .number(Double(r.sessionsTested))])
            try s.row([.text("Difference"), .number(Double(r.difference))])
            try s.row([.text("Explanation"), .text(r.explanation)])
            try s.row([.text("Store query"), .text(r.storeQuery)])
        }
        if !document.inputs.isEmpty || document.invocation != nil {
            s.skip(1)
            try s.title("Inputs and run")
            for input in document.inputs {
                try s.row([.text(input.role), .text(input.path), .text(input.sha256), .number(Double(input.entries))])
            }
            if let i = document.invocation {
                try s.row([.text("Command line"), .text(i.commandLine)])
                try s.row([.text("Run by"), .text("\(i.user) on \(i.host)")])
            }
        }
    }
}

/// Links into the gateway's web app (hoop: `BASE/sessions/ID`).
public enum GatewayLinks {
    /// Whether an item's session field is a gateway session: items that are not sessions carry the
    /// audit row's id (`audit:…`, configuration changes) or the day (`period:…`) there instead.
    public static func isSession(_ id: String) -> Bool { !id.isEmpty && !id.hasPrefix("audit:") && !id.hasPrefix("period:") }

    public static func session(base: String, id: String) -> String {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? id
        return "\(trimmed)/sessions/\(escaped)"
    }

    /// `https://…` (or `http://` to loopback): anything else would make a link that runs or leaks.
    public static func validate(_ base: String) -> Bool {
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              url.query == nil, url.fragment == nil, url.user == nil, url.password == nil else { return false }
        if scheme == "https" { return true }
        return scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1")
    }
}

extension EvidenceDocument {
    /// A criterion status in words an auditor would not dispute.
    public static func statusLabel(_ status: String) -> String {
        switch status {
        case CriterionStatus.noExceptions.rawValue: return "No exceptions in gateway testing"
        case CriterionStatus.exceptionsNoted.rawValue: return "Exceptions noted"
        case CriterionStatus.noPopulation.rawValue: return "No population in the period"
        case CriterionStatus.notAddressed.rawValue: return "Not addressed by gateway evidence"
        default: return status
        }
    }
}
