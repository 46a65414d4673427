import Foundation

/// `sample-data --gateway teleport`: a Teleport `dir` audit log for a quarter — one auth server's
/// folder of daily `YYYY-MM-DD.00:00:00.log` files — with routine work, planted gaps of every class a
/// Teleport log can show, and near misses that must stay clean. Deterministic for a seed.
///
/// The routine: five people and their production and development resources (SSH nodes, a PostgreSQL
/// database, a Kubernetes cluster, Grafana), daily MFA logins, interactive sessions with per-session MFA
/// and uploaded recordings, one-off commands, queries, kubectl requests, and privileged work under
/// access requests that someone else approved.
public struct TeleportSampleGenerator {
    public let seed: UInt64
    public let period: Period
    /// Routine sessions per day (besides the planted ones).
    public let perDay: Int

    public init(seed: UInt64 = 2026, period: Period, perDay: Int = 6) {
        self.seed = seed
        self.period = period
        self.perDay = perDay
    }

    public static let authServer = "b7f0c2de-5a41-4c3e-9d2a-2f3b8e6a1c07"
    static let cluster = "acme.teleport.example"

    struct Node {
        let name: String
        let labels: [String: String]
    }

    static let prodNodes = [Node(name: "db-prod-1", labels: ["env": "prod", "team": "data"]),
                            Node(name: "web-prod-2", labels: ["env": "prod", "team": "web"])]
    static let devNode = Node(name: "build-1", labels: ["env": "dev"])
    static let people = ["alice@acme.example", "bob@acme.example", "carol@acme.example", "dan@acme.example", "erin@acme.example"]

    /// Events by time; `write` spreads them over the daily files.
    final class Log {
        var events: [(at: Date, order: Int, line: [UInt8])] = []
        var counter = 0
        let seed: UInt64

        init(seed: UInt64) { self.seed = seed }

        func uid() -> String {
            counter += 1
            return UUIDv5.make("teleport-sample-\(seed)-\(counter)")
        }

        /// One event: Teleport's envelope first (`ei`, `event`, `uid`, `code`, `time`, `cluster_name`), then `fields`.
        @discardableResult
        func add(_ type: String, _ code: String, at: Date, ei: Int = 0, _ fields: (inout JSONObjectWriter) -> Void) -> String {
            var w = JSONObjectWriter()
            let id = uid()
            w.int("ei", ei)
            w.string("event", type)
            w.string("uid", id)
            w.string("code", code)
            w.time("time", at)
            w.string("cluster_name", TeleportSampleGenerator.cluster)
            fields(&w)
            events.append((at, events.count, w.finish()))
            return id
        }
    }

    /// Hands over each day's file (day, lines in time order) as soon as no later event can fall in it,
    /// so memory holds a day or two of events whatever the size; returns what was planted, by the item
    /// each test reports it on.
    public func generate(_ emit: (String, [[UInt8]]) throws -> Void) rethrows -> PlantedGaps {
        var rng = SeededGenerator(seed: seed)
        let log = Log(seed: seed)
        var gaps: [PlantedGaps.Gap] = []
        var near: [PlantedGaps.NearMiss] = []
        func at(_ text: String) -> Date { Timestamp.parse(text)! }
        func gap(_ control: String, _ test: String, _ criteria: [String], _ session: String, item: String? = nil, _ code: String, _ description: String) {
            gaps.append(.init(control: control, test: test, criteria: criteria, session: session, item: item ?? session, reasonCode: code, description: description))
        }

        // Who exists: created before the quarter, in a file of its own day.
        let created = period.start.addingTimeInterval(-30 * 86_400)
        let roles = ["alice@acme.example": ["access", "editor"], "bob@acme.example": ["access"], "carol@acme.example": ["access", "reviewer"],
                     "dan@acme.example": ["access"], "erin@acme.example": ["access"]]
        for (i, person) in Self.people.enumerated() {
            log.add("user.create", "T1002I", at: created.addingTimeInterval(Double(i) * 60)) {
                $0.string("user", "admin@acme.example")
                $0.string("name", person)
                $0.strings("roles", roles[person]!)
                $0.string("connector", "okta")
            }
        }

        // Planted gaps and near misses (fixed ids, so the ground truth and the README name them).
        func sid(_ n: Int) -> String { String(format: "7e1e0000-0000-4000-8000-%012d", n) }

        // 1. Interactive production session with no MFA: no per-session check, and a login without a device.
        log.add("user.login", "T1000I", at: at("2026-07-14T07:00:00Z")) { $0.string("user", "bob@acme.example"); $0.string("method", "local"); $0.bool("success", true) }
        interactive(log, sid: sid(1), user: "bob@acme.example", node: Self.prodNodes[1], start: at("2026-07-14T07:30:00Z"), minutes: 10, mfa: false,
                    commands: [("/usr/bin/cat", ["/etc/nginx/nginx.conf"])])
        gap("GW-IAM-05", "access.session-mfa", ["CC6.1"], sid(1), "no-mfa", "Interactive session on web-prod-2 with no per-session MFA and a login without an MFA device")
        // Near miss: no per-session check, but a login with an MFA device an hour before.
        log.add("user.login", "T1000I", at: at("2026-07-15T06:30:00Z")) {
            $0.string("user", "bob@acme.example"); $0.string("method", "local"); $0.bool("success", true)
            $0.object("mfa_device") { $0.string("mfa_device_name", "yubikey-1"); $0.string("mfa_device_type", "WebAuthn") }
        }
        interactive(log, sid: sid(101), user: "bob@acme.example", node: Self.prodNodes[1], start: at("2026-07-15T07:30:00Z"), minutes: 10, mfa: false,
                    commands: [("/usr/bin/ls", ["/srv"])])
        near.append(.init(session: sid(101), description: "Production session without a per-session MFA check, after a login with an MFA device"))
        // Near miss: a development node without MFA is out of scope.
        interactive(log, sid: sid(102), user: "bob@acme.example", node: Self.devNode, start: at("2026-07-16T05:00:00Z"), minutes: 10, mfa: false,
                    commands: [("/usr/bin/make", ["test"])])
        near.append(.init(session: sid(102), description: "Session without MFA on a development node (out of scope)"))

        // 2. A recording never uploaded.
        interactive(log, sid: sid(2), user: "carol@acme.example", node: Self.prodNodes[0], start: at("2026-07-21T10:00:00Z"), minutes: 30, mfa: true,
                    commands: [("/usr/bin/df", ["-h"])], upload: nil)
        gap("GW-LOG-01", "audit.trail-completeness", ["CC7.2", "CC2.1"], sid(2), "recording-not-uploaded", "Session ended but its recording was never uploaded (no session.upload)")
        // Near miss: the upload comes 20 minutes after the session, in the next day's file.
        interactive(log, sid: sid(103), user: "carol@acme.example", node: Self.prodNodes[0], start: at("2026-07-22T23:30:00Z"), minutes: 15, mfa: true,
                    commands: [("/usr/bin/df", ["-h"])], upload: 20 * 60)
        near.append(.init(session: sid(103), description: "Recording uploaded 20 minutes after the session ended, after midnight"))

        // 3. Recording turned off.
        interactive(log, sid: sid(3), user: "alice@acme.example", node: Self.prodNodes[1], start: at("2026-08-04T15:00:00Z"), minutes: 12, mfa: true,
                    commands: [("/usr/bin/vi", ["/etc/hosts"])], recording: "off")
        gap("GW-LOG-01", "audit.trail-completeness", ["CC7.2", "CC2.1"], sid(3), "recording-off", "Session with recording mode off")

        // 4. Access after the user was deleted (dan, deleted 2026-08-10).
        log.add("user.delete", "T1004I", at: at("2026-08-10T09:00:00Z")) { $0.string("user", "admin@acme.example"); $0.string("name", "dan@acme.example") }
        interactive(log, sid: sid(104), user: "dan@acme.example", node: Self.prodNodes[0], start: at("2026-08-09T16:00:00Z"), minutes: 20, mfa: true,
                    commands: [("/usr/bin/ls", ["/home"])])
        near.append(.init(session: sid(104), description: "Session by dan the day before his account was deleted"))
        interactive(log, sid: sid(4), user: "dan@acme.example", node: Self.prodNodes[0], start: at("2026-08-12T11:00:00Z"), minutes: 20, mfa: true,
                    commands: [("/usr/bin/ls", ["/home"])])
        gap("GW-IAM-02", "access.terminated-users", ["CC6.2"], sid(4), "access-after-deactivation", "Session by dan two days after user.delete")

        // 5. Access under an active lock (erin, locked from 2026-09-01).
        log.add("lock.created", "TLK00I", at: at("2026-09-01T08:00:00Z")) {
            $0.string("user", "admin@acme.example"); $0.string("name", "lock-erin")
            $0.object("lock") { $0.object("target") { $0.string("user", "erin@acme.example") }; $0.string("message", "laptop reported stolen") }
            $0.string("updated_by", "admin@acme.example")
        }
        interactive(log, sid: sid(105), user: "erin@acme.example", node: Self.prodNodes[1], start: at("2026-08-31T17:00:00Z"), minutes: 10, mfa: true,
                    commands: [("/usr/bin/ls", ["/srv"])])
        near.append(.init(session: sid(105), description: "Session by erin the evening before she was locked"))
        interactive(log, sid: sid(5), user: "erin@acme.example", node: Self.prodNodes[1], start: at("2026-09-02T10:00:00Z"), minutes: 10, mfa: true,
                    commands: [("/usr/bin/ls", ["/srv"])])
        gap("GW-IAM-02", "access.terminated-users", ["CC6.2"], sid(5), "access-while-locked", "Session by erin while a lock on her was in force")

        // 6. An access request used after it expired.
        let expired = "a11ce000-0000-4000-8000-000000000006"
        request(log, id: expired, user: "alice@acme.example", at: at("2026-07-20T08:00:00Z"), hours: 4)
        review(log, id: expired, reviewer: "carol@acme.example", at: at("2026-07-20T08:05:00Z"), state: "APPROVED")
        interactive(log, sid: sid(6), user: "alice@acme.example", node: Self.prodNodes[0], start: at("2026-07-20T13:00:00Z"), minutes: 10, mfa: true,
                    commands: [("/usr/bin/ls", ["/var/lib/postgresql"])], requests: [expired])
        gap("GW-IAM-06", "approval.access-requests", ["CC6.1", "CC6.2", "CC6.3"], sid(6), item: "\(sid(6))#\(expired)", "used-after-expiry",
            "Session started an hour after its access request expired")
        // Near miss: started a minute before the request expired.
        let inTime = "a11ce000-0000-4000-8000-000000000106"
        request(log, id: inTime, user: "alice@acme.example", at: at("2026-07-27T08:00:00Z"), hours: 4)
        review(log, id: inTime, reviewer: "carol@acme.example", at: at("2026-07-27T08:05:00Z"), state: "APPROVED")
        interactive(log, sid: sid(106), user: "alice@acme.example", node: Self.prodNodes[0], start: at("2026-07-27T11:59:00Z"), minutes: 10, mfa: true,
                    commands: [("/usr/bin/ls", ["/var/lib/postgresql"])], requests: [inTime])
        near.append(.init(session: sid(106), description: "Session started a minute before its access request expired"))

        // 7. A request its requester approved.
        let selfReviewed = "a11ce000-0000-4000-8000-000000000007"
        request(log, id: selfReviewed, user: "carol@acme.example", at: at("2026-08-18T09:00:00Z"), hours: 4)
        review(log, id: selfReviewed, reviewer: "carol@acme.example", at: at("2026-08-18T09:02:00Z"), state: "APPROVED")
        interactive(log, sid: sid(7), user: "carol@acme.example", node: Self.prodNodes[0], start: at("2026-08-18T09:10:00Z"), minutes: 10, mfa: true,
                    commands: [("/usr/bin/ls", ["/etc"])], requests: [selfReviewed])
        gap("GW-IAM-06", "approval.access-requests", ["CC6.1", "CC6.2", "CC6.3"], sid(7), item: "\(sid(7))#\(selfReviewed)", "self-approval",
            "Access request approved by its own requester")

        // 8. A session that started before its request was approved.
        let late = "a11ce000-0000-4000-8000-000000000008"
        request(log, id: late, user: "bob@acme.example", at: at("2026-09-08T13:00:00Z"), hours: 4)
        interactive(log, sid: sid(8), user: "bob@acme.example", node: Self.prodNodes[1], start: at("2026-09-08T13:05:00Z"), minutes: 10, mfa: true,
                    commands: [("/usr/bin/ls", ["/srv"])], requests: [late])
        review(log, id: late, reviewer: "carol@acme.example", at: at("2026-09-08T13:30:00Z"), state: "APPROVED")
        gap("GW-IAM-06", "approval.access-requests", ["CC6.1", "CC6.2", "CC6.3"], sid(8), item: "\(sid(8))#\(late)", "approved-after-use",
            "Session started 25 minutes before its access request was approved")

        // 9. A session under a denied request.
        let denied = "a11ce000-0000-4000-8000-000000000009"
        request(log, id: denied, user: "bob@acme.example", at: at("2026-09-15T10:00:00Z"), hours: 4)
        review(log, id: denied, reviewer: "carol@acme.example", at: at("2026-09-15T10:10:00Z"), state: "DENIED")
        interactive(log, sid: sid(9), user: "bob@acme.example", node: Self.prodNodes[1], start: at("2026-09-15T10:20:00Z"), minutes: 10, mfa: true,
                    commands: [("/usr/bin/ls", ["/srv"])], requests: [denied])
        gap("GW-IAM-06", "approval.access-requests", ["CC6.1", "CC6.2", "CC6.3"], sid(9), item: "\(sid(9))#\(denied)", "denied-request-used",
            "Session ran under an access request that was denied")

        // 10. A destructive query on production with no access request.
        database(log, sid: sid(10), user: "bob@acme.example", start: at("2026-08-25T16:00:00Z"), queries: ["DROP TABLE orders_archive"])
        gap("GW-CHG-01", "approval.privileged-commands", ["CC6.1", "CC6.3", "CC8.1"], sid(10), item: "\(sid(10))#1", "no-approval",
            "DROP TABLE on orders-prod with no access request")
        // Near miss: the same statement refused by the database (it did not run).
        database(log, sid: sid(110), user: "bob@acme.example", start: at("2026-08-26T16:00:00Z"), queries: [], refused: ["DROP TABLE orders_archive"])
        near.append(.init(session: sid(110), description: "DROP TABLE that failed (db.session.query.failed): it did not run"))

        // 11. A session never closed.
        log.add("session.start", "T2000I", at: at("2026-09-20T12:00:00Z")) { w in
            startFields(&w, sid: sid(11), user: "alice@acme.example", node: Self.prodNodes[0], mfa: true, recording: "node", requests: [])
        }
        gap("GW-LOG-01", "audit.trail-completeness", ["CC7.2", "CC2.1"], sid(11), "never-closed", "session.start with no session.end")

        // 12. A role change that failed (listed for review, an observation).
        let refused = log.add("role.created", "T9000W", at: at("2026-08-06T12:00:00Z")) {
            $0.string("user", "alice@acme.example"); $0.string("name", "prod-admin"); $0.bool("success", false); $0.string("error", "access denied")
        }
        gap("GW-CFG-01", "changes.gateway-configuration", ["CC8.1", "CC6.8", "CC7.1"], "audit:" + refused, "failed-change", "role.created refused (listed for review)")

        // The planted events, by day; the routine follows day by day, each day's file written once complete.
        var planted: [String: [(at: Date, order: Int, line: [UInt8])]] = [:]
        for event in log.events { planted[Timestamp.formatDay(event.at), default: []].append(event) }
        log.events = []
        var order = 1_000_000_000
        func flush(before limit: String?) throws {
            var byDay: [String: [(at: Date, order: Int, line: [UInt8])]] = [:]
            var kept: [(at: Date, order: Int, line: [UInt8])] = []
            for event in log.events {
                let d = Timestamp.formatDay(event.at)
                if limit.map({ d < $0 }) ?? true { byDay[d, default: []].append(event) } else { kept.append(event) }
            }
            log.events = kept
            for d in planted.keys where limit.map({ d < $0 }) ?? true {
                byDay[d, default: []] += planted.removeValue(forKey: d)!.map { e -> (at: Date, order: Int, line: [UInt8]) in
                    order += 1
                    return (e.at, order, e.line)
                }
            }
            for d in byDay.keys.sorted() {
                try emit(d, byDay[d]!.sorted { ($0.at, $0.order) < ($1.at, $1.order) }.map(\.line))
            }
        }

        // The routine, day by day.
        var day = period.start
        var requestNumber = 0
        while day < period.end {
            for (i, person) in Self.people.enumerated() {
                // A daily login with an MFA device.
                log.add("user.login", "T1000I", at: day.addingTimeInterval(Double(8 * 3600 + i * 300))) {
                    $0.string("user", person)
                    $0.string("method", "local")
                    $0.bool("success", true)
                    $0.object("mfa_device") { $0.string("mfa_device_name", "yubikey-\(i)"); $0.string("mfa_device_type", "WebAuthn") }
                }
            }
            for k in 0..<perDay {
                let person = Self.people[Int(rng.next() % 3)]  // alice, bob, carol do the routine work
                // An hour apart from 09:00 for a few a day; closer for a large log, so a day's work stays in its day.
                let spacing = min(3_600, 14 * 3_600 / max(perDay, 1))
                let start = day.addingTimeInterval(Double(9 * 3600 + k * spacing) + Double(rng.next() % UInt64(max(spacing / 2, 1))))
                switch k % 4 {
                case 0: interactive(log, sid: log.uid(), user: person, node: Self.prodNodes[k % 2], start: start, minutes: 20, mfa: true,
                                    commands: [("/usr/bin/ls", ["-la", "/var/log"]), ("/usr/bin/tail", ["-n", "50", "/var/log/syslog"])])
                case 1: execSession(log, sid: log.uid(), user: person, node: Self.devNode, start: start, command: "uptime")
                case 2: database(log, sid: log.uid(), user: person, start: start, queries: ["SELECT count(*) FROM orders WHERE created_at > now() - interval '1 day'"])
                default: kube(log, user: person, start: start, verb: "GET", path: "/api/v1/namespaces/shop/pods")
                }
            }
            // Privileged work twice a week under an access request carol approves.
            if Int(day.timeIntervalSince(period.start) / 86_400) % 3 == 0 {
                requestNumber += 1
                let id = UUIDv5.make("teleport-sample-request-\(seed)-\(requestNumber)")
                let asked = day.addingTimeInterval(14 * 3600)
                request(log, id: id, user: "alice@acme.example", at: asked, hours: 4)
                review(log, id: id, reviewer: "carol@acme.example", at: asked.addingTimeInterval(600), state: "APPROVED")
                interactive(log, sid: log.uid(), user: "alice@acme.example", node: Self.prodNodes[0], start: asked.addingTimeInterval(1200), minutes: 15,
                            mfa: true, commands: [("/usr/bin/sudo", ["systemctl", "restart", "postgresql"])], requests: [id])
            }
            day = day.addingTimeInterval(86_400)
            // Events end at most a day after the day that made them: older days are complete.
            try flush(before: Timestamp.formatDay(day.addingTimeInterval(-86_400)))
        }

        try flush(before: nil)
        return PlantedGaps(seed: seed, gaps: gaps, nearMisses: near)
    }

    // MARK: event shapes

    func startFields(_ w: inout JSONObjectWriter, sid: String, user: String, node: Node, mfa: Bool, recording: String, requests: [String],
                     initial: [String] = []) {
        w.string("user", user)
        w.string("login", "ubuntu")
        w.string("sid", sid)
        if mfa { w.string("with_mfa", "9f6d2a4e-0b1c-4d5e-8f70-1a2b3c4d5e6f") }
        w.string("namespace", "default")
        w.string("server_id", UUIDv5.make("node-" + node.name))
        w.string("server_hostname", node.name)
        w.stringMap("server_labels", node.labels)
        w.string("addr.remote", "198.51.100.23:50312")
        w.string("proto", "ssh")
        w.strings("initial_command", initial.isEmpty ? [""] : initial)
        w.string("session_recording", recording)
        if !requests.isEmpty { w.strings("access_requests", requests) }
        w.int("user_kind", 1)
    }

    /// An interactive SSH session with enhanced-recording commands; `upload` seconds after the end (nil: never).
    func interactive(_ log: Log, sid: String, user: String, node: Node, start: Date, minutes: Double, mfa: Bool,
                     commands: [(String, [String])], requests: [String] = [], recording: String = "node", upload: Double? = 5) {
        log.add("session.start", "T2000I", at: start) { startFields(&$0, sid: sid, user: user, node: node, mfa: mfa, recording: recording, requests: requests) }
        for (i, (path, argv)) in commands.enumerated() {
            log.add("session.command", "T4000I", at: start.addingTimeInterval(Double(i + 1) * 30), ei: i + 1) {
                $0.string("user", user); $0.string("login", "ubuntu"); $0.string("sid", sid)
                $0.string("server_id", UUIDv5.make("node-" + node.name)); $0.string("server_hostname", node.name)
                $0.string("program", (path as NSString).lastPathComponent); $0.string("path", path); $0.strings("argv", argv, always: true)
                $0.int("pid", 4000 + i); $0.int("return_code", 0)
            }
        }
        end(log, sid: sid, user: user, node: node, start: start, end: start.addingTimeInterval(minutes * 60), ei: commands.count + 1,
            interactive: true, recording: recording, upload: recording == "off" ? nil : upload)
    }

    /// `session.end`, then `session.upload` `upload` seconds later (nil: never).
    func end(_ log: Log, sid: String, user: String, node: Node, start: Date, end: Date, ei: Int, interactive: Bool, recording: String, upload: Double?) {
        log.add("session.end", "T2004I", at: end, ei: ei) {
            $0.string("user", user); $0.string("sid", sid); $0.string("server_hostname", node.name)
            $0.bool("interactive", interactive); $0.strings("participants", [user]); $0.string("session_recording", recording)
            $0.time("session_start", start); $0.time("session_stop", end)
        }
        if let upload {
            log.add("session.upload", "T2005I", at: end.addingTimeInterval(upload), ei: 2_147_483_647) {
                $0.string("sid", sid); $0.string("url", "file:///var/lib/teleport/log/records/\(sid).tar")
            }
        }
    }

    /// `tsh ssh node command`: a non-interactive session with one exec.
    func execSession(_ log: Log, sid: String, user: String, node: Node, start: Date, command: String) {
        log.add("session.start", "T2000I", at: start) { startFields(&$0, sid: sid, user: user, node: node, mfa: false, recording: "node", requests: [], initial: [command]) }
        log.add("exec", "T3002I", at: start.addingTimeInterval(1), ei: 1) {
            $0.string("user", user); $0.string("login", "ubuntu"); $0.string("sid", sid); $0.string("server_hostname", node.name)
            $0.stringMap("server_labels", node.labels); $0.string("command", command); $0.string("exitCode", "0")
        }
        end(log, sid: sid, user: user, node: node, start: start, end: start.addingTimeInterval(2), ei: 2, interactive: false, recording: "node", upload: 3)
    }

    func database(_ log: Log, sid: String, user: String, start: Date, queries: [String], refused: [String] = []) {
        func dbFields(_ w: inout JSONObjectWriter) {
            w.string("user", user); w.string("sid", sid); w.string("db_service", "orders-prod"); w.string("db_protocol", "postgres")
            w.string("db_name", "orders"); w.string("db_user", "app_rw"); w.stringMap("db_labels", ["env": "prod"])
        }
        log.add("db.session.start", "TDB00I", at: start) { dbFields(&$0); $0.bool("success", true); $0.int("user_kind", 1) }
        var t = start
        for q in queries {
            t = t.addingTimeInterval(20)
            log.add("db.session.query", "TDB02I", at: t) { dbFields(&$0); $0.string("db_query", q); $0.bool("success", true) }
        }
        for q in refused {
            t = t.addingTimeInterval(20)
            log.add("db.session.query.failed", "TDB02W", at: t) {
                dbFields(&$0); $0.string("db_query", q); $0.bool("success", false); $0.string("error", "permission denied for table orders_archive")
            }
        }
        log.add("db.session.end", "TDB01I", at: t.addingTimeInterval(30)) { dbFields(&$0) }
    }

    func kube(_ log: Log, user: String, start: Date, verb: String, path: String) {
        log.add("kube.request", "T3009I", at: start) {
            $0.string("user", user); $0.string("kubernetes_cluster", "prod-cluster"); $0.stringMap("kubernetes_labels", ["env": "prod"])
            $0.string("verb", verb); $0.string("request_path", path); $0.int("response_code", 200)
        }
    }

    func request(_ log: Log, id: String, user: String, at: Date, hours: Double) {
        log.add("access_request.create", "T5000I", at: at) {
            $0.string("user", user); $0.string("id", id); $0.string("state", "PENDING"); $0.strings("roles", ["db-admin"])
            $0.string("reason", "maintenance"); $0.time("max_duration", at.addingTimeInterval(hours * 3600))
        }
    }

    func review(_ log: Log, id: String, reviewer: String, at: Date, state: String) {
        log.add("access_request.review", "T5002I", at: at) {
            $0.string("user", reviewer); $0.string("id", id); $0.string("reviewer", reviewer)
            $0.string("proposed_state", state); $0.string("state", state); $0.string("reason", "ok")
        }
    }

    // MARK: files

    /// Writes the log into `folder` (replaced only when it is a sample this tool wrote): `folder/<auth-server>/<day>.00:00:00.log`.
    public func write(to folder: String) throws -> PlantedGaps {
        try OutputGuard.checkReplaceableFolder(folder, option: "--out", what: "a Teleport sample log", isOurs: Self.wrote)
        let staging = try Staging(target: folder, folder: true)
        let truth: PlantedGaps
        do {
            let server = (staging.path as NSString).appendingPathComponent(Self.authServer)
            try FileManager.default.createDirectory(atPath: server, withIntermediateDirectories: false)
            truth = try generate { day, lines in
                var bytes: [UInt8] = []
                bytes.reserveCapacity(lines.reduce(0) { $0 + $1.count + 1 })
                for line in lines { bytes += line; bytes.append(10) }
                try Data(bytes).write(to: URL(fileURLWithPath: (server as NSString).appendingPathComponent("\(day).00:00:00.log")))
            }
            try OutputGuard.checkReplaceableFolder(folder, option: "--out", what: "a Teleport sample log", isOurs: Self.wrote)
            try staging.commit()
        } catch {
            staging.discard()
            throw error
        }
        return truth
    }

    /// A folder holding only this generator's auth-server folder of daily logs.
    public static func wrote(_ folder: String) -> Bool {
        let fm = FileManager.default
        guard let top = try? fm.contentsOfDirectory(atPath: folder), top == [authServer],
              let files = try? fm.contentsOfDirectory(atPath: (folder as NSString).appendingPathComponent(authServer)) else { return false }
        return files.allSatisfy { TeleportInput.day(of: $0) != nil && !$0.hasSuffix(".gz") }
    }
}
