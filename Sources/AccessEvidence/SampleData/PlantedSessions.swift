import Foundation

/// The planted cases of the generated store: the gaps every control test must flag, the near
/// misses it must not, and the labelled variants of the corpus. Written before routine traffic,
/// which keeps clear of them at any size (see `Builder.reserved`).
extension SampleStoreGenerator.Builder {
    // MARK: planted gaps

    static func plantedID(_ n: Int) -> String { String(format: "aaaaaaaa-0000-4000-8000-%012d", n) }

    mutating func gap(_ control: String, _ test: String, _ criteria: [String], session: String, item: String? = nil, _ reason: String, _ description: String) {
        gaps.append(PlantedGaps.Gap(control: control, test: test, criteria: criteria, session: session, item: item ?? session,
                                    reasonCode: reason, description: description))
    }

    func day(_ text: String) -> Date { Timestamp.parse(text)! }

    mutating func plant() throws {
        let staging = conn("pg-staging"), prod = conn("pg-prod"), billing = conn("mysql-billing")
        let identity = (control: "GW-IAM-01", test: "identity.attribution", criteria: ["CC6.1"])
        let terminated = (control: "GW-IAM-02", test: "access.terminated-users", criteria: ["CC6.2"])
        let approval = (control: "GW-CHG-01", test: "approval.privileged-commands", criteria: ["CC6.1", "CC6.3", "CC8.1"])
        let masking = (control: "GW-DLP-01", test: "masking.detected-not-masked", criteria: ["C1.1", "CC6.7", "P4.1"])
        let guardrail = (control: "GW-MON-01", test: "guardrails.blocked-commands", criteria: ["CC6.8"])

        // 1. No identity at all.
        var s = execSession(id: Self.plantedID(1), conn: staging, actor: Actor(subject: "", email: "", name: ""),
                            at: day("2026-07-09T10:15:00Z"), script: "SELECT count(*) FROM customers;")
        try write(s)
        gap(identity.control, identity.test, identity.criteria, session: s.id, "no-identity", "Session with an empty user_id")

        // 2. The legacy organization-wide key.
        s = execSession(id: Self.plantedID(2), conn: staging, actor: Actor(subject: "API_KEY", email: "legacy-org-key", name: "legacy-org-key"),
                        at: day("2026-07-21T08:02:11Z"), script: "SELECT id FROM invoices LIMIT 10;")
        s.origin = "api"
        try write(s)
        gap(identity.control, identity.test, identity.criteria, session: s.id, "organization-key", "Session run with the organization-wide API_KEY")

        // 3. A shared DBA account that is in the directory.
        s = execSession(id: Self.plantedID(3), conn: staging, actor: person("dba").actor, at: day("2026-08-03T14:40:00Z"),
                        script: "SELECT pg_size_pretty(pg_database_size(current_database()));")
        try write(s)
        gap(identity.control, identity.test, identity.criteria, session: s.id, "shared-account", "Session by the shared dba@acme.example account")

        // 4. A subject the directory does not know.
        s = execSession(id: Self.plantedID(4), conn: staging, actor: Actor(subject: "okta|00uZcontractor", email: "contractor@partner.example", name: "Contractor"),
                        at: day("2026-09-02T11:05:00Z"), script: "SELECT 1;")
        try write(s)
        gap(identity.control, identity.test, identity.criteria, session: s.id, "unregistered-identity", "Session by a subject missing from users")

        // 5. Access after deactivation (Jonas was deactivated 2026-08-14T17:00:00Z) and a near miss a minute before.
        let jonas = person("jonas")
        s = execSession(id: Self.plantedID(5), conn: staging, actor: jonas.actor, at: day("2026-08-14T16:59:00Z"), script: "SELECT now();")
        try write(s)
        nearMisses.append(.init(session: s.id, description: "Session by Jonas Berg one minute before his deactivation"))
        s = execSession(id: Self.plantedID(6), conn: staging, actor: jonas.actor, at: day("2026-08-20T09:12:00Z"), script: "SELECT * FROM customers LIMIT 5;")
        try write(s)
        gap(terminated.control, terminated.test, terminated.criteria, session: s.id, "access-after-deactivation",
            "Session by Jonas Berg six days after his deactivation")

        // 6. A privileged statement with no approval request.
        s = execSession(id: Self.plantedID(7), conn: prod, actor: person("dan").actor, at: day("2026-07-15T16:20:00Z"),
                        script: "DELETE FROM orders WHERE created_at < '2020-01-01';")
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "no-approval", "DELETE on pg-prod without any approval")

        // 7. Approved after it ran.
        let dan = person("dan"), alice = person("alice"), carol = person("carol"), bob = person("bob"), erin = person("erin")
        var at = day("2026-08-06T13:00:00Z")
        s = execSession(id: Self.plantedID(8), conn: prod, actor: dan.actor, at: at, script: "UPDATE customers SET tier = 'gold' WHERE id = 4410;", ranAfter: 30)
        try review(id: Self.plantedID(108), session: s.id, conn: prod, type: "onetime", status: "EXECUTED", requester: dan.actor,
                   requestedAt: at.addingTimeInterval(1), decisions: [("dba-leads", "APPROVED", alice.actor, at.addingTimeInterval(3600))])
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "approved-after-execution",
            "UPDATE ran 30 s after the request; the approval came an hour later")

        // 8. Self-approval by an admin.
        at = day("2026-08-27T18:45:00Z")
        s = execSession(id: Self.plantedID(9), conn: prod, actor: carol.actor, at: at, script: "ALTER TABLE payments DROP COLUMN legacy_ref;", ranAfter: 300)
        try review(id: Self.plantedID(109), session: s.id, conn: prod, type: "onetime", status: "EXECUTED", requester: carol.actor,
                   requestedAt: at.addingTimeInterval(1), decisions: [("dba-leads", "APPROVED", carol.actor, at.addingTimeInterval(240))])
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "self-approval", "Carol approved her own ALTER TABLE")

        // 9. Rejected, yet it ran.
        at = day("2026-09-10T09:30:00Z")
        s = execSession(id: Self.plantedID(10), conn: billing, actor: bob.actor, at: at, script: "UPDATE charges SET refunded = 1 WHERE id = 99812;", ranAfter: 400)
        try review(id: Self.plantedID(110), session: s.id, conn: billing, type: "onetime", status: "REJECTED", requester: bob.actor,
                   requestedAt: at.addingTimeInterval(1), decisions: [("dba-leads", "REJECTED", alice.actor, at.addingTimeInterval(300))],
                   rejection: "Refunds go through the billing tool")
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "rejected-but-ran", "Rejected request whose UPDATE still ran")

        // 10. A JIT session that outlived its grant: the DDL came after the expiry.
        at = day("2026-09-16T10:00:00Z")
        let grantApproved = at.addingTimeInterval(300)
        s = SessionSpec(id: Self.plantedID(11), conn: prod, verb: "connect", actor: dan.actor, createdAt: at, endedAt: at.addingTimeInterval(4200))
        s.events = [Event(at: 320, kind: "i", payload: Self.wireQuery("SELECT count(*) FROM orders")),
                    Event(at: 4000, kind: "i", payload: Self.wireQuery("CREATE TABLE orders_backup AS SELECT * FROM orders"))]
        try review(id: Self.plantedID(111), session: s.id, conn: prod, type: "jit", status: "APPROVED", requester: dan.actor, requestedAt: at,
                   durationSec: 3600, expiresAt: grantApproved.addingTimeInterval(3600), decisions: [("dba-leads", "APPROVED", alice.actor, grantApproved)])
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#2", "jit-expired",
            "CREATE TABLE 65 minutes into a 60-minute JIT grant")

        // 11. sudo on the bastion with no grant.
        s = SessionSpec(id: Self.plantedID(12), conn: conn("ssh-bastion"), verb: "connect", actor: person("hiro").actor,
                        createdAt: day("2026-07-30T22:10:00Z"), endedAt: day("2026-07-30T22:14:00Z"))
        s.events = [Event(at: 5, kind: "i", payload: Array("ls -la /etc/nginx\r".utf8)), Event(at: 5.4, kind: "o", payload: Array("total 48\r\n".utf8)),
                    Event(at: 30, kind: "i", payload: Array("sudo systemctl restart nginx\r".utf8)), Event(at: 31, kind: "o", payload: Array("\r\n".utf8))]
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#2", "no-approval", "sudo systemctl restart on ssh-bastion without a JIT grant")

        // 12. kubectl delete with no approval.
        s = execSession(id: Self.plantedID(13), conn: conn("k8s-prod"), actor: erin.actor, at: day("2026-08-11T07:55:00Z"),
                        script: "kubectl delete pod api-7d9f8b6c5-x2k4q -n prod")
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "no-approval", "kubectl delete on k8s-prod without approval")

        // Near misses for the approval test.
        at = day("2026-07-23T15:00:00Z")
        s = execSession(id: Self.plantedID(20), conn: prod, actor: dan.actor, at: at, script: "UPDATE invoices SET due_date = '2026-08-01' WHERE id = 5521;", ranAfter: 601)
        try review(id: Self.plantedID(120), session: s.id, conn: prod, type: "onetime", status: "EXECUTED", requester: dan.actor,
                   requestedAt: at.addingTimeInterval(1), decisions: [("dba-leads", "APPROVED", alice.actor, at.addingTimeInterval(600))])
        try write(s)
        nearMisses.append(.init(session: s.id, description: "Approval granted one second before the UPDATE ran"))
        s = execSession(id: Self.plantedID(21), conn: prod, actor: dan.actor, at: day("2026-07-24T10:00:00Z"),
                        script: "SELECT id, note FROM tickets WHERE note LIKE '%DELETE FROM users WHERE%' /* DROP TABLE tickets */;")
        try write(s)
        nearMisses.append(.init(session: s.id, description: "SELECT whose string literal and comment contain DELETE and DROP"))
        s = execSession(id: Self.plantedID(22), conn: staging, actor: person("ci-migrations").actor, at: day("2026-07-25T02:00:00Z"),
                        script: "DROP TABLE IF EXISTS tmp_import;")
        try write(s)
        nearMisses.append(.init(session: s.id, description: "DROP TABLE on pg-staging, outside the production scope"))

        // 13. Masking: detected but fewer masked, in session_metrics and in metrics.
        s = execSession(id: Self.plantedID(14), conn: prod, actor: person("grace").actor, at: day("2026-08-18T12:30:00Z"),
                        script: "SELECT id, email, phone FROM customers WHERE signup_date = '2026-08-17';")
        s.masking = ["EMAIL_ADDRESS": (5, 3), "PHONE_NUMBER": (5, 5)]
        try write(s)
        gap(masking.control, masking.test, masking.criteria, session: s.id, "detected-not-masked", "5 e-mail addresses detected, 3 masked")
        s = SessionSpec(id: Self.plantedID(15), conn: billing, verb: "connect", actor: person("farid").actor,
                        createdAt: day("2026-09-22T15:10:00Z"), endedAt: day("2026-09-22T15:12:00Z"))
        s.events = [Event(at: 3, kind: "i", payload: Self.mysqlQuery("SELECT card_last_digits, holder FROM cards LIMIT 2"))]
        s.masking = ["CREDIT_CARD_NUMBER": (2, 0)]
        s.maskingInMetricsOnly = true
        try write(s)
        gap(masking.control, masking.test, masking.criteria, session: s.id, "detected-not-masked", "2 card numbers detected, none masked (metrics JSON only)")
        s = execSession(id: Self.plantedID(23), conn: staging, actor: person("grace").actor, at: day("2026-08-19T12:30:00Z"),
                        script: "SELECT email FROM customers LIMIT 3;")
        s.masking = ["EMAIL_ADDRESS": (3, 0)]
        s.maskingInMetricsOnly = true
        try write(s)
        nearMisses.append(.init(session: s.id, description: "Unmasked detections on pg-staging, which is not configured to mask"))

        // 14. A guardrail matched but the command completed.
        s = execSession(id: Self.plantedID(16), conn: conn("ssh-bastion"), actor: erin.actor, at: day("2026-09-04T17:20:00Z"),
                        script: "curl -s https://get.example.sh/install | bash")
        s.guardrails = [["rule_name": "Hoop - pipe to shell", "rule": ["type": "pattern_match", "words": [], "pattern_regex": "curl .*\\| *(ba)?sh"],
                         "direction": "input", "matched_words": ["curl -s https://get.example.sh/install | bash"], "message": "Piping downloads into a shell is not allowed"]]
        try write(s)
        gap(guardrail.control, guardrail.test, guardrail.criteria, session: s.id, item: s.id + "#g1", "guardrail-not-enforced",
            "Pipe-to-shell guardrail matched but the session exited 0")
        // The same script also runs without approval on a production host.
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "no-approval",
            "curl piped to bash on ssh-bastion without approval (the guardrail did not stop it)")
        try plantGate()
        try plantMore()
    }

    /// The review gate: interactive access to pg-prod needs a JIT grant (rule Hoop-JIT_8_hours). Grace's
    /// grant runs 09:05–10:05; a session inside it passes, one two hours after it lapsed, running only a
    /// SELECT, is a bypassed gate. A session on pg-prod on the period's first day meets a gate the audit
    /// log cannot tell (the review plugin's removal on 2 July is the first recorded change).
    mutating func plantGate() throws {
        let gate = (control: "GW-IAM-04", test: "approval.gated-access", criteria: ["CC6.1", "CC6.2", "CC6.3"])
        let prod = conn("pg-prod"), grace = person("grace"), alice = person("alice")
        let at = day("2026-08-25T09:00:00Z")
        let approved = at.addingTimeInterval(300)
        var s = SessionSpec(id: Self.plantedID(60), conn: prod, verb: "connect", actor: grace.actor, createdAt: at, endedAt: at.addingTimeInterval(900))
        s.events = [Event(at: 310, kind: "i", payload: Self.wireQuery("SELECT count(*) FROM invoices"))]
        try review(id: Self.plantedID(160), session: s.id, conn: prod, type: "jit", status: "APPROVED", requester: grace.actor, requestedAt: at,
                   durationSec: 3600, expiresAt: approved.addingTimeInterval(3600), decisions: [("dba-leads", "APPROVED", alice.actor, approved)])
        try write(s)
        s = SessionSpec(id: Self.plantedID(61), conn: prod, verb: "connect", actor: grace.actor, createdAt: at.addingTimeInterval(1800),
                        endedAt: at.addingTimeInterval(2400))
        s.events = [Event(at: 4, kind: "i", payload: Self.wireQuery("SELECT id, total FROM invoices WHERE id = 7710"))]
        try write(s)
        nearMisses.append(.init(session: s.id, description: "Session on pg-prod inside Grace's live JIT grant"))
        s = SessionSpec(id: Self.plantedID(62), conn: prod, verb: "connect", actor: grace.actor,
                        createdAt: approved.addingTimeInterval(3600 + 7200), endedAt: approved.addingTimeInterval(3600 + 7500))
        s.events = [Event(at: 4, kind: "i", payload: Self.wireQuery("SELECT id, total FROM invoices WHERE due_date < current_date"))]
        try write(s)
        gap(gate.control, gate.test, gate.criteria, session: s.id, "jit-expired",
            "Session on pg-prod two hours after Grace's JIT grant expired, running only a SELECT")
        // The configured posture (`accessPolicy`): three production connections lack a protection.
        let posture = (control: "GW-CFG-02", test: "posture.production-protections", criteria: ["CC6.1", "CC6.7", "CC6.8"])
        for (name, description) in [("billing-api", "billing-api (production) has no review gate and no guardrails"),
                                    ("k8s-prod", "k8s-prod (production) has no masking and no guardrails"),
                                    ("ssh-bastion", "ssh-bastion (production) has no masking and no guardrails")] {
            gap(posture.control, posture.test, posture.criteria, session: "connection:" + name, item: "connection:" + name,
                "production-unprotected", description)
        }
        // Planted elsewhere for other tests, these also opened a gated connection without an approval.
        for (n, description) in [(12, "Hiro's session on ssh-bastion (review plugin) without a JIT grant"),
                                 (15, "Farid's interactive session on mysql-billing (rule Hoop-JIT_8_hours) without a JIT grant"),
                                 (16, "Erin's exec on ssh-bastion (review plugin) without a review"),
                                 (44, "Hiro's exec on ssh-bastion (review plugin) without a review")] {
            gap(gate.control, gate.test, gate.criteria, session: Self.plantedID(n), "no-approval-for-gated-access", description)
        }
    }

    mutating func plantMore() throws {
        let prod = conn("pg-prod"), staging = conn("pg-staging")
        let identity = (control: "GW-IAM-01", test: "identity.attribution", criteria: ["CC6.1"])
        let owners = (control: "GW-IAM-03", test: "identity.machine-owners", criteria: ["CC6.1", "CC6.2"])
        let terminated = (control: "GW-IAM-02", test: "access.terminated-users", criteria: ["CC6.2"])
        let approval = (control: "GW-CHG-01", test: "approval.privileged-commands", criteria: ["CC6.1", "CC6.3", "CC8.1"])
        let pending = (control: "GW-CHG-02", test: "approval.pending-requests", criteria: ["CC6.3"])
        let output = (control: "GW-DLP-01", test: "masking.sensitive-output", criteria: ["C1.1", "CC6.7", "P4.1"])
        let trail = (control: "GW-LOG-01", test: "audit.trail-completeness", criteria: ["CC7.2", "CC2.1"])
        let detection = (control: "GW-MON-02", criteria: ["CC7.2", "CC7.3", "CC6.8"])
        let dan = person("dan"), alice = person("alice"), bob = person("bob"), grace = person("grace")

        // The API key on a production connection, and it has no owner on the roster.
        let key = SampleStoreGenerator.reportingKey
        var s = SessionSpec(id: Self.plantedID(30), conn: conn("billing-api"), verb: "connect", actor: key,
                            createdAt: day("2026-08-25T06:00:00Z"), endedAt: day("2026-08-25T06:00:03Z"))
        s.events = [Event(at: 0.2, kind: "i", payload: Array("GET /v1/customers?limit=500 HTTP/1.1\r\nHost: billing-api\r\n\r\n".utf8)),
                    Event(at: 0.5, kind: "o", payload: Array("HTTP/1.1 200 OK\r\n\r\n{\"items\":[]}".utf8))]
        s.origin = "api"
        try write(s)
        gap(identity.control, identity.test, identity.criteria, session: s.id, "api-key-on-production", "The reporting API key read customers on billing-api (env=prod)")
        gap(owners.control, owners.test, owners.criteria, session: s.id,
            item: "identity:" + key.subject, "machine-without-owner", "The reporting API key has no owner on SampleData/roster.csv")

        // Kim is active in the gateway but terminated on the HR roster (2026-09-15), which wins.
        s = execSession(id: Self.plantedID(31), conn: staging, actor: person("kim").actor, at: day("2026-09-14T10:00:00Z"), script: "SELECT 42;")
        try write(s)
        nearMisses.append(.init(session: s.id, description: "Kim Sato the day before her roster termination"))
        s = execSession(id: Self.plantedID(32), conn: staging, actor: person("kim").actor, at: day("2026-09-18T10:00:00Z"), script: "SELECT 43;")
        try write(s)
        gap(terminated.control, terminated.test, terminated.criteria, session: s.id, "access-after-deactivation",
            "Kim Sato after her termination on the HR roster, though the gateway still lists her as active")

        // Approvals by the wrong people, too few, forced, or used outside their window.
        func approvedExec(_ n: Int, _ when: String, _ script: String, by reviewer: Actor, group: String = "dba-leads", ranAfter: Double = 600,
                          minApprovals: Int = 1, extra: [(String, String, Actor?, Date?)] = [], forced: Bool = false,
                          window: (String, String)? = nil) throws -> String {
            let at = day(when)
            let s = execSession(id: Self.plantedID(n), conn: prod, actor: dan.actor, at: at, script: script, ranAfter: ranAfter)
            try review(id: Self.plantedID(100 + n), session: s.id, conn: prod, type: "onetime", status: "EXECUTED", requester: dan.actor,
                       requestedAt: at.addingTimeInterval(1), decisions: [(group, "APPROVED", reviewer, at.addingTimeInterval(300))] + extra,
                       minApprovals: minApprovals, forced: forced, window: window)
            try write(s)
            return s.id
        }
        var id = try approvedExec(33, "2026-07-07T10:00:00Z", "UPDATE plans SET price = 99 WHERE id = 3;", by: bob.actor)
        gap(approval.control, approval.test, approval.criteria, session: id, item: id + "#1", "approver-not-authorized",
            "Bob approved for dba-leads without being a member")
        id = try approvedExec(34, "2026-07-08T10:00:00Z", "UPDATE plans SET price = 89 WHERE id = 4;", by: key)
        gap(approval.control, approval.test, approval.criteria, session: id, item: id + "#1", "api-key-approval",
            "The reporting API key approved a write")
        id = try approvedExec(35, "2026-07-09T10:00:00Z", "DELETE FROM coupons WHERE expired = true;", by: alice.actor, minApprovals: 2,
                              extra: [("security", "PENDING", nil, nil)])
        gap(approval.control, approval.test, approval.criteria, session: id, item: id + "#1", "insufficient-approvals",
            "One of the two approvals the rule requires")
        id = try approvedExec(36, "2026-07-10T10:00:00Z", "ALTER TABLE coupons ADD COLUMN campaign text;", by: person("carol").actor, forced: true)
        gap(approval.control, approval.test, approval.criteria, session: id, item: id + "#1", "forced-approval",
            "Force-approved by an admin (listed for review)")
        id = try approvedExec(37, "2026-07-13T19:00:00Z", "UPDATE invoices SET status = 'void' WHERE id = 881;", by: alice.actor,
                              window: ("09:00", "17:00"))
        gap(approval.control, approval.test, approval.criteria, session: id, item: id + "#1", "outside-time-window",
            "Ran at 19:10 UTC under an approval limited to 09:00-17:00")
        id = try approvedExec(38, "2026-07-14T10:00:00Z", "UPDATE invoices SET status = 'void' WHERE id = 882;", by: alice.actor,
                              window: ("09:00", "17:00"))
        nearMisses.append(.init(session: id, description: "Ran inside its approval's 09:00-17:00 window"))

        // A request nobody answered for days, and one made just before the period ended.
        for (n, when, flagged) in [(39, "2026-09-20T09:00:00Z", true), (40, "2026-09-30T15:00:00Z", false)] {
            let at = day(when)
            var p = SessionSpec(id: Self.plantedID(n), conn: prod, verb: "exec", actor: grace.actor, createdAt: at, endedAt: nil)
            p.script = "UPDATE customers SET segment = 'b2b' WHERE id = 77;"
            p.status = "open"
            p.exitCode = nil
            p.noLog = true
            try review(id: Self.plantedID(100 + n), session: p.id, conn: prod, type: "onetime", status: "PENDING", requester: grace.actor,
                       requestedAt: at, decisions: [("dba-leads", "PENDING", nil, nil)])
            try write(p)
            if flagged {
                gap(pending.control, pending.test, pending.criteria, session: p.id, item: "review:" + Self.plantedID(100 + n), "pending-too-long",
                    "Request pending from 2026-09-20 to the end of the quarter")
            } else {
                nearMisses.append(.init(session: p.id, description: "Request pending for less than a day at the end of the period"))
            }
        }

        // Card numbers in recorded output on a connection that must mask.
        s = execSession(id: Self.plantedID(41), conn: prod, actor: grace.actor, at: day("2026-08-04T11:00:00Z"),
                        script: "SELECT holder, card_number FROM payment_methods LIMIT 2;")
        s.events[1].payload = Array(" holder | card_number\n Ana Lima | 4111 1111 1111 1111\n Bo Chen | 5500-0000-0000-0004\n(2 rows)\n".utf8)
        try write(s)
        gap(output.control, output.test, output.criteria, session: s.id, "sensitive-data-in-output", "Two card numbers in psql output on pg-prod")
        s = execSession(id: Self.plantedID(42), conn: prod, actor: grace.actor, at: day("2026-08-05T11:00:00Z"),
                        script: "SELECT holder, card_number FROM payment_methods LIMIT 2;")
        s.events[1].payload = Array(" holder | card_number\n Ana Lima | 4111 **** **** 1111\n ref 4111 1111 1111 1112\n(2 rows)\n".utf8)
        try write(s)
        nearMisses.append(.init(session: s.id, description: "A masked card number and a 16-digit number that fails Luhn"))

        // Holes in the audit trail.
        s = execSession(id: Self.plantedID(43), conn: prod, actor: grace.actor, at: day("2026-07-16T09:00:00Z"), script: "SELECT count(*) FROM orders;")
        s.noLog = true
        try write(s)
        gap(trail.control, trail.test, trail.criteria, session: s.id, "recording-missing", "Exit code 0 but only 'no log found on disk'")
        s = execSession(id: Self.plantedID(44), conn: conn("ssh-bastion"), actor: person("hiro").actor, at: day("2026-07-17T09:00:00Z"), script: "tail -n 50 /var/log/syslog")
        s.truncated = true
        try write(s)
        gap(trail.control, trail.test, trail.criteria, session: s.id, "recording-truncated", "metrics.truncated is true")
        s = execSession(id: Self.plantedID(45), conn: staging, actor: grace.actor, at: day("2026-09-03T09:00:00Z"), script: "SELECT 1;")
        s.endedAt = nil
        s.status = "open"
        try write(s)
        gap(trail.control, trail.test, trail.criteria, session: s.id, "never-closed", "Open since 2026-09-03 with no ended_at")
        s = execSession(id: Self.plantedID(46), conn: staging, actor: grace.actor, at: day("2026-09-08T09:00:00Z"), script: "SELECT 2;")
        s.endedAt = day("2026-09-08T08:00:00Z")
        try write(s)
        gap(trail.control, trail.test, trail.criteria, session: s.id, "impossible-timestamp", "ended_at an hour before created_at")

        // Three blocked commands by one person within the hour; two for someone else are not a burst.
        // The gateway stopped all three: the burst is an observation, not an exception.
        for (n, who, when) in [(47, "farid", "2026-08-26T14:00:00Z"), (48, "farid", "2026-08-26T14:20:00Z"), (49, "farid", "2026-08-26T14:50:00Z"),
                               (50, "bob", "2026-09-09T14:00:00Z"), (51, "bob", "2026-09-09T14:30:00Z")] {
            var b = SessionSpec(id: Self.plantedID(n), conn: prod, verb: "exec", actor: person(who).actor, createdAt: day(when),
                                endedAt: day(when).addingTimeInterval(0.4))
            b.script = "DROP TABLE customers;"
            b.exitCode = 254
            b.guardrails = [["rule_name": "Hoop - destructive DDL", "rule": ["type": "deny_words_list", "words": ["drop table"], "pattern_regex": ""],
                             "direction": "input", "matched_words": ["drop table"], "message": "Destructive statements need a change ticket"]]
            b.events = [Event(at: 0.1, kind: "e", payload: Array("blocked by guardrail: Hoop - destructive DDL\n".utf8))]
            try write(b)
        }
        gap(detection.control, "detection.guardrail-bursts", detection.criteria, session: Self.plantedID(47),
            item: "identity:" + person("farid").email, "guardrail-burst-blocked", "Three DROP TABLE attempts by Farid within 50 minutes, all blocked")
        nearMisses.append(.init(session: Self.plantedID(50), description: "Two blocked commands by Bob within the hour: below the burst threshold"))

        // The AI analyzer rated a session high-risk and it ran without approval; another was blocked.
        s = execSession(id: Self.plantedID(52), conn: prod, actor: person("farid").actor, at: day("2026-09-24T16:00:00Z"),
                        script: "SELECT * FROM customers;")
        s.ai = ["risk_level": "high", "action": "allow_execution", "title": "Full read of the customer table", "explanation": "Unbounded read of personal data"]
        try write(s)
        gap(detection.control, "detection.ai-high-risk", detection.criteria, session: s.id, "high-risk-unapproved", "High-risk verdict, allowed, no approval")
        s = execSession(id: Self.plantedID(53), conn: prod, actor: person("farid").actor, at: day("2026-09-25T16:00:00Z"),
                        script: "SELECT * FROM customers;")
        s.ai = ["risk_level": "high", "action": "block_execution", "title": "Full read of the customer table"]
        s.exitCode = 254
        try write(s)
        nearMisses.append(.init(session: s.id, description: "High-risk verdict that blocked execution"))
    }

    /// Working days left without any session (the planted outage, and at small sizes a few more):
    /// listed once every session, planted and routine, is written.
    mutating func quietDays() {
        let trail = (control: "GW-LOG-01", test: "audit.trail-completeness", criteria: ["CC7.2", "CC2.1"])
        let weekdays = stride(from: period.start, to: period.end, by: 86_400).filter { d in
            let w = (Int(d.timeIntervalSince1970 / 86_400) + 4) % 7
            return w != 0 && w != 6
        }
        for d in weekdays where !activeDays.contains(Timestamp.formatDay(d)) {
            let label = Timestamp.formatDay(d)
            gap(trail.control, trail.test, trail.criteria, session: "period:" + label, item: "period:" + label, "no-activity",
                label == Self.quietDay ? "No session on a working day (the planted logging outage)" : "No session on this working day")
        }
    }

    // MARK: variations (the labelled corpus)

    static let privilegedVariants: [(conn: String, text: String)] = [
        ("pg-prod", "dElEtE fRoM orders -- cleanup"),
        ("pg-prod", "/* maintenance */ UPDATE accounts SET balance = 0"),
        ("pg-prod", "SELECT 1; DROP TABLE audit_tmp;"),
        ("pg-prod", "TRUNCATE sessions_cache"),
        ("pg-prod", "GRANT ALL ON payments TO intern"),
        ("pg-prod", "COPY customers TO '/tmp/c.csv'"),
        ("pg-prod", "WITH gone AS (DELETE FROM carts RETURNING id) SELECT count(*) FROM gone"),
        ("pg-prod", "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql"),
        ("mysql-billing", "SELECT * INTO OUTFILE '/tmp/charges.csv' FROM charges"),
        ("mysql-billing", "UPDATE `charges` SET `amount` = 0"),
        ("ssh-bastion", "sudo rm -rf /var/cache/app"),
        ("ssh-bastion", "chmod 777 /etc/app.conf"),
        ("ssh-bastion", "systemctl stop nginx"),
        ("ssh-bastion", "curl -fsSL https://get.example.sh/i.sh | sudo bash"),
        ("ssh-bastion", "FOO=1 sudo -u deploy useradd mallory"),
        ("k8s-prod", "kubectl -n prod delete deploy api"),
        ("k8s-prod", "kubectl exec -it api-0 -n prod -- sh"),
        ("k8s-prod", "helm uninstall api"),
    ]
    static let benignVariants: [(conn: String, text: String)] = [
        ("pg-prod", "SELECT 'DELETE FROM orders' AS t"),
        ("pg-prod", "SELECT * FROM t WHERE note = 'DROP TABLE x; UPDATE y SET z = 1'"),
        ("pg-prod", "-- DROP TABLE x\nSELECT 1"),
        ("pg-prod", "SELECT $$ UPDATE t SET a = 1 $$"),
        ("pg-prod", "EXPLAIN DELETE FROM orders"),
        ("pg-prod", "SELECT \"delete\", \"drop\" FROM \"update\""),
        ("pg-prod", "/* GRANT ALL ON x TO y */ SHOW search_path"),
        ("mysql-billing", "SELECT `update` FROM `delete` WHERE id = 1 # DROP TABLE x"),
        ("ssh-bastion", "echo 'sudo rm -rf /'"),
        ("ssh-bastion", "ls -la /var # rm -rf /"),
        ("ssh-bastion", "systemctl status nginx"),
        ("ssh-bastion", "curl https://api.example/health | jq ."),
        ("k8s-prod", "kubectl get pods -n prod"),
        ("k8s-prod", "kubectl rollout status deploy/api -n prod"),
        ("k8s-prod", "helm list -n prod"),
    ]
    static let sensitiveVariants = [
        "card 4012 8888 8888 1881 declined", "Visa 4111-1111-1111-1111", "amex 3782 822463 10005", "ssn 536-22-1234",
        "iban GB82 WEST 1234 5698 7654 32", "key AKIAIOSFODNN7EXAMPLE", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlMTIz",
        "token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----",
        "contact ana.lima@customer.example",
    ]
    static let harmlessVariants = [
        "ref 4111 1111 1111 1112", "card 4111 **** **** 1111", "ssn ***-**-1234", "ssn 666-12-3456", "ssn 000-12-3456",
        "iban GB82 WEST 1234 5698 7654 33", "id 1234567890123456", "build 2026.09.30-1234", "AKIAIOSFODNN7EXAMPL", "ghp_short",
    ]

    static func variantID(_ copy: Int, _ n: Int) -> String { String(format: "bbbbbbbb-%04d-4000-8000-%012d", copy, n) }

    mutating func plantVariants(copy: Int) throws {
        let approval = (control: "GW-CHG-01", test: "approval.privileged-commands", criteria: ["CC6.1", "CC6.3", "CC8.1"])
        let output = (control: "GW-DLP-01", test: "masking.sensitive-output", criteria: ["C1.1", "CC6.7", "P4.1"])
        let masking = (control: "GW-DLP-01", test: "masking.detected-not-masked", criteria: ["C1.1", "CC6.7", "P4.1"])
        let dan = person("dan"), alice = person("alice"), grace = person("grace")
        var n = 0
        func next() -> String { n += 1; return Self.variantID(copy, n) }

        // Privileged commands with no approval, and commands that only look privileged.
        for _ in 0..<3 {
            let v = pick(Self.privilegedVariants)
            let s = execSession(id: next(), conn: conn(v.conn), actor: dan.actor, at: moment(clearOf: dan.actor, on: conn(v.conn)), script: v.text)
            try write(s)
            gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "no-approval", "Variant: \(v.text)")
            if Self.reviewPlugin.contains(v.conn) {
                gap("GW-IAM-04", "approval.gated-access", ["CC6.1", "CC6.2", "CC6.3"], session: s.id, "no-approval-for-gated-access",
                    "Variant: exec on \(v.conn) (review plugin) without a review")
            }
            let b = pick(Self.benignVariants)
            let at = moment()
            let r = execSession(id: next(), conn: conn(b.conn), actor: dan.actor, at: at, script: b.text)
            if Self.reviewPlugin.contains(b.conn) {
                // The connection's gate wants a review for every session: the read has its own, so it stays a near miss.
                let c = conn(b.conn)
                try review(id: next(), session: r.id, conn: c, type: "onetime", status: "EXECUTED", requester: dan.actor, requestedAt: at,
                           decisions: [(c.reviewers[0], "APPROVED", approver(for: c, not: dan).actor, at.addingTimeInterval(1))])
            }
            try write(r)
            nearMisses.append(.init(session: r.id, description: "Variant read: \(b.text)"))
        }
        // Approved one second after it ran (a gap), one second before and at the same second (not gaps).
        for (offset, flagged) in [(1.0, true), (-1.0, false), (0.0, false)] {
            let at = moment()
            let s = execSession(id: next(), conn: conn("pg-prod"), actor: dan.actor, at: at, script: "UPDATE t SET a = 1 WHERE id = \(copy)", ranAfter: 600)
            let ranAt = at.addingTimeInterval(600)
            try review(id: next(), session: s.id, conn: conn("pg-prod"), type: "onetime", status: "EXECUTED", requester: dan.actor,
                       requestedAt: at.addingTimeInterval(1), decisions: [("dba-leads", "APPROVED", alice.actor, ranAt.addingTimeInterval(offset))])
            try write(s)
            if flagged {
                gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "approved-after-execution", "Variant: approved 1 s after it ran")
            } else {
                nearMisses.append(.init(session: s.id, description: "Variant: approved \(offset == 0 ? "at the second" : "1 s before") it ran"))
            }
        }
        // Self-approval where only the e-mail's letter case differs.
        var at = moment()
        var s = execSession(id: next(), conn: conn("pg-prod"), actor: dan.actor, at: at, script: "DELETE FROM t WHERE id = \(copy)", ranAfter: 600)
        try review(id: next(), session: s.id, conn: conn("pg-prod"), type: "onetime", status: "EXECUTED", requester: dan.actor, requestedAt: at,
                   decisions: [("dba-leads", "APPROVED", Actor(subject: "okta|dan-admin", email: dan.email.uppercased(), name: "Dan (admin)"), at.addingTimeInterval(60))])
        try write(s)
        gap(approval.control, approval.test, approval.criteria, session: s.id, item: s.id + "#1", "self-approval", "Variant: approver is the requester under another subject")
        // Sensitive values in output, and look-alikes that are not.
        at = moment()
        s = execSession(id: next(), conn: conn("pg-prod"), actor: grace.actor, at: at, script: "SELECT note FROM tickets LIMIT 1;")
        s.events[1].payload = Array(" note\n \(pick(Self.sensitiveVariants))\n(1 row)\n".utf8)
        try write(s)
        gap(output.control, output.test, output.criteria, session: s.id, "sensitive-data-in-output", "Variant: a sensitive value in output")
        s = execSession(id: next(), conn: conn("pg-prod"), actor: grace.actor, at: moment(), script: "SELECT note FROM tickets LIMIT 1;")
        s.events[1].payload = Array(" note\n \(pick(Self.harmlessVariants))\n(1 row)\n".utf8)
        try write(s)
        nearMisses.append(.init(session: s.id, description: "Variant: a look-alike value in output"))
        // Masking counters: fewer masked than detected, and equal.
        let detected = Int.random(in: 2...30, using: &rng)
        for masked in [Int.random(in: 0..<detected, using: &rng), detected] {
            var m = execSession(id: next(), conn: conn(pick(["pg-prod", "mysql-billing"])), actor: grace.actor, at: moment(), script: "SELECT email FROM customers LIMIT 30;")
            m.masking = [pick(["EMAIL_ADDRESS", "CREDIT_CARD_NUMBER"]): (detected, masked)]
            try write(m)
            if masked < detected {
                gap(masking.control, masking.test, masking.criteria, session: m.id, "detected-not-masked", "Variant: \(detected) detected, \(masked) masked")
            } else {
                nearMisses.append(.init(session: m.id, description: "Variant: every detected entity masked"))
            }
        }
    }
}
