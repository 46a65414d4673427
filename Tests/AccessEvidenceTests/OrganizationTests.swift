@testable import AccessEvidence
import Foundation
import Testing

/// hoop is multi-tenant: a report covers one organization, and nothing of another crosses into it.
@Suite struct OrganizationTests {
    static let orgA = "0a000000-0000-4000-8000-00000000000a", orgB = "0b000000-0000-4000-8000-00000000000b"
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
        try f.writer.db.execute("UPDATE sessions SET org_id = CASE WHEN id LIKE 'a%' THEN '\(Self.orgA)' ELSE '\(Self.orgB)' END")
        // The same id stored as a BLOB is the same organization.
        try f.writer.db.execute("UPDATE sessions SET org_id = CAST('\(Self.orgA)' AS BLOB) WHERE id = 'a2'")
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
                    + "\(Self.orgA): 2 sessions in the period; \(Self.orgB): 1 session in the period")
        }
        #expect(throws: OrganizationError.self) { try analyse(f, org: "org-c") }
        do { _ = try analyse(f, org: "org-c") } catch let error as OrganizationError {
            #expect(error.description.hasPrefix("--org org-c: no such organization in the store (it holds: \(Self.orgA): 2 sessions"))
        }
    }

    @Test func eachOrganizationsReportHoldsOnlyItsOwnRows() throws {
        let f = try store()
        let a = try analyse(f, org: Self.orgA)
        #expect(a.analysis.sessionsAnalysed == 2)
        #expect(flaggedSessions(a) == ["a2"])
        #expect(!namedSessions(a).contains("b1") && namedSessions(a).contains("a2"))
        #expect(a.document.source.organization == OrganizationRef(id: Self.orgA, name: nil))
        #expect(a.document.reconciliation?.sessionsInStore == 2)
        #expect(a.document.source.rowCounts["sessions"] == 2)

        let b = try analyse(f, org: Self.orgB.uppercased())  // ids match whatever their case
        #expect(b.analysis.sessionsAnalysed == 1)
        #expect(flaggedSessions(b) == ["b1"])
        #expect(namedSessions(b).isDisjoint(with: ["a1", "a2"]))
        #expect(b.document.source.organization?.id == Self.orgB)
        #expect(b.document.reconciliation?.sessionsInStore == 1)
    }

    /// A store of one organization is read as it always was, and the report names it.
    @Test func theOnlyOrganizationIsUsedAndNamed() throws {
        let f = try store(onlyA: true)
        let a = try analyse(f, org: nil)
        #expect(a.analysis.sessionsAnalysed == 2 && flaggedSessions(a) == ["a2"])
        #expect(a.document.source.organization == OrganizationRef(id: Self.orgA, name: nil))
        // A store whose rows carry no org_id names none.
        let plain = try StoreFixture()
        try plain.session("p1", created: "2026-07-01T10:00:00Z", script: "SELECT 1;")
        try plain.finish()
        #expect(try analyse(plain, org: nil).document.source.organization == nil)
        #expect(throws: OrganizationError.self) { try analyse(plain, org: Self.orgA) }
        // A damaged org_id (not a UUID) is a bad row, not a second tenant: the run goes on.
        let damaged = try StoreFixture()
        try damaged.session("d1", created: "2026-07-01T10:00:00Z", script: "SELECT 1;")
        try damaged.session("d2", created: "2026-07-02T10:00:00Z", script: "SELECT 1;")
        try damaged.writer.db.execute("UPDATE sessions SET org_id = CASE WHEN id = 'd1' THEN '\(Self.orgA)' ELSE 42 END")
        try damaged.finish()
        let read = try analyse(damaged, org: nil)
        #expect(read.analysis.sessionsAnalysed == 2 && read.document.source.organization?.id == Self.orgA)
    }

    /// A tenant with users but no session is still a tenant: its rows never join another's report.
    @Test func aTenantWithoutSessionsStillCounts() throws {
        let f = try StoreFixture()
        try f.session("a1", created: "2026-07-01T10:00:00Z", ended: "2026-07-01T10:01:00Z", script: "SELECT 1;")
        try f.user("okta|u1", email: "u1@acme.example")
        try f.user("okta|b1", email: "b1@beta.example", status: "inactive")
        try f.writer.db.execute("UPDATE sessions SET org_id = '\(Self.orgA)'")
        try f.writer.db.execute("UPDATE users SET org_id = CASE WHEN subject = 'okta|u1' THEN '\(Self.orgA)' ELSE '\(Self.orgB)' END")
        try f.finish()
        do {
            _ = try analyse(f, org: nil)
            Issue.record("a store with a second tenant's users was read whole")
        } catch let error as OrganizationError {
            #expect(error.description.hasSuffix("\(Self.orgA): 1 session in the period; \(Self.orgB): 0 sessions in the period"))
        }
        let a = try analyse(f, org: Self.orgA)
        #expect(a.analysis.sessionsAnalysed == 1 && a.document.source.rowCounts["users"] == 1)
    }

    @Test func theCommandLineSaysWhichOrganizationsThereAre() throws {
        let f = try store()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let refused = try runExecutable(["report", "--store", f.path, "--period", "2026-Q3", "--out", dir.path + "/r"])
        #expect(refused.code == 64)
        #expect(refused.stderr == "access-evidence: the store holds 2 organizations; choose one with --org ID or NAME: "
                + "\(Self.orgA): 2 sessions in the period; \(Self.orgB): 1 session in the period\n")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/r"))
        let chosen = try runExecutable(["report", "--store", f.path, "--period", "2026-Q3", "--out", dir.path + "/r", "--org", Self.orgB, "--quiet"])
        #expect(chosen.code == 0)
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("r/report.json"))) as? [String: Any])
        #expect((json["source"] as? [String: Any])?["organization"] as? [String: String] == ["id": Self.orgB])
        let rows = try String(contentsOf: dir.appendingPathComponent("r/populations.jsonl"), encoding: .utf8)
        #expect(rows.contains("\"b1\"") && !rows.contains("\"a1\"") && !rows.contains("\"a2\""))
    }
}
