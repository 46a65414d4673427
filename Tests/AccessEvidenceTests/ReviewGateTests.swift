@testable import AccessEvidence
import Foundation
import Testing

/// The review gate (`approval.gated-access`) and the configured posture, on stores built for the case.
@Suite struct ReviewGateTests {
    /// A store with one connection `pg-prod` (env=prod) and the review plugin on it when `plugin` is given.
    func gatedStore(plugin: [String]? = nil, pluginSince: String? = nil) throws -> StoreFixture {
        let f = try StoreFixture()
        try f.writer.insert("connections", ["id": .text("c1"), "name": .text("pg-prod"), "type": .text("database"), "subtype": .text("postgres"),
                                            "_tags": .text("[\"env=prod\"]")])
        if let plugin {
            try f.writer.insert("plugins", ["id": .text("p1"), "name": .text("review")])
            try f.writer.insert("plugin_connections", ["id": .text("pc1"), "plugin_id": .text("p1"), "connection_id": .text("c1"), "enabled": .int(1),
                                                       "config": .text(StoreWriter.json(plugin)), "created_at": pluginSince.map { .text($0) } ?? .null])
        }
        try f.user("okta|u1", email: "u1@acme.example")
        try f.user("okta|boss", email: "boss@acme.example")
        for (user, group) in [("okta|u1", "engineering"), ("okta|boss", "dba-leads")] {
            try f.writer.insert("user_groups", ["user_id": .text("id-" + user), "name": .text(group)])
        }
        return f
    }

    func rule(_ f: StoreFixture, _ name: String, type: String, connections: [String] = ["pg-prod"], required: [String] = [],
              skip: [String] = [], reviewers: [String] = ["dba-leads"], created: String = "2026-01-01T00:00:00Z") throws {
        try f.writer.insert("access_request_rules", [
            "id": .text("r-" + name), "name": .text(name), "connection_names": .text(StoreWriter.json(connections)), "access_type": .text(type),
            "approval_required_groups": .text(StoreWriter.json(required)), "reviewers_groups": .text(StoreWriter.json(reviewers)),
            "force_approval_groups": .text("[]"), "skip_review_groups": .text(StoreWriter.json(skip)),
            "created_at": .text(created), "updated_at": .text(created),
        ])
    }

    func gateResult(_ path: String) throws -> (flagged: [String: String], population: Int, notes: [String], walk: [Int]) {
        let output = try ReportRun(storePath: path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z")).analyse()
        let test = try #require(output.analysis.controls.flatMap(\.tests).first { $0.definition.id == "approval.gated-access" })
        return (Dictionary(uniqueKeysWithValues: test.findings.map { ($0.itemID, $0.reasonCode) }), test.populationCount, test.notes, test.walk.map(\.count))
    }

    @Test func theReviewPluginGatesEverySessionAndAGrantInForceCoversIt() throws {
        let f = try gatedStore(plugin: ["dba-leads"])
        // A JIT grant 09:05–10:05: inside it covered, two hours after it lapsed not, before its approval not.
        try f.review("g1", session: "s0", type: "jit", status: "APPROVED", created: "2026-08-03T09:00:00Z", expires: "2026-08-03T10:05:00Z",
                     duration: 3600, decisions: [("dba-leads", "APPROVED", "okta|boss", "2026-08-03T09:05:00Z")])
        try f.session("s0", verb: "connect", created: "2026-08-03T09:00:00Z", ended: "2026-08-03T09:20:00Z", script: "SELECT 1;")
        try f.session("inside", verb: "connect", created: "2026-08-03T09:30:00Z", ended: "2026-08-03T09:40:00Z", script: "SELECT 2;")
        try f.session("lapsed", verb: "connect", created: "2026-08-03T12:05:00Z", ended: "2026-08-03T12:10:00Z", script: "SELECT 3;")
        try f.session("never", created: "2026-09-03T12:05:00Z", ended: "2026-09-03T12:10:00Z", script: "SELECT 4;")
        // An exec with its own approval: covered; one approved by the requester: self-approval.
        try f.session("own", created: "2026-08-10T10:00:00Z", ended: "2026-08-10T10:01:00Z", script: "SELECT 5;")
        try f.review("r-own", session: "own", created: "2026-08-10T10:00:01Z", decisions: [("dba-leads", "APPROVED", "okta|boss", "2026-08-10T10:00:30Z")])
        try f.session("self", created: "2026-08-11T10:00:00Z", ended: "2026-08-11T10:01:00Z", script: "SELECT 6;")
        try f.review("r-self", session: "self", created: "2026-08-11T10:00:01Z", decisions: [("dba-leads", "APPROVED", "okta|u1", "2026-08-11T10:00:30Z")])
        // Rejected and never ran: not in the population.
        try f.session("refused", created: "2026-08-12T10:00:00Z", ended: "2026-08-12T10:10:00Z", exitCode: nil, script: "UPDATE t SET a = 1;")
        try f.review("r-refused", session: "refused", status: "REJECTED", created: "2026-08-12T10:00:01Z",
                     decisions: [("dba-leads", "REJECTED", "okta|boss", "2026-08-12T10:05:00Z")])
        try f.finish()
        let r = try gateResult(f.path)
        #expect(r.flagged == ["lapsed": "jit-expired", "never": "no-approval-for-gated-access", "self": "self-approval"])
        #expect(r.population == 6)
        #expect(r.notes == ["No change to the reviewers of pg-prod is in the audit log: its review-plugin configuration at extraction is taken for the whole period."])
        #expect(r.walk == [7, 6, 0, 6, 6])
    }

    @Test func rulesGateByKindOfAccessAndRequesterGroups() throws {
        let f = try gatedStore()
        try rule(f, "jit-everyone-but-sre", type: "jit", skip: ["sre"])
        try rule(f, "commands-of-contractors", type: "command", required: ["contractors"])
        try rule(f, "later", type: "jit_command", created: "2026-09-01T00:00:00Z")
        try f.session("connect", verb: "connect", created: "2026-08-03T09:00:00Z", ended: "2026-08-03T09:20:00Z", script: "SELECT 1;")
        try f.session("exec", created: "2026-08-03T10:00:00Z", ended: "2026-08-03T10:01:00Z", script: "SELECT 2;")
        try f.session("exec-later", created: "2026-09-03T10:00:00Z", ended: "2026-09-03T10:01:00Z", script: "SELECT 3;")
        // Approved under the rule, by a group the rule does not name.
        try f.session("wrong-group", verb: "connect", created: "2026-08-04T09:00:00Z", ended: "2026-08-04T09:20:00Z", script: "SELECT 4;")
        try f.writer.insert("reviews", ["id": .text("r-wg"), "session_id": .text("wrong-group"), "connection_name": .text("pg-prod"), "type": .text("jit"),
                                        "status": .text("APPROVED"), "owner_id": .text("okta|u1"), "owner_email": .text("u1@acme.example"),
                                        "owner_name": .text("u1"), "created_at": .text("2026-08-04T09:00:00Z"), "access_duration_sec": .int(3600),
                                        "access_request_rule_name": .text("jit-everyone-but-sre")])
        try f.writer.insert("review_groups", ["id": .text("r-wg-g"), "review_id": .text("r-wg"), "group_name": .text("engineering"), "status": .text("APPROVED"),
                                              "owner_id": .text("okta|u2"), "owner_email": .text("u2@mail"), "owner_name": .text("u2"),
                                              "reviewed_at": .text("2026-08-04T09:01:00Z"), "forced_review": .int(0)])
        try f.finish()
        let r = try gateResult(f.path)
        // The interactive session meets the JIT rule; the exec by an engineer no rule (contractors only) until
        // the later rule exists; the approval by engineering is not the rule's reviewers.
        #expect(r.flagged == ["connect": "no-approval-for-gated-access", "exec-later": "no-approval-for-gated-access",
                              "wrong-group": "approver-not-authorized"])
        #expect(r.population == 3)
    }

    /// The audit log tells the plugin's state after each connection change that carries `reviewers`;
    /// before the first one the gate is unknown and the session untested, and said.
    @Test func theGateAsOfASessionComesFromTheAuditLog() throws {
        let f = try gatedStore(plugin: ["dba-leads"])
        for (n, at, reviewers) in [(1, "2026-08-01T00:00:00Z", "[]"), (2, "2026-09-01T00:00:00Z", "[\"dba-leads\"]")] {
            try f.writer.insert("security_audit_log", [
                "id": .text("a\(n)"), "actor_subject": .text("okta|boss"), "actor_email": .text("boss@acme.example"), "created_at": .text(at),
                "resource_type": .text("connections"), "action": .text("update"), "http_path": .text("/api/connections/pg%2Dprod"),
                "request_payload_redacted": .text("{\"reviewers\":\(reviewers)}"), "outcome": .int(1),
            ])
        }
        try f.session("july", created: "2026-07-15T10:00:00Z", ended: "2026-07-15T10:01:00Z", script: "SELECT 1;")
        try f.session("august", created: "2026-08-15T10:00:00Z", ended: "2026-08-15T10:01:00Z", script: "SELECT 2;")
        try f.session("september", created: "2026-09-15T10:00:00Z", ended: "2026-09-15T10:01:00Z", script: "SELECT 3;")
        try f.finish()
        let r = try gateResult(f.path)
        #expect(r.flagged == ["september": "no-approval-for-gated-access"])
        #expect(r.walk == [3, 3, 1, 1, 1])
        #expect(r.notes == ["1 session could not be tested because the store cannot tell the gate at their start: pg-prod: the audit log's first change to the connection's reviewers (2026-08-01T00:00:00Z) came after the session; the gate before it is not recorded (1)."])
        // The posture names the changes of the period with who made them.
        let output = try ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z")).analyse()
        #expect(output.document.posture.first?.changes == ["2026-08-01T00:00:00Z boss@acme.example update (reviewers)",
                                                           "2026-09-01T00:00:00Z boss@acme.example update (reviewers)"])
    }

    @Test func aPluginBoundAfterTheSessionLeavesTheGateUnknown() throws {
        let f = try gatedStore(plugin: ["dba-leads"], pluginSince: "2026-08-01T00:00:00Z")
        try f.session("before", created: "2026-07-15T10:00:00Z", ended: "2026-07-15T10:01:00Z", script: "SELECT 1;")
        try f.session("after", created: "2026-08-15T10:00:00Z", ended: "2026-08-15T10:01:00Z", script: "SELECT 2;")
        try f.finish()
        let r = try gateResult(f.path)
        #expect(r.flagged == ["after": "no-approval-for-gated-access"])
        #expect(r.walk == [2, 2, 1, 1, 1])
    }

    /// hoop's key/value tags (connection_tags, 000034) mark a connection as production as the legacy
    /// `_tags` do; a connection without any protection then lacks all three.
    @Test func keyValueTagsMarkProduction() throws {
        let f = try StoreFixture()
        try f.writer.insert("connections", ["id": .text("c1"), "name": .text("db"), "type": .text("database"), "subtype": .text("postgres")])
        try f.writer.insert("connection_tags", ["id": .text("t1"), "key": .text("env"), "value": .text("prod")])
        try f.writer.insert("connection_tags", ["id": .text("t2"), "key": .text("pci"), "value": .text("")])
        for (n, tag) in ["t1", "t2"].enumerated() {
            try f.writer.insert("connection_tags_association", ["id": .text("a\(n)"), "tag_id": .text(tag), "connection_id": .text("c1")])
        }
        try f.finish()
        let output = try ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z")).analyse()
        let posture = try #require(output.document.posture.first)
        #expect(posture.tags == ["env=prod", "pci"] && posture.production)
        #expect(posture.missing == ["review gate", "masking", "guardrails"])
        let observations = output.analysis.controls.flatMap(\.observations).filter { $0.reasonCode == "production-unprotected" }
        #expect(observations.map(\.itemID) == ["connection:db"])
    }

    /// Guardrail and masking rules bound through a shared attribute (as hoop's protection profiles bind
    /// them) protect the connection; an inactive direct masking binding does not.
    @Test func rulesReachConnectionsThroughAttributes() throws {
        let f = try StoreFixture()
        for (id, name) in [("c1", "db"), ("c2", "other")] {
            try f.writer.insert("connections", ["id": .text(id), "name": .text(name), "type": .text("database"), "subtype": .text("postgres"),
                                                "_tags": .text("[\"env=prod\"]")])
        }
        try f.writer.insert("connections_attributes", ["connection_name": .text("db"), "attribute_name": .text("soc2")])
        try f.writer.insert("guardrail_rules", ["id": .text("g1"), "name": .text("No DROP")])
        try f.writer.insert("guardrail_rules_attributes", ["guardrail_rule_name": .text("No DROP"), "attribute_name": .text("soc2")])
        try f.writer.insert("datamasking_rules", ["id": .text("m1"), "name": .text("PII")])
        try f.writer.insert("datamasking_rules_attributes", ["datamasking_rule_name": .text("PII"), "attribute_name": .text("soc2")])
        try f.writer.insert("datamasking_rules_connections", ["id": .text("b1"), "rule_id": .text("m1"), "connection_id": .text("c2"), "status": .text("inactive")])
        try rule(f, "jit-by-attribute", type: "jit", connections: [])
        try f.writer.insert("access_request_rules_attributes", ["access_rule_name": .text("jit-by-attribute"), "attribute_name": .text("soc2")])
        try f.finish()
        let output = try ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z")).analyse()
        let db = try #require(output.document.posture.first { $0.connection == "db" })
        #expect(db.guardrails == ["No DROP"] && db.masking == ["rule PII"] && db.missing.isEmpty)
        #expect(db.reviewGate == ["rule jit-by-attribute (jit; everyone; reviewers dba-leads)"])
        let other = try #require(output.document.posture.first { $0.connection == "other" })
        #expect(other.missing == ["review gate", "masking", "guardrails"])
    }

    @Test func accessRuleSemantics() {
        let rule = AccessRule(id: "r", name: "r", connectionNames: ["a"], attributes: ["pci"], accessType: "jit", approvalRequiredGroups: [],
                              allGroupsMustApprove: false, reviewersGroups: ["dba"], forceApprovalGroups: [], skipReviewGroups: ["sre"],
                              minApprovals: 2, accessMaxDurationSec: nil, createdAt: nil, updatedAt: nil)
        #expect(rule.gates(verb: "connect") && !rule.gates(verb: "exec"))
        #expect(rule.applies(toGroups: ["engineering"]) && !rule.applies(toGroups: ["engineering", "sre"]))
        var scoped = rule
        scoped.approvalRequiredGroups = ["contractors"]
        #expect(scoped.applies(toGroups: ["contractors", "sre"]) && !scoped.applies(toGroups: ["engineering"]))
        var connection = ConnectionConfig(id: "1", name: "b", type: "database", subtype: "postgres", tags: [], reviewerGroups: [], redactTypes: [],
                                          forceApproveGroups: [], minReviewApprovals: nil, accessMaxDurationSec: nil)
        #expect(!rule.covers(connection))
        connection.attributes = ["pci"]
        #expect(rule.covers(connection))
        #expect(rule.summary == "r (jit; everyone but sre; reviewers dba; 2 approvals)")
        #expect(GatewayRecordReader.policyTarget(type: "connections", path: "/api/connections/pg%2Dprod?x=1", body: nil) == ("pg-prod", nil))
    }

    /// The sample's posture lists every connection with its gate, masking and guardrails, in every output.
    @Test func theSamplePostureListsEveryConnection() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.html, .json]
        _ = try run.write(to: dir.appendingPathComponent("r").path)
        let html = try String(contentsOf: dir.appendingPathComponent("r/report.html"), encoding: .utf8)
        let section = try #require(html.components(separatedBy: "<div class=\"section\" id=\"posture\">").dropFirst().first?
            .components(separatedBy: "</div>").first)
        for name in SampleStoreGenerator.connections.map(\.name) { #expect(section.contains("<strong>\(name)</strong>"), "\(name)") }
        #expect(section.contains("rule Hoop-JIT_8_hours (jit; everyone; reviewers dba-leads, sre-leads; 1 approval)"))
        #expect(section.contains("<span class=\"sev-medium\">lacks masking, guardrails</span>"))
        #expect(section.contains("dlp plugin: CREDIT_CARD_NUMBER, EMAIL_ADDRESS; rule PCI and PII"))
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("r/report.json"))) as? [String: Any])
        let posture = try #require(json["posture"] as? [[String: Any]])
        #expect(posture.map { $0["connection"] as? String } == SampleStoreGenerator.connections.map(\.name).sorted())
        #expect(posture.first { $0["connection"] as? String == "billing-api" }?["missing"] as? [String] == ["review gate", "guardrails"])
        let gated = try #require((json["controls"] as? [[String: Any]])?.flatMap { $0["tests"] as! [[String: Any]] }
            .first { $0["test"] as? String == "approval.gated-access" })
        #expect((gated["notes"] as? [String])?.count == 2)
    }
}
