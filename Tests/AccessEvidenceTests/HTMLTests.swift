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
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: store, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        if roster { run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path) }
        run.formats = [.html]
        run.templates = packageRoot.appendingPathComponent("Templates").path
        run.organization = "Acme <Corp> & Co"
        try run.write(to: dir.appendingPathComponent("r").path)
        return try String(contentsOf: dir.appendingPathComponent("r/report.html"), encoding: .utf8)
    }

    @Test func theValidatorReportsErrors() {
        #expect(!htmlParseErrors("<!DOCTYPE html><html><body><p>unclosed <b>bold</i></p></body></html>").isEmpty)
        #expect(!htmlParseErrors("<!DOCTYPE html><html><body><bogus>x</bogus></body></html>").isEmpty)
        #expect(htmlParseErrors("<!DOCTYPE html><html><head><title>t</title></head><body><p>ok</p></body></html>") == [])
    }

    @Test func theValidatorAcceptsSVGOnlyInsideSVG() {
        let page = { (body: String) in "<!DOCTYPE html><html><head><title>t</title></head><body>\(body)</body></html>" }
        #expect(htmlParseErrors(page("<div><svg viewBox=\"0 0 10 10\" role=\"img\"><title>x</title><g><rect x=\"1\" y=\"1\" width=\"2\" height=\"2\"><title>r</title></rect><text x=\"1\" y=\"1\">a</text></g></svg></div>")) == [])
        #expect(!htmlParseErrors(page("<div><rect x=\"1\"></rect></div>")).isEmpty)
        #expect(!htmlParseErrors(page("<div><svg><div>x</div></svg></div>")).isEmpty)
        #expect(!htmlParseErrors(page("<div><svg><bogus></bogus></svg></div>")).isEmpty)
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
        #expect(html.contains(", SHA-256 <span class=\"mono\">\(sha)</span>; 1244 sessions tested"))
        #expect(!html.contains("<dt>Snapshot</dt>") && !html.contains("schema version"))
        #expect(html.contains("@media print"))
        #expect(html.contains("class=\"chart\""))
        // Exceptions are listed in full, with masked evidence.
        #expect(html.contains("4111 **** **** 1111"))
        #expect(!html.contains("4111 1111 1111 1111"))
        #expect(html.components(separatedBy: "class=\"sev-").count - 1 == 36)
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
