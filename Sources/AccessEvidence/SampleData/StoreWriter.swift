import Crypto
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

    func statement(_ table: String) throws -> (SQLiteStatement, [String]) {
        if let prepared = inserts[table] { return prepared }
        guard let schema = GatewaySchema.table(named: table) else {
            throw StoreError.query(path: db.path, reason: "no table \(table) in the gateway layout")
        }
        let columns = schema.columns.map(\.0)
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        let prepared = (try db.prepare(sql), columns)
        inserts[table] = prepared
        return prepared
    }

    public func finish() throws {
        inserts.removeAll()
        try db.execute("COMMIT")
        try db.execute("ANALYZE")
        try db.execute("VACUUM")
    }

    /// hoop's blob ids: UUIDv5 (SHA-1, URL namespace) of `blobinput:<session>` and the like.
    static func uuidV5(_ name: String) -> String {
        let namespace: [UInt8] = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8]
        var bytes = Array(Insecure.SHA1.hash(data: Data(namespace + Array(name.utf8)))).prefix(16).map { $0 }
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return formatUUID(bytes)
    }

    static func formatUUID(_ b: [UInt8]) -> String {
        let hex = Hex.encode(b)
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }

    static func json(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
