import AccessEvidence
import Foundation

/// hoop's `private` schema at a given migration version, written from hoop's own migrations
/// (`000001_init` … `000113_session_list_review_indexes`): for each table and column of the layout the
/// readers use, hoop's type and the migration that added it, and hoop's enums with the migration that
/// added each value. Used to stand up a store for tests, benchmarks and trying the tool on
/// `SampleData/` at any version from the oldest the tool reads to the latest.
public enum HoopPostgresSchema {
    /// The latest migration this layout follows.
    public static let latest = 113
    /// The oldest migration the readers accept: `000063_security_audit_log`, the last table the analysis
    /// reads (configuration changes). Everything later is optional (`GatewaySchema.lateColumns`).
    public static let oldestSupported = 63

    struct Column {
        let name: String
        let type: String
        let since: Int
        /// Constraints and defaults after the type (`NOT NULL DEFAULT 'user'`).
        var tail = ""
        /// A type the column had before `before.until`.
        var before: (type: String, until: Int)? = nil
        /// The migration that dropped the column, if one did.
        var droppedIn: Int? = nil

        init(_ name: String, _ type: String, _ since: Int = 1, _ tail: String = "", before: (String, Int)? = nil, droppedIn: Int? = nil) {
            self.name = name
            self.type = type
            self.since = since
            self.tail = tail
            self.before = before.map { (type: $0.0, until: $0.1) }
            self.droppedIn = droppedIn
        }

        func exists(at version: Int) -> Bool { since <= version && droppedIn.map { version < $0 } ?? true }

        func type(at version: Int) -> String {
            if let before, version < before.until { return before.type }
            return type
        }
    }

    struct Table {
        let name: String
        let since: Int
        let columns: [Column]
        /// Table constraints (UNIQUE, FOREIGN KEY), each from a migration.
        var constraints: [(since: Int, sql: String)] = []
    }

    /// hoop's enums: every value with the migration that added it (values are appended, never removed).
    static let enums: [(name: String, since: Int, values: [(String, Int)])] = [
        ("enum_connection_type", 1, [("command-line", 1), ("postgres", 1), ("mysql", 1), ("mssql", 1), ("tcp", 1), ("application", 3),
                                     ("custom", 7), ("database", 7), ("httpproxy", 61)]),
        ("enum_session_status", 1, [("open", 1), ("ready", 1), ("done", 1)]),
        ("enum_session_verb", 1, [("connect", 1), ("exec", 1)]),
        ("enum_blob_type", 1, [("review-input", 1), ("session-input", 1), ("session-stream", 1)]),
        ("enum_reviews_type", 1, [("onetime", 1), ("jit", 1)]),
        // hoop's order: REVOKED before REJECTED. review_groups.status uses this type too.
        ("enum_reviews_status", 1, [("PENDING", 1), ("APPROVED", 1), ("REVOKED", 1), ("REJECTED", 1), ("PROCESSING", 1), ("EXECUTED", 1), ("UNKNOWN", 1)]),
        ("enum_user_status", 1, [("active", 1), ("reviewing", 1), ("inactive", 1), ("invited", 23)]),
        ("enum_connection_status", 11, [("online", 11), ("offline", 11)]),
        ("enum_access_status", 20, [("enabled", 20), ("disabled", 20)]),
        ("enum_datamasking_assoc_status", 38, [("active", 38), ("inactive", 38)]),
    ]

    static let layout: [Table] = [
        Table(name: "resources", since: 47, columns: [
            Column("id", "uuid", 47, "PRIMARY KEY"), Column("org_id", "uuid", 47, "NOT NULL"), Column("name", "varchar(128)", 47, "NOT NULL"),
            // 000049 renamed 000047's varchar `type` (which held the subtype) to `subtype` and added the enum.
            Column("type", "private.enum_connection_type", 47, "NOT NULL", before: ("varchar(64)", 49)), Column("subtype", "varchar(64)", 49),
            Column("agent_id", "uuid", 47), Column("created_at", "timestamptz", 47, "NOT NULL DEFAULT now()"),
            Column("updated_at", "timestamptz", 47, "NOT NULL DEFAULT now()"),
        ], constraints: [(47, "UNIQUE (org_id, name)")]),
        Table(name: "sessions", since: 1, columns: [
            Column("id", "uuid", 1, "PRIMARY KEY"), Column("org_id", "uuid"), Column("connection", "varchar(128)"),
            Column("connection_type", "private.enum_connection_type"), Column("connection_subtype", "varchar(64)", 31),
            Column("connection_tags", "jsonb", 35), Column("verb", "private.enum_session_verb"), Column("labels", "jsonb"),
            Column("user_id", "varchar(255)"), Column("user_name", "varchar(255)"), Column("user_email", "varchar(255)"),
            Column("status", "private.enum_session_status"), Column("exit_code", "smallint", 31), Column("blob_input_id", "uuid"),
            Column("blob_stream_id", "uuid"), Column("metadata", "jsonb"), Column("metrics", "jsonb", 16),
            Column("integrations_metadata", "jsonb", 27), Column("ai_analysis", "jsonb", 66), Column("guardrails_info", "jsonb", 69),
            Column("session_batch_id", "varchar(255)", 56), Column("correlation_id", "varchar(255)", 78),
            Column("machine_identity_id", "uuid", 87), Column("identity_type", "text", 87, "NOT NULL DEFAULT 'user'"),
            Column("origin", "varchar(64)", 96),
            // hoop never made created_at NOT NULL.
            Column("created_at", "timestamp", 1, "DEFAULT now()"), Column("ended_at", "timestamp"),
        ], constraints: [(1, "UNIQUE (org_id, id)")]),
        // blobs.id has no primary key in hoop: the only key is (org_id, id).
        Table(name: "blobs", since: 1, columns: [
            Column("id", "uuid"), Column("org_id", "uuid"), Column("type", "private.enum_blob_type", 1, "NOT NULL"),
            Column("blob_stream", "jsonb", 1, "NOT NULL"), Column("format", "varchar(40)", 37), Column("created_at", "timestamp", 1, "DEFAULT now()"),
        ], constraints: [(1, "UNIQUE (org_id, id)")]),
        Table(name: "reviews", since: 1, columns: [
            Column("id", "uuid", 1, "PRIMARY KEY"), Column("org_id", "uuid"), Column("session_id", "uuid"), Column("connection_id", "uuid"),
            Column("connection_name", "varchar(128)"), Column("type", "private.enum_reviews_type"), Column("blob_input_id", "uuid"),
            Column("input_env_vars", "jsonb"), Column("input_client_args", "text[]"), Column("access_duration_sec", "integer", 1, "DEFAULT 0"),
            Column("status", "private.enum_reviews_status"), Column("owner_id", "varchar(255)"), Column("owner_email", "varchar(255)"),
            Column("owner_name", "varchar(255)"), Column("owner_slack_id", "varchar(50)"), Column("created_at", "timestamp", 1, "DEFAULT now()"),
            Column("revoked_at", "timestamp"), Column("time_window", "jsonb", 53), Column("access_request_rule_name", "text", 62),
            Column("min_approvals", "integer", 62), Column("force_approval_groups", "text[]", 62), Column("rejection_reason", "text", 70),
        ]),
        Table(name: "review_groups", since: 1, columns: [
            Column("id", "uuid", 1, "PRIMARY KEY"), Column("org_id", "uuid"), Column("review_id", "uuid"), Column("group_name", "varchar(100)"),
            Column("status", "private.enum_reviews_status"), Column("owner_id", "varchar(255)"), Column("owner_email", "varchar(255)"),
            Column("owner_name", "varchar(255)"), Column("owner_slack_id", "varchar(50)"), Column("reviewed_at", "timestamp"),
            Column("forced_review", "boolean", 57, "NOT NULL DEFAULT false"),
        ]),
        Table(name: "session_metrics", since: 54, columns: [
            Column("id", "uuid", 54, "PRIMARY KEY"), Column("org_id", "uuid", 54), Column("session_id", "uuid", 54, "NOT NULL"),
            Column("info_type", "text", 54, "NOT NULL"),
            Column("count_masked", "integer", 54, "NOT NULL DEFAULT 0"), Column("count_analyzed", "integer", 54, "NOT NULL DEFAULT 0"),
            Column("connection_type", "text", 54, "NOT NULL"), Column("connection_subtype", "text", 54), Column("session_created_at", "timestamp", 54, "NOT NULL"),
            Column("session_ended_at", "timestamp", 54),
        ], constraints: [(54, "UNIQUE (session_id, info_type)")]),
        Table(name: "users", since: 1, columns: [
            Column("id", "uuid", 1, "PRIMARY KEY"), Column("org_id", "uuid"), Column("subject", "varchar(255)"), Column("email", "varchar(255)"),
            Column("name", "varchar(255)"), Column("verified", "boolean", 1, "DEFAULT false"), Column("status", "private.enum_user_status"),
            Column("slack_id", "varchar(50)"), Column("created_at", "timestamp", 1, "DEFAULT now()"), Column("updated_at", "timestamp", 1, "DEFAULT now()"),
        ]),
        Table(name: "user_groups", since: 1, columns: [
            Column("org_id", "uuid"), Column("user_id", "uuid"), Column("service_account_id", "uuid"), Column("api_key_id", "uuid", 77),
            Column("ai_agent_id", "uuid", 97), Column("name", "varchar(180)", 1, "NOT NULL", before: ("varchar(100)", 52)),
        ]),
        Table(name: "connections", since: 1, columns: [
            Column("id", "uuid", 1, "PRIMARY KEY"), Column("org_id", "uuid"), Column("agent_id", "uuid"),
            Column("name", "varchar(254)", 1, "NOT NULL", before: ("varchar(128)", 8)),
            // Backfilled with the connection's name by 000047; NOT NULL, and a key into resources.
            Column("resource_name", "varchar(128)", 47, "NOT NULL"),
            Column("command", "text[]"), Column("type", "private.enum_connection_type"), Column("subtype", "varchar(64)", 2),
            Column("status", "private.enum_connection_status", 12, "DEFAULT 'offline'"), Column("_tags", "text[]", 18),
            Column("access_mode_runbooks", "private.enum_access_status", 20), Column("access_mode_exec", "private.enum_access_status", 20),
            Column("access_mode_connect", "private.enum_access_status", 20), Column("access_schema", "private.enum_access_status", 20),
            Column("force_approve_groups", "text[]", 57, "DEFAULT '{}'"), Column("access_max_duration", "integer", 59),
            Column("min_review_approvals", "integer", 60), Column("mandatory_metadata_fields", "text[]", 65),
            Column("created_at", "timestamp", 1, "DEFAULT now()"), Column("updated_at", "timestamp", 1, "DEFAULT now()"),
        ], constraints: [(1, "UNIQUE (org_id, name)"),
                         (47, "FOREIGN KEY (org_id, resource_name) REFERENCES private.resources (org_id, name) ON UPDATE CASCADE")]),
        Table(name: "plugins", since: 1, columns: [
            Column("id", "uuid", 1, "PRIMARY KEY"), Column("org_id", "uuid"), Column("name", "varchar(128)", 1, "NOT NULL"),
            Column("source", "varchar(128)"), Column("priority", "integer", 1, "DEFAULT 0"), Column("created_at", "timestamp", 1, "DEFAULT now()"),
            Column("updated_at", "timestamp", 1, "DEFAULT now()"),
        ]),
        Table(name: "plugin_connections", since: 1, columns: [
            Column("id", "uuid", 1, "PRIMARY KEY"), Column("org_id", "uuid"), Column("plugin_id", "uuid"), Column("connection_id", "uuid"),
            Column("enabled", "boolean", 1, "DEFAULT true"), Column("config", "text[]"), Column("created_at", "timestamp", 1, "DEFAULT now()"),
            Column("updated_at", "timestamp", 1, "DEFAULT now()"),
        ]),
        Table(name: "security_audit_log", since: 63, columns: [
            Column("id", "uuid", 63, "PRIMARY KEY"), Column("org_id", "uuid", 63), Column("actor_subject", "varchar(255)", 63, "NOT NULL"),
            Column("actor_email", "varchar(255)", 63), Column("actor_name", "varchar(255)", 63),
            Column("created_at", "timestamptz", 63, "NOT NULL DEFAULT now()"), Column("resource_type", "varchar(64)", 63, "NOT NULL"),
            Column("action", "varchar(32)", 63, "NOT NULL"),
            // Created by 000063, dropped by 000064 (which added the http_* fields).
            Column("resource_id", "uuid", 63, droppedIn: 64), Column("resource_name", "varchar(255)", 63, droppedIn: 64),
            Column("http_method", "varchar(16)", 64, "NOT NULL DEFAULT ''"),
            Column("http_status", "integer", 64, "NOT NULL DEFAULT 0"), Column("http_path", "varchar(512)", 64, "NOT NULL DEFAULT ''"),
            Column("client_ip", "varchar(45)", 64, "NOT NULL DEFAULT ''"), Column("request_payload_redacted", "jsonb", 63),
            Column("outcome", "boolean", 63, "NOT NULL"), Column("error_message", "text", 63),
        ]),
        Table(name: "events", since: 89, columns: [
            Column("id", "uuid", 89, "PRIMARY KEY"), Column("org_id", "uuid", 89), Column("event_type", "text", 89, "NOT NULL"),
            Column("payload", "jsonb", 89, "NOT NULL"), Column("occurred_at", "timestamptz", 89, "NOT NULL"), Column("source", "text", 89, "NOT NULL DEFAULT ''"), Column("producer_event_id", "text", 89),
            Column("created_at", "timestamptz", 89, "NOT NULL DEFAULT now()"),
        ]),
        Table(name: "connection_tags", since: 34, columns: [
            Column("id", "uuid", 34, "PRIMARY KEY"), Column("org_id", "uuid", 34), Column("key", "varchar(128)", 34, "NOT NULL"),
            Column("value", "varchar(255)", 34, "NOT NULL DEFAULT ''"), Column("created_at", "timestamp", 34, "DEFAULT now()"),
            Column("updated_at", "timestamp", 34, "DEFAULT now()"),
        ], constraints: [(34, "UNIQUE (org_id, key, value)")]),
        Table(name: "connection_tags_association", since: 34, columns: [
            Column("id", "uuid", 34, "PRIMARY KEY"), Column("org_id", "uuid", 34), Column("tag_id", "uuid", 34, "NOT NULL"),
            Column("connection_id", "uuid", 34, "NOT NULL"), Column("created_at", "timestamp", 34, "DEFAULT now()"),
        ], constraints: [(34, "UNIQUE (tag_id, connection_id)")]),
        Table(name: "access_request_rules", since: 62, columns: [
            Column("id", "uuid", 62, "PRIMARY KEY"), Column("org_id", "uuid", 62), Column("name", "text", 62, "NOT NULL"),
            Column("description", "text", 62), Column("connection_names", "text[]", 62, "NOT NULL"), Column("access_type", "varchar(16)", 62, "NOT NULL"),
            Column("approval_required_groups", "text[]", 62, "NOT NULL"), Column("all_groups_must_approve", "boolean", 62, "DEFAULT false"),
            Column("reviewers_groups", "text[]", 62, "NOT NULL"), Column("force_approval_groups", "text[]", 62, "NOT NULL"),
            Column("skip_review_groups", "text[]", 107), Column("access_max_duration", "integer", 62), Column("min_approvals", "integer", 62),
            Column("created_at", "timestamp", 62, "DEFAULT now()"), Column("updated_at", "timestamp", 62, "DEFAULT now()"),
        ], constraints: [(62, "UNIQUE (org_id, name)")]),
        Table(name: "access_request_rules_attributes", since: 68, columns: [
            Column("org_id", "uuid", 68, "NOT NULL"), Column("access_rule_name", "varchar(254)", 68, "NOT NULL"),
            Column("attribute_name", "varchar(255)", 68, "NOT NULL"),
        ], constraints: [(68, "PRIMARY KEY (org_id, access_rule_name, attribute_name)")]),
        Table(name: "connections_attributes", since: 68, columns: [
            Column("org_id", "uuid", 68, "NOT NULL"), Column("connection_name", "varchar(254)", 68, "NOT NULL"),
            Column("attribute_name", "varchar(255)", 68, "NOT NULL"),
        ], constraints: [(68, "PRIMARY KEY (org_id, connection_name, attribute_name)")]),
        Table(name: "guardrail_rules_attributes", since: 68, columns: [
            Column("org_id", "uuid", 68, "NOT NULL"), Column("guardrail_rule_name", "varchar(254)", 68, "NOT NULL"),
            Column("attribute_name", "varchar(255)", 68, "NOT NULL"),
        ], constraints: [(68, "PRIMARY KEY (org_id, guardrail_rule_name, attribute_name)")]),
        Table(name: "datamasking_rules_attributes", since: 68, columns: [
            Column("org_id", "uuid", 68, "NOT NULL"), Column("datamasking_rule_name", "varchar(254)", 68, "NOT NULL"),
            Column("attribute_name", "varchar(255)", 68, "NOT NULL"),
        ], constraints: [(68, "PRIMARY KEY (org_id, datamasking_rule_name, attribute_name)")]),
        Table(name: "guardrail_rules", since: 25, columns: [
            Column("id", "uuid", 25, "PRIMARY KEY"), Column("org_id", "uuid", 25), Column("name", "varchar(128)", 25, "NOT NULL"),
            Column("description", "text", 26), Column("input", "jsonb", 25), Column("output", "jsonb", 25),
            Column("created_at", "timestamp", 25, "DEFAULT now()"), Column("updated_at", "timestamp", 25, "DEFAULT now()"),
        ], constraints: [(25, "UNIQUE (org_id, name)")]),
        Table(name: "guardrail_rules_connections", since: 25, columns: [
            Column("id", "uuid", 25, "PRIMARY KEY"), Column("org_id", "uuid", 25), Column("rule_id", "uuid", 25, "NOT NULL"),
            Column("connection_id", "uuid", 25, "NOT NULL"), Column("created_at", "timestamp", 25, "DEFAULT now()"),
        ], constraints: [(25, "UNIQUE (rule_id, connection_id)")]),
        Table(name: "datamasking_rules", since: 38, columns: [
            Column("id", "uuid", 38, "PRIMARY KEY"), Column("org_id", "uuid", 38), Column("name", "varchar(128)", 38, "NOT NULL"),
            Column("description", "varchar(512)", 38), Column("supported_entity_types", "jsonb", 38), Column("custom_entity_types", "jsonb", 38),
            Column("score_threshold", "double precision", 39), Column("created_at", "timestamp", 38, "DEFAULT now()"),
            Column("updated_at", "timestamp", 38, "DEFAULT now()"),
        ], constraints: [(38, "UNIQUE (org_id, name)")]),
        Table(name: "datamasking_rules_connections", since: 38, columns: [
            Column("id", "uuid", 38, "PRIMARY KEY"), Column("org_id", "uuid", 38), Column("rule_id", "uuid", 38, "NOT NULL"),
            Column("connection_id", "uuid", 38, "NOT NULL"), Column("status", "private.enum_datamasking_assoc_status", 38, "DEFAULT 'active'"),
            Column("created_at", "timestamp", 38, "DEFAULT now()"),
        ], constraints: [(38, "UNIQUE (rule_id, connection_id)")]),
    ]

    /// hoop's indexes the readers' queries lean on, each from the migration that made it.
    static let indexes: [(since: Int, sql: String)] = [
        (1, "CREATE UNIQUE INDEX reviews_session ON private.reviews (org_id, session_id)"),
        (54, "CREATE INDEX session_metrics_session ON private.session_metrics (session_id)"),
        (63, "CREATE INDEX security_audit_log_org_created ON private.security_audit_log (org_id, created_at DESC)"),
        (109, "CREATE INDEX sessions_org_created ON private.sessions (org_id, created_at DESC, id DESC)"),
        (113, "CREATE INDEX review_groups_review ON private.review_groups (review_id)"),
    ]

    static func table(_ name: String) -> Table? { layout.first { $0.name == name } }

    /// The columns of `table` at `version`, in declaration order; nil when the table did not exist yet.
    public static func columns(of table: String, at version: Int) -> [String]? {
        guard let t = Self.table(table), t.since <= version else { return nil }
        return t.columns.filter { $0.exists(at: version) }.map(\.name)
    }

    /// PostgreSQL type by table and column, at the latest version.
    public static var types: [String: [String: String]] {
        Dictionary(uniqueKeysWithValues: layout.map { t in (t.name, Dictionary(uniqueKeysWithValues: t.columns.map { ($0.name, $0.type) })) })
    }

    /// The default of each `NOT NULL DEFAULT` column, by table: what hoop writes when nothing is given.
    static var notNullDefaults: [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for t in layout {
            for c in t.columns where c.tail.hasPrefix("NOT NULL DEFAULT ") {
                out[t.name, default: [:]][c.name] = String(c.tail.dropFirst("NOT NULL DEFAULT ".count))
            }
        }
        return out
    }

    /// The statements that create hoop's schema as it stood after migration `version`: its enums (with the
    /// values they had then), tables, keys and indexes, and golang-migrate's version row.
    public static func createStatements(migrationVersion version: Int = latest) -> [String] {
        var out = ["CREATE SCHEMA private",
                   // hoop's tenants (000001); every table's org_id refers to it.
                   "CREATE TABLE private.orgs (id uuid PRIMARY KEY, name varchar(100) UNIQUE, created_at timestamp DEFAULT now())"]
        for e in enums where e.since <= version {
            let values = e.values.filter { $0.1 <= version }.map { "'\($0.0)'" }
            out.append("CREATE TYPE private.\(e.name) AS ENUM (\(values.joined(separator: ", ")))")
        }
        for t in layout where t.since <= version {
            let columns = t.columns.filter { $0.exists(at: version) }.map { c in
                ["\(c.name) \(c.type(at: version))", c.tail].filter { !$0.isEmpty }.joined(separator: " ")
            }
            let constraints = t.constraints.filter { $0.since <= version }.map(\.sql)
            out.append("CREATE TABLE private.\(t.name) (\((columns + constraints).joined(separator: ", ")))")
        }
        out += indexes.filter { $0.since <= version }.map(\.sql)
        // golang-migrate keeps its table in the schema the connection starts in: public (hoop-store.md §4).
        out += ["CREATE TABLE public.schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)",
                "INSERT INTO public.schema_migrations VALUES (\(version), false)"]
        return out
    }

    /// A bound text parameter converted to the column's type (values arrive in the SQLite layout).
    static func cast(_ bound: String, type: String) -> String {
        // Typed as text up front: a NULL bind carries no type of its own.
        let parameter = "\(bound)::text"
        switch type {
        case "text[]":
            return "CASE WHEN \(parameter) IS NULL THEN NULL ELSE coalesce((SELECT array_agg(e) FROM jsonb_array_elements_text(\(parameter)::jsonb) e), '{}') END"
        case "boolean": return "(\(parameter))::int::boolean"
        case "timestamp": return "((\(parameter))::timestamptz AT TIME ZONE 'UTC')"
        default: return type.hasPrefix("varchar") || type == "text" ? parameter : "(\(parameter))::\(type)"
        }
    }
}
