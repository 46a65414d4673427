import AccessEvidence
import Foundation

/// Freezes a period of a PostgreSQL store into an SQLite gateway store that the SQLite reader
/// reads: the period's sessions with their blobs, reviews, review groups and masking metrics; the
/// JIT grants that cover the period; users, groups, connections and plugin configuration as of
/// the extraction; the period's configuration changes and events. An `extract_manifest` table
/// records the source, schema version, every query with its parameters, and each table's row
/// count and digest. All of it is read in the store's one read-only transaction, so the tables
/// agree with each other; the file appears only when complete.
public enum PostgresSnapshot {
    public struct Result: Sendable {
        public var path: String
        public var tables: [String: SnapshotProvenance.TableDigest]
    }

    /// The extraction query of each table: period-bound ones take `$1` (start) and `$2` (end).
    static func queries(_ d: PostgresDialect, _ reader: GatewayRecordReader) -> [(table: String, sql: String, periodBound: Bool)] {
        func select(_ table: String, _ alias: String) -> String {
            let layout = GatewaySchema.table(named: table)!
            return "SELECT " + layout.columns.map { d.value(alias, table, $0.0) }.joined(separator: ", ") + " FROM private.\(table) \(alias)"
        }
        // One organization's rows when one is chosen: $3 after the period's bounds, $1 in a query without them.
        let chosen = !reader.orgBinds.isEmpty
        func inPeriod(_ alias: String, _ column: String = "created_at") -> String {
            "\(alias).\(column) >= $1::timestamptz AND \(alias).\(column) < $2::timestamptz" + (chosen ? " AND \(alias).org_id = $3::uuid" : "")
        }
        func ofOrg(_ alias: String) -> String { chosen ? " WHERE \(alias).org_id = $1::uuid" : "" }
        func key(_ alias: String, _ table: String, _ column: String = "id") -> String { d.sortKey(d.value(alias, table, column)) }
        let periodSessions = "SELECT s.id FROM private.sessions s WHERE \(inPeriod("s"))"
        // The reviews the reader joins: the period's sessions' own, and approved JIT grants whose window touches the period.
        let reviews = "(r.session_id IN (\(periodSessions)) OR (\(reader.grantCondition(end: "$2::timestamptz", start: "$1::timestamptz"))))"
            + (chosen ? " AND r.org_id = $3::uuid" : "")
        return [
            ("sessions", select("sessions", "s") + " WHERE \(inPeriod("s")) ORDER BY s.created_at, \(key("s", "sessions"))", true),
            ("blobs", select("blobs", "b") + """
                 WHERE b.id IN (SELECT s.blob_input_id FROM private.sessions s WHERE \(inPeriod("s"))
                               UNION SELECT s.blob_stream_id FROM private.sessions s WHERE \(inPeriod("s")))
                ORDER BY \(key("b", "blobs"))
                """, true),
            ("reviews", select("reviews", "r") + " WHERE \(reviews) ORDER BY \(key("r", "reviews"))", true),
            ("review_groups", select("review_groups", "g")
                + " WHERE g.review_id IN (SELECT r.id FROM private.reviews r WHERE \(reviews)) ORDER BY \(key("g", "review_groups"))", true),
            ("session_metrics", select("session_metrics", "m")
                + " WHERE m.session_id IN (\(periodSessions)) ORDER BY \(key("m", "session_metrics"))", true),
            ("users", select("users", "u") + ofOrg("u") + " ORDER BY \(key("u", "users"))", false),
            ("user_groups", select("user_groups", "ug") + ofOrg("ug") + " ORDER BY "
                + ["user_id", "service_account_id", "api_key_id", "ai_agent_id", "name"].map { key("ug", "user_groups", $0) }.joined(separator: ", "), false),
            ("connections", select("connections", "c") + ofOrg("c") + " ORDER BY \(key("c", "connections"))", false),
            ("plugins", select("plugins", "p") + ofOrg("p") + " ORDER BY \(key("p", "plugins"))", false),
            // hoop allows a NULL org_id here: the chosen org's rows are those of its connections.
            ("plugin_connections", select("plugin_connections", "pc")
                + (chosen ? " WHERE pc.connection_id IN (SELECT c.id FROM private.connections c WHERE c.org_id = $1::uuid)" : "")
                + " ORDER BY \(key("pc", "plugin_connections"))", false),
            // The period's changes, and the earlier changes to protections that tell the review gate as of a session.
            ("security_audit_log", select("security_audit_log", "a") + " WHERE (\(inPeriod("a")) OR (lower(a.resource_type) IN ('connections', 'guardrails', 'data_masking')"
                + " AND a.created_at < $2::timestamptz\(chosen ? " AND a.org_id = $3::uuid" : "")))"
                + " ORDER BY a.created_at, \(key("a", "security_audit_log"))", true),
            ("connection_tags", select("connection_tags", "x") + ofOrg("x") + " ORDER BY \(key("x", "connection_tags"))", false),
            ("connection_tags_association", select("connection_tags_association", "x")
                + (chosen ? " WHERE x.connection_id IN (SELECT c.id FROM private.connections c WHERE c.org_id = $1::uuid)" : "")
                + " ORDER BY \(key("x", "connection_tags_association"))", false),
            ("access_request_rules", select("access_request_rules", "x") + ofOrg("x") + " ORDER BY \(key("x", "access_request_rules"))", false),
            ("access_request_rules_attributes", select("access_request_rules_attributes", "x") + ofOrg("x") + " ORDER BY "
                + key("x", "access_request_rules_attributes", "access_rule_name") + ", " + key("x", "access_request_rules_attributes", "attribute_name"), false),
            ("connections_attributes", select("connections_attributes", "x") + ofOrg("x") + " ORDER BY "
                + key("x", "connections_attributes", "connection_name") + ", " + key("x", "connections_attributes", "attribute_name"), false),
            ("guardrail_rules_attributes", select("guardrail_rules_attributes", "x") + ofOrg("x") + " ORDER BY "
                + key("x", "guardrail_rules_attributes", "guardrail_rule_name") + ", " + key("x", "guardrail_rules_attributes", "attribute_name"), false),
            ("datamasking_rules_attributes", select("datamasking_rules_attributes", "x") + ofOrg("x") + " ORDER BY "
                + key("x", "datamasking_rules_attributes", "datamasking_rule_name") + ", " + key("x", "datamasking_rules_attributes", "attribute_name"), false),
            ("guardrail_rules", select("guardrail_rules", "x") + ofOrg("x") + " ORDER BY \(key("x", "guardrail_rules"))", false),
            ("datamasking_rules", select("datamasking_rules", "x") + ofOrg("x") + " ORDER BY \(key("x", "datamasking_rules"))", false),
            // Like plugin_connections, hoop allows a NULL org_id on these bindings.
            ("guardrail_rules_connections", select("guardrail_rules_connections", "x")
                + (chosen ? " WHERE x.connection_id IN (SELECT c.id FROM private.connections c WHERE c.org_id = $1::uuid)" : "")
                + " ORDER BY \(key("x", "guardrail_rules_connections"))", false),
            ("datamasking_rules_connections", select("datamasking_rules_connections", "x")
                + (chosen ? " WHERE x.connection_id IN (SELECT c.id FROM private.connections c WHERE c.org_id = $1::uuid)" : "")
                + " ORDER BY \(key("x", "datamasking_rules_connections"))", false),
            ("events", select("events", "e") + " WHERE \(inPeriod("e", "occurred_at")) ORDER BY e.occurred_at, \(key("e", "events"))", true),
        ]
    }

    public static func write(from store: PostgresGatewayStore, period: Period, to path: String, extractedAt: Date) throws -> Result {
        let dialect = store.postgresDialect
        let isSnapshot: (String) -> Bool = { OutputGuard.sqliteHasTable($0, SnapshotManifest.table) }
        try OutputGuard.checkReplaceableFile(path, option: "--out", what: "a snapshot", isOurs: isSnapshot)
        let staging = try Staging(target: path, folder: false)
        do {
            let result = try extract(store, dialect, period, into: staging.path, extractedAt: extractedAt)
            try OutputGuard.checkReplaceableFile(path, option: "--out", what: "a snapshot", isOurs: isSnapshot)
            try staging.commit()
            return Result(path: path, tables: result)
        } catch {
            staging.discard()
            throw error
        }
    }

    static func extract(_ store: PostgresGatewayStore, _ dialect: PostgresDialect, _ period: Period, into path: String,
                        extractedAt: Date) throws -> [String: SnapshotProvenance.TableDigest] {
        let writer: StoreWriter
        do { writer = try StoreWriter(path: path) } catch {
            throw OutputError(path: path, reason: "\(error)", what: "the snapshot")
        }
        try writer.db.execute(SnapshotManifest.createStatement)
        let manifest = try writer.db.prepare("INSERT INTO extract_manifest VALUES (?, ?, ?, ?, ?, ?)")
        let bounds = dialect.bounds(period)
        let facts: [(String, String?)] = [
            ("location", store.location.display), ("schema_version", store.schemaVersion),
            ("organization", store.reader.organization.map { o in o.name.map { "\($0) (\(o.id))" } ?? o.id }),
            ("period", "\(period.label) [\(bounds[0]), \(bounds[1]))"), ("extracted_at", Timestamp.format(extractedAt)),
            ("tool", "access-evidence \(ToolInfo.version)"),
        ]
        for (name, value) in facts { try manifest.run([.text("source"), .text(name), value.map { .text($0) } ?? .null, .null, .null, .null]) }
        // What the database's schema version lacks: the snapshot holds those tables empty and those
        // columns NULL, so a report from it names them from here (the migration as `parameters`).
        for absent in GatewaySchema.absentLateColumns({ dialect.columns[$0].map { Set($0.keys) } }) {
            try manifest.run([.text("absent"), .text(absent.column), .text(absent.limits), .text(String(absent.addedIn)), .null, .null])
        }

        var digests: [String: SnapshotProvenance.TableDigest] = [:]
        for (table, sql, periodBound) in queries(dialect, store.reader) {
            let layout = GatewaySchema.table(named: table)!
            guard dialect.columns[table] != nil else {
                // An optional table the database lacks or the role may not read: copied empty, and said so.
                let empty = SnapshotManifest.Digest().finalize()
                try manifest.run([.text("query"), .text(table), .text("(not read: private.\(table) is absent or the role may not SELECT from it)"),
                                  .text("[]"), .null, .null])
                try manifest.run([.text("table"), .text(table), .null, .null, .int(0), .text(empty)])
                digests[table] = SnapshotProvenance.TableDigest(rows: 0, sha256: empty)
                continue
            }
            let integer = layout.columns.map { $0.1.hasPrefix("INTEGER") }
            var digest = SnapshotManifest.Digest()
            let binds = (periodBound ? bounds : []) + store.reader.orgBinds
            try store.session.forEachRow(sql, binds, during: "extracting private.\(table)") { cells in
                let row = PostgresStoreRow(cells: cells)
                var values: [SQLiteValue] = [], texts: [String?] = []
                for (i, isInteger) in integer.enumerated() {
                    let text = row.text(Int32(i))
                    if let text, isInteger, let n = Int(text) {
                        values.append(.int(n))
                        texts.append(String(n))
                    } else {
                        values.append(text.map { .text($0) } ?? .null)
                        texts.append(text)
                    }
                }
                try writer.insert(table, row: values)
                digest.add(texts)
            }
            let parameters = "[" + binds.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
            try manifest.run([.text("query"), .text(table), .text(GatewayRecordReader.oneLine(sql)), .text(parameters), .null, .null])
            let sha = digest.finalize()
            try manifest.run([.text("table"), .text(table), .null, .null, .int(digest.rows), .text(sha)])
            digests[table] = SnapshotProvenance.TableDigest(rows: digest.rows, sha256: sha)
        }
        try writer.finish()
        return digests
    }
}
