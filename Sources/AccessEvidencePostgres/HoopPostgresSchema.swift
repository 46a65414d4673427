import AccessEvidence
import Foundation

/// hoop's `private` schema as hoop-store.md §1–§2 documents it (our own DDL: the columns the
/// readers use, with hoop's types: uuid, jsonb, enums, `text[]`, timestamps with and without time
/// zone). Used to stand up a store for tests, benchmarks and trying the tool on `SampleData/`.
public enum HoopPostgresSchema {
    static let enums: [(String, [String])] = [
        ("enum_connection_type", ["command-line", "postgres", "mysql", "mssql", "tcp", "application", "custom", "database", "httpproxy"]),
        ("enum_session_status", ["open", "ready", "done"]),
        ("enum_session_verb", ["connect", "exec"]),
        ("enum_blob_type", ["review-input", "session-input", "session-stream"]),
        ("enum_reviews_type", ["onetime", "jit"]),
        ("enum_reviews_status", ["PENDING", "APPROVED", "REJECTED", "REVOKED", "PROCESSING", "EXECUTED", "UNKNOWN"]),
        ("enum_review_group_status", ["PENDING", "APPROVED", "REJECTED", "REVOKED"]),
        ("enum_user_status", ["active", "reviewing", "inactive", "invited"]),
        ("enum_connection_status", ["online", "offline"]),
        ("enum_access_mode", ["enabled", "disabled"]),
        ("enum_datamasking_assoc_status", ["active", "inactive"]),
    ]

    /// PostgreSQL type by table and column, for the columns of `GatewaySchema`.
    public static let types: [String: [String: String]] = [
        "sessions": [
            "id": "uuid", "org_id": "uuid", "connection": "varchar(128)", "connection_type": "private.enum_connection_type",
            "connection_subtype": "varchar(64)", "connection_tags": "jsonb", "verb": "private.enum_session_verb", "labels": "jsonb",
            "user_id": "varchar(255)", "user_name": "varchar(255)", "user_email": "varchar(255)", "status": "private.enum_session_status",
            "exit_code": "smallint", "blob_input_id": "uuid", "blob_stream_id": "uuid", "metadata": "jsonb", "metrics": "jsonb",
            "integrations_metadata": "jsonb", "ai_analysis": "jsonb", "guardrails_info": "jsonb", "session_batch_id": "varchar(255)",
            "correlation_id": "varchar(255)", "machine_identity_id": "uuid", "identity_type": "text", "origin": "varchar(64)",
            "created_at": "timestamp", "ended_at": "timestamp",
        ],
        "blobs": ["id": "uuid", "org_id": "uuid", "type": "private.enum_blob_type", "blob_stream": "jsonb", "format": "varchar(40)",
                  "created_at": "timestamp"],
        "reviews": [
            "id": "uuid", "org_id": "uuid", "session_id": "uuid", "connection_id": "uuid", "connection_name": "varchar(128)",
            "type": "private.enum_reviews_type", "blob_input_id": "uuid", "input_env_vars": "jsonb", "input_client_args": "text[]",
            "access_duration_sec": "integer", "status": "private.enum_reviews_status", "owner_id": "varchar(255)",
            "owner_email": "varchar(255)", "owner_name": "varchar(255)", "owner_slack_id": "varchar(255)", "created_at": "timestamp",
            "revoked_at": "timestamp", "time_window": "jsonb", "access_request_rule_name": "text", "min_approvals": "integer",
            "force_approval_groups": "text[]", "rejection_reason": "text",
        ],
        "review_groups": [
            "id": "uuid", "org_id": "uuid", "review_id": "uuid", "group_name": "varchar(100)", "status": "private.enum_review_group_status",
            "owner_id": "varchar(255)", "owner_email": "varchar(255)", "owner_name": "varchar(255)", "owner_slack_id": "varchar(255)",
            "reviewed_at": "timestamp", "forced_review": "boolean",
        ],
        "session_metrics": [
            "id": "uuid", "org_id": "uuid", "session_id": "uuid", "info_type": "text", "count_masked": "integer",
            "count_analyzed": "integer", "connection_type": "text", "connection_subtype": "text", "session_created_at": "timestamp",
            "session_ended_at": "timestamp",
        ],
        "users": [
            "id": "uuid", "org_id": "uuid", "subject": "varchar(255)", "email": "varchar(255)", "name": "varchar(255)",
            "verified": "boolean", "status": "private.enum_user_status", "slack_id": "varchar(255)", "created_at": "timestamp",
            "updated_at": "timestamp",
        ],
        "user_groups": ["org_id": "uuid", "user_id": "uuid", "service_account_id": "uuid", "api_key_id": "uuid", "ai_agent_id": "uuid",
                        "name": "varchar(180)"],
        "connections": [
            "id": "uuid", "org_id": "uuid", "agent_id": "uuid", "name": "varchar(254)", "resource_name": "varchar(254)",
            "command": "text[]", "type": "private.enum_connection_type", "subtype": "varchar(64)", "status": "private.enum_connection_status",
            "_tags": "text[]", "access_mode_runbooks": "private.enum_access_mode", "access_mode_exec": "private.enum_access_mode",
            "access_mode_connect": "private.enum_access_mode", "access_schema": "private.enum_access_mode",
            "force_approve_groups": "text[]", "access_max_duration": "integer", "min_review_approvals": "integer",
            "mandatory_metadata_fields": "text[]", "created_at": "timestamp", "updated_at": "timestamp",
        ],
        "plugins": ["id": "uuid", "org_id": "uuid", "name": "varchar(128)", "source": "varchar(128)", "priority": "integer",
                    "created_at": "timestamp", "updated_at": "timestamp"],
        "plugin_connections": ["id": "uuid", "org_id": "uuid", "plugin_id": "uuid", "connection_id": "uuid", "enabled": "boolean",
                               "config": "text[]", "created_at": "timestamp", "updated_at": "timestamp"],
        "security_audit_log": [
            "id": "uuid", "org_id": "uuid", "actor_subject": "varchar(255)", "actor_email": "varchar(255)", "actor_name": "varchar(255)",
            "created_at": "timestamptz", "resource_type": "varchar(64)", "action": "varchar(32)", "http_method": "varchar(10)",
            "http_status": "integer", "http_path": "text", "client_ip": "varchar(64)", "request_payload_redacted": "jsonb",
            "outcome": "boolean", "error_message": "text",
        ],
        "events": ["id": "uuid", "org_id": "uuid", "event_type": "varchar(64)", "payload": "jsonb", "occurred_at": "timestamptz",
                   "source": "varchar(64)", "producer_event_id": "varchar(255)", "created_at": "timestamptz"],
        "access_request_rules": [
            "id": "uuid", "org_id": "uuid", "name": "text", "description": "text", "connection_names": "text[]",
            "access_type": "varchar(16)", "approval_required_groups": "text[]", "all_groups_must_approve": "boolean",
            "reviewers_groups": "text[]", "force_approval_groups": "text[]", "skip_review_groups": "text[]",
            "access_max_duration": "integer", "min_approvals": "integer", "created_at": "timestamp", "updated_at": "timestamp",
        ],
        "access_request_rules_attributes": ["org_id": "uuid", "access_rule_name": "varchar(254)", "attribute_name": "varchar(255)"],
        "connections_attributes": ["org_id": "uuid", "connection_name": "varchar(254)", "attribute_name": "varchar(255)"],
        "guardrail_rules": ["id": "uuid", "org_id": "uuid", "name": "varchar(128)", "description": "text", "input": "jsonb",
                            "output": "jsonb", "created_at": "timestamp", "updated_at": "timestamp"],
        "guardrail_rules_connections": ["id": "uuid", "org_id": "uuid", "rule_id": "uuid", "connection_id": "uuid", "created_at": "timestamp"],
        "datamasking_rules": ["id": "uuid", "org_id": "uuid", "name": "varchar(128)", "description": "varchar(512)",
                              "supported_entity_types": "jsonb", "custom_entity_types": "jsonb", "score_threshold": "double precision",
                              "created_at": "timestamp", "updated_at": "timestamp"],
        "datamasking_rules_connections": ["id": "uuid", "org_id": "uuid", "rule_id": "uuid", "connection_id": "uuid",
                                          "status": "private.enum_datamasking_assoc_status", "created_at": "timestamp"],
    ]

    /// The statements that create the schema, its types, tables, hoop's indexes and golang-migrate's version row.
    public static func createStatements(migrationVersion: Int) -> [String] {
        var out = ["CREATE SCHEMA private",
                   // hoop's tenants (000001); every table's org_id refers to it.
                   "CREATE TABLE private.orgs (id uuid PRIMARY KEY, name varchar(100) UNIQUE, created_at timestamp DEFAULT now())"]
        for (name, values) in enums {
            out.append("CREATE TYPE private.\(name) AS ENUM (\(values.map { "'\($0)'" }.joined(separator: ", ")))")
        }
        for table in GatewaySchema.tables {
            let columns = table.columns.map { column, _ in
                "\(column) \(types[table.name]![column]!)" + (column == "id" ? " PRIMARY KEY" : "")
                    + (table.name == "sessions" && column == "created_at" ? " NOT NULL" : "")
            }
            out.append("CREATE TABLE private.\(table.name) (\(columns.joined(separator: ", ")))")
        }
        out += [
            "CREATE INDEX sessions_created ON private.sessions (org_id, created_at DESC, id DESC)",
            "CREATE UNIQUE INDEX reviews_session ON private.reviews (org_id, session_id)",
            "CREATE INDEX reviews_status ON private.reviews (org_id, status)",
            "CREATE INDEX review_groups_review ON private.review_groups (review_id)",
            "CREATE UNIQUE INDEX session_metrics_session ON private.session_metrics (session_id, info_type)",
            "CREATE INDEX security_audit_log_created ON private.security_audit_log (created_at)",
            "CREATE TABLE public.schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)",
            "INSERT INTO public.schema_migrations VALUES (\(migrationVersion), false)",
        ]
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
