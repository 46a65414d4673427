@testable import AccessEvidence
import Foundation
import Testing

/// Item facts, completeness walks and observations: what an auditor reads beside each item.
@Suite struct FactsTests {
    let directory = ControlTestTests().directory

    /// Runs a test's `evaluate` and `finish` over sessions.
    func evaluate(_ definition: TestDefinition, _ sessions: [SessionRecord],
               parameters: [String: ParameterValue] = [:]) -> (items: [ItemResult], test: any SessionTest) {
        var values = definition.defaultParameters.values
        for (k, v) in parameters { values[k] = v }
        let test = definition.make(TestParameters(values))
        let context = AnalysisContext(period: q3, directory: directory)
        let items = sessions.flatMap { test.evaluate($0, context) } + test.finish(context)
        for item in items { #expect(item.facts.count == definition.facts.count, "\(item.itemID): one value per fact") }
        return (items, test)
    }

    /// Fact id → value.
    func facts(_ definition: TestDefinition, _ item: ItemResult) -> [String: String] {
        Dictionary(uniqueKeysWithValues: zip(definition.facts.map(\.id), item.facts))
    }

    @Test func everyTestStatesItsFactsAndWalk() {
        for definition in ControlTestRegistry.all {
            #expect(!definition.facts.isEmpty, "\(definition.id) has facts")
            #expect(!definition.walk.isEmpty, "\(definition.id) has a walk")
            #expect(Set(definition.facts.map(\.id)).count == definition.facts.count, "\(definition.id): fact ids are unique")
            for fact in definition.facts {
                #expect(fact.id.allSatisfy { $0.isLowercase || $0 == "_" }, "\(definition.id): \(fact.id) is snake_case")
            }
            let test = definition.make(definition.defaultParameters)
            #expect(test.walkCounts.count == definition.walk.count, "\(definition.id): one count per walk step")
        }
    }

    @Test func privilegedCommandFacts() {
        let t = PrivilegedCommandApprovalTest.definition
        let dev = Actor(subject: "okta|dev", email: "dev@acme.example", name: "Dev")
        let lead = Actor(subject: "okta|lead", email: "lead@acme.example", name: "Lead")
        let approval = Approval(id: "r1", sessionID: "approved", kind: .onetime, status: "EXECUTED", requester: dev, connectionName: "pg-prod",
                                requestedAt: date("2026-07-01T10:00:01Z"), expiresAt: nil, accessDurationSec: 0, ruleName: nil, minApprovals: 1,
                                rejectionReason: nil,
                                decisions: [Decision(id: "d1", group: "dba-leads", status: "APPROVED", reviewer: lead,
                                                     decidedAt: date("2026-07-01T10:00:30Z"), forced: false)])
        let sessions = [
            makeSession("approved", commands: [("UPDATE accounts SET plan = 'pro' WHERE owner = 'ana.lima@customer.example'", nil)],
                        approval: approval),
            makeSession("unapproved", commands: [("DELETE FROM t WHERE id = 1", nil)]),
            makeSession("jit", verb: "connect", commands: [("ALTER TABLE t ADD c int", "2026-07-01T10:20:00Z")],
                        jit: [makeApproval("g1", kind: .jit, status: "APPROVED", approvedAt: "2026-07-01T10:05:00Z", expires: "2026-07-01T11:05:00Z")]),
        ]
        let (items, _) = evaluate(t, sessions)
        #expect(items.map(\.itemID) == ["approved#1", "unapproved#1", "jit#1"])

        let approved = facts(t, items[0])
        #expect(items[0].exceptions.isEmpty)
        #expect(approved["command"]?.hasPrefix("UPDATE accounts SET plan = 'pro' WHERE owner = ") == true)
        #expect(approved["command"]?.contains("ana.lima@customer.example") == false, "the command is masked")
        #expect(approved["command_kinds"]?.contains("sql.write") == true)
        #expect(approved["approval_id"] == "r1")
        #expect(approved["approval_type"] == "one-time (own request)")
        #expect(approved["approval_status"] == "EXECUTED")
        #expect(approved["requester"] == "dev@acme.example")
        #expect(approved["approvers"] == "lead@acme.example (dba-leads, 2026-07-01T10:00:30Z)")
        #expect(approved["requested_at"] == "2026-07-01T10:00:01Z")
        #expect(approved["approved_at"] == "2026-07-01T10:00:30Z")
        // An exec script runs when the session executes: its first recorded event, a minute in.
        #expect(approved["executed_at"] == "2026-07-01T10:01:00Z")
        #expect(approved["approval_window"] == "")
        #expect(approved["exit_code"] == "0")
        #expect(approved["connection"] == "pg-prod (postgres)")

        let unapproved = facts(t, items[1])
        #expect(items[1].exceptions.map(\.reasonCode) == ["no-approval"])
        #expect(unapproved["approval_type"] == "none")
        #expect(unapproved["approval_id"] == "")
        #expect(unapproved["command"] == "DELETE FROM t WHERE id = 1")

        let jit = facts(t, items[2])
        #expect(items[2].exceptions.isEmpty)
        #expect(jit["approval_id"] == "g1")
        #expect(jit["approval_type"] == "JIT grant")
        #expect(jit["approval_window"] == "2026-07-01T10:05:00Z to 2026-07-01T11:05:00Z")
        #expect(jit["executed_at"] == "2026-07-01T10:20:00Z")
        #expect(jit["approvers"] == "okta|lead (dba-leads, 2026-07-01T10:05:00Z)")
    }

    @Test func rejectedAndForcedDecisionsAreShown() {
        let t = PrivilegedCommandApprovalTest.definition
        var approval = makeApproval("r2", approver: "okta|lead")
        approval.decisions[0].forced = true
        approval.decisions.append(Decision(id: "d2", group: "security", status: "REJECTED", reviewer: Actor(subject: "okta|sec", email: "sec@acme.example", name: ""),
                                           decidedAt: date("2026-07-01T10:00:40Z"), forced: false))
        approval.decisions.append(Decision(id: "d3", group: "audit", status: "PENDING", reviewer: nil, decidedAt: nil, forced: false))
        approval.timeWindow = TimeWindow(start: "09:00", end: "17:00")
        let (items, _) = evaluate(t, [makeSession("forced", commands: [("DELETE FROM t WHERE id = 1", nil)], approval: approval)])
        let f = facts(t, items[0])
        #expect(f["approvers"] == "okta|lead (dba-leads, 2026-07-01T10:00:30Z, forced); sec@acme.example (security, rejected 2026-07-01T10:00:40Z); no reviewer (audit, pending)")
        #expect(f["approval_window"] == "daily 09:00-17:00 UTC")
    }

    @Test func privilegedCommandWalkOnASmallStore() throws {
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z", script: "UPDATE t SET a = 1 WHERE id = 1")
        try f.session("s2", created: "2026-07-01T11:00:00Z", script: "SELECT 1")
        try f.session("s3", connection: "pg-dev", created: "2026-07-01T12:00:00Z", script: "DROP TABLE t", tags: "{\"env\":\"dev\"}")
        // No exit code, output or recorded input: it never ran.
        try f.session("s4", created: "2026-07-01T13:00:00Z", exitCode: nil, script: "DELETE FROM t")
        // Blocked: parsed, but not an item.
        try f.session("s5", created: "2026-07-01T14:00:00Z", exitCode: 254, script: "DROP TABLE t",
                      guardrails: #"[{"rule_name":"ddl","direction":"input","matched_words":["drop table"],"message":"no"}]"#)
        try f.finish()
        let run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        let analysis = try run.analyse().analysis
        let test = try #require(analysis.controls.flatMap(\.tests).first { $0.definition.id == "approval.privileged-commands" })
        #expect(test.walk.map(\.step) == ["Sessions in the period", "Sessions on in-scope connections that ran", "Commands parsed",
                                          "Privileged commands (not blocked)", "Items in the population"])
        #expect(test.walk.map(\.count) == [5, 3, 3, 1, 1])
        #expect(test.populationCount == 1)
        // The finding carries the item's facts, as gated by the engine.
        let finding = try #require(test.findings.first)
        #expect(finding.itemID == "s1#1" && finding.reasonCode == "no-approval")
        let values = Dictionary(uniqueKeysWithValues: zip(test.definition.facts.map(\.id), finding.facts))
        #expect(values["command"] == "UPDATE t SET a = 1 WHERE id = 1")
        #expect(values["approval_type"] == "none")
        #expect(values["exit_code"] == "0")
        // Every other test's walk ends at its population too.
        for t in analysis.controls.flatMap(\.tests) {
            // A test the source cannot feed was not run: it has no walk to show.
            if t.notSupported != nil {
                #expect(t.walk.isEmpty && t.populationCount == 0, "\(t.definition.id)")
                continue
            }
            #expect(t.walk.last?.count == t.populationCount, "\(t.definition.id)")
            // Configuration changes and connections are counted from their own tables.
            let first = t.definition.id.hasPrefix("changes.") ? 0 : t.definition.id.hasPrefix("posture.") ? analysis.posture.count : 5
            #expect(t.walk.first?.count == first, "\(t.definition.id)")
        }
    }

    @Test func aBurstBlockedInFullIsAnObservation() throws {
        let t = GuardrailBurstTest.definition
        let hit = GuardrailHit(ruleName: "r", ruleType: "deny_words_list", direction: "input", matchedWords: ["x"], message: "")
        let a = Actor(subject: "okta|dev", email: "dev@acme.example", name: "Dev")
        let b = Actor(subject: "okta|lead", email: "lead@acme.example", name: "Lead")
        let sessions = [
            makeSession("a1", actor: a, created: "2026-07-01T10:00:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("a2", actor: a, created: "2026-07-01T10:40:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("a3", actor: a, created: "2026-07-01T11:00:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("b1", actor: b, created: "2026-07-01T10:00:00Z", exitCode: 254, guardrails: [hit]),
            // The guardrail matched but the command completed: this burst did not stay blocked.
            makeSession("b2", actor: b, created: "2026-07-01T10:10:00Z", exitCode: 0, guardrails: [hit]),
            makeSession("b3", actor: b, created: "2026-07-01T10:20:00Z", exitCode: 254, guardrails: [hit]),
            makeSession("b4", actor: b, created: "2026-07-01T10:30:00Z", exitCode: 254, guardrails: [hit]),
        ].sorted { $0.createdAt < $1.createdAt }
        let (items, test) = evaluate(t, sessions)
        #expect(items.map(\.itemID) == ["identity:dev@acme.example", "identity:lead@acme.example"])
        #expect(items[0].exceptions.map(\.reasonCode) == ["guardrail-burst-blocked"])
        #expect(items[1].exceptions.map(\.reasonCode) == ["guardrail-burst"])
        let catalog = try shippedCatalog()
        #expect(catalog.kind(of: "guardrail-burst-blocked") == .observation)
        #expect(catalog.kind(of: "guardrail-burst") == .exception)

        let blocked = facts(t, items[0])
        #expect(blocked["blocks"] == "3")
        #expect(blocked["burst_from"] == "2026-07-01T10:00:00Z" && blocked["burst_to"] == "2026-07-01T11:00:00Z")
        #expect(blocked["burst_sessions"] == "a1, a2, a3")
        #expect(blocked["burst_sessions_ran"] == "none (all blocked)")
        let ran = facts(t, items[1])
        #expect(ran["blocks"] == "4", "blocks after the burst are still counted")
        #expect(ran["burst_sessions"] == "b1, b2, b3")
        #expect(ran["burst_sessions_ran"] == "b2")
        #expect(test.walkCounts == [7, 7, 2])

    }

    @Test func burstsOfTiedBlocksAreListedInOrder() {
        // Sessions with the same created_at come in the store's order: the burst lists them sorted.
        let t = GuardrailBurstTest.definition
        let hit = GuardrailHit(ruleName: "r", ruleType: "deny_words_list", direction: "input", matchedWords: ["x"], message: "")
        let sessions = [makeSession("x1", created: "2026-07-01T10:00:00Z", exitCode: 254, guardrails: [hit]),
                        makeSession("x3", created: "2026-07-01T10:30:00Z", exitCode: 254, guardrails: [hit]),
                        makeSession("x2", created: "2026-07-01T10:30:00Z", exitCode: 254, guardrails: [hit])]
        let (items, _) = evaluate(t, sessions)
        let f = facts(t, items[0])
        #expect(f["burst_sessions"] == "x1, x2, x3")
        #expect(items[0].subject.sessionID == "x1")
        #expect(items[0].exceptions.first?.evidence == "sessions x1, x2, x3")
    }

    @Test func burstMemoryIsBoundedByTheWindow() throws {
        let t = GuardrailBurstTest.definition
        let hit = GuardrailHit(ruleName: "r", ruleType: "deny_words_list", direction: "input", matchedWords: ["x"], message: "")
        let test = try #require(t.make(t.defaultParameters) as? GuardrailBurstTest)
        let context = AnalysisContext(period: q3, directory: directory)
        var session = makeSession("s", exitCode: 254, guardrails: [hit])
        // A block every 31 minutes for five weeks: never three within an hour, at most two held.
        for i in 0..<1_700 {
            session.id = "s\(i)"
            session.createdAt = date("2026-07-01T00:00:00Z").addingTimeInterval(Double(i) * 1860)
            _ = test.evaluate(session, context)
            #expect(test.tracks["dev@acme.example"]!.window.count <= 2)
        }
        let items = test.finish(context)
        #expect(items.count == 1 && items[0].exceptions.isEmpty)
        let f = facts(t, items[0])
        #expect(f["blocks"] == "1700" && f["most_in_window"] == "2")
        #expect(items[0].subject.sessionID == "s0")
    }

    @Test func factsOfTheOtherTests() {
        // Pending requests: age at the period's end.
        var pending = makeApproval("p1", status: "PENDING")
        pending.decisions = [Decision(id: "d", group: "dba-leads", status: "PENDING", reviewer: nil, decidedAt: nil, forced: false)]
        let p = PendingApprovalTest.definition
        let (reviews, _) = evaluate(p, [makeSession("s", approval: pending)])
        let review = facts(p, reviews[0])
        #expect(review["approval_id"] == "p1" && review["status"] == "PENDING" && review["requested_at"] == "2026-07-01T10:00:01Z")
        #expect(review["age"] == "91d 13h" && review["decided_at"] == "" && review["connection"] == "pg-prod")

        // Guardrail matches: the rule and its words, masked.
        let g = GuardrailBlockTest.definition
        let hit = GuardrailHit(ruleName: "pii", ruleType: "deny_words_list", direction: "input",
                               matchedWords: ["ana.lima@customer.example"], message: "Blocked: 4111 1111 1111 1111")
        let (matches, _) = evaluate(g, [makeSession("b", exitCode: 254, guardrails: [hit])])
        let match = facts(g, matches[0])
        #expect(match["rule"] == "pii" && match["rule_type"] == "deny_words_list" && match["exit_code"] == "254")
        #expect(match["matched_words"]?.contains("ana.lima@customer.example") == false)
        #expect(match["message"]?.contains("4111 1111 1111 1111") == false)

        // Masking coverage: the counters and the connection's configuration.
        let m = MaskingCoverageTest.definition
        let (masked, _) = evaluate(m, [makeSession("leak", masking: MaskingCounters(detected: ["EMAIL_ADDRESS": 3, "PHONE_NUMBER": 1],
                                                                              masked: ["EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1]))])
        let leak = facts(m, masked[0])
        #expect(leak["masking_config"] == "masks EMAIL_ADDRESS")
        #expect(leak["detected"] == "EMAIL_ADDRESS 3, PHONE_NUMBER 1" && leak["masked"] == "EMAIL_ADDRESS 1, PHONE_NUMBER 1")
        #expect(leak["unmasked"] == "EMAIL_ADDRESS 2")

        // Identity: kind, directory status and roster entry.
        let i = TerminatedUserAccessTest.definition
        let roster = Roster(source: "r", entries: [.init(subject: "okta|gone", email: nil, status: "terminated", terminatedAt: date("2026-07-10T00:00:00Z"),
                                                          kind: "person", owner: nil, line: 7)])
        let test = i.make(i.defaultParameters)
        let gone = makeSession("after", actor: Actor(subject: "okta|gone", email: "gone@acme.example", name: "Gone"), created: "2026-07-11T00:00:00Z")
        let item = test.evaluate(gone, AnalysisContext(period: q3, directory: directory, roster: roster))[0]
        let who = facts(i, item)
        #expect(who["subject"] == "okta|gone" && who["identity_kind"] == "person (directory user)" && who["directory_status"] == "inactive")
        #expect(who["roster_entry"] == "line 7: status terminated, terminated_at 2026-07-10T00:00:00Z, kind person")
        #expect(who["access_removed_at"] == "2026-07-10T00:00:00Z (roster)")

        // Configuration changes: who did what to which resource, and whether it took.
        let c = ConfigurationChangeTest.definition
        let changes = c.make(c.defaultParameters)
        let change = ConfigChange(id: "1", actor: Actor(subject: "s", email: "a@x.example", name: "A"), at: date("2026-07-02T00:00:00Z"),
                                  resourceType: "guardrails", action: "delete", httpPath: "/api/guardrails/ddl", payload: "{}",
                                  succeeded: false, errorMessage: "forbidden")
        let changed = facts(c, changes.evaluate(change, AnalysisContext(period: q3, directory: directory))[0])
        #expect(changed["actor"] == "a@x.example" && changed["action"] == "delete" && changed["resource_type"] == "guardrails")
        #expect(changed["path"] == "/api/guardrails/ddl" && changed["outcome"] == "failed: forbidden")
    }
}
