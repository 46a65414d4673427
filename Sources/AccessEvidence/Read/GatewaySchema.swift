/// The hoop layout of the gateway store (hoop-store.md §1, §7): the tables and columns the
/// readers use, and the SQLite types the store format gives them.
public enum GatewaySchema {
    public struct Table: Sendable {
        public let name: String
        /// (column, SQLite type) in declaration order.
        public let columns: [(String, String)]
        /// Columns a reader needs; anything else is optional.
        public let required: Set<String>
        /// A table the analysis never reads (only a snapshot copies it): a store without it, or a
        /// role that may not read it, is still a store.
        public var optional = false
        /// hoop's migration that added a table the analysis reads when it is there: a store of an
        /// older version lacks it, and the report says what that limits (`limits`). A role that may
        /// not read a table that is there is refused, with the grant: its absence would look like
        /// "nothing configured".
        public var addedIn: Int? = nil
        public var limits = ""

        /// A store may lack it.
        public var mayBeAbsent: Bool { optional || addedIn != nil }
    }

    public static let tables: [Table] = [
        Table(name: "sessions", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("connection", "TEXT"), ("connection_type", "TEXT"),
            ("connection_subtype", "TEXT"), ("connection_tags", "TEXT"), ("verb", "TEXT"), ("labels", "TEXT"),
            ("user_id", "TEXT"), ("user_name", "TEXT"), ("user_email", "TEXT"), ("status", "TEXT"),
            ("exit_code", "INTEGER"), ("blob_input_id", "TEXT"), ("blob_stream_id", "TEXT"), ("metadata", "TEXT"),
            ("metrics", "TEXT"), ("integrations_metadata", "TEXT"), ("ai_analysis", "TEXT"), ("guardrails_info", "TEXT"),
            ("session_batch_id", "TEXT"), ("correlation_id", "TEXT"), ("machine_identity_id", "TEXT"),
            ("identity_type", "TEXT"), ("origin", "TEXT"), ("created_at", "TEXT NOT NULL"), ("ended_at", "TEXT"),
        ], required: ["id", "connection", "connection_type", "connection_subtype", "connection_tags", "verb",
                      "user_id", "user_name", "user_email", "status", "exit_code", "blob_input_id", "blob_stream_id",
                      "metadata", "metrics", "created_at", "ended_at"]),
        Table(name: "blobs", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("type", "TEXT"), ("blob_stream", "TEXT"),
            ("format", "TEXT"), ("created_at", "TEXT"),
        ], required: ["id", "type", "blob_stream", "format"]),
        Table(name: "reviews", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("session_id", "TEXT"), ("connection_id", "TEXT"),
            ("connection_name", "TEXT"), ("type", "TEXT"), ("blob_input_id", "TEXT"), ("input_env_vars", "TEXT"),
            ("input_client_args", "TEXT"), ("access_duration_sec", "INTEGER"), ("status", "TEXT"),
            ("owner_id", "TEXT"), ("owner_email", "TEXT"), ("owner_name", "TEXT"), ("owner_slack_id", "TEXT"),
            ("created_at", "TEXT"), ("revoked_at", "TEXT"), ("time_window", "TEXT"),
            ("access_request_rule_name", "TEXT"), ("min_approvals", "INTEGER"), ("force_approval_groups", "TEXT"),
            ("rejection_reason", "TEXT"),
        ], required: ["id", "session_id", "connection_name", "type", "access_duration_sec", "status", "owner_id",
                      "owner_email", "owner_name", "created_at", "revoked_at", "access_request_rule_name",
                      "min_approvals"]),
        Table(name: "review_groups", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("review_id", "TEXT"), ("group_name", "TEXT"),
            ("status", "TEXT"), ("owner_id", "TEXT"), ("owner_email", "TEXT"), ("owner_name", "TEXT"),
            ("owner_slack_id", "TEXT"), ("reviewed_at", "TEXT"), ("forced_review", "INTEGER"),
        ], required: ["id", "review_id", "group_name", "status", "owner_id", "owner_email", "owner_name",
                      "reviewed_at", "forced_review"]),
        Table(name: "session_metrics", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("session_id", "TEXT"), ("info_type", "TEXT"),
            ("count_masked", "INTEGER"), ("count_analyzed", "INTEGER"), ("connection_type", "TEXT"),
            ("connection_subtype", "TEXT"), ("session_created_at", "TEXT"), ("session_ended_at", "TEXT"),
        ], required: ["session_id", "info_type", "count_masked", "count_analyzed"]),
        Table(name: "users", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("subject", "TEXT"), ("email", "TEXT"), ("name", "TEXT"),
            ("verified", "INTEGER"), ("status", "TEXT"), ("slack_id", "TEXT"), ("created_at", "TEXT"),
            ("updated_at", "TEXT"),
        ], required: ["id", "subject", "email", "name", "status", "created_at", "updated_at"]),
        Table(name: "user_groups", columns: [
            ("org_id", "TEXT"), ("user_id", "TEXT"), ("service_account_id", "TEXT"), ("api_key_id", "TEXT"),
            ("ai_agent_id", "TEXT"), ("name", "TEXT"),
        ], required: ["user_id", "name"]),
        Table(name: "connections", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("agent_id", "TEXT"), ("name", "TEXT"),
            ("resource_name", "TEXT"), ("command", "TEXT"), ("type", "TEXT"), ("subtype", "TEXT"), ("status", "TEXT"),
            ("_tags", "TEXT"), ("access_mode_runbooks", "TEXT"), ("access_mode_exec", "TEXT"),
            ("access_mode_connect", "TEXT"), ("access_schema", "TEXT"), ("force_approve_groups", "TEXT"),
            ("access_max_duration", "INTEGER"), ("min_review_approvals", "INTEGER"),
            ("mandatory_metadata_fields", "TEXT"), ("created_at", "TEXT"), ("updated_at", "TEXT"),
        ], required: ["id", "name", "type", "subtype", "_tags", "force_approve_groups", "access_max_duration",
                      "min_review_approvals"]),
        Table(name: "plugins", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("name", "TEXT"), ("source", "TEXT"),
            ("priority", "INTEGER"), ("created_at", "TEXT"), ("updated_at", "TEXT"),
        ], required: ["id", "name"]),
        Table(name: "plugin_connections", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("plugin_id", "TEXT"), ("connection_id", "TEXT"),
            ("enabled", "INTEGER"), ("config", "TEXT"), ("created_at", "TEXT"), ("updated_at", "TEXT"),
        ], required: ["plugin_id", "connection_id", "enabled", "config"]),
        Table(name: "security_audit_log", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("actor_subject", "TEXT"), ("actor_email", "TEXT"),
            ("actor_name", "TEXT"), ("created_at", "TEXT"), ("resource_type", "TEXT"), ("action", "TEXT"),
            ("http_method", "TEXT"), ("http_status", "INTEGER"), ("http_path", "TEXT"), ("client_ip", "TEXT"),
            ("request_payload_redacted", "TEXT"), ("outcome", "INTEGER"), ("error_message", "TEXT"),
        ], required: ["id", "actor_subject", "actor_email", "created_at", "resource_type", "action",
                      "request_payload_redacted", "outcome", "error_message"]),
        Table(name: "events", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("event_type", "TEXT"), ("payload", "TEXT"),
            ("occurred_at", "TEXT"), ("source", "TEXT"), ("producer_event_id", "TEXT"), ("created_at", "TEXT"),
        ], required: ["id", "event_type", "payload", "occurred_at"], optional: true),
        // A connection's key/value tags (000034); `_tags` holds the older flat ones.
        Table(name: "connection_tags", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("key", "TEXT"), ("value", "TEXT"), ("created_at", "TEXT"), ("updated_at", "TEXT"),
        ], required: ["id", "key", "value"], addedIn: 34, limits: "connection tags come only from the legacy _tags and each session's own copy"),
        Table(name: "connection_tags_association", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("tag_id", "TEXT"), ("connection_id", "TEXT"), ("created_at", "TEXT"),
        ], required: ["tag_id", "connection_id"], addedIn: 34, limits: "connection tags come only from the legacy _tags and each session's own copy"),
        // The configured posture: review gates by rule, guardrails and masking rules per connection.
        Table(name: "access_request_rules", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("name", "TEXT"), ("description", "TEXT"),
            ("connection_names", "TEXT"), ("access_type", "TEXT"), ("approval_required_groups", "TEXT"),
            ("all_groups_must_approve", "INTEGER"), ("reviewers_groups", "TEXT"), ("force_approval_groups", "TEXT"),
            ("skip_review_groups", "TEXT"), ("access_max_duration", "INTEGER"), ("min_approvals", "INTEGER"),
            ("created_at", "TEXT"), ("updated_at", "TEXT"),
        ], required: ["id", "name", "connection_names", "access_type", "approval_required_groups", "reviewers_groups"],
              addedIn: 62, limits: "no access request rules: review gates are known only from the review plugin"),
        Table(name: "access_request_rules_attributes", columns: [
            ("org_id", "TEXT"), ("access_rule_name", "TEXT"), ("attribute_name", "TEXT"),
        ], required: ["access_rule_name", "attribute_name"],
              addedIn: 68, limits: "access request rules apply only to the connections they name"),
        Table(name: "connections_attributes", columns: [
            ("org_id", "TEXT"), ("connection_name", "TEXT"), ("attribute_name", "TEXT"),
        ], required: ["connection_name", "attribute_name"],
              addedIn: 68, limits: "access request rules apply only to the connections they name"),
        // Guardrail and masking rules reach connections through shared attributes too (protection profiles, 000105).
        Table(name: "guardrail_rules_attributes", columns: [
            ("org_id", "TEXT"), ("guardrail_rule_name", "TEXT"), ("attribute_name", "TEXT"),
        ], required: ["guardrail_rule_name", "attribute_name"],
              addedIn: 68, limits: "guardrail rules apply only to the connections bound to them"),
        Table(name: "datamasking_rules_attributes", columns: [
            ("org_id", "TEXT"), ("datamasking_rule_name", "TEXT"), ("attribute_name", "TEXT"),
        ], required: ["datamasking_rule_name", "attribute_name"],
              addedIn: 68, limits: "masking rules apply only to the connections bound to them"),
        Table(name: "guardrail_rules", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("name", "TEXT"), ("description", "TEXT"),
            ("input", "TEXT"), ("output", "TEXT"), ("created_at", "TEXT"), ("updated_at", "TEXT"),
        ], required: ["id", "name"], addedIn: 25, limits: "no guardrail rules: the posture shows none"),
        Table(name: "guardrail_rules_connections", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("rule_id", "TEXT"), ("connection_id", "TEXT"), ("created_at", "TEXT"),
        ], required: ["rule_id", "connection_id"], addedIn: 25, limits: "no guardrail rules: the posture shows none"),
        Table(name: "datamasking_rules", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("name", "TEXT"), ("description", "TEXT"),
            ("supported_entity_types", "TEXT"), ("custom_entity_types", "TEXT"), ("score_threshold", "REAL"),
            ("created_at", "TEXT"), ("updated_at", "TEXT"),
        ], required: ["id", "name"], addedIn: 38, limits: "no masking rules: masking is known only from the dlp plugin"),
        Table(name: "datamasking_rules_connections", columns: [
            ("id", "TEXT PRIMARY KEY"), ("org_id", "TEXT"), ("rule_id", "TEXT"), ("connection_id", "TEXT"),
            ("status", "TEXT"), ("created_at", "TEXT"),
        ], required: ["rule_id", "connection_id"], addedIn: 38, limits: "no masking rules: masking is known only from the dlp plugin"),
    ]

    /// Columns hoop added after its migration 63 (security_audit_log, the newest table the analysis
    /// needs), which the reader uses when present. A store without one is still read (the column reads
    /// as NULL) and the report says what that limits. hoop's migration that added each is named.
    public static let lateColumns: [(column: String, migration: Int, limits: String)] = [
        ("security_audit_log.http_path", 64, "configuration changes show no request path"),
        ("sessions.ai_analysis", 66, "no AI risk verdicts: detection.ai-high-risk has nothing to test"),
        ("sessions.guardrails_info", 69, "no guardrail matches: guardrails.blocked-commands and detection.guardrail-bursts see none"),
        ("reviews.rejection_reason", 70, "rejections show no reason"),
        ("sessions.machine_identity_id", 87, "machine identities are not told apart from people"),
        ("sessions.identity_type", 87, "every session is taken as a person's (identity.attribution, identity.machine-owners)"),
        ("sessions.origin", 96, "none (no test reads it)"),
        ("access_request_rules.skip_review_groups", 107, "no requester group is exempt from a rule's review"),
    ]

    /// The late tables and columns `present` (columns by table) lacks, with what each limits: tables
    /// first (named alone), then columns (`table.column`) of the tables that are there.
    public static func absentLateColumns(_ present: (String) -> Set<String>?) -> [AbsentColumn] {
        let tables = self.tables.compactMap { table -> AbsentColumn? in
            guard let since = table.addedIn, present(table.name) == nil else { return nil }
            return AbsentColumn(column: table.name, addedIn: since, limits: table.limits)
        }
        return tables + lateColumns.compactMap { late in
            let parts = late.column.split(separator: ".").map(String.init)
            guard let columns = present(parts[0]), !columns.contains(parts[1]) else { return nil }
            return AbsentColumn(column: late.column, addedIn: late.migration, limits: late.limits)
        }
    }

    /// Indexes a store written by this tool carries, matching hoop's own keys, so per-session
    /// look-ups stay constant-time as the store grows.
    public static let indexes: [String] = [
        "CREATE INDEX IF NOT EXISTS sessions_created ON sessions(created_at, id)",
        "CREATE UNIQUE INDEX IF NOT EXISTS reviews_session ON reviews(session_id)",
        "CREATE INDEX IF NOT EXISTS reviews_owner_connection ON reviews(owner_id, connection_name, type)",
        "CREATE INDEX IF NOT EXISTS review_groups_review ON review_groups(review_id)",
        "CREATE UNIQUE INDEX IF NOT EXISTS session_metrics_session ON session_metrics(session_id, info_type)",
        "CREATE INDEX IF NOT EXISTS user_groups_user ON user_groups(user_id)",
        "CREATE INDEX IF NOT EXISTS plugin_connections_connection ON plugin_connections(connection_id)",
        "CREATE INDEX IF NOT EXISTS security_audit_log_created ON security_audit_log(created_at)",
        "CREATE INDEX IF NOT EXISTS events_occurred ON events(occurred_at)",
    ]

    public static func table(named name: String) -> Table? { tables.first { $0.name == name } }

    public static func createStatements() -> [String] {
        tables.map { table in
            "CREATE TABLE \(table.name) (" + table.columns.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + ")"
        } + indexes
    }
}

/// A table or column the store's schema version lacks, named in the report with the checks it limits
/// (`column` is `table.column`, or a table's name alone).
public struct AbsentColumn: Codable, Sendable, Equatable {
    public var column: String
    /// hoop's migration that added it.
    public var addedIn: Int
    public var limits: String

    /// `sessions.guardrails_info (hoop migration 69): …`; what hoop's API does not give (`addedIn` 0)
    /// is said as such.
    public var shown: String {
        "\(column) (\(addedIn == 0 ? "not given by hoop's API" : "hoop migration \(addedIn)")): \(limits)"
    }
}
