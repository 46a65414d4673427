@testable import AccessEvidence
import CHTMLValidator
import Foundation
import Testing

/// Parses HTML with libxml2's HTML parser; returns every error and warning it reports.
func htmlParseErrors(_ html: String) -> [String] {
    var buffer = [CChar](repeating: 0, count: 1 << 16)
    let bytes = Array(html.utf8CString)
    let count = bytes.withUnsafeBufferPointer { html_validate($0.baseAddress!, Int32(bytes.count - 1), &buffer, Int32(buffer.count)) }
    if count < 0 { return ["no document"] }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let messages = text.split(separator: "\n").map(String.init)
    return count == 0 ? [] : (messages.isEmpty ? ["\(count) errors"] : messages)
}

@Suite(.serialized) struct HTMLTests {
    func render(store: String = sampleStorePath, roster: Bool = true) throws -> String {
        try report(store: store, roster: roster).html
    }

    /// The sample report (with the roster, accepted exceptions and a recorded invocation) and its document.
    func report(store: String = sampleStorePath, roster: Bool = true, accepted: Bool = false) throws -> (html: String, document: EvidenceDocument) {
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: store, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        if roster { run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path) }
        if accepted {
            run.accepted = try AcceptedExceptions.load(path: packageRoot.appendingPathComponent("SampleData/accepted-exceptions.yaml").path,
                                                       controls: try shippedCatalog().controls.map(\.id))
        }
        run.invocation = .init(commandLine: "access-evidence report --store gateway.sqlite --period 2026-Q3", user: "alice", host: "audit-host-1")
        run.formats = [.html]
        run.templates = packageRoot.appendingPathComponent("Templates").path
        run.organization = "Acme <Corp> & Co"
        let output = try run.write(to: dir.appendingPathComponent("r").path)
        return (try String(contentsOf: dir.appendingPathComponent("r/report.html"), encoding: .utf8), output.document)
    }

    /// Renders `document` with the shipped templates.
    func render(_ document: EvidenceDocument) throws -> String {
        let library = try HTMLReport.templates(directory: packageRoot.appendingPathComponent("Templates").path)
        return try HTMLReport(document: document, organization: "Acme <Corp> & Co").render(library: library)
    }

    /// The page's text as a reader sees it: style and tags removed, entities for <, > and & read.
    func text(_ html: String) -> String {
        html.replacingOccurrences(of: #"<style>[\s\S]*?</style>"#, with: " ", options: .regularExpression)
            .replacingOccurrences(of: #"<[^>]+>"#, with: " ", options: .regularExpression)
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            .replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
    }

    @Test func theValidatorReportsErrors() {
        #expect(!htmlParseErrors("<!DOCTYPE html><html><body><p>unclosed <b>bold</i></p></body></html>").isEmpty)
        #expect(!htmlParseErrors("<!DOCTYPE html><html><body><bogus>x</bogus></body></html>").isEmpty)
        #expect(htmlParseErrors("<!DOCTYPE html><html><head><title>t</title></head><body><p>ok</p></body></html>") == [])
    }

    @Test func validSelfContainedAndLinked() throws {
        let html = try render()
        #expect(htmlParseErrors(html) == [])
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        // Nothing is fetched from anywhere: no src, no external href, no url(), no @import.
        #expect(html.range(of: #"src\s*="#, options: .regularExpression) == nil)
        #expect(html.range(of: #"href="(?!#)"#, options: .regularExpression) == nil)
        #expect(!html.contains("url(") && !html.contains("@import"))
        // Every criterion and control has an anchor, and the summary links to each criterion.
        let catalog = try shippedCatalog()
        for c in catalog.criteria {
            #expect(html.contains("id=\"criterion-\(c.id)\""))
            #expect(html.contains("href=\"#criterion-\(c.id)\""))
        }
        for c in catalog.controls { #expect(html.contains("id=\"control-\(c.id)\"")) }
        #expect(html.contains("Acme &lt;Corp&gt; &amp; Co"))
        // The cover names an SQLite source with its file hash, and shows no empty snapshot or schema lines.
        let sha = try FileHash.sha256(path: sampleStorePath)
        #expect(html.contains(", SHA-256 <span class=\"mono\">\(sha)</span>; 1247 sessions tested"))
        #expect(!html.contains("<dt>Snapshot</dt>") && !html.contains("schema version"))
        #expect(html.contains("@media print"))
        #expect(html.contains("class=\"chart keep\""))
        // Exceptions are listed in full, with masked evidence.
        #expect(html.contains("4111 **** **** 1111"))
        #expect(!html.contains("4111 1111 1111 1111"))
    }

    @Test func everyControlTestAndExceptionHasAnAnchor() throws {
        let (html, document) = try report()
        var exceptions = 0
        for c in document.controls {
            #expect(html.contains("id=\"control-\(c.id)\""))
            for t in c.tests {
                #expect(html.contains("id=\"test-\(c.id)-\(t.test)\""))
                for e in t.exceptions {
                    exceptions += 1
                    #expect(html.components(separatedBy: "id=\"exception-\(e.fingerprint)\"").count == 2)
                }
            }
        }
        #expect(exceptions == document.summary.exceptions && exceptions > 0)
        // Ids are unique on the page.
        let ids = html.matches(of: /id="([^"]+)"/).map { String($0.output.1) }
        #expect(Set(ids).count == ids.count)
        // Every in-page link has its target.
        for link in html.matches(of: /href="#([^"]+)"/) { #expect(Set(ids).contains(String(link.output.1)), "\(link.output.1)") }
    }

    @Test func pageValidatesWithAnInlineChart() throws {
        let (html, document) = try report()
        #expect(htmlParseErrors(html) == [])
        #expect(html.contains("<svg viewBox="))
        #expect(html.contains("role=\"img\""))
        #expect(html.contains("<title id=\"chart-title\">Exceptions per week, stacked by severity</title>"))
        // Axis titles and a legend for each severity.
        #expect(html.contains(">Exceptions</text>") && html.contains(">Week starting"))
        for severity in ["Critical", "High", "Medium", "Low"] { #expect(html.contains("class=\"legend\"") && html.contains(">\(severity)</text>")) }
        // The bars add up to the exceptions: each total is printed above its bar.
        let totals = html.matches(of: /<text class="total"[^>]*>(\d+)<\/text>/).map { Int($0.output.1)! }
        #expect(totals.reduce(0, +) == document.summary.exceptions)
    }

    @Test func theValidatorAcceptsSVGOnlyInsideSVG() {
        let page = { (body: String) in "<!DOCTYPE html><html><head><title>t</title></head><body>\(body)</body></html>" }
        #expect(htmlParseErrors(page("<div><svg viewBox=\"0 0 10 10\" role=\"img\"><title>x</title><g><rect x=\"1\" y=\"1\" width=\"2\" height=\"2\"><title>r</title></rect><text x=\"1\" y=\"1\">a</text></g></svg></div>")) == [])
        #expect(!htmlParseErrors(page("<div><rect x=\"1\"></rect></div>")).isEmpty)
        #expect(!htmlParseErrors(page("<div><svg><div>x</div></svg></div>")).isEmpty)
        #expect(!htmlParseErrors(page("<div><svg><bogus></bogus></svg></div>")).isEmpty)
    }

    @Test func everyTableHasAHeadAndFitsThePage() throws {
        let html = try render()
        let tables = html.components(separatedBy: "<table").dropFirst().map { $0.components(separatedBy: "</table>")[0] }
        #expect(tables.count > 10)
        for table in tables {
            #expect(table.contains("<thead>"), "\(table.prefix(200))")
            // Tables of the page's width have column widths that add up to at most the page.
            let widths = table.matches(of: /<col style="width: ([0-9.]+)%">/).map { Double($0.output.1)! }
            if !widths.isEmpty { #expect(widths.reduce(0, +) <= 100.5, "\(table.prefix(200))") }
        }
        #expect(html.range(of: #"@page \{[^}]*margin:"#, options: .regularExpression) != nil)
        #expect(html.contains("@top-left { content: \"") && html.contains("counter(page)"))
        #expect(html.contains("table-layout: fixed") && html.contains("overflow-wrap: anywhere") && html.contains("break-inside: avoid"))
    }

    @Test func theRunningHeadIsACSSStringThatCannotEscape() throws {
        #expect(HTMLReport.cssString("Acme (EU), 2026-Q3") == "Acme (EU), 2026-Q3")
        #expect(HTMLReport.cssString("a\"</style>\\;}") == #"a\000022 \00003C /style\00003E \00005C \00003B \00007D "#)
        #expect(HTMLReport.cssString("Ünï") == #"\0000DC n\0000EF "#)
        let html = try render()
        let style = html.components(separatedBy: "<style>")[1].components(separatedBy: "</style>")[0]
        #expect(style.contains(#"@top-left { content: "Acme \00003C Corp\00003E  \000026  Co \0000B7  SOC 2 gateway evidence \0000B7  2026-Q3""#))
    }

    @Test func theFirstPageTellsTheState() throws {
        let (html, document) = try report(accepted: true)
        // The text before the first criterion section: the control scoreboard is in it, near the top.
        let firstCriterion = try #require(html.range(of: "id=\"criterion-"))
        let before = text(String(html[..<firstCriterion.lowerBound]))
        let scoreboard = try #require(before.range(of: "Control scoreboard"))
        #expect(before.distance(from: before.startIndex, to: scoreboard.lowerBound) < 900)
        for c in document.controls { #expect(before.contains("\(c.id) \(c.title)")) }
        // The headline: exceptions open and accepted, by severity; observations; criteria in words.
        #expect(document.summary.exceptionsAccepted > 0)
        #expect(before.contains("\(document.summary.exceptions) exceptions \(document.summary.exceptionsOpen) open, \(document.summary.exceptionsAccepted) with management's accepted response"))
        #expect(before.contains("critical \(document.summary.exceptionsBySeverity["critical"] ?? 0) high \(document.summary.exceptionsBySeverity["high"] ?? 0)"))
        #expect(before.contains("No exceptions in gateway testing") && !html.contains("status-effective") && !html.contains(">effective<"))
        // Criteria with exceptions are tabled; those not addressed are one compact list, no tiles.
        let notAddressed = document.criteria.filter { $0.status == "not-addressed" }
        #expect(before.contains("Not addressed by gateway evidence (\(notAddressed.count)):"))
        #expect(!html.contains("<div class=\"grid\">"))
        #expect(before.contains("One exception can support several criteria"))
        // The top open exceptions link to their anchors, the most severe first.
        let top = html.components(separatedBy: "id=\"top-exceptions\"")[1].components(separatedBy: "</table>")[0]
        let links = top.matches(of: /href="#exception-([0-9a-f]+)" class="sev-([a-z]+)"/).map { (String($0.output.1), String($0.output.2)) }
        #expect(links.count == HTMLReport.topExceptionCount)
        let ranks = links.map { HTMLReport.severityRank($0.1) }
        #expect(ranks == ranks.sorted(by: >) && ranks.first == Severity.critical.rank)
        let open = document.controls.flatMap { $0.tests.flatMap(\.exceptions) }.filter { $0.status == "open" }
        for (print, _) in links { #expect(open.contains { $0.fingerprint == print }) }
        // A table of contents links to each control.
        let contents = html.components(separatedBy: "id=\"contents\"")[1].components(separatedBy: "</div>")[0]
        for c in document.controls { #expect(contents.contains("href=\"#control-\(c.id)\"")) }
    }

    @Test func sampleRowsLinkToTheirExceptions() throws {
        let (html, document) = try report()
        var linked = 0
        for c in document.controls {
            for t in c.tests {
                let prints = Set(t.exceptions.map(\.fingerprint))
                for item in t.sample?.items ?? [] {
                    for code in item.exceptions {
                        let print = Finding.fingerprint(control: c.id, test: t.test, item: item.item, reason: code)
                        guard prints.contains(print) else { continue }
                        #expect(html.contains("<a href=\"#exception-\(print)\">\(code)</a>"))
                        linked += 1
                    }
                }
            }
        }
        #expect(linked > 0)
        // Each attribute is defined where it is ticked, and the selection is stated with the sample.
        #expect(html.contains("<th class=\"attribute\">A: An approval covers the command"))
        #expect(html.contains("seed “0”") && html.contains("Selection: \(Sampler.method.replacingOccurrences(of: "'", with: "&#39;"))."))
    }

    @Test func observationsAreListedApart() throws {
        let (html, document) = try report()
        let observations = document.controls.flatMap { $0.tests.flatMap(\.observations) }
        #expect(!observations.isEmpty)
        #expect(html.contains("Observations (\(observations.count))"))
        #expect(html.contains(HTMLReport.observationNote.replacingOccurrences(of: "'", with: "&#39;")))
        for o in observations {
            #expect(html.contains("id=\"observation-\(o.fingerprint)\""))
            #expect(!html.contains("exception-\(o.fingerprint)"))
        }
        // In its test, an observation is in its own table after the exceptions.
        for c in document.controls {
            for t in c.tests where !t.observations.isEmpty {
                let section = html.components(separatedBy: "id=\"test-\(c.id)-\(t.test)\"")[1]
                let exceptionsTable = section.components(separatedBy: "<h4>Observations")[0]
                for o in t.observations { #expect(!exceptionsTable.contains(o.fingerprint)) }
            }
        }
    }

    @Test func theCoverShowsInputsAndTheRun() throws {
        let html = try render()
        let cover = html.components(separatedBy: "id=\"contents\"")[0]
        let roster = try FileHash.sha256(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
        #expect(cover.contains("<dt>Input: roster</dt>"))
        #expect(cover.contains("SHA-256 <span class=\"mono\">\(roster)</span>"))
        #expect(cover.contains("access-evidence report --store gateway.sqlite --period 2026-Q3"))
        #expect(cover.contains("<dd>alice on audit-host-1</dd>"))
        let without = try render(roster: false)
        #expect(!without.contains("Input: roster"))
    }

    @Test func factsSessionLinksAndTheCompletenessWalk() throws {
        var (_, document) = try report()
        let c = try #require(document.controls.firstIndex { $0.id == "GW-CHG-01" })
        document.controls[c].tests[0].facts = [FactDefinition("command", "Command"), FactDefinition("approval_id", "Approval")]
        document.controls[c].tests[0].walk = [WalkStep(step: "Sessions in the store for the period", count: 1247),
                                             WalkStep(step: "Privileged commands", count: 415)]
        let item = try #require(document.controls[c].tests[0].sample?.items.first)
        document.controls[c].tests[0].sample!.items[0].facts = ["command": "DELETE FROM t WHERE id = 1 -- <x>", "approval_id": "apr-1"]
        document.gatewayURL = "https://hoop.example.com/"
        let html = try render(document)
        #expect(htmlParseErrors(html) == [])
        #expect(html.contains("<th>Command</th><th>Approval</th>"))
        #expect(html.contains("<td class=\"mono\">DELETE FROM t WHERE id = 1 -- &lt;x&gt;</td><td class=\"mono\">apr-1</td>"))
        #expect(html.contains("<a class=\"mono\" href=\"https://hoop.example.com/sessions/\(item.session)\">\(item.session)</a>"))
        #expect(html.contains("<dt>Gateway</dt>"))
        // Configuration changes carry the audit row's id and days their date: no session page.
        #expect(html.contains("https://hoop.example.com/sessions/"))
        #expect(!html.contains("https://hoop.example.com/sessions/audit") && !html.contains("https://hoop.example.com/sessions/period"))
        #expect(html.contains("<span class=\"mono\">period:2026-08-12</span>"))
        #expect(html.contains("Privileged commands</td><td class=\"num\">415</td>"))
        // Without a gateway URL no session is a link, and nothing on the page points elsewhere.
        document.gatewayURL = nil
        #expect(try render(document).range(of: #"href="(?!#)"#, options: .regularExpression) == nil)
    }

    @Test func commandTextIsEscaped() throws {
        let f = try StoreFixture()
        try f.session("s1", user: "okta|x", email: "<img src=x onerror=alert(2)>", created: "2026-07-01T10:00:00Z",
                      script: "DELETE FROM t; <script>alert(1)</script>")
        try f.finish()
        let html = try render(store: f.path, roster: false)
        #expect(htmlParseErrors(html) == [])
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<img"))
    }

    @Test func templatesAreReplaceable() throws {
        let dir = try temporaryDirectory()
        try "<!DOCTYPE html><html><head><title>{{organization}}</title></head><body><p>{{period.label}} {{summary.exceptions}}</p></body></html>"
            .write(to: dir.appendingPathComponent("report.mustache"), atomically: true, encoding: .utf8)
        let library = try HTMLReport.templates(directory: dir.path)
        let document = try ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z")).analyse().document
        let html = try HTMLReport(document: document, organization: "Org").render(library: library)
        #expect(html.contains("<p>2026-Q3 \(document.summary.exceptions)</p>"))
        #expect(throws: TemplateError.self) { try HTMLReport.templates(directory: packageRoot.appendingPathComponent("Controls").path) }
    }
}
