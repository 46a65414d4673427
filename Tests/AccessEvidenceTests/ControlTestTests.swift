@testable import AccessEvidence
import Foundation
import Testing

/// Builds sessions in memory, so each test states exactly the facts it judges.
func makeSession(_ id: String, connection: String = "pg-prod", subtype: String = "postgres", verb: String = "exec",
                 actor: Actor = Actor(subject: "okta|dev", email: "dev@acme.example", name: "Dev"),
                 created: String = "2026-07-01T10:00:00Z", exitCode: Int? = 0, commands: [(String, String?)] = [],
                 output: Bool = true, approval: Approval? = nil, jit: [Approval] = [], tags: [String: String] = ["env": "prod"],
                 masking: MaskingCounters = MaskingCounters(), guardrails: [GuardrailHit] = []) -> SessionRecord {
    let start = date(created)
    let cmds = commands.enumerated().map { i, c in
        Command(index: i, text: c.0, source: c.1 == nil ? .script : .recordedInput, recordedAt: c.1.map(date))
    }
    let out = output ? [OutputChunk(at: start.addingTimeInterval(60), stream: UInt8(ascii: "o"), bytes: Array("ok".utf8))] : []
    return SessionRecord(id: id, connectionName: connection, connectionType: "database", connectionSubtype: subtype,
                         connectionTags: tags, verb: verb, actor: actor, status: "done", exitCode: exitCode, createdAt: start,
                         endedAt: start.addingTimeInterval(120), origin: "cli", transcript: Transcript(commands: cmds, output: out),
                         masking: masking, guardrailHits: guardrails, aiVerdict: nil, approval: approval, jitGrants: jit, metadata: [:])
}

func makeApproval(_ id: String, kind: Approval.Kind = .onetime, status: String = "EXECUTED", requester: String = "okta|dev",
                  approver: String = "okta|lead", approvedAt: String = "2026-07-01T10:00:30Z", expires: String? = nil) -> Approval {
    Approval(id: id, sessionID: "x", kind: kind, status: status, requester: Actor(subject: requester, email: "", name: ""),
             connectionName: "pg-prod", requestedAt: date("2026-07-01T10:00:01Z"), expiresAt: expires.map(date),
             accessDurationSec: kind == .jit ? 3600 : 0, ruleName: nil, minApprovals: 1, rejectionReason: nil,
             decisions: [Decision(id: id + "-g", group: "dba-leads", status: status == "REJECTED" ? "REJECTED" : "APPROVED",
                                  reviewer: Actor(subject: approver, email: "", name: approver), decidedAt: date(approvedAt), forced: false)])
}

/// Runs one test over sessions; returns (flagged item → reason codes, population).
func run(_ definition: TestDefinition, _ sessions: [SessionRecord], parameters: [String: ParameterValue] = [:],
         directory: StoreDirectory = StoreDirectory()) -> (flagged: [String: [String]], population: Int) {
    var values: [String: ParameterValue] = [:]
    for p in definition.parameters { values[p.name] = parameters[p.name] ?? p.defaultValue }
    let test = definition.make(TestParameters(values))
    let context = AnalysisContext(period: q3, directory: directory)
    var flagged: [String: [String]] = [:]
    var population = 0
    for item in sessions.flatMap({ test.evaluate($0, context) }) + test.finish(context) {
        do {
            population += 1
            if !item.exceptions.isEmpty { flagged[item.itemID] = item.exceptions.map(\.reasonCode) }
            let failed = Set(item.attributes.filter { $0.value == .fail }.map(\.key))
            #expect(failed == Set(item.exceptions.flatMap(\.failedAttributes)), "attributes and exceptions agree for \(item.itemID)")
        }
    }
    return (flagged, population)
}

@Suite struct ControlTestTests {
    let directory = StoreDirectory(
        users: ["okta|dev": DirectoryUser(id: "1", subject: "okta|dev", email: "dev@acme.example", name: "Dev", status: "active", createdAt: nil, updatedAt: nil, groups: []),
                "okta|gone": DirectoryUser(id: "2", subject: "okta|gone", email: "gone@acme.example", name: "Gone", status: "inactive", createdAt: nil,
                                           updatedAt: date("2026-08-01T12:00:00Z"), groups: []),
                "okta|dba": DirectoryUser(id: "3", subject: "okta|dba", email: "dba@acme.example", name: "DBA", status: "active", createdAt: nil, updatedAt: nil, groups: []),
                "okta|lead": DirectoryUser(id: "4", subject: "okta|lead", email: "lead@acme.example", name: "Lead", status: "active", createdAt: nil, updatedAt: nil, groups: ["dba-leads"])],
        connections: ["pg-prod": ConnectionConfig(id: "c1", name: "pg-prod", type: "database", subtype: "postgres", tags: ["env=prod"], reviewerGroups: ["dba-leads"],
                                                  redactTypes: ["EMAIL_ADDRESS"], forceApproveGroups: [], minReviewApprovals: 1, accessMaxDurationSec: nil),
                      "pg-dev": ConnectionConfig(id: "c2", name: "pg-dev", type: "database", subtype: "postgres", tags: ["env=dev"], reviewerGroups: [],
                                                 redactTypes: [], forceApproveGroups: [], minReviewApprovals: nil, accessMaxDurationSec: nil)])

    @Test func identityAttribution() {
        let sessions = [
            makeSession("known"),
            makeSession("empty", actor: Actor(subject: " ", email: "", name: "")),
            makeSession("org-key", actor: Actor(subject: "API_KEY", email: "org", name: "org")),
            makeSession("shared", actor: Actor(subject: "okta|dba", email: "dba@acme.example", name: "DBA")),
            makeSession("stranger", actor: Actor(subject: "okta|who", email: "who@elsewhere.example", name: "Who")),
            makeSession("machine", actor: Actor(subject: "machine|agent", email: "agent", name: "agent", identityType: "machine")),
            makeSession("api-key", actor: Actor(subject: "7f3c2a10-4b6e-4c1d-9a8e-2f5b6c7d8e90", email: "reporting", name: "reporting")),
            makeSession("admin-lookalike", actor: Actor(subject: "okta|dev", email: "dev@acme.example", name: "Administrator Dev")),
        ]
        let result = run(IdentityAttributionTest.definition, sessions, directory: directory)
        #expect(result.population == 8)
        #expect(result.flagged == ["empty": ["no-identity"], "org-key": ["organization-key"], "shared": ["shared-account"],
                                   "stranger": ["unregistered-identity"], "api-key": ["api-key-on-production"]])
        // An API key on a non-production connection is attributable: no exception.
        let staging = makeSession("api-key-staging", connection: "pg-dev", actor: sessions[6].actor, tags: ["env": "dev"])
        #expect(run(IdentityAttributionTest.definition, [staging], directory: directory).flagged.isEmpty)
    }

    @Test func terminatedUsers() {
        let gone = Actor(subject: "okta|gone", email: "gone@acme.example", name: "Gone")
        let sessions = [
            makeSession("before", actor: gone, created: "2026-08-01T11:59:00Z"),
            makeSession("at", actor: gone, created: "2026-08-01T12:00:00Z"),
            makeSession("after", actor: gone, created: "2026-08-03T09:00:00Z"),
            makeSession("active-user", created: "2026-08-03T09:00:00Z"),
            makeSession("not-in-directory", actor: Actor(subject: "okta|x", email: "x@y.example", name: "x")),
        ]
        let strict = run(TerminatedUserAccessTest.definition, sessions, directory: directory)
        #expect(strict.population == 4)
        #expect(strict.flagged == ["at": ["access-after-deactivation"], "after": ["access-after-deactivation"]])
        let graceful = run(TerminatedUserAccessTest.definition, sessions, parameters: ["grace_period": .duration(86_400)], directory: directory)
        #expect(graceful.flagged == ["after": ["access-after-deactivation"]])
    }

    @Test func privilegedCommandApprovals() {
        let t = PrivilegedCommandApprovalTest.definition
        let sessions = [
            makeSession("read", commands: [("SELECT * FROM t", nil)]),
            makeSession("unapproved", commands: [("DELETE FROM t WHERE id = 1", nil)]),
            makeSession("approved", commands: [("UPDATE t SET a = 1 WHERE id = 1", nil)], approval: makeApproval("r1", approvedAt: "2026-07-01T10:00:59Z")),
            makeSession("late", commands: [("DROP TABLE t", nil)], approval: makeApproval("r2", approvedAt: "2026-07-01T10:01:01Z")),
            makeSession("self", commands: [("GRANT ALL ON t TO bob", nil)], approval: makeApproval("r3", approver: "okta|dev")),
            makeSession("rejected-ran", commands: [("TRUNCATE t", nil)], approval: makeApproval("r4", status: "REJECTED")),
            makeSession("rejected-never-ran", exitCode: nil, commands: [("TRUNCATE t", nil)], output: false, approval: makeApproval("r5", status: "REJECTED")),
            makeSession("blocked", exitCode: 254, commands: [("DROP TABLE t", nil)],
                        guardrails: [GuardrailHit(ruleName: "ddl", ruleType: "deny_words_list", direction: "input", matchedWords: ["drop"], message: "")]),
            makeSession("dev-connection", connection: "pg-dev", commands: [("DROP TABLE t", nil)], tags: ["env": "dev"]),
            makeSession("jit", verb: "connect", commands: [("SELECT 1", "2026-07-01T10:10:00Z"), ("ALTER TABLE t ADD c int", "2026-07-01T10:20:00Z"),
                                                           ("DELETE FROM t", "2026-07-01T11:30:01Z")],
                        jit: [makeApproval("g1", kind: .jit, status: "APPROVED", approvedAt: "2026-07-01T10:05:00Z", expires: "2026-07-01T11:05:00Z")]),
            makeSession("literal", commands: [("SELECT 'DROP TABLE x' -- DELETE FROM y\n", nil)]),
        ]
        let result = run(t, sessions, directory: directory)
        #expect(result.flagged == [
            "unapproved#1": ["no-approval"],
            "late#1": ["approved-after-execution"],
            "self#1": ["self-approval"],
            "rejected-ran#1": ["rejected-but-ran"],
            "jit#3": ["jit-expired"],
        ])
        // approved, late, self, rejected-ran, unapproved, jit #2 and #3.
        #expect(result.population == 7)
        let everywhere = run(t, sessions, parameters: ["scope_tags": .strings([])], directory: directory)
        #expect(everywhere.flagged["dev-connection#1"] == ["no-approval"])
        // Reads need approval on connections tagged pci, and only there.
        let pci = [makeSession("pci-read", commands: [("SELECT pan FROM cards", nil)], tags: ["env": "prod", "pci": "true"]),
                   makeSession("plain-read", commands: [("SELECT pan FROM cards", nil)])]
        let extra = run(t, pci, parameters: ["extra_privileged_kinds": .listMap(["tag:pci": ["sql.read"]])], directory: directory)
        #expect(extra.flagged == ["pci-read#1": ["no-approval"]])
        let onlyDDL = run(t, sessions, parameters: ["privileged_kinds": .strings(["sql.ddl"])], directory: directory)
        #expect(Set(onlyDDL.flagged.keys) == ["late#1", "rejected-ran#1"]) // TRUNCATE is DDL
    }

    @Test func maskingCoverage() {
        let sessions = [
            makeSession("clean", masking: MaskingCounters(detected: ["EMAIL_ADDRESS": 3], masked: ["EMAIL_ADDRESS": 3])),
            makeSession("leak", masking: MaskingCounters(detected: ["EMAIL_ADDRESS": 3, "PHONE_NUMBER": 1], masked: ["EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1])),
            makeSession("nothing-detected"),
            makeSession("unconfigured", connection: "pg-dev", masking: MaskingCounters(detected: ["EMAIL_ADDRESS": 3], masked: [:])),
        ]
        let result = run(MaskingCoverageTest.definition, sessions, directory: directory)
        #expect(result.population == 3)
        #expect(result.flagged == ["leak": ["detected-not-masked"]])
    }

    @Test func guardrailBlocks() {
        let hit = GuardrailHit(ruleName: "ddl", ruleType: "deny_words_list", direction: "input", matchedWords: ["drop"], message: "")
        let sessions = [
            makeSession("blocked", exitCode: 254, guardrails: [hit]),
            makeSession("not-stopped", exitCode: 0, guardrails: [hit, hit]),
            makeSession("no-hit"),
        ]
        let result = run(GuardrailBlockTest.definition, sessions, directory: directory)
        #expect(result.population == 3)
        #expect(result.flagged == ["not-stopped#g1": ["guardrail-not-enforced"], "not-stopped#g2": ["guardrail-not-enforced"]])
    }
}

@Suite struct RollUpTests {
    @Test func statusPerCriterion() throws {
        let catalog = try shippedCatalog()
        func result(_ id: String, population: Int, findings: Int) -> ControlResult {
            let control = catalog.controls.first { $0.id == id }!
            let definition = ControlTestRegistry.definition(control.tests[0].test)!
            let finding = Finding(fingerprint: "f", controlID: id, test: definition.id, criteria: control.criteria, itemID: "i", sessionID: "s",
                                  identity: "", resource: "", time: Date(timeIntervalSince1970: 0), reasonCode: "r", reason: "", severity: .high,
                                  failedAttributes: ["A"], evidence: "")
            return ControlResult(control: control, tests: [TestResult(definition: definition, parameters: control.tests[0].parameters,
                                                                      populationCount: population, attributes: [],
                                                                      findings: Array(repeating: finding, count: findings))])
        }
        let rolled = RollUp.criteria(catalog: catalog, controls: [
            result("GW-IAM-01", population: 10, findings: 0), result("GW-IAM-02", population: 0, findings: 0),
            result("GW-CHG-01", population: 5, findings: 2), result("GW-DLP-01", population: 4, findings: 0),
        ])
        func status(_ id: String) -> CriterionStatus { rolled.first { $0.criterion.id == id }!.status }
        #expect(rolled.count == 61)
        #expect(status("CC6.1") == .exceptionsNoted)   // GW-IAM-01 clean, GW-CHG-01 has exceptions
        #expect(status("CC8.1") == .exceptionsNoted)
        #expect(status("CC6.2") == .noPopulation)
        #expect(status("C1.1") == .noExceptions)
        #expect(status("CC6.8") == .notAddressed)       // its control did not run
        #expect(status("CC1.1") == .notAddressed)
        #expect(rolled.first { $0.criterion.id == "CC1.1" }!.reason == catalog.criterion("CC1.1")!.reason)
        #expect(rolled.first { $0.criterion.id == "CC6.1" }!.exceptionCount == 2)
    }

    /// Observations (the control operated) never make a criterion "exceptions noted"; exceptions do.
    @Test func observationsDoNotTurnACriterionRed() throws {
        let catalog = try shippedCatalog()
        #expect(catalog.kind(of: "failed-change") == .observation && catalog.kind(of: "forced-approval") == .observation)
        #expect(catalog.kind(of: "guardrail-burst-blocked") == .observation && catalog.kind(of: "no-approval") == .exception)
        let control = catalog.controls.first { $0.id == "GW-CFG-01" }!
        let definition = ControlTestRegistry.definition(control.tests[0].test)!
        func finding(_ code: String) -> Finding {
            var f = Finding(fingerprint: code, controlID: control.id, test: definition.id, criteria: control.criteria, itemID: code, sessionID: "",
                            identity: "", resource: "", time: Date(timeIntervalSince1970: 0), reasonCode: code, reason: "", severity: .medium,
                            failedAttributes: ["A"], evidence: "")
            f.kind = catalog.kind(of: code)
            return f
        }
        func rolled(_ codes: [String]) -> CriterionResult {
            let result = ControlResult(control: control, tests: [TestResult(definition: definition, parameters: control.tests[0].parameters,
                                                                             populationCount: 3, attributes: [], findings: codes.map(finding))])
            return RollUp.criteria(catalog: catalog, controls: [result]).first { $0.criterion.id == "CC8.1" }!
        }
        let onlyObservation = rolled(["failed-change"])
        #expect(onlyObservation.status == .noExceptions)
        #expect(onlyObservation.exceptionCount == 0 && onlyObservation.observationCount == 1)
        #expect(onlyObservation.reason.contains("1 observation listed for review"))
        let withException = rolled(["failed-change", "protection-removed"])
        #expect(withException.status == .exceptionsNoted)
        #expect(withException.exceptionCount == 1 && withException.observationCount == 1)
    }

    /// An organization's catalog decides which reason codes are observations.
    @Test func catalogObservationsAreValidated() throws {
        let bad = try temporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: controlsPath) {
            try FileManager.default.copyItem(atPath: controlsPath + "/" + name, toPath: bad.appendingPathComponent(name).path)
        }
        try "observations:\n  - Failed Change\n".write(to: bad.appendingPathComponent("findings.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: CatalogError.self) { try CatalogLoader.load(directory: bad.path) }
        do { _ = try CatalogLoader.load(directory: bad.path) } catch let error as CatalogError {
            #expect(error.description.contains("observations: 'Failed Change' is not a reason code"))
        }
        try "observations: [no-approval]\n".write(to: bad.appendingPathComponent("findings.yaml"), atomically: true, encoding: .utf8)
        #expect(try CatalogLoader.load(directory: bad.path).kind(of: "no-approval") == .observation)
    }
}
