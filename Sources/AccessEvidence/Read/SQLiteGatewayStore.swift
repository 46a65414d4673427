import Foundation

/// Reads an SQLite gateway store (hoop's layout without the `private.` schema; hoop-store.md §7),
/// such as `SampleData/` or a snapshot. The file is opened read-only; sessions are streamed with one cursor.
public final class SQLiteGatewayStore: ReaderBackedStore, RowSource {
    public let path: String
    let db: SQLiteDatabase
    public let dialect: any SQLDialect
    /// A snapshot's provenance, its tables verified against the manifest when the store was opened.
    public let snapshot: SnapshotProvenance?
    public lazy var reader = GatewayRecordReader(source: self)


    /// The store file and the `-wal` read with it: what `source.sha256` covers.
    let files: StoreFiles
    /// The files' SHA-256 when `hashInBackground` started it: a 2 GB store takes seconds to hash,
    /// which then overlap the reading instead of following it.
    private var backgroundHash: BackgroundResult<String>?

    public init(path: String) throws {
        self.path = path
        // Before SQLite opens anything: a FIFO would block the open, a hot journal or a -wal without
        // -shm would make SQLite write or create files next to the store (see `StoreFiles`).
        files = try StoreFiles.inspect(path)
        db = try SQLiteDatabase(path: path, mode: files.immutable ? .immutable : .readOnly)
        // 16 MB of pages instead of SQLite's 2 MB: every session looks up its blobs, review,
        // decisions and metrics through indexes, and with their upper levels cached the lookups stop
        // re-reading them (a sixth less time at a million sessions; memory stays bounded by it).
        try db.execute("PRAGMA cache_size = -16384")
        try Self.checkTables(db)
        dialect = SQLiteDialect(columns: try Self.checkSchema(db))
        // Verified before anything is read, so an altered snapshot costs no analysis and is reported as such.
        snapshot = try Self.tableExists(db, SnapshotManifest.table) ? try SnapshotManifest.verify(db) : nil
    }

    /// Every table of the layout must be an ordinary table. A view runs its query on every read (a
    /// recursive CTE never ends) and a virtual table runs a module's code: neither is stored data.
    static func checkTables(_ db: SQLiteDatabase) throws {
        var wrong: [String] = []
        let names = GatewaySchema.tables.map(\.name)
        try db.forEachRow("""
            SELECT name, type, sql FROM sqlite_master
            WHERE type IN ('table', 'view') AND lower(name) IN (\(names.map { _ in "?" }.joined(separator: ", ")))
            ORDER BY lower(name)
            """, bind: names.map { .text($0) }) { row in
            let name = row.text(0) ?? "", type = row.text(1) ?? ""
            let sql = (row.text(2) ?? "").drop { $0.isWhitespace }.prefix(40).uppercased()
            let words = sql.split(whereSeparator: \.isWhitespace).prefix(3).joined(separator: " ")
            if type == "view" {
                wrong.append("\(name) is a view")
            } else if words.hasPrefix("CREATE VIRTUAL TABLE") {
                wrong.append("\(name) is a virtual table")
            }
        }
        if !wrong.isEmpty {
            throw StoreError.refused(path: db.path, reason: "not a gateway store: \(wrong.joined(separator: ", ")); every table of the layout must be an ordinary table holding its rows")
        }
    }

    /// Every missing table or required column, in one error; the columns present, by table.
    static func checkSchema(_ db: SQLiteDatabase) throws -> [String: Set<String>] {
        var missing: [String] = []
        var columns: [String: Set<String>] = [:]
        for table in GatewaySchema.tables {
            var present = Set<String>()
            try db.forEachRow("SELECT name FROM pragma_table_info(?)", bind: [.text(table.name)]) { row in
                if let name = row.text(0) { present.insert(name) }
            }
            if present.isEmpty {
                if !table.mayBeAbsent { missing.append("table \(table.name)") }
                continue
            }
            columns[table.name] = present
            for column in table.columns.map(\.0) where table.required.contains(column) && !present.contains(column) {
                missing.append("column \(table.name).\(column)")
            }
        }
        if !missing.isEmpty { throw StoreError.missingSchema(path: db.path, missing: missing) }
        return columns
    }

    /// What a pull from hoop's API could not give (its manifest's `absent` rows of migration 0): the
    /// tests it limits say so, in a report from the pull and from its snapshot alike.
    public func limitedTests() throws -> [String: [String]] {
        snapshot == nil ? [:] : HoopAPIStore.testLimits(try SnapshotManifest.absentColumns(db))
    }

    public func forEachSession(in period: Period, _ body: (consuming SessionRecord) throws -> Void) throws {
        // A created_at that is not text (a BLOB, a number, NULL) falls in no text range: its session
        // belongs to no period and would vanish without a word. Each is listed, whatever the period.
        // Counted first: the count reads an index on created_at where there is one (64 MB at a million
        // sessions, 0.1 s), where listing the ids reads every session row (448 MB, 3.4 s) before the
        // first session can be tested. Listed only when there are any.
        if try db.scalarInt("SELECT COUNT(*) FROM sessions WHERE typeof(created_at) <> 'text'") > 0 {
            try db.forEachRow("SELECT id, typeof(created_at) FROM sessions WHERE typeof(created_at) <> 'text' ORDER BY id") { row in
                let id = reader.rowID(row, 0, "sessions", "id") ?? "(no id)"
                reader.note("sessions", "created_at", id, "a \(row.text(1) ?? "non-text") value where a timestamp is expected; the session belongs to no period and is not tested")
            }
        }
        try reader.forEachSession(in: period, body)
    }

    public func forEachRow(_ sql: String, binds: [String], _ body: (any StoreRow) throws -> Void) throws {
        try db.forEachRow(sql, bind: binds.map { .text($0) }) { try body($0) }
    }

    /// A second prepared statement on the same connection, stepped when asked.
    public func cursor(_ sql: String, binds: [String]) throws -> any RowCursor {
        let statement = try db.prepare(sql)
        try statement.bind(binds.map { .text($0) })
        return SQLiteCursor(statement: statement)
    }

    var hashedPaths: [String] { [path] + (files.wal.map { [$0] } ?? []) }

    /// Starts hashing the store's files on a thread of their own; `describe` waits for the result.
    public func hashInBackground() {
        guard backgroundHash == nil else { return }
        let paths = hashedPaths
        backgroundHash = BackgroundResult(name: "access-evidence store hash") { try FileHash.sha256(paths: paths) }
    }

    public func describe() throws -> SourceInfo {
        var counts: [String: Int] = [:]
        for table in GatewaySchema.tables where (dialect as? SQLiteDialect)?.columns[table.name] != nil {
            let (sql, binds) = reader.countQuery(table.name)
            counts[table.name] = try db.scalarInt(sql, bind: binds.map { .text($0) })
        }
        var version: String?
        if try Self.tableExists(db, "schema_migrations") {
            try db.forEachRow("SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1") { version = $0.text(0) }
        }
        let sha256 = try backgroundHash?.value() ?? FileHash.sha256(paths: hashedPaths)
        var info = SourceInfo(kind: "sqlite", location: path, sha256: sha256,
                              rowCounts: counts, schemaVersion: version)
        info.queries = reader.queries.mapValues {
            $0 + " -- bound to the days around the period; exact [start, end) applied to the parsed created_at"
        }
        info.sessionTally = reader.sessionTally
        info.organization = reader.organization.map { OrganizationRef(id: $0.id, name: $0.name) }
        let columns = (dialect as? SQLiteDialect)?.columns ?? [:]
        info.absentColumns = GatewaySchema.absentLateColumns { columns[$0] }
        if let snapshot {
            info.snapshot = snapshot
            // The source's schema limits, which the snapshot's own (complete) layout no longer shows.
            let carried = try SnapshotManifest.absentColumns(db)
            info.absentColumns = carried + info.absentColumns.filter { own in !carried.contains { $0.column == own.column } }
            info.schemaVersion = snapshot.schemaVersion ?? version
        }
        return info
    }

    static func tableExists(_ db: SQLiteDatabase, _ name: String) throws -> Bool {
        try db.scalarInt("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?", bind: [.text(name)]) > 0
    }

    public func countSessions(in period: Period) throws -> (count: Int, query: String) {
        // Text comparison on the canonical form; rows stored in other forms show up in the reconciliation.
        let (start, end) = SQLiteDialect.countBounds(period)
        let org = reader.orgBinds.isEmpty ? "" : " AND CAST(org_id AS TEXT) = ?"
        let count = try db.scalarInt("SELECT COUNT(*) FROM sessions WHERE created_at >= ? AND created_at < ?" + org,
                                     bind: ([start, end] + reader.orgBinds).map { .text($0) })
        let shownOrg = reader.orgBinds.map { " AND org_id = '\($0)'" }.joined()
        return (count, "SELECT COUNT(*) FROM sessions WHERE created_at >= '\(start)' AND created_at < '\(end)'" + shownOrg)
    }

    /// The `org_id`s the sessions carry (the SQLite layout has no organizations table; a snapshot
    /// holds one organization).
    public func organizations(in period: Period) throws -> [StoreOrganization] {
        let (start, end) = SQLiteDialect.countBounds(period)
        return try reader.organizationsFromSessions(bounds: [start, end])
    }
}

/// The SQLite layout is the canonical one: columns are read as stored.
struct SQLiteDialect: SQLDialect {
    let columns: [String: Set<String>]

    func table(_ name: String) -> String { name }

    func hasTable(_ name: String) -> Bool { columns[name] != nil }

    func value(_ alias: String, _ table: String, _ column: String) -> String {
        columns[table]?.contains(column) == true ? "\(alias).\(column)" : "NULL"
    }

    func jsonRows(_ expressions: [String], table: String, alias: String, where condition: String, orderBy: String) -> String {
        // json_group_array keeps no order the SQL can set; the reader sorts what it needs. A BLOB would
        // fail the whole query ("JSON cannot hold BLOB values"), so it becomes {"blob": length}, which
        // the reader records against its table.column and row.
        let safe = expressions.map { e in
            e == "NULL" ? e : "CASE WHEN typeof(\(e)) = 'blob' THEN json_object('blob', length(\(e))) ELSE \(e) END"
        }
        return "(SELECT json_group_array(json_array(\(safe.joined(separator: ", ")))) FROM \(table) \(alias) WHERE \(condition))"
    }

    /// The plain count's bounds: the period's start and end in the canonical text form, to the second.
    static func countBounds(_ period: Period) -> (String, String) {
        (String(Timestamp.format(period.start).prefix(19)), String(Timestamp.format(period.end).prefix(19)))
    }

    /// The plain count compares `created_at` as text (SQLite's BINARY collation: bytes), so it counts
    /// by the stored form, not the instant.
    func countsSession(createdAt text: String?, parsed: Date?, in period: Period) -> Bool {
        guard let text else { return false }
        let (start, end) = countBounds.bounds(period)
        return !text.utf8.lexicographicallyPrecedes(start.utf8) && text.utf8.lexicographicallyPrecedes(end.utf8)
    }

    /// The bounds of the period last asked for: asked once per session, formatting them each time
    /// cost about a second at a million sessions.
    private let countBounds = CountBounds()

    private final class CountBounds: @unchecked Sendable {
        private let lock = NSLock()
        private var period: Period?
        private var bounds = ("", "")

        func bounds(_ period: Period) -> (String, String) {
            lock.lock()
            defer { lock.unlock() }
            if period != self.period {
                self.period = period
                bounds = SQLiteDialect.countBounds(period)
            }
            return bounds
        }
    }

    func timestampParameter(_ n: Int) -> String { "?" }

    func textParameter(_ n: Int) -> String { "?" }

    /// Stored timestamps differ in separator, precision and offset, so text comparison is only
    /// safe on whole days: SQL narrows to the surrounding days, Swift applies the exact bounds.
    func bounds(_ period: Period) -> [String] {
        [Timestamp.formatDay(period.start.addingTimeInterval(-86_400)), Timestamp.formatDay(period.end.addingTimeInterval(2 * 86_400))]
    }

    func sortKey(_ expression: String) -> String { expression }
}

final class SQLiteCursor: RowCursor {
    let statement: SQLiteStatement
    private var done = false

    init(statement: SQLiteStatement) { self.statement = statement }

    func next() throws -> (any StoreRow)? {
        guard !done else { return nil }
        if try statement.step() { return statement }
        done = true
        return nil
    }
}
