import Crypto
import Foundation

/// Where a snapshot came from and whether it is still what was extracted.
public struct SnapshotProvenance: Sendable, Codable, Equatable {
    public struct TableDigest: Sendable, Codable, Equatable {
        public var rows: Int
        public var sha256: String

        public init(rows: Int, sha256: String) {
            self.rows = rows
            self.sha256 = sha256
        }
    }

    /// The source, as `postgres://user@host:port/database` (never a password).
    public var extractedFrom: String
    public var extractedAt: String
    public var schemaVersion: String?
    public var period: String
    public var tool: String
    public var tables: [String: TableDigest]
    /// Every table's rows hashed again on reading and found equal to the manifest.
    public var verified: Bool
}

/// The `extract_manifest` table a snapshot carries, and the table digest it records.
///
/// A table's digest is the SHA-256 of its rows in insertion order, each row written as PostgreSQL's
/// COPY text format writes it: the gateway-layout columns in declaration order, tab-separated,
/// `\N` for NULL, backslash, tab, newline and carriage return escaped, and a newline after each row.
public enum SnapshotManifest {
    public static let table = "extract_manifest"
    public static let createStatement = """
        CREATE TABLE extract_manifest (section TEXT NOT NULL, name TEXT NOT NULL, value TEXT, parameters TEXT,
                                       row_count INTEGER, sha256 TEXT, PRIMARY KEY (section, name))
        """

    /// Accumulates one table's digest row by row.
    public struct Digest {
        var hasher = SHA256()
        public private(set) var rows = 0

        public init() {}

        public mutating func add(_ values: [String?]) {
            var line: [UInt8] = []
            for (i, value) in values.enumerated() {
                if i > 0 { line.append(9) }
                guard let value else {
                    line += [92, 78]
                    continue
                }
                for byte in value.utf8 {
                    switch byte {
                    case 92: line += [92, 92]
                    case 9: line += [92, 116]
                    case 10: line += [92, 110]
                    case 13: line += [92, 114]
                    default: line.append(byte)
                    }
                }
            }
            line.append(10)
            hasher.update(data: line)
            rows += 1
        }

        public func finalize() -> String { Hex.encode(hasher.finalize()) }
    }

    /// What the source's schema lacked when the snapshot was taken (the manifest's `absent` rows).
    static func absentColumns(_ db: SQLiteDatabase) throws -> [AbsentColumn] {
        var out: [AbsentColumn] = []
        try db.forEachRow("SELECT name, value, parameters FROM extract_manifest WHERE section = 'absent' ORDER BY rowid") { row in
            if let column = row.text(0), let limits = row.text(1), let since = row.text(2).flatMap({ Int($0) }) {
                out.append(AbsentColumn(column: column, addedIn: since, limits: limits))
            }
        }
        return out
    }

    /// Reads the manifest and hashes every table it lists again.
    static func verify(_ db: SQLiteDatabase) throws -> SnapshotProvenance {
        var facts: [String: String] = [:]
        var recorded: [String: SnapshotProvenance.TableDigest] = [:]
        try db.forEachRow("SELECT section, name, value, row_count, sha256 FROM extract_manifest ORDER BY section, name") { row in
            let name = row.text(1) ?? ""
            switch row.text(0) {
            case "source": facts[name] = row.text(2)
            case "table": recorded[name] = .init(rows: row.int(3) ?? -1, sha256: row.text(4) ?? "")
            default: break
            }
        }
        // Every table of the layout must be listed: dropping a table's line must not exempt it.
        var altered = recorded.keys.filter { GatewaySchema.table(named: $0) == nil }.sorted()
        for layout in GatewaySchema.tables.sorted(by: { $0.name < $1.name }) {
            let name = layout.name
            guard let digest = recorded[name] else {
                altered.append("\(name) (not in the manifest)")
                continue
            }
            var again = Digest()
            let columns = layout.columns.map(\.0)
            try db.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(name) ORDER BY rowid") { row in
                again.add((0..<Int32(columns.count)).map { row.text($0) })
            }
            if again.rows != digest.rows || again.finalize() != digest.sha256 { altered.append(name) }
        }
        if !altered.isEmpty { throw StoreError.snapshotAltered(path: db.path, tables: altered) }
        return SnapshotProvenance(extractedFrom: facts["location"] ?? "", extractedAt: facts["extracted_at"] ?? "",
                                  schemaVersion: facts["schema_version"], period: facts["period"] ?? "",
                                  tool: facts["tool"] ?? "", tables: recorded, verified: true)
    }
}
