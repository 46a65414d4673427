import CSQLite
import Foundation

/// The alert state file (SQLite): every finding ever alerted on, with when it was first and last
/// seen, when it was resolved and when it was delivered. A run holds the file's write lock from
/// start to finish, so two runs at once cannot both alert on the same findings.
public final class AlertState {
    public struct Entry: Sendable, Equatable {
        public var fingerprint: String
        public var control: String
        public var test: String
        public var item: String
        public var reasonCode: String
        public var reason: String
        public var severity: String
        public var owner: String
        public var identity: String
        public var resource: String
        public var time: Date
        public var firstSeen: Date
        public var lastSeen: Date
        public var resolvedAt: Date?
        public var deliveredAt: Date?
    }

    let db: SQLiteDatabase
    public let path: String

    /// Opens (or creates) the state and takes its write lock, waiting up to `lockTimeout` seconds.
    public init(path: String, store: String, catalogSHA256: String, lockTimeout: Double) throws {
        self.path = path
        do {
            db = try SQLiteDatabase(path: path, mode: .create)
        } catch {
            throw AlertError.state("\(path): cannot open the alert state: \(error)")
        }
        sqlite3BusyTimeout(db, seconds: lockTimeout)
        do {
            try db.execute("BEGIN IMMEDIATE")
        } catch StoreError.query(_, let reason) where reason.contains("locked") || reason.contains("busy") {
            throw AlertError.locked("\(path): the alert state is locked by another run (waited \(Int(lockTimeout)) s)")
        } catch {
            throw AlertError.state("\(path): not an alert state file (\(error))")
        }
        do {
            try db.execute("""
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS findings (
                    fingerprint TEXT PRIMARY KEY, control TEXT, test TEXT, item TEXT, reason_code TEXT, reason TEXT,
                    severity TEXT, owner TEXT, identity TEXT, resource TEXT, time REAL,
                    first_seen REAL, last_seen REAL, resolved_at REAL, delivered_at REAL);
                """)
        } catch {
            throw AlertError.state("\(path): not an alert state file (\(error))")
        }
        var meta: [String: String] = [:]
        try db.forEachRow("SELECT key, value FROM meta") { meta[$0.text(0) ?? ""] = $0.text(1) ?? "" }
        if meta.isEmpty {
            let insert = try db.prepare("INSERT INTO meta VALUES (?, ?)")
            try insert.run([.text("store"), .text(store)])
            try insert.run([.text("catalog"), .text(catalogSHA256)])
            try insert.run([.text("format"), .text("1")])
        } else {
            if meta["store"] != store {
                throw AlertError.state("\(path): this state belongs to store \(meta["store"] ?? "?"), not \(store); use another --state file")
            }
            if meta["catalog"] != catalogSHA256 {
                throw AlertError.state("\(path): this state was made with another control catalog (sha256 \(meta["catalog"]?.prefix(12) ?? "?")…); use another --state file")
            }
        }
    }

    /// Findings not resolved, by fingerprint.
    public func openEntries() throws -> [String: Entry] {
        var out: [String: Entry] = [:]
        try db.forEachRow("SELECT fingerprint, control, test, item, reason_code, reason, severity, owner, identity, resource, time, first_seen, last_seen, resolved_at, delivered_at FROM findings WHERE resolved_at IS NULL") { r in
            let fingerprint = r.text(0) ?? ""
            func time(_ column: Int32, _ name: String) throws -> Date {
                guard let date = try self.time(r, column, name, fingerprint) else {
                    throw AlertError.state("\(path): finding \(fingerprint): \(name) is missing; the state file is damaged")
                }
                return date
            }
            let e = Entry(fingerprint: fingerprint, control: r.text(1) ?? "", test: r.text(2) ?? "", item: r.text(3) ?? "",
                          reasonCode: r.text(4) ?? "", reason: r.text(5) ?? "", severity: r.text(6) ?? "", owner: r.text(7) ?? "",
                          identity: r.text(8) ?? "", resource: r.text(9) ?? "",
                          time: try time(10, "time"), firstSeen: try time(11, "first_seen"), lastSeen: try time(12, "last_seen"),
                          resolvedAt: try self.time(r, 13, "resolved_at", fingerprint),
                          deliveredAt: try self.time(r, 14, "delivered_at", fingerprint))
            out[e.fingerprint] = e
        }
        return out
    }

    /// A time the state file holds (seconds since 1970, as this tool writes them), or nil for NULL.
    /// Anything else (text, NaN, ±1e300) would trap the date arithmetic of the alert, so the file is
    /// refused as damaged; the range is the one every time of the tool lies in (`Timestamp`).
    func time(_ r: SQLiteStatement, _ column: Int32, _ name: String, _ fingerprint: String) throws -> Date? {
        if r.isNull(column) { return nil }
        let type = sqlite3_column_type(r.stmt, column)
        let seconds = r.double(column) ?? .nan
        guard type == SQLITE_INTEGER || type == SQLITE_FLOAT, seconds.isFinite,
              seconds >= Timestamp.earliest.timeIntervalSince1970, seconds < Timestamp.end.timeIntervalSince1970 else {
            let shown = type == SQLITE_INTEGER || type == SQLITE_FLOAT ? "\(seconds)" : "'\((r.text(column) ?? "").prefix(40))'"
            throw AlertError.state("\(path): finding \(fingerprint): \(name) \(shown) is not a time; the state file is damaged")
        }
        return Date(timeIntervalSince1970: seconds)
    }

    /// Records a delivered run: new findings inserted (or reopened), open ones touched, resolved ones closed.
    public func advance(new: [Entry], stillOpen: [Entry], resolved: [Entry], at now: Date) throws {
        let upsert = try db.prepare("""
            INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
            ON CONFLICT(fingerprint) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                resolved_at = NULL, delivered_at = excluded.delivered_at, reason = excluded.reason, owner = excluded.owner
            """)
        for e in new {
            try upsert.run([.text(e.fingerprint), .text(e.control), .text(e.test), .text(e.item), .text(e.reasonCode), .text(e.reason),
                            .text(e.severity), .text(e.owner), .text(e.identity), .text(e.resource), .double(e.time.timeIntervalSince1970),
                            .double(now.timeIntervalSince1970), .double(now.timeIntervalSince1970), .double(now.timeIntervalSince1970)])
        }
        let touch = try db.prepare("UPDATE findings SET last_seen = ?, delivered_at = ? WHERE fingerprint = ?")
        for e in stillOpen { try touch.run([.double(now.timeIntervalSince1970), .double(now.timeIntervalSince1970), .text(e.fingerprint)]) }
        let close = try db.prepare("UPDATE findings SET resolved_at = ?, delivered_at = ? WHERE fingerprint = ?")
        for e in resolved { try close.run([.double(now.timeIntervalSince1970), .double(now.timeIntervalSince1970), .text(e.fingerprint)]) }
    }

    public func commit() throws { try db.execute("COMMIT") }

    /// Leaves the state as it was (delivery failed, or the run stopped).
    public func rollback() { try? db.execute("ROLLBACK") }
}

public enum AlertError: Error, CustomStringConvertible, Sendable {
    case state(String)
    case locked(String)
    case delivery(String)

    public var description: String {
        switch self {
        case .state(let s), .locked(let s), .delivery(let s): return s
        }
    }
}
