import CSQLite
import Foundation

/// A thin handle over the SQLite C API: just what the readers and the sample-data
/// writer need, with errors that carry SQLite's own message.
public final class SQLiteDatabase {
    let handle: OpaquePointer
    public let path: String

    /// `immutable`: read-only, and SQLite told the file cannot change, so it takes no locks and opens
    /// (or creates) no `-wal`, `-shm` or journal next to it.
    public enum Mode { case readOnly, immutable, create }

    public init(path: String, mode: Mode) throws {
        var db: OpaquePointer?
        let flags: Int32
        var name = path
        switch mode {
        case .readOnly: flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        case .immutable:
            flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
            name = Self.uri(path, query: "immutable=1")
        case .create: flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        }
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw StoreError.unreadable(path: path, reason: message)
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// `file:` URI of a path: absolute, every byte but unreserved ones and `/` percent-encoded, so `?`,
    /// `#` and `%` in a file name stay part of the name.
    static func uri(_ path: String, query: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var out = "file://"
        for byte in absolute.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out + "?" + query
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &err) != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(err)
            throw StoreError.query(path: path, reason: message)
        }
    }

    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw StoreError.query(path: path, reason: errorMessage)
        }
        return SQLiteStatement(stmt, db: self)
    }

    /// Runs a query and hands each row to `body`; one row in memory at a time.
    public func forEachRow(_ sql: String, bind: [SQLiteValue] = [], _ body: (SQLiteStatement) throws -> Void) throws {
        let stmt = try prepare(sql)
        try stmt.bind(bind)
        while try stmt.step() { try body(stmt) }
    }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    public func scalarInt(_ sql: String, bind: [SQLiteValue] = []) throws -> Int {
        var result = 0
        try forEachRow(sql, bind: bind) { result = $0.int(0) ?? 0 }
        return result
    }
}

public enum SQLiteValue: Sendable {
    case text(String)
    case int(Int)
    case double(Double)
    case null
}

public final class SQLiteStatement {
    let stmt: OpaquePointer
    let db: SQLiteDatabase

    init(_ stmt: OpaquePointer, db: SQLiteDatabase) {
        self.stmt = stmt
        self.db = db
    }

    deinit { sqlite3_finalize(stmt) }

    public func bind(_ values: [SQLiteValue]) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .text(let s): rc = sqlite3_bind_text(stmt, index, s, -1, SQLITE_TRANSIENT)
            case .int(let i): rc = sqlite3_bind_int64(stmt, index, Int64(i))
            case .double(let d): rc = sqlite3_bind_double(stmt, index, d)
            case .null: rc = sqlite3_bind_null(stmt, index)
            }
            guard rc == SQLITE_OK else { throw StoreError.query(path: db.path, reason: db.errorMessage) }
        }
    }

    /// Advances to the next row; `false` once the result is exhausted.
    public func step() throws -> Bool {
        switch sqlite3_step(stmt) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw StoreError.query(path: db.path, reason: db.errorMessage)
        }
    }

    /// Binds, runs to completion and resets: for inserts.
    public func run(_ values: [SQLiteValue]) throws {
        try bind(values)
        while try step() {}
    }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    /// SQLite lets any cell hold a BLOB whatever the column's declared type.
    public func isBlob(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_BLOB }

    public func text(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, column) else { return nil }
        let count = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
    }

    public func bytes(_ column: Int32) -> [UInt8]? {
        guard sqlite3_column_type(stmt, column) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(stmt, column))
        guard count > 0, let p = sqlite3_column_blob(stmt, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    public func int(_ column: Int32) -> Int? {
        switch sqlite3_column_type(stmt, column) {
        case SQLITE_NULL: return nil
        case SQLITE_INTEGER: return Int(exactly: sqlite3_column_int64(stmt, column))
        case SQLITE_FLOAT: return Int(exactly: sqlite3_column_double(stmt, column))
        default: return text(column).flatMap { Int($0.trimmed(.whitespaces)) }
        }
    }

    public func double(_ column: Int32) -> Double? {
        sqlite3_column_type(stmt, column) == SQLITE_NULL ? nil : sqlite3_column_double(stmt, column)
    }

}

/// How long a statement waits for another connection's lock before failing; clamped to what
/// SQLite takes (about 24 days), so no value of `--lock-timeout` can trap.
public func sqlite3BusyTimeout(_ db: SQLiteDatabase, seconds: Double) {
    let milliseconds = seconds.isNaN ? 0 : min(max(seconds, 0) * 1000, Double(Int32.max))
    sqlite3_busy_timeout(db.handle, Int32(milliseconds))
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

// SQLite's SQLITE_TRANSIENT macro does not import into Swift.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
