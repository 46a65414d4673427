import AccessEvidence
import Foundation

/// Copies an SQLite gateway store into a new PostgreSQL database in hoop's `private` schema, with
/// hoop's column types. It refuses a database that already has a `private` schema: it creates
/// stores to try the tool on, and never writes into a gateway's own.
public enum PostgresStoreLoader {
    public struct Loaded: Sendable {
        public var rows: [String: Int]
    }

    /// Loads into hoop's layout as it stood after `migrationVersion`: tables and columns that came later
    /// are left out (their data with them), so a store at an older version can be made from any sample.
    public static func load(sqlite path: String, into location: PostgresLocation,
                            migrationVersion: Int = HoopPostgresSchema.latest) throws -> Loaded {
        let store = try SQLiteDatabase(path: path, mode: .readOnly)
        let session = try PostgresSession(location)
        defer { session.close() }
        let existing = try session.rows("SELECT to_regnamespace('private')::text", during: "looking for schema private")
        if existing.first?.first.flatMap({ $0 }) != nil {
            throw StoreError.query(path: location.display, reason: "schema private already exists; load into a new database")
        }
        try session.execute("BEGIN", during: "loading")
        for statement in HoopPostgresSchema.createStatements(migrationVersion: migrationVersion) {
            try session.execute(statement, during: "creating the hoop schema")
        }
        var counts: [String: Int] = [:]
        for table in GatewaySchema.tables {
            guard let columns = HoopPostgresSchema.columns(of: table.name, at: migrationVersion) else { continue }
            let present = try sourceColumns(table.name, in: store)
            guard !present.isEmpty else { continue }
            if table.name == "connections", HoopPostgresSchema.columns(of: "resources", at: migrationVersion) != nil {
                // hoop's 000047 made a resource of every connection, and connections.resource_name a key into them.
                let name = present.contains("resource_name") ? "coalesce(resource_name, name)" : "name"
                // One per name: connections may share a resource (the first connection's id names it).
                _ = try copy("resources", columns: ["id", "org_id", "name", "type"] + (migrationVersion >= 49 ? ["subtype"] : []),
                             select: ["min(id)", "min(org_id)", name, "min(type)"] + (migrationVersion >= 49 ? ["min(subtype)"] : []),
                             from: store, table: "connections GROUP BY \(name)", into: session)
            }
            let used = columns.filter { table.columns.map(\.0).contains($0) }
            let select = used.map { column -> String in
                if table.name == "connections" && column == "resource_name" { return present.contains(column) ? "coalesce(resource_name, name)" : "name" }
                return present.contains(column) ? column : "NULL"
            }
            counts[table.name] = try copy(table.name, columns: used, select: select, from: store, table: table.name, into: session)
        }
        // The SQLite layout has no organizations table: each org_id the rows carry becomes one, unnamed.
        try session.execute("""
            INSERT INTO private.orgs (id) SELECT DISTINCT org_id FROM private.sessions WHERE org_id IS NOT NULL
            """, during: "creating private.orgs")
        try session.execute("COMMIT", during: "loading")
        try session.execute("ANALYZE", during: "analysing the loaded tables")
        return Loaded(rows: counts)
    }

    static func sourceColumns(_ table: String, in store: SQLiteDatabase) throws -> Set<String> {
        var out = Set<String>()
        try store.forEachRow("SELECT name FROM pragma_table_info(?)", bind: [.text(table)]) { row in
            if let name = row.text(0) { out.insert(name) }
        }
        return out
    }

    /// Multi-row INSERTs into `target` of `select` (expressions over the SQLite `table`) as text parameters
    /// cast to hoop's types, flushed by rows or bytes. A NULL where hoop has `NOT NULL DEFAULT` takes the default.
    static func copy(_ target: String, columns: [String], select: [String], from store: SQLiteDatabase, table: String,
                     into session: PostgresSession) throws -> Int {
        let types = HoopPostgresSchema.types[target]!
        let defaults = HoopPostgresSchema.notNullDefaults[target] ?? [:]
        var pending: [String?] = []
        var pendingRows = 0, pendingBytes = 0, total = 0
        func flush() throws {
            guard pendingRows > 0 else { return }
            var tuples: [String] = []
            for r in 0..<pendingRows {
                let casts = columns.enumerated().map { i, column in
                    let cast = HoopPostgresSchema.cast("$\(r * columns.count + i + 1)", type: types[column]!)
                    return defaults[column].map { "coalesce(\(cast), \($0))" } ?? cast
                }
                tuples.append("(" + casts.joined(separator: ", ") + ")")
            }
            let sql = "INSERT INTO private.\(target) (\(columns.joined(separator: ", "))) VALUES " + tuples.joined(separator: ", ")
            _ = try session.rows(sql, pending, during: "loading private.\(target)")
            total += pendingRows
            pending.removeAll(keepingCapacity: true)
            pendingRows = 0
            pendingBytes = 0
        }
        try store.forEachRow("SELECT \(select.joined(separator: ", ")) FROM \(table) ORDER BY rowid") { row in
            for i in 0..<Int32(columns.count) {
                let value = row.text(i)
                pendingBytes += value?.utf8.count ?? 0
                pending.append(value)
            }
            pendingRows += 1
            if pendingRows * columns.count > 30_000 || pendingBytes > 8 << 20 { try flush() }
        }
        try flush()
        return total
    }
}
