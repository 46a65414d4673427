@testable import AccessEvidence
import Foundation
import Testing

// Building hostile stores: a small valid store with sessions of every kind, then SQL and byte-level
// mutations of its copy. Values go in as SQL literals (hex for bytes), so a store can hold what
// no writer of ours would produce: invalid UTF-8, wrong types, NULL in NOT NULL columns.

/// The base of every generated hostile store: the generator's planted sessions (exec with scripts,
/// connect with recordings on postgres, mysql, ssh, kubernetes and http; one-time and JIT reviews
/// with group decisions; masking metrics; guardrail blocks; AI verdicts; users, groups,
/// connections, plugins, configuration changes, events) without routine ones, plus a few values in
/// columns the generator leaves empty. Built once per test process.
func fuzzBaseStore() throws -> String {
    try FixtureCache.shared.path("fuzz-base") { path in
        _ = try SampleStoreGenerator(seed: 2026, sessions: 0, period: q3).write(to: path)
        let db = try SQLiteDatabase(path: path, mode: .create)
        try db.execute("""
            UPDATE sessions SET labels = '{"team":"core"}', metadata = '{"ticket":"CHG-1042"}',
                integrations_metadata = '{"jira":{"issue":"OPS-7"}}' WHERE rowid % 3 = 0;
            UPDATE sessions SET machine_identity_id = 'mi-' || id WHERE rowid % 11 = 0;
            UPDATE reviews SET input_env_vars = '{"PGUSER":"app"}', input_client_args = '["-c","select 1"]' WHERE rowid % 2 = 0;
            """)
    }
}

/// A larger store for runs that must still be going after a second (signal tests). Built once.
func fuzzLargeStore() throws -> String {
    try FixtureCache.shared.path("fuzz-large") { path in
        _ = try SampleStoreGenerator(seed: 7, sessions: 3000, period: q3).write(to: path)
    }
}

enum SQL {
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8](repeating: 0, count: bytes.count * 2)
        for (i, b) in bytes.enumerated() {
            out[2 * i] = digits[Int(b >> 4)]
            out[2 * i + 1] = digits[Int(b & 0x0F)]
        }
        return String(decoding: out, as: UTF8.self)
    }
    /// Text with exactly these bytes (valid UTF-8 or not).
    static func text(_ bytes: [UInt8]) -> String { bytes.isEmpty ? "''" : "CAST(X'\(hex(bytes))' AS TEXT)" }
    static func text(_ s: String) -> String { text(Array(s.utf8)) }
    static func blob(_ bytes: [UInt8]) -> String { "X'\(hex(bytes))'" }
    /// A string of `count` copies of `unit` built by SQLite itself (no multi-megabyte statement).
    static func repeated(_ unit: String, _ count: Int) -> String {
        "replace(hex(zeroblob(\(count))), '00', \(text(unit)))"
    }
}

/// What a column holds, for choosing what to put in it.
enum ColumnRole { case number, time, json, enumeration, text }

enum StoreShape {
    /// Columns whose values are JSON text (jsonb and text[] in hoop).
    static let jsonColumns: Set<String> = [
        "sessions.connection_tags", "sessions.labels", "sessions.metadata", "sessions.metrics", "sessions.integrations_metadata",
        "sessions.ai_analysis", "sessions.guardrails_info", "reviews.input_env_vars", "reviews.input_client_args",
        "reviews.time_window", "reviews.force_approval_groups", "connections._tags", "connections.force_approve_groups",
        "connections.mandatory_metadata_fields", "plugin_connections.config", "security_audit_log.request_payload_redacted",
        "events.payload", "blobs.blob_stream",
    ]
    /// Columns whose few known values steer the analysis (kinds, states, protocols): text classes
    /// leave them alone so hostile text travels the deep paths instead of stopping at "unknown type".
    static let enumerations: Set<String> = [
        "sessions.connection_type", "sessions.connection_subtype", "sessions.verb", "sessions.status", "sessions.identity_type",
        "blobs.type", "blobs.format", "reviews.type", "reviews.status", "review_groups.status", "users.status",
        "connections.type", "connections.subtype", "connections.status", "connections.access_mode_runbooks",
        "connections.access_mode_exec", "connections.access_mode_connect", "connections.access_schema", "plugins.name",
        "plugins.source", "security_audit_log.resource_type", "security_audit_log.action", "security_audit_log.http_method",
        "events.event_type", "events.source", "session_metrics.connection_type", "session_metrics.connection_subtype",
        "session_metrics.info_type",
    ]

    static func role(_ table: String, _ column: String, _ type: String) -> ColumnRole {
        let key = "\(table).\(column)"
        if type.hasPrefix("INTEGER") { return .number }
        if column.hasSuffix("_at") { return .time }
        if jsonColumns.contains(key) { return .json }
        if enumerations.contains(key) { return .enumeration }
        return .text
    }

    static var tables: [GatewaySchema.Table] { GatewaySchema.tables }

    static func columns(_ table: String, _ roles: Set<ColumnRole>) -> [String] {
        guard let t = GatewaySchema.table(named: table) else { return [] }
        return t.columns.filter { roles.contains(role(table, $0.0, $0.1)) }.map(\.0)
    }
}

enum Mutate {
    /// Recreates `table` with untyped columns and no constraints or indexes, so any value of any
    /// type (NULL in `created_at`, a duplicate id, an integer in a text column) stays as written.
    static func relax(_ db: SQLiteDatabase, _ table: String) throws {
        let cols = try columnNames(db, table)
        let list = cols.joined(separator: ", ")
        try db.execute("""
            CREATE TABLE fuzz_relaxed (\(list)); INSERT INTO fuzz_relaxed SELECT \(list) FROM \(table);
            DROP TABLE \(table); ALTER TABLE fuzz_relaxed RENAME TO \(table);
            """)
    }

    static func columnNames(_ db: SQLiteDatabase, _ table: String) throws -> [String] {
        var cols: [String] = []
        try db.forEachRow("SELECT name FROM pragma_table_info(?)", bind: [.text(table)]) { if let n = $0.text(0) { cols.append(n) } }
        return cols
    }

    static func rowids(_ db: SQLiteDatabase, _ table: String, where condition: String = "1") throws -> [Int] {
        var ids: [Int] = []
        try db.forEachRow("SELECT rowid FROM \(table) WHERE \(condition) ORDER BY rowid") { if let i = $0.int(0) { ids.append(i) } }
        return ids
    }

    /// Rewrites one column row by row: `transform` gets the stored bytes (nil for NULL) and
    /// returns the SQL literal of the new value, or nil to leave the row as it is.
    static func rewrite(_ db: SQLiteDatabase, _ table: String, _ column: String, where condition: String = "1",
                        _ transform: (_ rowid: Int, _ value: [UInt8]?) throws -> String?) throws {
        var rows: [(Int, [UInt8]?)] = []
        try db.forEachRow("SELECT rowid, \(column) FROM \(table) WHERE \(condition) ORDER BY rowid") { r in
            rows.append((r.int(0) ?? 0, r.bytes(1)))
        }
        for (rowid, value) in rows {
            guard let literal = try transform(rowid, value) else { continue }
            try db.execute("UPDATE \(table) SET \(column) = \(literal) WHERE rowid = \(rowid)")
        }
    }

    /// `s` as the inside of a JSON string: quote, backslash and C0 controls escaped, every other
    /// byte (invalid UTF-8 included) as it is.
    static func jsonEscaped(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for b in s {
            switch b {
            case 0x22: out += Array("\\\"".utf8)
            case 0x5C: out += Array("\\\\".utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
            default: out.append(b)
            }
        }
        return out
    }

    /// Adds `prefix` after the opening and `suffix` before the closing quote of every JSON string
    /// that is a value (keys keep their names, so the reader still finds its fields). Bytes go in
    /// as given: escape them first (`jsonEscaped`) unless the point is broken JSON.
    static func wrapJSONStrings(_ json: [UInt8], prefix: [UInt8], suffix: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(json.count)
        var i = 0
        while i < json.count {
            let c = json[i]
            guard c == 0x22 else { out.append(c); i += 1; continue }
            var j = i + 1
            while j < json.count, json[j] != 0x22 { j += json[j] == 0x5C ? 2 : 1 }
            guard j < json.count else { out += json[i...]; break }
            var k = j + 1
            while k < json.count, [0x20, 0x0A, 0x0D, 0x09].contains(json[k]) { k += 1 }
            let isKey = k < json.count && json[k] == 0x3A
            out.append(0x22)
            if !isKey { out += prefix }
            out += json[(i + 1)..<j]
            if !isKey { out += suffix }
            out.append(0x22)
            i = j + 1
        }
        return out
    }

    /// A recording in hoop's format from events; `elapsed` writes each event's time.
    static func recording(_ events: [HoopRecording.Event], elapsed: (Double) -> String = { String($0) }) -> [UInt8] {
        var out: [UInt8] = Array("[".utf8)
        for (n, e) in events.enumerated() {
            if n > 0 { out.append(0x2C) }
            out += Array("[\(elapsed(e.elapsed)),\"".utf8) + jsonEscaped([e.kind]) + Array("\",\"\(Base64.encode(e.payload))\"]".utf8)
        }
        return out + Array("]".utf8)
    }

    /// Rewrites every recording (`session-stream` blob) that decodes; `transform` returns the new blob bytes.
    static func recordings(_ db: SQLiteDatabase, _ transform: ([HoopRecording.Event]) -> [UInt8]) throws {
        try rewrite(db, "blobs", "blob_stream", where: "type = 'session-stream'") { _, value in
            guard let value, let events = try? HoopRecording.decode(value) else { return nil }
            return SQL.text(transform(events))
        }
    }

    /// Rewrites every exec script (`session-input` blob).
    static func inputs(_ db: SQLiteDatabase, _ transform: ([UInt8]) -> [UInt8]) throws {
        try rewrite(db, "blobs", "blob_stream", where: "type = 'session-input'") { _, value in
            guard let value else { return nil }
            return SQL.text(transform(value))
        }
    }

    /// Puts `prefix` before and `suffix` after every value a person or system could have typed:
    /// every text column but the enumerations and times (ids too: the same text on both sides of a
    /// join keeps the join), every string value inside JSON columns, every recorded event's payload
    /// and every exec script. `jsonPrefix`/`jsonSuffix` are what goes into JSON strings (default:
    /// the same bytes, escaped).
    static func everywhere(_ db: SQLiteDatabase, prefix: [UInt8], suffix: [UInt8],
                           jsonPrefix: [UInt8]? = nil, jsonSuffix: [UInt8]? = nil) throws {
        let jp = jsonPrefix ?? jsonEscaped(prefix), js = jsonSuffix ?? jsonEscaped(suffix)
        for table in StoreShape.tables {
            let texts = StoreShape.columns(table.name, [.text])
            if !texts.isEmpty {
                let sets = texts.map { "\($0) = \(SQL.text(prefix)) || \($0) || \(SQL.text(suffix))" }.joined(separator: ", ")
                // Concatenation with NULL stays NULL: absent values stay absent.
                try db.execute("UPDATE \(table.name) SET \(sets)")
            }
            for column in StoreShape.columns(table.name, [.json]) where !(table.name == "blobs") {
                try rewrite(db, table.name, column) { _, value in
                    guard let value, !value.isEmpty else { return nil }
                    return SQL.text(wrapJSONStrings(value, prefix: jp, suffix: js))
                }
            }
        }
        try recordings(db) { events in
            recording(events.map { var e = $0; e.payload = prefix + e.payload + suffix; return e })
        }
        try inputs(db) { wrapJSONStrings($0, prefix: jp, suffix: js) }
    }
}

/// The generator's SplitMix64: small, fast and the same everywhere, so a seed names one case on any machine.
typealias SplitMix64 = SeededGenerator
