import Foundation

/// Writes rows into a new SQLite gateway store, one prepared insert per table, in one transaction.
public final class StoreWriter {
    public let db: SQLiteDatabase
    var inserts: [String: (SQLiteStatement, [String])] = [:]

    public init(path: String) throws {
        db = try SQLiteDatabase(path: path, mode: .create)
        try db.execute("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 4096;")
        try db.execute("BEGIN")
        for sql in GatewaySchema.createStatements() { try db.execute(sql) }
    }

    public func insert(_ table: String, _ values: [String: SQLiteValue]) throws {
        let (stmt, columns) = try statement(table)
        for key in values.keys where !columns.contains(key) {
            throw StoreError.query(path: db.path, reason: "no column \(table).\(key)")
        }
        try stmt.run(columns.map { values[$0] ?? .null })
    }

    /// One row given in the table's declaration order (`GatewaySchema`).
    public func insert(_ table: String, row values: [SQLiteValue]) throws {
        try statement(table).0.run(values)
    }

    /// One row given in the table's declaration order, unless a row with the same key (primary key
    /// or unique index) is there already: false then, and the table is unchanged.
    public func insertIfNew(_ table: String, row values: [SQLiteValue]) throws -> Bool {
        try statement(table, ignoringRepeats: true).0.run(values)
        return db.changes > 0
    }

    func statement(_ table: String, ignoringRepeats: Bool = false) throws -> (SQLiteStatement, [String]) {
        let key = ignoringRepeats ? "OR IGNORE " + table : table
        if let prepared = inserts[key] { return prepared }
        guard let schema = GatewaySchema.table(named: table) else {
            throw StoreError.query(path: db.path, reason: "no table \(table) in the gateway layout")
        }
        let columns = schema.columns.map(\.0)
        let sql = "INSERT \(ignoringRepeats ? "OR IGNORE " : "")INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        let prepared = (try db.prepare(sql), columns)
        inserts[key] = prepared
        return prepared
    }

    /// The order a gateway writes its tables in: rows are appended as sessions happen, so a real
    /// store's rows lie in time order on disk (PostgreSQL's heap as SQLite's rowids). A generator
    /// draws moments at random; without this, every session of a report would be a random seek
    /// into a store the size of the period, which no gateway's store is.
    static let timeOrder: [(table: String, order: String)] = [
        ("sessions", "created_at, id"),
        ("blobs", "created_at, id"),
        ("session_metrics", "session_created_at, id"),
        ("reviews", "created_at, id"),
        ("review_groups", "(SELECT r.created_at FROM reviews r WHERE r.id = review_id), id"),
        ("events", "occurred_at, id"),
        ("security_audit_log", "created_at, id"),
    ]

    /// Rewrites the tables of `timeOrder` in that order (rows, indexes and declarations unchanged).
    public func arrangeInTimeOrder() throws {
        for (table, order) in Self.timeOrder {
            var declaration: String?
            var indexes: [String] = []
            try db.forEachRow("SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", bind: [.text(table)]) { row in
                if row.text(0) == "table" { declaration = row.text(1) } else if let sql = row.text(1) { indexes.append(sql) }
            }
            // The columns as declared, from the first parenthesis on, whatever spelling the name has.
            guard let declaration, let columns = declaration.firstIndex(of: "(") else {
                throw StoreError.query(path: db.path, reason: "no declaration of \(table) to rewrite in time order")
            }
            // The new table is made under another name and renamed last, so nothing that may refer to
            // the old one is rewritten to a table about to be dropped.
            let ordered = table + "_in_time_order"
            try db.execute("CREATE TABLE \(ordered) " + declaration[columns...])
            try db.execute("INSERT INTO \(ordered) SELECT * FROM \(table) ORDER BY \(order)")
            try db.execute("DROP TABLE \(table)")
            try db.execute("ALTER TABLE \(ordered) RENAME TO \(table)")
            for sql in indexes { try db.execute(sql) }
        }
    }

    /// Commits and gathers the planner's statistics; with `compact`, rewrites the file packed
    /// (VACUUM: a file others keep, as a snapshot is, is smaller; it costs a rewrite of the whole
    /// file and as much free space again, which a file read once and removed does not need).
    public func finish(compact: Bool = true) throws {
        inserts.removeAll()
        try db.execute("COMMIT")
        try db.execute("ANALYZE")
        if compact { try db.execute("VACUUM") }
    }


    /// `value` as JSON, keys sorted and slashes not escaped, as `JSONSerialization` writes it with
    /// `.sortedKeys` and `.withoutEscapingSlashes`; strings, integers, booleans, arrays and string-keyed
    /// objects are written here (much faster at a million sessions), anything else by `JSONSerialization`.
    static func json(_ value: Any) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        if appendJSON(value, to: &out) { return String(decoding: out, as: UTF8.self) }
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private static func appendJSON(_ value: Any, to out: inout [UInt8]) -> Bool {
        switch value {
        case let text as String:
            appendJSONString(text, to: &out)
        case let flag as Bool:
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case let number as Int:
            out.append(contentsOf: String(number).utf8)
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard appendJSON(element, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                guard appendJSON(object[key]!, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        default:
            return false
        }
        return true
    }

    private static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: Array("\\b".utf8))
            case 0x0C: out.append(contentsOf: Array("\\f".utf8))
            case 0x0A: out.append(contentsOf: Array("\\n".utf8))
            case 0x0D: out.append(contentsOf: Array("\\r".utf8))
            case 0x09: out.append(contentsOf: Array("\\t".utf8))
            case ..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(Hex.digits[Int(byte >> 4)])
                out.append(Hex.digits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
