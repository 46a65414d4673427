@testable import AccessEvidence
import Foundation
import Testing

// Generated hostile stores, each a case run through the executable (`report --format
// html,xlsx,json`) under the harness's checks. With a fresh writable --out, hostile data may end
// in a report (0) or "bad input data" (65); anything else is a finding.

/// One hostile store: a mutation of the base store.
struct StoreCase: Sendable, CustomTestStringConvertible {
    let name: String
    var allowed: Set<Int32> = dataOutcomes
    let mutate: @Sendable (SQLiteDatabase) throws -> Void
    var testDescription: String { name }

    init(_ name: String, allowed: Set<Int32> = dataOutcomes, _ mutate: @escaping @Sendable (SQLiteDatabase) throws -> Void) {
        self.name = name
        self.allowed = allowed
        self.mutate = mutate
    }
}

/// Builds the case's store from the base and runs the report on it under every check.
@discardableResult
func runStoreCase(_ c: StoreCase, extra: [String] = [], inspect: (FuzzCase, ChildResult) throws -> Void = { _, _ in }) throws -> ChildResult {
    let fc = try FuzzCase(c.name)
    defer { fc.finish() }
    try copyFile(try fuzzBaseStore(), fc.storePath)
    do {
        let db = try SQLiteDatabase(path: fc.storePath, mode: .create)
        try c.mutate(db)
    }
    let result = try fc.checkedRun(fc.reportArguments(extra: extra), allowed: c.allowed)
    try inspect(fc, result)
    return result
}

/// A string of the given scalars (Swift literals refuse noncharacters such as U+FFFE).
func scalars(_ values: UInt32...) -> String {
    var s = String.UnicodeScalarView()
    for v in values { if let u = Unicode.Scalar(v) { s.append(u) } }
    return String(s)
}

enum HostileStores {
    // MARK: NULL

    static let nulls: [StoreCase] = StoreShape.tables.map { table in
        StoreCase("null-\(table.name)") { db in
            if table.name == "sessions" { try Mutate.relax(db, "sessions") }
            try db.execute("UPDATE \(table.name) SET " + table.columns.map { "\($0.0) = NULL" }.joined(separator: ", "))
        }
    } + [
        StoreCase("null-sessions-but-created_at") { db in
            try db.execute("UPDATE sessions SET " + GatewaySchema.table(named: "sessions")!.columns.map(\.0)
                .filter { $0 != "created_at" }.map { "\($0) = NULL" }.joined(separator: ", "))
        },
        StoreCase("null-everything") { db in
            for table in StoreShape.tables {
                try Mutate.relax(db, table.name)
                try db.execute("UPDATE \(table.name) SET " + table.columns.map { "\($0.0) = NULL" }.joined(separator: ", "))
            }
        },
        StoreCase("null-everything-but-session-created_at") { db in
            for table in StoreShape.tables {
                try db.execute("UPDATE \(table.name) SET " + table.columns.map(\.0)
                    .filter { !(table.name == "sessions" && $0 == "created_at") }.map { "\($0) = NULL" }.joined(separator: ", "))
            }
        },
        StoreCase("null-every-other-row-everywhere") { db in
            for table in StoreShape.tables {
                try Mutate.relax(db, table.name)
                for (i, column) in table.columns.map(\.0).enumerated() where !(table.name == "sessions" && column == "created_at") {
                    try db.execute("UPDATE \(table.name) SET \(column) = NULL WHERE (rowid + \(i)) % 2 = 0")
                }
            }
        },
    ]

    // MARK: wrong types

    /// A third of each table's cells (column i of row r when r + i is a multiple of three, so most
    /// rows keep their join keys) gets, in turn, a BLOB, an integer, a real, text of the wrong
    /// kind, or its own bytes as a BLOB; sessions keep a readable `created_at` so they are still read.
    static let wrongTypes: [StoreCase] = StoreShape.tables.map { table in
        StoreCase("wrong-types-\(table.name)") { db in
            try Mutate.relax(db, table.name)
            for (i, column) in table.columns.map(\.0).enumerated() where !(table.name == "sessions" && column == "created_at") {
                try db.execute("""
                    UPDATE \(table.name) SET \(column) = CASE (rowid + \(i)) / 3 % 5
                        WHEN 0 THEN X'00FF7B5B22' WHEN 1 THEN 42 WHEN 2 THEN 1.5 WHEN 3 THEN 'not-a-number' ELSE CAST(\(column) AS BLOB) END
                    WHERE (rowid + \(i)) % 3 = 0
                    """)
            }
        }
    } + [
        StoreCase("wrong-types-one-blob-in-review-groups-and-session-metrics") { db in
            // One cell each, in the tables the reader aggregates into JSON per session.
            try db.execute("UPDATE review_groups SET owner_name = X'00FF' WHERE rowid = (SELECT MIN(rowid) FROM review_groups)")
            try db.execute("UPDATE session_metrics SET info_type = X'7E6C' WHERE rowid = (SELECT MIN(rowid) FROM session_metrics)")
        },
        StoreCase("wrong-types-created_at-blob-and-number") { db in
            try Mutate.relax(db, "sessions")
            try db.execute("UPDATE sessions SET created_at = CASE rowid % 3 WHEN 0 THEN CAST(created_at AS BLOB) WHEN 1 THEN 1783000000 ELSE 1783000000.5 END")
        },
        StoreCase("wrong-types-json-columns-as-numbers-and-blobs") { db in
            for table in StoreShape.tables {
                let cols = StoreShape.columns(table.name, [.json])
                guard !cols.isEmpty else { continue }
                try Mutate.relax(db, table.name)
                for column in cols {
                    try db.execute("UPDATE \(table.name) SET \(column) = CASE rowid % 4 WHEN 0 THEN 7 WHEN 1 THEN -0.5 WHEN 2 THEN CAST(\(column) AS BLOB) ELSE 'true' END")
                }
            }
        },
    ]

    // MARK: extreme numbers

    static let extremeNumberValues: [(String, sql: String, json: String)] = [
        ("int64-max", "9223372036854775807", "9223372036854775807"),
        ("int64-min", "-9223372036854775808", "-9223372036854775808"),
        ("1e300", "1e300", "1e300"),
        ("minus-one", "-1", "-1"),
        ("nan", "'NaN'", "NaN"),
        ("one-and-a-half", "1.5", "1.5"),
        ("uint64-max", "18446744073709551615", "18446744073709551615"),
        ("minus-1e300", "-1e300", "-1e300"),
    ]

    /// Every INTEGER column of every table, and every counter of the `metrics` JSON (masking and
    /// analyzer counts for two info types, so sums have two terms), set to the value.
    static let extremeNumbers: [StoreCase] = extremeNumberValues.map { v in
        StoreCase("number-\(v.0)") { db in
            for table in StoreShape.tables {
                let cols = StoreShape.columns(table.name, [.number])
                guard !cols.isEmpty else { continue }
                try db.execute("UPDATE \(table.name) SET " + cols.map { "\($0) = \(v.sql)" }.joined(separator: ", "))
            }
            let n = v.json
            let metrics = """
                {"data_analyzer":{"CREDIT_CARD_NUMBER":\(n),"EMAIL_ADDRESS":\(n)},"data_masking":{"err_count":\(n),"info_types":{"CREDIT_CARD_NUMBER":\(n),"EMAIL_ADDRESS":\(n)},"total_redact_count":\(n),"transformed_bytes":\(n)},"event_size":\(n),"truncated":\(n)}
                """
            try db.execute("UPDATE sessions SET metrics = \(SQL.text(metrics))")
            // Counters as JSON strings too: the reader accepts text-cast numbers.
            try db.execute("UPDATE sessions SET metrics = replace(metrics, ':\(n)', ':\"\(n)\"') WHERE rowid % 2 = 0")
        }
    }

    // MARK: times

    static let timeValues: [(String, String)] = [
        ("year-0000", "'0000-01-01'"), ("year-9999-end", "'9999-12-31T23:59:59Z'"), ("text-minus-1e17", "'-1e17'"),
        ("real-minus-1e17", "-1e17"), ("text-1e300", "'1e300'"), ("real-1e300", "1e300"), ("month-13-day-45", "'2026-13-45'"),
        ("empty", "''"), ("year-0000-plus-14h", "'0000-01-01T00:00:00+14:00'"), ("year-9999-minus-14h", "'9999-12-31T23:59:59-14:00'"),
        ("leap-second", "'2026-07-15T23:59:60.5Z'"),
        ("1000-digit-fraction", "'2026-07-15T12:00:00.' || \(SQL.repeated("9", 1000)) || 'Z'"),
        ("integer-epoch", "1783000000"),
    ]

    /// Every time column of every table but `sessions.created_at` (whose bogus forms are their own case).
    static let times: [StoreCase] = timeValues.map { v in
        StoreCase("time-\(v.0)") { db in
            for table in StoreShape.tables {
                let cols = StoreShape.columns(table.name, [.time]).filter { !(table.name == "sessions" && $0 == "created_at") }
                guard !cols.isEmpty else { continue }
                try db.execute("UPDATE \(table.name) SET " + cols.map { "\($0) = \(v.1)" }.joined(separator: ", "))
            }
        }
    } + [
        StoreCase("time-created_at-bogus-in-period") { db in
            let forms = [
                "'2026-07-15T24:00:00Z'", "'2026-07-15T23:60:00Z'", "'2026-07-15T12:00:00+99:00'", "'2026-07-15 12:00'",
                "'2026-07-15t12:00:00z'", "'2026-07-15T12:00:00.Z'", "'2026-07-15T12:00:00,5+01'", "'2026-07-15T12:00:00-14:00'",
                "'2026-07-15T12:00:00.' || \(SQL.repeated("9", 1000)) || 'Z'", "'2026-07-15T12:00:00Z' || X'00' || 'junk'",
                "'2026-07-15' || \(SQL.text("\u{202E}"))", "'2026-09-30T23:59:59.9999999999Z'", "'2026-06-30T22:00:00-02:00'",
                "'2026-10-01T01:00:00+02:00'", "'2026-07-01'", "'2026-07-15T12:00:00+14'", "'2026-07-15T12:00:00+1400'",
                "'2026-07-15T12:00:00Z '", "'2026-07-15T12:00:00ZZ'", "'2026-07-15T'",
            ]
            let ids = try Mutate.rowids(db, "sessions")
            for (n, rowid) in ids.enumerated() where n % 2 == 0 {
                try db.execute("UPDATE sessions SET created_at = \(forms[(n / 2) % forms.count]) WHERE rowid = \(rowid)")
            }
        },
    ]

    /// Recorded events' `elapsed` (seconds after the session's start).
    static let elapsedValues = ["1e300", "-1e300", "-1e17", "1e17", "9223372036854775807", "-1", "1e308", "5e-324"]

    static let elapsed: [StoreCase] = elapsedValues.map { v in
        StoreCase("recording-elapsed-\(v)") { db in
            try Mutate.recordings(db) { events in Mutate.recording(events) { _ in v } }
        }
    }

    // MARK: text: control characters, invisible characters, invalid UTF-8

    static let textClasses: [(String, [UInt8])] = [
        ("nul", Array("a\u{0}b".utf8)),
        ("esc-sequences", Array("\u{1B}[31mred\u{1B}[0m\u{1B}]8;;http://x\u{7}link\u{1B}]8;;\u{7}\u{1B}[2J".utf8)),
        ("c1-controls", Array("\u{80}\u{85}\u{9B}31m\u{9C}\u{9F}".utf8)),
        ("rlo-bidi", Array("\u{202E}fdp.exe\u{202C}\u{2066}\u{2069}".utf8)),
        ("zero-width", Array("ad\u{200B}m\u{200C}i\u{200D}n\u{2060}".utf8)),
        ("noncharacters", Array(scalars(0xFFFE, 0xFFFF, 0xFDD0, 0x1FFFE).utf8)),
        ("invalid-utf8", [0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0xE2, 0x82]),
        ("line-separators", Array("a\u{2028}b\u{2029}c\u{85}d".utf8)),
        ("bom-and-soft-hyphen", Array("\u{FEFF}x\u{AD}y".utf8)),
        ("del-backspace-cr", Array("abc\u{7F}\u{8}\u{8}\rXYZ".utf8)),
        ("newlines-tabs", Array("line1\nline2\r\n\tindented".utf8)),
        ("combining-flood", Array(("Z" + String(repeating: "\u{301}\u{333}", count: 120)).utf8)),
        ("tag-characters", Array("\u{E0041}\u{E0042}\u{E007F}".utf8)),
    ]

    /// Each class appended to every value a person or system could have typed (see `Mutate.everywhere`).
    /// The classes with a case of their own; the others share one store (each value carries all of them).
    static let separateTextClasses: Set<String> = ["nul", "esc-sequences", "c1-controls", "rlo-bidi", "zero-width", "noncharacters", "invalid-utf8"]

    static let texts: [StoreCase] = textClasses.filter { separateTextClasses.contains($0.0) }.map { v in
        StoreCase("text-\(v.0)") { db in try Mutate.everywhere(db, prefix: [], suffix: v.1) }
    } + [
        StoreCase("text-" + textClasses.filter { !separateTextClasses.contains($0.0) }.map(\.0).joined(separator: "+")) { db in
            try Mutate.everywhere(db, prefix: [], suffix: textClasses.filter { !separateTextClasses.contains($0.0) }.flatMap(\.1))
        },
        StoreCase("text-lone-surrogate-escapes-in-json") { db in
            try Mutate.everywhere(db, prefix: [], suffix: Array("?".utf8), jsonPrefix: Array("\\ud800".utf8), jsonSuffix: Array("\\udfff\\u0000".utf8))
        },
        StoreCase("text-invalid-utf8-replacing-values") { db in
            // Whole values that are nothing but bytes no decoder accepts.
            for table in StoreShape.tables {
                let cols = StoreShape.columns(table.name, [.text, .enumeration, .json, .time])
                guard !cols.isEmpty else { continue }
                // Equal ids break the primary key: the table goes untyped and unconstrained first.
                try Mutate.relax(db, table.name)
                try db.execute("UPDATE \(table.name) SET " + cols.map { "\($0) = CASE WHEN rowid % 3 = 0 THEN \(SQL.text([0xC3, 0x28, 0xA0, 0xA1, 0xFF])) ELSE \($0) END" }.joined(separator: ", "))
            }
        },
    ]

    // MARK: deep JSON

    static func deepArrays(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
    static func deepObjects(_ depth: Int) -> String { String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth) }

    static let deep: [StoreCase] = ["sessions", "reviews", "connections", "plugin_connections", "security_audit_log", "events"].map { table in
        StoreCase("deep-json-arrays-\(table)") { db in
            let cols = StoreShape.columns(table, [.json])
            try db.execute("UPDATE \(table) SET " + cols.map { "\($0) = \(SQL.text(deepArrays(10_000)))" }.joined(separator: ", "))
        }
    } + [
        StoreCase("deep-json-objects-sessions") { db in
            let cols = StoreShape.columns("sessions", [.json])
            try db.execute("UPDATE sessions SET " + cols.map { "\($0) = \(SQL.text(deepObjects(10_000)))" }.joined(separator: ", "))
        },
        StoreCase("deep-json-blobs-input-and-recording") { db in
            try db.execute("UPDATE blobs SET blob_stream = \(SQL.text(deepArrays(10_000)))")
        },
        StoreCase("deep-json-recording-extra-field") { db in
            // Writers may add fields after the payload; the reader skips them.
            try db.execute("UPDATE blobs SET blob_stream = '[[1.0,\"o\",\"aGk=\",' || \(SQL.text(deepArrays(10_000))) || ']]' WHERE type = 'session-stream'")
        },
        StoreCase("deep-json-metrics-under-data-masking") { db in
            try db.execute("UPDATE sessions SET metrics = '{\"data_masking\":{\"info_types\":' || \(SQL.text(deepObjects(10_000))) || '},\"data_analyzer\":' || \(SQL.text(deepArrays(10_000))) || '}'")
        },
    ]

    // MARK: huge values

    static let huge: [StoreCase] = [
        StoreCase("huge-identity-2mb") { db in
            // One multi-megabyte name (the report quotes it in several places; time grows linearly,
            // seconds per megabyte in a debug build), and 256 KB in the other identity columns.
            try db.execute("UPDATE sessions SET user_name = \(SQL.repeated("A", 2 << 20)) WHERE rowid = 1")
            let big = SQL.repeated("B", 1 << 18)
            try db.execute("UPDATE sessions SET user_email = \(big) || '@acme.example', connection = connection || \(big) WHERE rowid = 2")
            try db.execute("UPDATE users SET name = \(big) WHERE rowid = 1")
        },
        StoreCase("huge-script-4mb") { db in
            try db.execute("UPDATE blobs SET blob_stream = '[\"DELETE FROM t ' || \(SQL.repeated("x", 4 << 20)) || '\"]' WHERE rowid IN (SELECT rowid FROM blobs WHERE type = 'session-input' LIMIT 2)")
        },
        StoreCase("huge-output-cards-2mb") { db in
            // Base64 of 2 MB of card numbers: the scanner's worst case is a long run of matches.
            let payload = Array(String(repeating: "4111 1111 1111 1111 ", count: 100_000).utf8)
            try db.execute("UPDATE blobs SET blob_stream = \(SQL.text(Mutate.recording([HoopRecording.Event(elapsed: 1, kind: UInt8(ascii: "o"), payload: payload)]))) WHERE rowid IN (SELECT rowid FROM blobs WHERE type = 'session-stream' LIMIT 2)")
        },
        StoreCase("huge-audit-payload-and-reason-4mb") { db in
            try db.execute("UPDATE security_audit_log SET request_payload_redacted = '{\"k\":\"' || \(SQL.repeated("\u{202E}", 1 << 20)) || '\"}', error_message = \(SQL.repeated("e", 4 << 20)) WHERE rowid = 1")
            try db.execute("UPDATE reviews SET rejection_reason = \(SQL.repeated("postgres://u:p@h ", 200_000)) WHERE rowid = 1")
        },
    ]

    // MARK: malformed recordings and inputs

    static let malformedRecordings: [(String, String)] = [
        ("invalid-base64", "[[1.0,\"o\",\"@@@@!!\"],[2.0,\"i\",\"aGk=\"]]"),
        ("base64-with-spaces", "[[1.0,\"o\",\"aGk gaGk=\"]]"),
        ("truncated-json", "[[1.0,\"o\",\"aGk=\"],[2.0,\"i\",\"U0VMRUNU"),
        ("truncated-mid-number", "[[1."),
        ("kind-not-one-letter", "[[1.0,\"oo\",\"aGk=\"],[1.0,\"\",\"aGk=\"]]"),
        ("elapsed-1e999", "[[1e999,\"o\",\"aGk=\"]]"),
        ("elapsed-not-a-number", "[[\"x\",\"o\",\"aGk=\"],[-,\"o\",\"aGk=\"]]"),
        ("not-an-array", "{\"a\":1}"),
        ("bare-string", "\"aGk=\""),
        ("empty", ""),
        ("null", "null"),
        ("trailing-garbage", "[[1.0,\"o\",\"aGk=\"]] trailing"),
        ("bad-unicode-escapes", "[[1.0,\"\\u12\",\"aGk=\"],[1.0,\"\\ud800\",\"aGk=\"]]"),
        ("missing-fields", "[[1.0],[],[1.0,\"o\"]]"),
        ("unterminated-string", "[[1.0,\"o\",\"aGk="),
        ("unbalanced-extra-field", "[[1.0,\"o\",\"aGk=\",[[[[}}}}]]"),
    ]

    static let malformedInputs: [(String, String)] = [
        ("unterminated", "[\"SELECT 1"), ("numbers", "[1,2]"), ("object", "{\"a\":1}"), ("empty", ""), ("open-bracket", "["),
        ("bad-escape", "[\"a\\u00zz\"]"), ("backslash-at-end", "[\"abc\\"), ("nested", "[[\"DROP TABLE x\"]]"),
    ]

    /// Gives the blobs of `type`, in turn, each malformation of `variants` (one store holds them all:
    /// each costs a report run otherwise); the case's name lists them.
    static func eachBlob(_ db: SQLiteDatabase, type: String, _ variants: [(String, String)]) throws {
        for (n, rowid) in try Mutate.rowids(db, "blobs", where: "type = '\(type)'").enumerated() {
            try db.execute("UPDATE blobs SET blob_stream = \(SQL.text(variants[n % variants.count].1)) WHERE rowid = \(rowid)")
        }
    }

    static let malformed: [StoreCase] = [
        StoreCase("recordings-malformed-(" + malformedRecordings.map(\.0).joined(separator: ",") + ")") { db in
            try eachBlob(db, type: "session-stream", malformedRecordings)
        },
        StoreCase("inputs-malformed-(" + malformedInputs.map(\.0).joined(separator: ",") + ")") { db in
            try eachBlob(db, type: "session-input", malformedInputs)
        },
        StoreCase("recording-many-empty-events") { db in
            let many = "[" + Array(repeating: "[0,\"i\",\"\"]", count: 20_000).joined(separator: ",") + "]"
            try db.execute("UPDATE blobs SET blob_stream = \(SQL.text(many)) WHERE rowid IN (SELECT rowid FROM blobs WHERE type = 'session-stream' LIMIT 3)")
        },
    ] + [
        StoreCase("input-and-recording-as-raw-blobs") { db in
            try db.execute("UPDATE blobs SET blob_stream = CAST(blob_stream AS BLOB) || X'00FF'")
        },
        StoreCase("wire-protocol-garbage") { db in
            // PostgreSQL frontend messages with lengths that lie, in the exec input (wire-proto)
            // and in recorded input events; MySQL COM_QUERY packets whose length is wrong.
            let packets: [[UInt8]] = [
                [0x51, 0xFF, 0xFF, 0xFF, 0xFF] + Array("DROP TABLE x".utf8),
                [0x51, 0x00, 0x00, 0x00, 0x02, 0x00],
                [0x50, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00],
                [0x00, 0x00, 0x00, 0x08, 0x04, 0xD2, 0x16, 0x2F, 0x51],
                [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x03, 0x00],
                [0x50] + Array(repeating: 0x41, count: 3),
                [0x51],
            ]
            let all = packets.flatMap { $0 }
            try db.execute("UPDATE blobs SET format = 'wire-proto', blob_stream = \(SQL.text(Array("\"".utf8) + Mutate.jsonEscaped(all) + Array("\"".utf8))) WHERE type = 'session-input'")
            try Mutate.recordings(db) { events in
                Mutate.recording(events.enumerated().map { n, e in
                    var e = e
                    if e.kind == UInt8(ascii: "i") { e.payload = packets[n % packets.count] + [0xFF, 0x05, 0x00, 0x00, 0x00, 0x03] }
                    return e
                })
            }
        },
    ]

    // MARK: duplicates

    static let duplicates: [StoreCase] = [
        StoreCase("duplicate-session-ids") { db in
            try Mutate.relax(db, "sessions")
            try db.execute("INSERT INTO sessions SELECT * FROM sessions")
            try db.execute("UPDATE sessions SET exit_code = 1, ended_at = NULL WHERE rowid > (SELECT COUNT(*) / 2 FROM sessions)")
        },
        StoreCase("duplicate-reviews") { db in
            try Mutate.relax(db, "reviews")
            try Mutate.relax(db, "review_groups")
            try db.execute("INSERT INTO reviews SELECT * FROM reviews")
            try db.execute("INSERT INTO reviews (id, session_id, connection_name, type, status, owner_id, created_at) SELECT id || '-b', session_id, connection_name, type, 'REJECTED', owner_id, created_at FROM reviews")
            try db.execute("INSERT INTO review_groups SELECT * FROM review_groups")
        },
        StoreCase("duplicate-every-row") { db in
            for table in StoreShape.tables {
                try Mutate.relax(db, table.name)
                try db.execute("INSERT INTO \(table.name) SELECT * FROM \(table.name)")
            }
        },
        StoreCase("duplicate-users-and-connections-disagreeing") { db in
            try Mutate.relax(db, "users")
            try Mutate.relax(db, "connections")
            try db.execute("INSERT INTO users SELECT id || '-dup', org_id, subject, email, name, verified, 'inactive', slack_id, created_at, '2026-07-01T00:00:00Z' FROM users")
            try db.execute("INSERT INTO connections SELECT id || '-dup', org_id, agent_id, name, resource_name, command, type, subtype, status, '[]', access_mode_runbooks, access_mode_exec, access_mode_connect, access_schema, force_approve_groups, access_max_duration, min_review_approvals, mandatory_metadata_fields, created_at, updated_at FROM connections")
        },
    ]

    // MARK: markup, formulas, control characters and secrets in every text column

    /// Starts with `=` so a cell would be a formula; carries a script tag, control characters and
    /// every kind of secret the gate must redact or mask.
    static let secretPayload = "=HYPERLINK(\"http://x\",\"y\") <script>alert(1)</script> \u{1B}[2J\u{0}\u{85}\u{202E}\u{200B}" + scalars(0xFFFE) + " "
        + "card 4111 1111 1111 1111 and 4111111111111111 key AKIAIOSFODNN7EXAMPLE url postgres://u:hunter2-secret@db "
        + "Authorization: Bearer hunter2-secret-token-value "
    /// The same secrets first, for places that quote only the beginning of a value (40 characters of a bad timestamp).
    static let secretsFirst = "4111111111111111 AKIAIOSFODNN7EXAMPLE postgres://u:hunter2-secret@db <script>alert(1)</script>"

    static let markupAndSecrets = StoreCase("markup-formulas-controls-secrets-everywhere", allowed: [0]) { db in
        try Mutate.everywhere(db, prefix: Array(secretPayload.utf8), suffix: Array(" \u{1B}[0m 4111-1111-1111-1111".utf8))
        // Bad timestamps are quoted in data-quality notes: make some of them secrets.
        for table in StoreShape.tables {
            let cols = StoreShape.columns(table.name, [.time]).filter { !(table.name == "sessions" && $0 == "created_at") }
            guard !cols.isEmpty else { continue }
            try db.execute("UPDATE \(table.name) SET " + cols.map { "\($0) = \(SQL.text(secretsFirst))" }.joined(separator: ", ") + " WHERE rowid % 4 = 1")
        }
        // Output with secrets in every recording, and as guardrail messages and AI verdict titles.
        try Mutate.recordings(db) { events in
            Mutate.recording(events + [HoopRecording.Event(elapsed: 3, kind: UInt8(ascii: "o"), payload: Array((secretPayload + "\n" + secretsFirst).utf8))])
        }
        try db.execute("UPDATE sessions SET ai_analysis = \(SQL.text("{\"risk_level\":\"high\",\"action\":\"allow\",\"title\":\"" + secretsFirst + "\"}")) WHERE rowid % 3 = 0")
    }

}

@Suite struct FuzzHostileStores {
    // Each case: the base store mutated, `report --format html,xlsx,json`, every check of `checkedRun`.
    @Test(arguments: HostileStores.nulls) func nullColumns(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.wrongTypes) func wrongTypes(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.extremeNumbers) func extremeNumbers(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.times) func extremeTimes(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.elapsed) func recordingElapsed(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.texts) func controlAndInvisibleText(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.deep) func deepJSON(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.huge) func hugeValues(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.malformed) func malformedBlobs(_ c: StoreCase) throws { try runStoreCase(c) }
    @Test(arguments: HostileStores.duplicates) func duplicates(_ c: StoreCase) throws { try runStoreCase(c) }

    /// With `--strict` the same hostile data is refused: exit 65, one line naming the first problem
    /// (itself gated: the problem quotes store values), no report folder.
    @Test(arguments: [HostileStores.times.first { $0.name == "time-month-13-day-45" }!, HostileStores.malformed[0], HostileStores.markupAndSecrets])
    func strictRefusesWithOneGatedLine(_ c: StoreCase) throws {
        let fc = try FuzzCase("strict-" + c.name)
        defer { fc.finish() }
        try copyFile(try fuzzBaseStore(), fc.storePath)
        do {
            let db = try SQLiteDatabase(path: fc.storePath, mode: .create)
            try c.mutate(db)
        }
        try fc.checkedRun(fc.reportArguments(extra: ["--strict"]), allowed: [65])
    }

    /// Every text column holds markup, a formula, control characters and secrets at once: the
    /// report renders in every format and shows none of them raw.
    @Test func markupFormulasControlsAndSecrets() throws {
        try runStoreCase(HostileStores.markupAndSecrets) { fc, result in
            guard result.exited, result.status == 0 else { return }
            // The hostile text did reach every format, as text: escaped markup, the formula as a
            // string, control characters as visible codes, the card masked. (Without these the
            // checks above could pass because nothing was shown at all.)
            func contains(_ file: String, _ text: String) throws {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fc.out + "/" + file)))
                if firstOccurrence(Array(text.utf8), in: bytes) == nil { fc.fail("\(file) does not show \(text.debugDescription)", result) }
            }
            try contains("report.html", "&lt;script&gt;alert(1)&lt;/script&gt;")
            try contains("report.html", "=HYPERLINK(")
            try contains("report.json", "[U+001B]")
            try contains("report.json", "4111 **** **** 1111")
            try contains("populations.jsonl", "=HYPERLINK(")
            let parts = fc.harness.appendingPathComponent("xlsx-shown")
            _ = try unzipParts(fc.out + "/evidence.xlsx", into: parts)
            let sheets = tree(parts.appendingPathComponent("xl/worksheets").path, hashing: false).keys
            let shown = try sheets.contains { name in
                firstOccurrence(Array("=HYPERLINK(".utf8), in: [UInt8](try Data(contentsOf: parts.appendingPathComponent("xl/worksheets/" + name)))) != nil
            }
            if !shown { fc.fail("no worksheet shows the formula text as a string", result) }
        }
    }
}
