@testable import AccessEvidence
import Foundation
import Testing

/// hoop is multi-tenant: a report covers one organization, and nothing of another crosses into it.
@Suite struct OrganizationTests {
    /// Org A: a harmless and a privileged unapproved session; org B: one privileged unapproved session
    /// on a connection of the same name. `onlyA` leaves org B out.
    func store(onlyA: Bool = false) throws -> StoreFixture {
        let f = try StoreFixture()
        try f.session("a1", created: "2026-07-01T10:00:00Z", ended: "2026-07-01T10:01:00Z", script: "SELECT 1;")
        try f.session("a2", created: "2026-07-02T10:00:00Z", ended: "2026-07-02T10:01:00Z", script: "DROP TABLE orders;")
        if !onlyA {
            try f.session("b1", user: "okta|u2", email: "u2@beta.example", created: "2026-07-03T10:00:00Z",
                          ended: "2026-07-03T10:01:00Z", script: "DROP TABLE invoices;")
        }
        try f.writer.db.execute("UPDATE sessions SET org_id = CASE WHEN id LIKE 'a%' THEN 'org-a' ELSE 'org-b' END")
        try f.finish()
        return f
    }

    func analyse(_ f: StoreFixture, org: String?) throws -> ReportRun.Output {
        var run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.storeOrganization = org
        return try run.analyse()
    }

    /// Sessions with an unapproved privileged command.
    func flaggedSessions(_ output: ReportRun.Output) -> Set<String> {
        Set(output.analysis.controls.flatMap(\.exceptions).filter { $0.test == "approval.privileged-commands" }.map(\.sessionID))
    }

    /// Every session any finding names.
    func namedSessions(_ output: ReportRun.Output) -> Set<String> {
        Set(output.analysis.controls.flatMap(\.findings).map(\.sessionID))
    }

    @Test func severalOrganizationsAndNoneChosenIsRefusedWithTheList() throws {
        let f = try store()
        do {
            _ = try analyse(f, org: nil)
            Issue.record("a two-org store was read without --org")
        } catch let error as OrganizationError {
            #expect(error.description == "the store holds 2 organizations; choose one with --org ID or NAME: "
                    + "org-a: 2 sessions in the period; org-b: 1 session in the period")
        }
        #expect(throws: OrganizationError.self) { try analyse(f, org: "org-c") }
        do { _ = try analyse(f, org: "org-c") } catch let error as OrganizationError {
            #expect(error.description.hasPrefix("--org org-c: no such organization in the store (it holds: org-a: 2 sessions"))
        }
    }

    @Test func eachOrganizationsReportHoldsOnlyItsOwnRows() throws {
        let f = try store()
        let a = try analyse(f, org: "org-a")
        #expect(a.analysis.sessionsAnalysed == 2)
        #expect(flaggedSessions(a) == ["a2"])
        #expect(!namedSessions(a).contains("b1") && namedSessions(a).contains("a2"))
        #expect(a.document.source.organization == OrganizationRef(id: "org-a", name: nil))
        #expect(a.document.reconciliation?.sessionsInStore == 2)
        #expect(a.document.source.rowCounts["sessions"] == 2)

        let b = try analyse(f, org: "ORG-B")  // ids match whatever their case
        #expect(b.analysis.sessionsAnalysed == 1)
        #expect(flaggedSessions(b) == ["b1"])
        #expect(namedSessions(b).isDisjoint(with: ["a1", "a2"]))
        #expect(b.document.source.organization?.id == "org-b")
        #expect(b.document.reconciliation?.sessionsInStore == 1)
    }

    /// A store of one organization is read as it always was, and the report names it.
    @Test func theOnlyOrganizationIsUsedAndNamed() throws {
        let f = try store(onlyA: true)
        let a = try analyse(f, org: nil)
        #expect(a.analysis.sessionsAnalysed == 2 && flaggedSessions(a) == ["a2"])
        #expect(a.document.source.organization == OrganizationRef(id: "org-a", name: nil))
        // A store whose rows carry no org_id names none.
        let plain = try StoreFixture()
        try plain.session("p1", created: "2026-07-01T10:00:00Z", script: "SELECT 1;")
        try plain.finish()
        #expect(try analyse(plain, org: nil).document.source.organization == nil)
        #expect(throws: OrganizationError.self) { try analyse(plain, org: "org-a") }
    }

    @Test func theCommandLineSaysWhichOrganizationsThereAre() throws {
        let f = try store()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let refused = try runExecutable(["report", "--store", f.path, "--period", "2026-Q3", "--out", dir.path + "/r"])
        #expect(refused.code == 64)
        #expect(refused.stderr == "access-evidence: the store holds 2 organizations; choose one with --org ID or NAME: "
                + "org-a: 2 sessions in the period; org-b: 1 session in the period\n")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/r"))
        let chosen = try runExecutable(["report", "--store", f.path, "--period", "2026-Q3", "--out", dir.path + "/r", "--org", "org-b", "--quiet"])
        #expect(chosen.code == 0)
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("r/report.json"))) as? [String: Any])
        #expect((json["source"] as? [String: Any])?["organization"] as? [String: String] == ["id": "org-b"])
        let rows = try String(contentsOf: dir.appendingPathComponent("r/populations.jsonl"), encoding: .utf8)
        #expect(rows.contains("\"b1\"") && !rows.contains("\"a1\"") && !rows.contains("\"a2\""))
    }
}
