@testable import AccessEvidence
import Foundation
import Testing

@Suite struct RosterTests {
    @Test func loadsCSVAndJSON() throws {
        let dir = try temporaryDirectory()
        let csv = dir.appendingPathComponent("r.csv").path
        try "subject,email,status,terminated_at,kind,owner\nokta|a,\"a@x.example\",terminated,2026-08-01,person,\n,svc@x.example,active,,service,\"Lead, Data\"\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try Roster.load(path: csv)
        #expect(r.entries.count == 2)
        #expect(r.entry(for: Actor(subject: "okta|a", email: "", name: ""))?.terminatedAt == date("2026-08-01"))
        #expect(r.entry(for: Actor(subject: "other", email: "SVC@x.example", name: ""))?.owner == "Lead, Data")
        let json = dir.appendingPathComponent("r.json").path
        try "[{\"email\": \"b@x.example\", \"terminated_at\": \"2026-09-01T12:00:00Z\"}]".write(toFile: json, atomically: true, encoding: .utf8)
        let j = try Roster.load(path: json)
        #expect(j.entries[0].isTerminated && j.entries[0].status == "terminated")
    }

    @Test(arguments: [
        ("subject,email,colour\n", "r.csv:1: unknown column 'colour'"),
        ("subject,email,email\nx,y,z\n", "r.csv:1: column 'email' appears twice"),
        ("\n\nsubject,email\nx\n", "r.csv:4: 1 fields, the header has 2"),
        ("subject,email\nx\n", "r.csv:2: 1 fields, the header has 2"),
        ("subject,email,terminated_at\nx,y,soon\n", "r.csv:2: terminated_at 'soon' is not an ISO 8601 date or date-time"),
        ("subject,email,kind\nx,y,robot\n", "r.csv:2: kind 'robot' is not person, service, machine or api-key"),
        ("subject,email\n,\n", "r.csv:2: an entry needs a subject or an email"),
    ])
    func rejectsBadRows(_ text: String, _ message: String) throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("r.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try Roster.load(path: path) } throws: { ($0 as? RosterError)?.description.hasPrefix("\(dir.path)/\(message)") == true }
    }

    @Test func rosterWithByteOrderMarkAndLeadingBlankLines() throws {
        let path = try temporaryDirectory().appendingPathComponent("r.csv").path
        try "\u{FEFF}\n\nsubject,email,status\nokta|a,a@x.example,terminated\n".write(toFile: path, atomically: true, encoding: .utf8)
        let roster = try Roster.load(path: path)
        #expect(roster.entries.map(\.subject) == ["okta|a"])
        #expect(roster.entries.map(\.line) == [4])
    }

    @Test func rosterWinsOverTheStore() {
        let roster = Roster(source: "r", entries: [
            .init(subject: "okta|dev", email: nil, status: "terminated", terminatedAt: date("2026-07-10T00:00:00Z"), kind: "person", owner: nil, line: 2),
            .init(subject: "okta|gone", email: nil, status: "active", terminatedAt: nil, kind: "person", owner: nil, line: 3),
        ])
        let directory = ControlTestTests().directory
        let sessions = [makeSession("dev-after", created: "2026-07-11T00:00:00Z"),
                        makeSession("gone-after", actor: Actor(subject: "okta|gone", email: "gone@acme.example", name: "Gone"), created: "2026-08-03T00:00:00Z")]
        let test = TerminatedUserAccessTest.definition.make(TestParameters(["grace_period": .duration(0)]))
        let context = AnalysisContext(period: q3, directory: directory, roster: roster)
        let flagged = sessions.flatMap { test.evaluate($0, context) }.filter { !$0.exceptions.isEmpty }.map(\.itemID)
        #expect(flagged == ["dev-after"])
    }
}

@Suite struct DetectionTests {
    let directory = ControlTestTests().directory

    @Test func guardrailBurstsUseASlidingWindow() {
        let hit = GuardrailHit(ruleName: "r", ruleType: "deny_words_list", direction: "input", matchedWords: ["x"], message: "")
        let a = Actor(subject: "okta|dev", email: "dev@acme.example", name: "Dev")
        let b = Actor(subject: "okta|lead", email: "lead@acme.example", name: "Lead")
        let sessions = [
            makeSession("a1", actor: a, created: "2026-07-01T10:00:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("a2", actor: a, created: "2026-07-01T10:40:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("a3", actor: a, created: "2026-07-01T11:00:00Z", exitCode: 254, guardrails: [hit]),
            // Three in total, but never three within one hour.
            makeSession("b1", actor: b, created: "2026-07-01T10:00:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("b2", actor: b, created: "2026-07-01T10:59:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("b3", actor: b, created: "2026-07-01T11:00:01Z", exitCode: 254, guardrails: [hit]),
            makeSession("b4", actor: b, created: "2026-07-01T12:00:02Z", exitCode: 254, guardrails: [hit]),
        ]
        let result = run(GuardrailBurstTest.definition, sessions, directory: directory)
        #expect(result.population == 2)
        // The gateway stopped all three: an observation (`FactsTests` has a burst in which a session ran).
        #expect(result.flagged == ["identity:dev@acme.example": ["guardrail-burst-blocked"]])
    }

    /// A command whose own request was refused is reported even when a JIT grant of the same person
    /// on the same connection was in force: the refusal is the decision on that very session.
    @Test func refusedRequestIsNotOverruledByAJITGrant() {
        let grant = makeApproval("g1", kind: .jit, status: "APPROVED", approvedAt: "2026-07-01T10:05:00Z", expires: "2026-07-01T11:05:00Z")
        func session(_ id: String, own: Approval?) -> SessionRecord {
            makeSession(id, verb: "connect", commands: [("DELETE FROM t WHERE id = 1", "2026-07-01T10:10:00Z")], approval: own, jit: [grant])
        }
        let sessions = [
            session("rejected", own: makeApproval("r1", status: "REJECTED")),
            session("revoked", own: makeApproval("r2", status: "REVOKED")),
            // Only a refusal stands in the grant's way: a request still pending does not.
            session("pending", own: makeApproval("r3", status: "PENDING")),
            session("grant-only", own: nil),
        ]
        let result = run(PrivilegedCommandApprovalTest.definition, sessions, directory: directory)
        #expect(result.flagged == ["rejected#1": ["rejected-but-ran"], "revoked#1": ["rejected-but-ran"]])
        #expect(result.population == 4)
    }

    @Test func timeWindowsWrapPastMidnight() {
        let night = TimeWindow(start: "22:00", end: "06:00")!
        #expect(night.contains(date("2026-07-01T23:30:00Z")))
        #expect(night.contains(date("2026-07-01T05:59:00Z")))
        #expect(!night.contains(date("2026-07-01T06:00:00Z")))
        #expect(TimeWindow(start: "25:00", end: "06:00") == nil)
    }

    @Test func auditTrailCompleteness() {
        let period = try! Period.parse("2026-W27") // Monday 29 June to Sunday 5 July
        let context = AnalysisContext(period: period, directory: directory, generatedAt: date("2026-07-10T00:00:00Z"))
        let test = AuditTrailTest.definition.make(AuditTrailTest.definition.defaultParameters)
        var missing = makeSession("missing", created: "2026-06-29T10:00:00Z")
        missing.transcript.recordingMissing = true
        var open = makeSession("open", created: "2026-06-30T10:00:00Z")
        open.endedAt = nil
        var backwards = makeSession("backwards", created: "2026-07-01T10:00:00Z")
        backwards.endedAt = date("2026-07-01T09:00:00Z")
        var truncated = makeSession("truncated", created: "2026-07-02T10:00:00Z")
        truncated.transcript.truncated = true
        let fine = makeSession("fine", created: "2026-07-04T10:00:00Z") // a Saturday
        var flagged: [String: [String]] = [:]
        for s in [missing, open, backwards, truncated, fine] {
            for item in test.evaluate(s, context) where !item.exceptions.isEmpty { flagged[item.itemID] = item.exceptions.map(\.reasonCode) }
        }
        for item in test.finish(context) where !item.exceptions.isEmpty { flagged[item.itemID] = item.exceptions.map(\.reasonCode) }
        #expect(flagged == ["missing": ["recording-missing"], "open": ["never-closed"], "backwards": ["impossible-timestamp"],
                            "truncated": ["recording-truncated"], "period:2026-07-03": ["no-activity"]])
    }

    @Test func auditTrailDaysAreThePeriodsOwn() {
        // The same week in Berlin (UTC+2): days start at 22:00 UTC the evening before.
        let period = try! Period.parse("2026-W27", timeZone: "Europe/Berlin")
        let context = AnalysisContext(period: period, directory: directory, generatedAt: date("2026-07-10T00:00:00Z"))
        let test = AuditTrailTest.definition.make(AuditTrailTest.definition.defaultParameters)
        // 23:30 UTC on Thursday 2 July is Friday 3 July in Berlin; nothing falls on Thursday there.
        let sessions = ["2026-06-29T08:00:00Z", "2026-06-30T08:00:00Z", "2026-07-01T08:00:00Z", "2026-07-02T23:30:00Z"]
            .enumerated().map { makeSession("s\($0.offset)", created: $0.element) }
        for s in sessions { _ = test.evaluate(s, context) }
        let days = test.finish(context)
        #expect(days.map(\.itemID) == ["period:2026-06-29", "period:2026-06-30", "period:2026-07-01", "period:2026-07-02", "period:2026-07-03"])
        #expect(days.filter { !$0.exceptions.isEmpty }.map(\.itemID) == ["period:2026-07-02"])
        #expect(days.first?.subject.time == date("2026-06-28T22:00:00Z"))
    }

    @Test func configurationChanges() {
        let test = ConfigurationChangeTest.definition.make(ConfigurationChangeTest.definition.defaultParameters)
        let context = AnalysisContext(period: q3, directory: directory)
        func change(_ id: String, _ type: String, _ action: String, _ payload: String = "{}", ok: Bool = true) -> ConfigChange {
            ConfigChange(id: id, actor: Actor(subject: "s", email: "a@x.example", name: "A"), at: date("2026-07-02T00:00:00Z"), resourceType: type,
                         action: action, httpPath: "/api/\(type)", payload: payload, succeeded: ok, errorMessage: ok ? nil : "forbidden")
        }
        let changes = [change("1", "guardrails", "delete"), change("2", "data_masking", "update", "{\"enabled\": false}"),
                       change("3", "data_masking", "update", "{\"enabled\": true}"), change("4", "connections", "delete"),
                       change("5", "guardrails", "delete", ok: false), change("6", "orgs", "update")]
        var flagged: [String: [String]] = [:]
        var population = 0
        for c in changes {
            for item in test.evaluate(c, context) {
                population += 1
                if !item.exceptions.isEmpty { flagged[item.itemID] = item.exceptions.map(\.reasonCode) }
            }
        }
        #expect(population == 5)
        #expect(flagged == ["audit:1": ["protection-removed"], "audit:2": ["protection-removed"], "audit:5": ["failed-change"]])
    }

    @Test func approvalAuthorityCountsAndForcing() {
        var twoGroups = makeApproval("r1", approver: "okta|lead")
        twoGroups.minApprovals = 2
        twoGroups.decisions.append(Decision(id: "g2", group: "security", status: "PENDING", reviewer: nil, decidedAt: nil, forced: false))
        var forced = makeApproval("r2", approver: "okta|lead")
        forced.decisions[0].forced = true
        var windowed = makeApproval("r3", approver: "okta|lead", approvedAt: "2026-07-01T09:00:00Z")
        windowed.timeWindow = TimeWindow(start: "09:00", end: "17:00")
        let sessions = [
            makeSession("outsider", commands: [("DELETE FROM t WHERE id = 1", nil)], approval: makeApproval("r0", approver: "okta|dba")),
            makeSession("unknown-approver", commands: [("DELETE FROM t WHERE id = 1", nil)], approval: makeApproval("r4", approver: "okta|nobody")),
            makeSession("short", commands: [("DELETE FROM t WHERE id = 1", nil)], approval: twoGroups),
            makeSession("forced", commands: [("DELETE FROM t WHERE id = 1", nil)], approval: forced),
            makeSession("in-window", created: "2026-07-01T10:00:00Z", commands: [("DELETE FROM t WHERE id = 1", nil)], approval: windowed),
            makeSession("late-window", created: "2026-07-01T17:30:00Z", commands: [("DELETE FROM t WHERE id = 1", nil)], approval: windowed),
        ]
        let result = run(PrivilegedCommandApprovalTest.definition, sessions, directory: directory)
        #expect(result.flagged == ["outsider#1": ["approver-not-authorized"], "unknown-approver#1": ["approver-not-authorized"],
                                   "short#1": ["insufficient-approvals"], "forced#1": ["forced-approval"], "late-window#1": ["outside-time-window"]])
    }
}
