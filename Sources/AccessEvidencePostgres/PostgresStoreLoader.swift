import AccessEvidence
import Foundation

/// Copies an SQLite gateway store into a new PostgreSQL database in hoop's `private` schema, with
/// hoop's column types. It refuses a database that already has a `private` schema: it creates
/// stores to try the tool on, and never writes into a gateway's own.
public enum PostgresStoreLoader {
    public struct Loaded: Sendable {
        public var rows: [String: Int]
    }

    public static func load(sqlite path: String, into location: PostgresLocation, migrationVersion: Int = 119) throws -> Loaded {
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
            counts[table.name] = try copy(table, from: store, into: session)
        }
        // The SQLite layout has no organizations table: each org_id the rows carry becomes one, unnamed.
        try session.execute("""
            INSERT INTO private.orgs (id) SELECT DISTINCT org_id FROM private.sessions WHERE org_id IS NOT NULL
            """, during: "creating private.orgs")
        try session.execute("COMMIT", during: "loading")
        try session.execute("ANALYZE", during: "analysing the loaded tables")
        return Loaded(rows: counts)
    }

    /// Multi-row INSERTs of text parameters cast to hoop's types, flushed by rows or bytes.
    static func copy(_ table: GatewaySchema.Table, from store: SQLiteDatabase, into session: PostgresSession) throws -> Int {
        let columns = table.columns.map(\.0)
        let types = HoopPostgresSchema.types[table.name]!
        var pending: [String?] = []
        var pendingRows = 0, pendingBytes = 0, total = 0
        func flush() throws {
            guard pendingRows > 0 else { return }
            var tuples: [String] = []
            for r in 0..<pendingRows {
                let casts = columns.enumerated().map { i, column in
                    HoopPostgresSchema.cast("$\(r * columns.count + i + 1)", type: types[column]!)
                }
                tuples.append("(" + casts.joined(separator: ", ") + ")")
            }
            let sql = "INSERT INTO private.\(table.name) (\(columns.joined(separator: ", "))) VALUES " + tuples.joined(separator: ", ")
            _ = try session.rows(sql, pending, during: "loading private.\(table.name)")
            total += pendingRows
            pending.removeAll(keepingCapacity: true)
            pendingRows = 0
            pendingBytes = 0
        }
        try store.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(table.name) ORDER BY rowid") { row in
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
