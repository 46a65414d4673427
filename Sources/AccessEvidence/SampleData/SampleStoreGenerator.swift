import Foundation

/// Generates a realistic gateway store for a quarter: people, CI service accounts, an AI agent
/// and an API key acting on postgres, mysql, ssh, kubernetes and http connections, through exec
/// and connect sessions with one-time and JIT approvals, masking counters and guardrail blocks;
/// plus planted gaps of every kind the controls detect, and near misses that must not be flagged.
/// The same seed and size give the same store.
public struct SampleStoreGenerator {
    public var seed: UInt64
    public var sessions: Int
    public var period: Period
    /// Extra copies of the content-based gaps and near misses, each with other commands, values and
    /// times: the labelled corpus the classifiers' precision and recall are measured on.
    public var variations: Int

    public init(seed: UInt64, sessions: Int, period: Period, variations: Int = 0) {
        self.seed = seed
        self.sessions = sessions
        self.period = period
        self.variations = variations
    }

    /// The table that marks a store as generated: `sample-data --out` replaces only such a store,
    /// never a real gateway store in the same layout.
    public static let markerTable = "access_evidence_sample"

    /// Whether `path` is a store this generator wrote.
    public static func wrote(_ path: String) -> Bool { OutputGuard.sqliteHasTable(path, markerTable) }

    public func write(to path: String) throws -> PlantedGaps {
        let staging = try Staging(target: path, folder: false)
        do {
            let writer = try StoreWriter(path: staging.path)
            var builder = Builder(writer: writer, rng: SeededGenerator(seed: seed), period: period)
            try builder.directory()
            try builder.accessPolicy()
            // Planted first, so that routine traffic can keep clear of them at any size (see `Builder.reserved`).
            builder.planting = true
            try builder.plant()
            if variations > 0 { for copy in 1...variations { try builder.plantVariants(copy: copy) } }
            builder.planting = false
            try builder.routine(count: sessions)
            builder.quietDays()
            try builder.configurationChanges()
            try writer.arrangeInTimeOrder()
            try writer.db.execute("CREATE TABLE \(Self.markerTable) (seed TEXT NOT NULL, sessions INTEGER NOT NULL, period TEXT NOT NULL)")
            try writer.db.prepare("INSERT INTO \(Self.markerTable) VALUES (?, ?, ?)").run([.text(String(seed)), .int(sessions), .text(period.label)])
            try writer.finish()
            let result = PlantedGaps(seed: seed, gaps: builder.gaps, nearMisses: builder.nearMisses)
            // Checked again at the end: the path may have been taken while the store was generated.
            try OutputGuard.checkReplaceableFile(path, option: "--out", what: "a store", isOurs: Self.wrote)
            try staging.commit()
            return result
        } catch let error as StoreError {
            staging.discard()
            if case .query(_, let reason) = error { throw OutputError(path: path, reason: reason, what: "the store") }
            if case .unreadable(_, let reason) = error { throw OutputError(path: path, reason: reason, what: "the store") }
            throw error
        } catch {
            staging.discard()
            throw error
        }
    }
}

extension SampleStoreGenerator {
    /// The HR/IdP roster that goes with the store: people's status and termination, and the owners
    /// of non-human identities (all but the reporting API key, whose missing owner is a planted gap).
    public static let roster = """
        subject,email,status,terminated_at,kind,owner
        okta|00uAjonas,jonas.berg@acme.example,terminated,2026-08-14T17:00:00Z,person,
        okta|00uCkim,kim.sato@acme.example,terminated,2026-09-15T00:00:00Z,person,
        okta|00u1alice,alice.moreau@acme.example,active,,person,
        svc|ci-deploy,ci-deploy@svc.acme.example,active,,service,erin.walsh@acme.example
        svc|ci-migrations,ci-migrations@svc.acme.example,active,,service,carol.nguyen@acme.example
        machine|ops-agent,,active,,machine,hiro.tanaka@acme.example

        """

    struct Person {
        var key: String
        var subject: String
        var email: String
        var name: String
        var groups: [String]
        var status = "active"
        var updatedAt = "2026-01-05T09:00:00Z"
        var actor: Actor { Actor(subject: subject, email: email, name: name) }
    }

    struct Conn {
        var name: String
        var type: String
        var subtype: String
        var tags: [String: String]
        var reviewers: [String]
        var redact: [String]
        var id: String
    }

    static let people: [Person] = [
        Person(key: "alice", subject: "okta|00u1alice", email: "alice.moreau@acme.example", name: "Alice Moreau", groups: ["engineering", "dba-leads"]),
        Person(key: "bob", subject: "okta|00u2bob", email: "bob.okafor@acme.example", name: "Bob Okafor", groups: ["engineering", "sre"]),
        Person(key: "carol", subject: "okta|00u3carol", email: "carol.nguyen@acme.example", name: "Carol Nguyen", groups: ["dba-leads", "admin"]),
        Person(key: "dan", subject: "okta|00u4dan", email: "dan.kowalski@acme.example", name: "Dan Kowalski", groups: ["engineering"]),
        Person(key: "erin", subject: "okta|00u5erin", email: "erin.walsh@acme.example", name: "Erin Walsh", groups: ["sre", "sre-leads"]),
        Person(key: "farid", subject: "okta|00u6farid", email: "farid.haddad@acme.example", name: "Farid Haddad", groups: ["engineering"]),
        Person(key: "grace", subject: "okta|00u7grace", email: "grace.lindqvist@acme.example", name: "Grace Lindqvist", groups: ["data"]),
        Person(key: "hiro", subject: "okta|00u8hiro", email: "hiro.tanaka@acme.example", name: "Hiro Tanaka", groups: ["sre", "sre-leads"]),
        Person(key: "ines", subject: "okta|00u9ines", email: "ines.duarte@acme.example", name: "Ines Duarte", groups: ["security", "auditor"]),
        Person(key: "jonas", subject: "okta|00uAjonas", email: "jonas.berg@acme.example", name: "Jonas Berg", groups: ["engineering"],
               status: "inactive", updatedAt: "2026-08-14T17:00:00Z"),
        Person(key: "kim", subject: "okta|00uCkim", email: "kim.sato@acme.example", name: "Kim Sato", groups: ["data"]),
        Person(key: "dba", subject: "okta|00uBdbashared", email: "dba@acme.example", name: "DBA team (shared)", groups: ["dba"]),
        Person(key: "ci-deploy", subject: "svc|ci-deploy", email: "ci-deploy@svc.acme.example", name: "CI deploy", groups: ["ci"]),
        Person(key: "ci-migrations", subject: "svc|ci-migrations", email: "ci-migrations@svc.acme.example", name: "CI migrations", groups: ["ci"]),
    ]

    static let connections: [Conn] = [
        Conn(name: "pg-prod", type: "database", subtype: "postgres", tags: ["env": "prod", "pci": "true"], reviewers: ["dba-leads"],
             redact: ["CREDIT_CARD_NUMBER", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SOCIAL_SECURITY_NUMBER"], id: "c0000000-0000-4000-8000-000000000001"),
        Conn(name: "mysql-billing", type: "database", subtype: "mysql", tags: ["env": "prod", "pii": "true"], reviewers: ["dba-leads"],
             redact: ["CREDIT_CARD_NUMBER", "EMAIL_ADDRESS"], id: "c0000000-0000-4000-8000-000000000002"),
        Conn(name: "pg-staging", type: "database", subtype: "postgres", tags: ["env": "staging"], reviewers: [], redact: [],
             id: "c0000000-0000-4000-8000-000000000003"),
        Conn(name: "ssh-bastion", type: "application", subtype: "ssh", tags: ["env": "prod"], reviewers: ["sre-leads"], redact: [],
             id: "c0000000-0000-4000-8000-000000000004"),
        Conn(name: "k8s-prod", type: "custom", subtype: "kubernetes", tags: ["env": "prod"], reviewers: ["sre-leads"], redact: [],
             id: "c0000000-0000-4000-8000-000000000005"),
        Conn(name: "billing-api", type: "httpproxy", subtype: "httpproxy", tags: ["env": "prod", "pii": "true"], reviewers: ["sre-leads"],
             redact: ["EMAIL_ADDRESS"], id: "c0000000-0000-4000-8000-000000000006"),
        Conn(name: "reports-api", type: "httpproxy", subtype: "httpproxy", tags: ["env": "staging"], reviewers: [], redact: [],
             id: "c0000000-0000-4000-8000-000000000007"),
    ]

    static let aiAgent = Actor(subject: "machine|ops-agent", email: "ops-agent", name: "Ops AI agent", identityType: "machine",
                               machineIdentityID: "d0000000-0000-4000-8000-00000000a1a1")
    static let reportingKey = Actor(subject: "7f3c2a10-4b6e-4c1d-9a8e-2f5b6c7d8e90", email: "reporting-key", name: "reporting-key")

    /// Time spans by key (an identity, or an identity and a connection), bucketed by hour, so that
    /// asking whether a span touches any of them stays cheap at a million sessions.
    struct SpanIndex {
        private var buckets: [String: [Int: [(from: Date, to: Date)]]] = [:]

        static func key(_ subject: String, _ connection: String) -> String { subject + "\u{1F}" + connection }

        private static func hours(_ from: Date, _ to: Date) -> ClosedRange<Int> {
            Int((from.timeIntervalSince1970 / 3600).rounded(.down))...Int((to.timeIntervalSince1970 / 3600).rounded(.down))
        }

        /// Records `[from, to]` (`from` ≤ `to`).
        mutating func insert(_ key: String, from: Date, to: Date) {
            for hour in Self.hours(from, to) { buckets[key, default: [:]][hour, default: []].append((from, to)) }
        }

        /// Whether a recorded span meets the open span `(from, to)`; a point at exactly `from` or `to` does not.
        func overlaps(_ key: String, from: Date, to: Date) -> Bool {
            guard let byHour = buckets[key] else { return false }
            for hour in Self.hours(from, to) {
                if byHour[hour]?.contains(where: { $0.from < to && from < $0.to }) == true { return true }
            }
            return false
        }
    }

    struct Builder {
        let writer: StoreWriter
        var rng: SeededGenerator
        let period: Period
        var gaps: [PlantedGaps.Gap] = []
        var nearMisses: [PlantedGaps.NearMiss] = []
        var activeDays = Set<String>()
        /// Guardrail hits per identity (subject), planted and routine. A routine block keeps an hour
        /// (the shipped burst window) away from every other, so no burst arises by chance and the
        /// planted near miss of two blocks stays two.
        var blockTimes = SpanIndex()
        /// Whether the sessions being written are planted ones (gaps, near misses, variants).
        var planting = false
        /// Where planted sessions are, by identity and connection (an hour either side): no routine
        /// JIT grant of the same identity on the same connection may touch them, or it would cover a
        /// planted unapproved command, or count as the approval of a planted high-risk session.
        var reserved = SpanIndex()
        /// The planted JIT grants, by requester and connection: variants without approval keep clear of them.
        var plantedGrants = SpanIndex()
        /// A working day left without activity on purpose (a logging outage).
        static let quietDay = "2026-08-12"

        init(writer: StoreWriter, rng: SeededGenerator, period: Period) {
            self.writer = writer
            self.rng = rng
            self.period = period
        }

        func person(_ key: String) -> Person { SampleStoreGenerator.people.first { $0.key == key }! }
        func conn(_ name: String) -> Conn { SampleStoreGenerator.connections.first { $0.name == name }! }

        mutating func uuid() -> String {
            var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes[6] = (bytes[6] & 0x0F) | 0x40
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            return UUIDv5.format(bytes)
        }

        mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }

        // MARK: directory

        func directory() throws {
            for p in SampleStoreGenerator.people {
                let id = UUIDv5.make("user:" + p.subject)
                try writer.insert("users", [
                    "id": .text(id), "org_id": .text(Self.org), "subject": .text(p.subject), "email": .text(p.email),
                    "name": .text(p.name), "verified": .int(1), "status": .text(p.status),
                    "created_at": .text("2025-11-03T10:00:00Z"), "updated_at": .text(p.updatedAt),
                ])
                for g in p.groups {
                    try writer.insert("user_groups", ["org_id": .text(Self.org), "user_id": .text(id), "name": .text(g)])
                }
            }
            let plugins = [("review", "e0000000-0000-4000-8000-000000000001"), ("dlp", "e0000000-0000-4000-8000-000000000002"),
                           ("audit", "e0000000-0000-4000-8000-000000000003")]
            for (name, id) in plugins {
                try writer.insert("plugins", ["id": .text(id), "org_id": .text(Self.org),
                                              "name": .text(name), "source": .null, "priority": .int(0)])
            }
            for c in SampleStoreGenerator.connections {
                try writer.insert("connections", [
                    "id": .text(c.id), "org_id": .text(Self.org), "name": .text(c.name), "type": .text(c.type),
                    "subtype": .text(c.subtype), "status": .text("online"),
                    "_tags": .text(StoreWriter.json(c.tags.keys.sorted().map { "\($0)=\(c.tags[$0]!)" })),
                    "access_mode_runbooks": .text("enabled"), "access_mode_exec": .text("enabled"),
                    "access_mode_connect": .text("enabled"), "access_schema": .text("enabled"),
                    "force_approve_groups": .text("[]"), "access_max_duration": .int(28_800),
                    "min_review_approvals": .int(1), "mandatory_metadata_fields": .text("[]"),
                    "created_at": .text("2025-11-03T10:00:00Z"), "updated_at": .text("2026-06-02T08:00:00Z"),
                ])
                // The review plugin gates every session, so only the bastion (reached through JIT grants alone)
                // carries it; the databases are gated by access request rules (`accessPolicy`).
                for (plugin, config) in [("review", Self.reviewPlugin.contains(c.name) ? c.reviewers : []), ("dlp", c.redact)] where !config.isEmpty {
                    let pid = plugins.first { $0.0 == plugin }!.1
                    try writer.insert("plugin_connections", [
                        "id": .text(UUIDv5.make("plugin:\(plugin):\(c.id)")), "org_id": .text(Self.org),
                        "plugin_id": .text(pid), "connection_id": .text(c.id), "enabled": .int(1),
                        "config": .text(StoreWriter.json(config)),
                    ])
                }
            }
        }

        static let org = "0a000000-0000-4000-8000-000000000001"

        /// Connections with hoop's review plugin: every session on them needs an approval.
        static let reviewPlugin: Set<String> = ["ssh-bastion"]

        /// Access request rules, guardrail and masking rules with their connections: the configured posture.
        /// Interactive access to the databases needs a JIT grant from everyone; each exec needs a review
        /// from contractors only (employees' privileged statements are approved under GW-CHG-01's policy).
        func accessPolicy() throws {
            let rules: [(String, [String], String, [String], [String])] = [
                ("Hoop-JIT_8_hours", ["pg-prod", "mysql-billing", "ssh-bastion"], "jit", [], ["dba-leads", "sre-leads"]),
                ("Hoop-Command_approval", ["pg-prod", "mysql-billing", "k8s-prod"], "command", ["contractors"], ["dba-leads", "sre-leads"]),
            ]
            for (name, connections, type, required, reviewers) in rules {
                try writer.insert("access_request_rules", [
                    "id": .text(UUIDv5.make("rule:" + name)), "org_id": .text(Self.org), "name": .text(name),
                    "description": .text(type == "jit" ? "Interactive access needs a just-in-time grant" : "Contractors' commands need a review"),
                    "connection_names": .text(StoreWriter.json(connections)), "access_type": .text(type),
                    "approval_required_groups": .text(StoreWriter.json(required)), "all_groups_must_approve": .int(0),
                    "reviewers_groups": .text(StoreWriter.json(reviewers)), "force_approval_groups": .text(StoreWriter.json(["admin"])),
                    "skip_review_groups": .text("[]"), "access_max_duration": .int(28_800), "min_approvals": .int(1),
                    "created_at": .text("2026-03-02T10:00:00Z"), "updated_at": .text("2026-05-11T10:00:00Z"),
                ])
            }
            let guardrail = UUIDv5.make("guardrail:destructive-ddl")
            try writer.insert("guardrail_rules", [
                "id": .text(guardrail), "org_id": .text(Self.org), "name": .text("Hoop - destructive DDL"),
                "description": .text("Blocks DROP, TRUNCATE and unbounded DELETE"),
                "input": .text(StoreWriter.json(["rules": [["type": "deny_words_list", "words": ["drop table", "truncate", "delete from"]]]])),
                "output": .text("{}"), "created_at": .text("2026-02-10T10:00:00Z"), "updated_at": .text("2026-07-28T11:30:00Z"),
            ])
            let masking = UUIDv5.make("masking:pci-pii")
            try writer.insert("datamasking_rules", [
                "id": .text(masking), "org_id": .text(Self.org), "name": .text("PCI and PII"), "description": .text("Cards, e-mail, phone, SSN"),
                "supported_entity_types": .text(StoreWriter.json([["name": "PCI", "entity_types": ["CREDIT_CARD_NUMBER"]],
                                                                   ["name": "PII", "entity_types": ["EMAIL_ADDRESS", "PHONE_NUMBER", "US_SOCIAL_SECURITY_NUMBER"]]])),
                "custom_entity_types": .text("[]"), "score_threshold": .double(0.6),
                "created_at": .text("2026-02-10T10:00:00Z"), "updated_at": .text("2026-02-10T10:00:00Z"),
            ])
            for name in ["pg-prod", "mysql-billing", "pg-staging"] {
                try writer.insert("guardrail_rules_connections", [
                    "id": .text(UUIDv5.make("guardrail-binding:" + name)), "org_id": .text(Self.org),
                    "rule_id": .text(guardrail), "connection_id": .text(conn(name).id), "created_at": .text("2026-02-10T10:00:00Z"),
                ])
            }
            // pg-staging's binding was switched off: an inactive binding masks nothing.
            for (name, status) in [("pg-prod", "active"), ("mysql-billing", "active"), ("billing-api", "active"), ("pg-staging", "inactive")] {
                try writer.insert("datamasking_rules_connections", [
                    "id": .text(UUIDv5.make("masking-binding:" + name)), "org_id": .text(Self.org),
                    "rule_id": .text(masking), "connection_id": .text(conn(name).id), "status": .text(status),
                    "created_at": .text("2026-02-10T10:00:00Z"),
                ])
            }
        }

        // MARK: sessions

        struct Event {
            var at: Double
            var kind: String
            var payload: [UInt8]
        }

        struct SessionSpec {
            var id: String
            var conn: Conn
            var verb: String
            var actor: Actor
            var createdAt: Date
            var endedAt: Date?
            var status = "done"
            var exitCode: Int? = 0
            var script: String?
            var scriptFormat: String?
            var events: [Event] = []
            /// Per info type: (detected, masked), written both to `metrics` and `session_metrics`.
            var masking: [String: (Int, Int)] = [:]
            var maskingInMetricsOnly = false
            var guardrails: [[String: Any]] = []
            var origin = "cli"
            var truncated = false
            var noLog = false
            var ai: [String: Any]? = nil
        }

        mutating func write(_ s: SessionSpec) throws {
            var inputID: Value = .null
            if let script = s.script {
                let id = UUIDv5.make("blobinput:" + s.id)
                try writer.insert("blobs", ["id": .text(id), "org_id": .text(Self.org), "type": .text("session-input"),
                                            "blob_stream": .text(StoreWriter.json([script])), "format": s.scriptFormat.map { .text($0) } ?? .null,
                                            "created_at": .text(Timestamp.format(s.createdAt))])
                inputID = .text(id)
            }
            let streamID = UUIDv5.make("blobstream:" + s.id)
            let stream: String
            if s.events.isEmpty || s.noLog {
                stream = "[[0,\"e\",\"\(Base64.encode(Array(TranscriptBuilder.noLogOnDisk.utf8)))\"]]"
            } else {
                stream = "[" + s.events.map { e in
                    "[\(String(format: "%.3f", e.at)),\"\(e.kind)\",\"\(Base64.encode(e.payload))\"]"
                }.joined(separator: ",") + "]"
            }
            try writer.insert("blobs", ["id": .text(streamID), "org_id": .text(Self.org), "type": .text("session-stream"),
                                        "blob_stream": .text(stream), "format": .null,
                                        "created_at": .text(Timestamp.format(s.createdAt))])
            var metrics: [String: Any] = ["event_size": stream.utf8.count, "truncated": s.truncated]
            if !s.masking.isEmpty {
                let types = s.masking.keys.sorted()
                metrics["data_masking"] = [
                    "info_types": Dictionary(uniqueKeysWithValues: types.map { ($0, s.masking[$0]!.1) }),
                    "total_redact_count": types.reduce(0) { $0 + s.masking[$1]!.1 },
                    "transformed_bytes": types.reduce(0) { $0 + s.masking[$1]!.1 * 14 },
                    "err_count": 0,
                ]
                metrics["data_analyzer"] = Dictionary(uniqueKeysWithValues: types.map { ($0, s.masking[$0]!.0) })
                if !s.maskingInMetricsOnly {
                    for t in types {
                        try writer.insert("session_metrics", [
                            "id": .text(UUIDv5.make("metric:\(s.id):\(t)")), "org_id": .text(Self.org),
                            "session_id": .text(s.id), "info_type": .text(t), "count_masked": .int(s.masking[t]!.1),
                            "count_analyzed": .int(s.masking[t]!.0), "connection_type": .text(s.conn.type),
                            "connection_subtype": .text(s.conn.subtype), "session_created_at": .text(Timestamp.format(s.createdAt)),
                            "session_ended_at": s.endedAt.map { .text(Timestamp.format($0)) } ?? .null,
                        ])
                    }
                }
            }
            try writer.insert("sessions", [
                "id": .text(s.id), "org_id": .text(Self.org), "connection": .text(s.conn.name),
                "connection_type": .text(s.conn.type), "connection_subtype": .text(s.conn.subtype),
                "connection_tags": .text(StoreWriter.json(s.conn.tags)), "verb": .text(s.verb), "labels": .text("{}"),
                "user_id": .text(s.actor.subject), "user_name": .text(s.actor.name), "user_email": .text(s.actor.email),
                "status": .text(s.status), "exit_code": s.exitCode.map { .int($0) } ?? .null, "blob_input_id": inputID,
                "blob_stream_id": .text(streamID), "metadata": .text("{}"), "metrics": .text(StoreWriter.json(metrics)),
                "integrations_metadata": .null, "ai_analysis": s.ai.map { .text(StoreWriter.json($0)) } ?? .null,
                "guardrails_info": s.guardrails.isEmpty ? .null : .text(StoreWriter.json(s.guardrails)),
                "machine_identity_id": s.actor.machineIdentityID.map { .text($0) } ?? .null,
                "identity_type": .text(s.actor.identityType), "origin": .text(s.origin),
                "created_at": .text(Timestamp.format(s.createdAt)),
                "ended_at": s.endedAt.map { .text(Timestamp.format($0)) } ?? .null,
            ])
            activeDays.insert(Timestamp.formatDay(s.createdAt))
            if !s.guardrails.isEmpty { blockTimes.insert(s.actor.subject, from: s.createdAt, to: s.createdAt) }
            if planting {
                // An open session may still be running: a day is kept for it.
                let end = s.endedAt ?? s.createdAt.addingTimeInterval(86_400)
                // 13 hours before: no routine grant may lapse within `JITGrantWindow.lapseLookback` of a planted
                // session either, so the reason a planted ungated session is given never depends on routine traffic.
                reserved.insert(SpanIndex.key(s.actor.subject, s.conn.name), from: min(s.createdAt, end).addingTimeInterval(-13 * 3600),
                                to: max(s.createdAt, end).addingTimeInterval(3600))
            }
            for (type, at) in [("session.started", s.createdAt), ("session.closed", s.endedAt)] {
                guard let at else { continue }
                try writer.insert("events", [
                    "id": .text(UUIDv5.make("event:\(s.id):\(type)")), "org_id": .text(Self.org), "event_type": .text(type),
                    "payload": .text(StoreWriter.json(["session_id": s.id, "user": s.actor.email, "connection": s.conn.name,
                                                       "occurred_at": Timestamp.format(at)])),
                    "occurred_at": .text(Timestamp.format(at)), "source": .text("gateway"), "created_at": .text(Timestamp.format(at)),
                ])
            }
        }

        typealias Value = SQLiteValue

        /// A review and its group decisions. `decisions`: (group, status, reviewer, decided at, forced).
        mutating func review(id: String, session: String, conn: Conn, type: String, status: String, requester: Actor,
                             requestedAt: Date, durationSec: Int = 0, expiresAt: Date? = nil,
                             decisions: [(String, String, Actor?, Date?)], rejection: String? = nil,
                             minApprovals: Int = 1, forced: Bool = false, window: (String, String)? = nil) throws {
            try writer.insert("reviews", [
                "id": .text(id), "org_id": .text(Self.org), "session_id": .text(session), "connection_id": .text(conn.id),
                "connection_name": .text(conn.name), "type": .text(type), "access_duration_sec": .int(durationSec),
                "status": .text(status), "owner_id": .text(requester.subject), "owner_email": .text(requester.email),
                "owner_name": .text(requester.name), "created_at": .text(Timestamp.format(requestedAt)),
                "revoked_at": expiresAt.map { .text(Timestamp.format($0)) } ?? .null,
                "time_window": window.map { .text(StoreWriter.json(["type": "time_range", "configuration": ["start_time": $0.0, "end_time": $0.1]])) } ?? .null,
                "access_request_rule_name": .text(type == "jit" ? "Hoop-JIT_8_hours" : "Hoop-Command_approval"),
                "min_approvals": .int(minApprovals), "force_approval_groups": .text(forced ? "[\"admin\"]" : "[]"),
                "rejection_reason": rejection.map { .text($0) } ?? .null, "input_client_args": .text("[]"),
            ])
            if planting && type == "jit", let expiresAt {
                plantedGrants.insert(SpanIndex.key(requester.subject, conn.name), from: requestedAt, to: expiresAt)
            }
            for (index, d) in decisions.enumerated() {
                try writer.insert("review_groups", [
                    "id": .text(UUIDv5.make("review-group:\(id):\(index)")), "org_id": .text(Self.org),
                    "review_id": .text(id), "group_name": .text(d.0), "status": .text(d.1),
                    "owner_id": d.2.map { .text($0.subject) } ?? .null, "owner_email": d.2.map { .text($0.email) } ?? .null,
                    "owner_name": d.2.map { .text($0.name) } ?? .null,
                    "reviewed_at": d.3.map { .text(Timestamp.format($0)) } ?? .null, "forced_review": .int(forced && index == 0 ? 1 : 0),
                ])
            }
        }

        /// A working-hours moment in the period.
        mutating func moment() -> Date {
            let days = Int(period.end.timeIntervalSince(period.start) / 86_400)
            while true {
                let day = Int.random(in: 0..<max(days, 1), using: &rng)
                let base = period.start.addingTimeInterval(Double(day) * 86_400)
                let weekday = (Int(base.timeIntervalSince1970 / 86_400) + 4) % 7 // 0 = Sunday
                if (weekday == 0 || weekday == 6) && Int.random(in: 0..<10, using: &rng) > 0 { continue }
                if Timestamp.formatDay(base) == Self.quietDay { continue }
                let seconds = Double(Int.random(in: (7 * 3600)..<(19 * 3600), using: &rng))
                return base.addingTimeInterval(seconds)
            }
        }

        /// A working-hours moment at which `actor` holds no planted JIT grant on `conn` (routine grants
        /// keep clear of planted sessions by themselves).
        mutating func moment(clearOf actor: Actor, on conn: Conn) -> Date {
            while true {
                let at = moment()
                if !plantedGrants.overlaps(SpanIndex.key(actor.subject, conn.name), from: at.addingTimeInterval(-3600), to: at.addingTimeInterval(3600)) {
                    return at
                }
            }
        }

        static let engineers = ["alice", "bob", "carol", "dan", "erin", "farid", "grace", "hiro"]
        static let reads = [
            "SELECT id, status, total FROM orders WHERE created_at > now() - interval '1 day' ORDER BY id LIMIT 50;",
            "SELECT count(*) FROM customers WHERE country = 'DE';",
            "select c.id, c.email from customers c join orders o on o.customer_id = c.id where o.status = 'refunded' limit 20;",
            "EXPLAIN SELECT * FROM invoices WHERE due_date < current_date;",
            "SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY n_live_tup DESC LIMIT 10;",
            "SELECT 'DELETE FROM orders' AS example_text, 1;",
            "-- DROP TABLE customers; kept for reference\nSELECT id FROM customers LIMIT 5;",
        ]
        static let writes = [
            "UPDATE orders SET status = 'cancelled' WHERE id = 48213;",
            "INSERT INTO feature_flags (name, enabled) VALUES ('new-checkout', true);",
            "DELETE FROM sessions_cache WHERE expires_at < now();",
            "ALTER TABLE invoices ADD COLUMN reminder_sent_at timestamptz;",
            "CREATE INDEX CONCURRENTLY idx_orders_customer ON orders (customer_id);",
            "BEGIN; UPDATE accounts SET plan = 'enterprise' WHERE id = 7731; COMMIT;",
            "GRANT SELECT ON reporting.monthly_revenue TO analyst;",
        ]
        static let k8sReads = ["kubectl get pods -n prod", "kubectl logs deploy/api -n prod --tail=200", "kubectl describe svc api -n prod"]
        static let k8sWrites = ["kubectl rollout restart deployment/api -n prod", "kubectl scale deploy/worker --replicas=6 -n prod",
                                "kubectl apply -f deploy/api.yaml -n prod"]

        mutating func output(for script: String) -> [UInt8] {
            Array("\(Int.random(in: 1...50, using: &rng)) rows\n".utf8)
        }

        /// An exec session that ran `script` at `ranAt` (seconds after creation).
        mutating func execSession(id: String, conn: Conn, actor: Actor, at: Date, script: String, ranAfter: Double = 2) -> SessionSpec {
            var s = SessionSpec(id: id, conn: conn, verb: "exec", actor: actor, createdAt: at, endedAt: at.addingTimeInterval(ranAfter + 1.5))
            s.script = script
            s.events = [Event(at: ranAfter, kind: "i", payload: Array(script.utf8)),
                        Event(at: ranAfter + 0.8, kind: "o", payload: output(for: script))]
            return s
        }

        mutating func approvedExec(conn: Conn, requester: Person, approver: Person, at: Date, script: String) throws {
            let id = uuid()
            let approvedAfter = Double(Int.random(in: 120...1800, using: &rng))
            var s = execSession(id: id, conn: conn, actor: requester.actor, at: at, script: script, ranAfter: approvedAfter + 20)
            s.masking = maskingCounts(conn)
            try review(id: uuid(), session: id, conn: conn, type: "onetime", status: "EXECUTED", requester: requester.actor,
                       requestedAt: at.addingTimeInterval(1), decisions: [(conn.reviewers[0], "APPROVED", approver.actor, at.addingTimeInterval(approvedAfter))])
            try write(s)
        }

        mutating func maskingCounts(_ conn: Conn) -> [String: (Int, Int)] {
            guard !conn.redact.isEmpty, Int.random(in: 0..<3, using: &rng) > 0 else { return [:] }
            var out: [String: (Int, Int)] = [:]
            for t in conn.redact where Bool.random(using: &rng) {
                let n = Int.random(in: 1...40, using: &rng)
                out[t] = (n, n)
            }
            return out
        }

        func approver(for conn: Conn, not requester: Person) -> Person {
            let group = conn.reviewers.first ?? "dba-leads"
            return SampleStoreGenerator.people.first { $0.groups.contains(group) && $0.key != requester.key && $0.status == "active" && $0.key != "dba" }!
        }

        static func wireQuery(_ sql: String) -> [UInt8] {
            let body = Array(sql.utf8) + [0]
            let len = UInt32(body.count + 4)
            return [UInt8(ascii: "Q"), UInt8(len >> 24), UInt8((len >> 16) & 0xFF), UInt8((len >> 8) & 0xFF), UInt8(len & 0xFF)] + body
        }

        static func mysqlQuery(_ sql: String) -> [UInt8] {
            let body = [UInt8(0x03)] + Array(sql.utf8)
            let n = body.count
            return [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), 0] + body
        }

        /// A JIT grant (its requesting session plus review) and sessions inside its window.
        mutating func jitSessions(conn: Conn, requester: Person, at: Date, follow: Int, commands: (inout SeededGenerator) -> [String]) throws -> Int {
            let approver = approver(for: conn, not: requester)
            let requestID = uuid()
            let approvedAt = at.addingTimeInterval(Double(Int.random(in: 60...900, using: &rng)))
            let duration = pick([3600, 7200, 14_400])
            let expires = approvedAt.addingTimeInterval(Double(duration))
            // A routine grant never touches a planted session of the same person on the same connection.
            if reserved.overlaps(SpanIndex.key(requester.subject, conn.name), from: at, to: expires) { return 0 }
            try review(id: uuid(), session: requestID, conn: conn, type: "jit", status: "APPROVED", requester: requester.actor,
                       requestedAt: at, durationSec: duration, expiresAt: expires,
                       decisions: [(conn.reviewers[0], "APPROVED", approver.actor, approvedAt)])
            var written = 0
            var start = approvedAt.addingTimeInterval(5)
            for index in 0...follow {
                let sid = index == 0 ? requestID : uuid()
                let created = index == 0 ? at : start
                var s = SessionSpec(id: sid, conn: conn, verb: "connect", actor: requester.actor, createdAt: created, endedAt: nil)
                var t = index == 0 ? approvedAt.timeIntervalSince(at) + 5 : 3
                for cmd in commands(&rng) {
                    switch conn.subtype {
                    case "postgres": s.events.append(Event(at: t, kind: "i", payload: Self.wireQuery(cmd)))
                    case "mysql": s.events.append(Event(at: t, kind: "i", payload: Self.mysqlQuery(cmd)))
                    default:
                        s.events.append(Event(at: t, kind: "i", payload: Array((cmd + "\r").utf8)))
                        s.events.append(Event(at: t + 0.5, kind: "o", payload: Array("ok\r\n".utf8)))
                    }
                    t += Double(Int.random(in: 5...240, using: &rng))
                }
                s.endedAt = created.addingTimeInterval(t + 2)
                s.masking = maskingCounts(conn)
                try write(s)
                written += 1
                start = s.endedAt!.addingTimeInterval(Double(Int.random(in: 60...600, using: &rng)))
                if start.addingTimeInterval(1200) >= expires { break }
            }
            return written
        }

        mutating func routine(count: Int) throws {
            var written = 0
            while written < count {
                let at = moment()
                let roll = Int.random(in: 0..<100, using: &rng)
                let requester = person(pick(Self.engineers))
                switch roll {
                case 0..<28:
                    let c = conn(pick(["pg-prod", "pg-prod", "mysql-billing"]))
                    var s = execSession(id: uuid(), conn: c, actor: requester.actor, at: at, script: pick(Self.reads))
                    s.masking = maskingCounts(c)
                    try write(s); written += 1
                case 28..<40:
                    let c = conn(pick(["pg-prod", "mysql-billing"]))
                    try approvedExec(conn: c, requester: requester, approver: approver(for: c, not: requester), at: at, script: pick(Self.writes))
                    written += 1
                case 40..<47:
                    try write(execSession(id: uuid(), conn: conn("k8s-prod"), actor: requester.actor, at: at, script: pick(Self.k8sReads)))
                    written += 1
                case 47..<51:
                    let c = conn("k8s-prod")
                    try approvedExec(conn: c, requester: requester, approver: approver(for: c, not: requester), at: at, script: pick(Self.k8sWrites))
                    written += 1
                case 51..<60:
                    written += try jitSessions(conn: conn(pick(["pg-prod", "mysql-billing"])), requester: requester, at: at,
                                               follow: Int.random(in: 0...2, using: &rng)) { rng in
                        (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                            Int.random(in: 0..<3, using: &rng) == 0 ? Self.writes[Int.random(in: 0..<Self.writes.count, using: &rng)]
                                : Self.reads[Int.random(in: 0..<5, using: &rng)]
                        }
                    }
                case 60..<66:
                    written += try jitSessions(conn: conn("ssh-bastion"), requester: person(pick(["bob", "erin", "hiro"])), at: at,
                                               follow: Int.random(in: 0...1, using: &rng)) { rng in
                        ["uptime", "df -h", ["sudo systemctl restart nginx", "sudo journalctl -u api --since today", "tail -n 100 /var/log/nginx/error.log"][Int.random(in: 0..<3, using: &rng)]]
                    }
                case 66..<75:
                    let ci = person(pick(["ci-deploy", "ci-migrations"]))
                    let script = pick(["ALTER TABLE invoices ADD COLUMN IF NOT EXISTS notes text;", "CREATE TABLE IF NOT EXISTS audit_tmp (id int);",
                                       "SELECT version();", "UPDATE schema_version SET applied = true;"])
                    var s = execSession(id: uuid(), conn: conn("pg-staging"), actor: ci.actor, at: at, script: script)
                    s.origin = "api"
                    try write(s); written += 1
                case 75..<82:
                    var s = execSession(id: uuid(), conn: conn("pg-prod"), actor: SampleStoreGenerator.aiAgent, at: at, script: pick(Array(Self.reads.prefix(5))))
                    s.origin = "mcp"
                    s.masking = maskingCounts(conn("pg-prod"))
                    try write(s); written += 1
                case 82..<87:
                    let c = conn("reports-api")
                    var s = SessionSpec(id: uuid(), conn: c, verb: "connect", actor: SampleStoreGenerator.reportingKey, createdAt: at, endedAt: at.addingTimeInterval(4))
                    s.events = [Event(at: 0.2, kind: "i", payload: Array("GET /v1/invoices?status=overdue&limit=50 HTTP/1.1\r\nHost: billing-api\r\n\r\n".utf8)),
                                Event(at: 0.6, kind: "o", payload: Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"items\":[]}".utf8))]
                    s.origin = "api"
                    s.masking = maskingCounts(c)
                    try write(s); written += 1
                case 87..<91:
                    // A guardrail stops a destructive statement: exit 254, nothing ran.
                    if blockTimes.overlaps(requester.subject, from: at.addingTimeInterval(-3600), to: at.addingTimeInterval(3600)) { continue }
                    var s = SessionSpec(id: uuid(), conn: conn("pg-prod"), verb: "exec", actor: requester.actor, createdAt: at, endedAt: at.addingTimeInterval(0.4))
                    s.script = pick(["DROP TABLE customers;", "DELETE FROM orders;", "TRUNCATE payments;"])
                    s.exitCode = 254
                    s.guardrails = [["rule_name": "Hoop - destructive DDL", "rule": ["type": "deny_words_list", "words": ["drop table", "truncate", "delete from"], "pattern_regex": ""],
                                     "direction": "input", "matched_words": ["destructive statement"], "message": "Destructive statements need a change ticket"]]
                    s.events = [Event(at: 0.1, kind: "e", payload: Array("blocked by guardrail: Hoop - destructive DDL\n".utf8))]
                    try write(s); written += 1
                case 91..<94:
                    // A request that was rejected never ran.
                    let c = conn("pg-prod")
                    let id = uuid()
                    var s = SessionSpec(id: id, conn: c, verb: "exec", actor: requester.actor, createdAt: at, endedAt: at.addingTimeInterval(600))
                    s.script = pick(Self.writes)
                    s.exitCode = nil
                    try review(id: uuid(), session: id, conn: c, type: "onetime", status: "REJECTED", requester: requester.actor, requestedAt: at.addingTimeInterval(1),
                               decisions: [("dba-leads", "REJECTED", approver(for: c, not: requester).actor, at.addingTimeInterval(590))], rejection: "Use the migration pipeline")
                    try write(s); written += 1
                default:
                    // A read through exec: interactive access to mysql-billing needs a JIT grant (see `accessPolicy`).
                    let c = conn("mysql-billing")
                    var s = execSession(id: uuid(), conn: c, actor: requester.actor, at: at,
                                        script: "SELECT id, amount FROM charges ORDER BY id DESC LIMIT 20;")
                    s.masking = maskingCounts(c)
                    try write(s); written += 1
                }
            }
        }

        /// Configuration changes in the period (security_audit_log), including Jonas's deactivation.
        mutating func configurationChanges() throws {
            let rows: [(String, String, String, String, String, String, Bool)] = [
                // pg-prod's review moves from the review plugin to access request rules.
                ("2026-07-02T09:00:00Z", "carol", "connections", "update", "/api/connections/pg-prod", "{\"name\":\"pg-prod\",\"reviewers\":[]}", true),
                ("2026-07-28T11:30:00Z", "erin", "guardrails", "update", "/api/guardrails/destructive-ddl", "{\"name\":\"Hoop - destructive DDL\"}", true),
                ("2026-08-14T17:00:00Z", "carol", "users", "update", "/api/users/okta|00uAjonas", "{\"status\":\"inactive\"}", true),
                ("2026-09-01T08:15:00Z", "bob", "data_masking", "delete", "/api/datamasking-rules/legacy", "{}", false),
                ("2026-09-11T21:40:00Z", "hiro", "guardrails", "delete", "/api/guardrails/pipe-to-shell", "{}", true),
                ("2026-09-12T08:05:00Z", "carol", "data_masking", "update", "/api/datamasking-rules/confidential", "{\"name\":\"Hoop - Confidential data\",\"enabled\":false}", true),
                ("2026-09-14T10:00:00Z", "carol", "api_keys", "create", "/api/apikeys", "{\"name\":\"reporting-key\",\"key\":\"[REDACTED]\"}", true),
            ]
            let cfg = (control: "GW-CFG-01", test: "changes.gateway-configuration", criteria: ["CC8.1", "CC6.8", "CC7.1"])
            for (index, r) in rows.enumerated() {
                let item = "audit:" + UUIDv5.make("audit:\(index)")
                if !r.6 {
                    gap(cfg.control, cfg.test, cfg.criteria, session: item, item: item, "failed-change", "A failed attempt to delete a masking rule (listed for review)")
                } else if r.3 == "delete" && r.2 == "guardrails" {
                    gap(cfg.control, cfg.test, cfg.criteria, session: item, item: item, "protection-removed", "The pipe-to-shell guardrail was deleted")
                } else if r.2 == "data_masking" {
                    gap(cfg.control, cfg.test, cfg.criteria, session: item, item: item, "protection-removed", "The confidential-data masking rule was disabled")
                }
            }
            for (index, r) in rows.enumerated() {
                let actor = person(r.1)
                try writer.insert("security_audit_log", [
                    "id": .text(UUIDv5.make("audit:\(index)")), "org_id": .text(Self.org), "actor_subject": .text(actor.subject),
                    "actor_email": .text(actor.email), "actor_name": .text(actor.name), "created_at": .text(r.0),
                    "resource_type": .text(r.2), "action": .text(r.3), "http_method": .text(r.3 == "delete" ? "DELETE" : "PUT"),
                    "http_status": .int(r.6 ? 200 : 403), "http_path": .text(r.4), "client_ip": .text("10.20.0.\(index + 10)"),
                    "request_payload_redacted": .text(r.5), "outcome": .int(r.6 ? 1 : 0), "error_message": r.6 ? .null : .text("forbidden"),
                ])
            }
        }
    }
}
