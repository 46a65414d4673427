import Crypto
import Foundation

/// Every item every test looked at, spooled to a temporary SQLite file as the analysis runs, so a
/// population can be hashed, sampled and written out in canonical order without holding it in memory.
final class PopulationSpool {
    let path: String
    let db: SQLiteDatabase
    let insert: SQLiteStatement
    var rows = 0

    /// In `directory` when given (a report's staging folder, removed with it however the run ends),
    /// else in the temporary folder, registered for removal on SIGINT/SIGTERM.
    init(directory: URL? = nil) throws {
        path = (directory ?? FileManager.default.temporaryDirectory)
            .appendingPathComponent(".access-evidence-population-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).sqlite").path
        Cleanup.shared.register(path)
        do {
            db = try SQLiteDatabase(path: path, mode: .create)
            if let directory {
                // SQLite sorts (the index the spool is read through) in temporary files: those go beside
                // the spool too, so a full or small TMPDIR cannot fail a report.
                try db.execute("PRAGMA temp_store_directory = '\(directory.path.replacingOccurrences(of: "'", with: "''"))'")
            }
            try db.execute("""
                PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
                CREATE TABLE items (test INTEGER, item TEXT, session TEXT, identity TEXT, resource TEXT, time REAL,
                                    outcomes TEXT, exceptions TEXT);
                BEGIN;
                """)
            insert = try db.prepare("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        } catch StoreError.unreadable(_, let reason), StoreError.query(_, let reason) {
            try? FileManager.default.removeItem(atPath: path)
            throw OutputError(path: path, reason: reason, what: "the population spool")
        }
    }

    deinit {
        Cleanup.shared.unregister(path)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Attribute outcomes as `A=pass B=fail C=n/a`, in attribute order.
    static func outcomes(_ attributes: [String: AttributeOutcome]) -> String {
        attributes.keys.sorted().map { key in
            switch attributes[key]! {
            case .pass: return "\(key)=pass"
            case .fail: return "\(key)=fail"
            case .notApplicable: return "\(key)=n/a"
            }
        }.joined(separator: " ")
    }

    /// The spool is the run's own scratch file: when it cannot be written (a full disk), the report
    /// cannot be, and that is what the error says (exit 73), not a problem with the store.
    func writing<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch StoreError.query(_, let reason) {
            throw OutputError(path: path, reason: reason, what: "the population spool")
        }
    }

    func add(test: Int, _ item: ItemResult) throws {
        try writing { try insert.run([.int(test), .text(item.itemID), .text(item.subject.sessionID), .text(item.subject.identity),
                        .text(item.subject.resource), .double(item.subject.time.timeIntervalSince1970),
                        .text(Self.outcomes(item.attributes)), .text(item.exceptions.map(\.reasonCode).joined(separator: " "))]) }
        rows += 1
    }

    func seal() throws {
        try writing { try db.execute("COMMIT; CREATE INDEX items_test_item ON items(test, item);") }
    }

    /// The test's population in canonical order (by item key).
    func forEachRow(test: Int, _ body: (PopulationRow) throws -> Void) throws {
        try db.forEachRow("SELECT item, session, identity, resource, time, outcomes, exceptions FROM items WHERE test = ? ORDER BY item",
                          bind: [.int(test)]) { row in
            try body(PopulationRow(item: row.text(0) ?? "", session: row.text(1) ?? "", identity: row.text(2) ?? "",
                                   resource: row.text(3) ?? "", time: Date(timeIntervalSince1970: row.double(4) ?? 0),
                                   outcomes: row.text(5) ?? "", exceptions: row.text(6) ?? ""))
        }
    }
}

/// One tested item as it appears in a population listing.
public struct PopulationRow: Sendable, Equatable, Codable {
    public var item: String
    public var session: String
    public var identity: String
    public var resource: String
    public var time: Date
    /// `A=pass B=fail …`
    public var outcomes: String
    /// Reason codes of the exceptions raised on the item, space-separated.
    public var exceptions: String

    /// Tick marks per attribute: ✓ passed, ✗ failed, n/a not applicable.
    public var marks: [String: String] {
        var out: [String: String] = [:]
        for part in outcomes.split(separator: " ") {
            let kv = part.split(separator: "=")
            if kv.count == 2 { out[String(kv[0])] = kv[1] == "pass" ? "✓" : kv[1] == "fail" ? "✗" : "n/a" }
        }
        return out
    }

    /// The line the population hash is computed over: tab-separated fields, newline-terminated.
    var canonicalLine: String {
        [item, session, identity, resource, Timestamp.format(time), outcomes, exceptions].joined(separator: "\t") + "\n"
    }
}
