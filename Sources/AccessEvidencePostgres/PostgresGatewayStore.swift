import AccessEvidence
import Foundation
import NIOCore

/// Reads hoop's production store (PostgreSQL, schema `private`; hoop-store.md §1) inside one
/// read-only, repeatable-read transaction, so every query of a run sees the same snapshot of the
/// database and none can change it. The period's bounds go into the SQL; rows stream through cursors.
public final class PostgresGatewayStore: ReaderBackedStore, RowSource {
    public let session: PostgresSession
    public var dialect: any SQLDialect { postgresDialect }
    let postgresDialect: PostgresDialect
    public let schemaVersion: String?
    public lazy var reader = GatewayRecordReader(source: self)

    public var location: PostgresLocation { session.location }

    public convenience init(url: String) throws {
        try self.init(location: try PostgresLocation.parse(url))
    }

    public init(location: PostgresLocation) throws {
        session = try PostgresSession(location)
        // Timestamps without a time zone hold UTC in hoop; the session renders and compares in UTC too.
        try session.execute("SET TIME ZONE 'UTC'", during: "starting the session")
        try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", during: "starting a read-only transaction")
        try Self.checkSchemaUsage(session)
        postgresDialect = PostgresDialect(columns: try Self.checkSchema(session))
        schemaVersion = try Self.migrationVersion(session)
    }

    deinit { session.close() }

    /// Without USAGE on schema `private` nothing in it can be read, whatever the table grants: said
    /// first, as the grant that is missing, before any query would fail with a less useful message.
    static func checkSchemaUsage(_ session: PostgresSession) throws {
        let rows = try session.rows("""
            SELECT has_schema_privilege(n.oid, 'USAGE')::text FROM pg_catalog.pg_namespace n WHERE n.nspname = 'private'
            """, during: "checking the privileges on schema private")
        guard let cell = rows.first?.first ?? nil, String(buffer: cell) == "false" else { return }
        let role = session.location.user
        throw StoreError.permissionDenied(source: session.location.display,
                                          reason: "the role \(role) lacks USAGE on schema private (GRANT USAGE ON SCHEMA private TO \(role))")
    }

    /// Every missing table or required column, and every table the role may not read, in one error.
    /// A table the analysis never reads (`optional`) may be absent or unreadable: it is left out.
    static func checkSchema(_ session: PostgresSession) throws -> [String: [String: PostgresDialect.Kind]] {
        let names = GatewaySchema.tables.map(\.name)
        var found: [String: [String: PostgresDialect.Kind]] = [:]
        let rows = try session.rows("""
            SELECT c.relname::text, a.attname::text, t.typcategory::text, t.typname::text,
                   has_table_privilege(c.oid, 'SELECT')::text
            FROM pg_catalog.pg_attribute a
            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            WHERE n.nspname = 'private' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
              AND c.relname = ANY(string_to_array($1, ','))
            ORDER BY 1, 2
            """, [names.joined(separator: ",")], during: "checking the schema")
        var unreadable = Set<String>()
        for row in rows {
            let v = row.map { $0.map { String(buffer: $0) } ?? "" }
            found[v[0], default: [:]][v[1]] = PostgresDialect.Kind(category: v[2], type: v[3])
            if v[4] != "true" { unreadable.insert(v[0]) }
        }
        var missing: [String] = []
        for table in GatewaySchema.tables {
            guard let present = found[table.name] else {
                if !table.mayBeAbsent { missing.append("table private.\(table.name)") }
                continue
            }
            for column in table.columns.map(\.0) where table.required.contains(column) && present[column] == nil {
                missing.append("column private.\(table.name).\(column)")
            }
        }
        // The period predicates compare these columns with timestamps.
        for (table, column) in [("sessions", "created_at"), ("reviews", "created_at"), ("reviews", "revoked_at"),
                                ("security_audit_log", "created_at")] {
            if let kind = found[table]?[column], kind != .timestamp {
                missing.append("column private.\(table).\(column) as a timestamp")
            }
        }
        let location = session.location.display
        if !missing.isEmpty { throw StoreError.missingSchema(path: location, missing: missing) }
        for name in unreadable where GatewaySchema.table(named: name)?.optional == true {
            found[name] = nil
            unreadable.remove(name)
        }
        if !unreadable.isEmpty {
            let role = session.location.user, tables = unreadable.sorted().map { "private.\($0)" }.joined(separator: ", ")
            throw StoreError.permissionDenied(source: location, reason: "the role \(role) may not SELECT from \(tables) (GRANT SELECT ON \(tables) TO \(role))")
        }
        return found
    }

    /// golang-migrate's `schema_migrations(version, dirty)`, wherever the gateway's search path put it.
    static func migrationVersion(_ session: PostgresSession) throws -> String? {
        let located = try session.rows("""
            SELECT (SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
                    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t),
                   has_table_privilege(t, 'SELECT')::text
            FROM (SELECT coalesce(to_regclass('private.schema_migrations'), to_regclass('public.schema_migrations')) AS t) m
            WHERE t IS NOT NULL
            """, during: "looking for schema_migrations")
        guard let found = located.first, let table = found[0].map({ String(buffer: $0) }) else { return nil }
        guard found[1].map({ String(buffer: $0) }) == "true" else {
            return "unknown (the role may not read \(table): GRANT SELECT ON \(table) TO \(session.location.user))"
        }
        let rows = try session.rows("SELECT version::text, dirty::text FROM \(table) ORDER BY version DESC LIMIT 1",
                                    during: "reading \(table)")
        guard let row = rows.first, let version = row[0].map({ String(buffer: $0) }) else { return nil }
        return row[1].map { String(buffer: $0) } == "true" ? version + " (dirty)" : version
    }

    public func forEachRow(_ sql: String, binds: [String], _ body: (any StoreRow) throws -> Void) throws {
        try session.forEachRow(sql, binds, during: "reading the store") { cells in
            try body(PostgresStoreRow(cells: cells))
        }
    }

    public func cursor(_ sql: String, binds: [String]) throws -> any RowCursor {
        PostgresRowCursor(cursor: try session.cursor(sql, binds, during: "reading the store"))
    }

    /// One long recording by its row's `ctid`, between two FETCHes of the sessions' cursor.
    public func largeBlob(_ locator: String) throws -> [UInt8]? {
        let rows = try session.rows("SELECT blob_stream::text FROM private.blobs WHERE ctid = $1::tid", [locator], during: "reading a long recording")
        return rows.first?.first.flatMap { $0 }.map { Array($0.readableBytesView) }
    }

    public func describe() throws -> SourceInfo {
        var counts: [String: Int] = [:]
        for table in GatewaySchema.tables where postgresDialect.columns[table.name] != nil {
            let (sql, binds) = reader.countQuery(table.name, count: "count(*)::text")
            let rows = try session.rows(sql, binds, during: "counting private.\(table.name)")
            counts[table.name] = PostgresStoreRow(cells: rows.first ?? []).int(0) ?? 0
        }
        var info = SourceInfo(kind: "postgresql", location: location.display, sha256: nil, rowCounts: counts,
                              schemaVersion: schemaVersion)
        info.queries = reader.queries.mapValues { $0 + " -- in one read-only repeatable-read transaction" }
        info.sessionTally = reader.sessionTally
        info.organization = reader.organization.map { OrganizationRef(id: $0.id, name: $0.name) }
        info.absentColumns = GatewaySchema.absentLateColumns { self.postgresDialect.columns[$0].map { Set($0.keys) } }
        return info
    }

    public func countSessions(in period: Period) throws -> (count: Int, query: String) {
        let bounds = dialect.bounds(period)
        let org = reader.orgBinds.isEmpty ? "" : " AND org_id = $3::uuid"
        let rows = try session.rows("SELECT count(*)::text FROM private.sessions WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz" + org,
                                    bounds + reader.orgBinds, during: "counting the period's sessions")
        let shownOrg = reader.orgBinds.map { " AND org_id = '\($0)'" }.joined()
        return (PostgresStoreRow(cells: rows.first ?? []).int(0) ?? 0,
                "SELECT count(*) FROM private.sessions WHERE created_at >= '\(bounds[0])' AND created_at < '\(bounds[1])'" + shownOrg)
    }

    /// hoop's `private.orgs` with each organization's sessions in the period; when the role may not
    /// read it, the `org_id`s the sessions carry, unnamed.
    public func organizations(in period: Period) throws -> [StoreOrganization] {
        let readable = try session.rows("SELECT (to_regclass('private.orgs') IS NOT NULL AND has_table_privilege('private.orgs', 'SELECT'))::text",
                                        during: "looking for private.orgs")
        guard let cell = readable.first?.first ?? nil, String(buffer: cell) == "true" else {
            return try reader.organizationsFromSessions(bounds: dialect.bounds(period))
        }
        let rows = try session.rows("""
            SELECT o.id::text, o.name::text,
                   (SELECT count(*) FROM private.sessions s WHERE s.org_id = o.id
                      AND s.created_at >= $1::timestamptz AND s.created_at < $2::timestamptz)::text
            FROM private.orgs o ORDER BY o.name COLLATE "C", o.id
            """, dialect.bounds(period), during: "listing private.orgs")
        return rows.map { cells in
            let row = PostgresStoreRow(cells: cells)
            return StoreOrganization(id: row.text(0) ?? "", name: row.text(1), sessionsInPeriod: row.int(2) ?? 0)
        }
    }
}

final class PostgresRowCursor: RowCursor {
    let cursor: PostgresSession.Cursor
    init(cursor: PostgresSession.Cursor) { self.cursor = cursor }
    func next() throws -> (any StoreRow)? { try cursor.next().map(PostgresStoreRow.init) }
}

/// A row whose every column the dialect cast to text.
struct PostgresStoreRow: StoreRow {
    let cells: [ByteBuffer?]

    func isNull(_ column: Int32) -> Bool { Int(column) >= cells.count || cells[Int(column)] == nil }
    func text(_ column: Int32) -> String? { isNull(column) ? nil : String(buffer: cells[Int(column)]!) }
    func bytes(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : Array(cells[Int(column)]!.readableBytesView) }
    func int(_ column: Int32) -> Int? { text(column).flatMap { Int($0) } }
}

/// hoop's PostgreSQL types rendered in the SQLite layout: timestamps as ISO-8601 UTC with
/// microseconds, arrays as JSON, booleans as 0/1, jsonb, enums and uuids as their text.
struct PostgresDialect: SQLDialect {
    enum Kind: Equatable {
        case timestamp, array, boolean, other

        init(category: String, type: String) {
            switch (category, type) {
            case ("D", "timestamp"), ("D", "timestamptz"): self = .timestamp
            case ("A", _): self = .array
            case ("B", _): self = .boolean
            default: self = .other
            }
        }
    }

    let columns: [String: [String: Kind]]

    func table(_ name: String) -> String { "private.\(name)" }

    func hasTable(_ name: String) -> Bool { columns[name] != nil }

    /// Compressed bytes up to which a blob comes inline with its session; larger ones (hoop allows about
    /// 110 MiB) are fetched one at a time by `blobLocator`, so a FETCH of sessions holds at most this
    /// much per blob.
    static let inlineBlobBytes = 256 << 10

    func inlineBlob(_ alias: String) -> String {
        guard columns["blobs"]?["blob_stream"] != nil else { return "NULL" }
        return "CASE WHEN pg_column_size(\(alias).blob_stream) <= \(Self.inlineBlobBytes) THEN \(value(alias, "blobs", "blob_stream")) END"
    }

    /// The row's `ctid`: stable inside the run's one repeatable-read transaction, and a direct lookup.
    func blobLocator(_ alias: String) -> String {
        guard columns["blobs"]?["blob_stream"] != nil else { return "NULL" }
        return "CASE WHEN pg_column_size(\(alias).blob_stream) > \(Self.inlineBlobBytes) THEN \(alias).ctid::text END"
    }

    func value(_ alias: String, _ table: String, _ column: String) -> String {
        let ref = "\(alias).\(column)"
        switch columns[table]?[column] {
        case nil: return "NULL"
        case .timestamp: return "to_char(\(ref), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        case .array: return "array_to_json(\(ref))::text"
        case .boolean: return "(\(ref))::int::text"
        case .other: return "(\(ref))::text"
        }
    }

    func jsonRows(_ expressions: [String], table: String, alias: String, where condition: String, orderBy: String) -> String {
        "(SELECT coalesce(json_agg(json_build_array(\(expressions.joined(separator: ", "))) ORDER BY \(orderBy)), '[]')::text "
            + "FROM private.\(table) \(alias) WHERE \(condition))"
    }

    func timestampParameter(_ n: Int) -> String { "$\(n)::timestamptz" }

    func textParameter(_ n: Int) -> String { "$\(n)" }

    func bounds(_ period: Period) -> [String] { [Timestamp.format(period.start), Timestamp.format(period.end)] }

    func sortKey(_ expression: String) -> String { "\(expression) COLLATE \"C\"" }
}

/// Opens SQLite files and `postgres://` URLs alike: what the command layer hands every run.
public let openAnyGatewayStore: StoreOpener = { location in
    if PostgresLocation.isPostgres(location) { return try PostgresGatewayStore(url: location) }
    if TeleportAuditStore.isTeleport(location) { return try TeleportAuditStore(location: String(location.dropFirst(TeleportAuditStore.scheme.count))) }
    if JSONLGatewayStore.isCanonical(location) { return try JSONLGatewayStore(location: String(location.dropFirst(JSONLGatewayStore.scheme.count))) }
    return try SQLiteGatewayStore(path: location)
}
