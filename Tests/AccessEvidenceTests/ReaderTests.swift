@testable import AccessEvidence
import Foundation
import Testing

@Suite struct ReaderTests {
    @Test func decodesScriptsRecordingsAndWirePackets() throws {
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z", ended: "2026-07-01T10:00:05Z", script: "UPDATE t SET a = 1 WHERE id = 2;",
                      stream: recording([(1.5, "i", "UPDATE t SET a = 1 WHERE id = 2;"), (2.25, "o", "UPDATE 1\n")]))
        let q = SampleStoreGenerator.Builder.wireQuery("DELETE FROM t")
        let wire = "[[3.0,\"i\",\"\(Data(q).base64EncodedString())\"]]"
        try f.session("s2", verb: "connect", created: "2026-07-01 11:00:00", stream: wire)
        try f.session("s3", connection: "bastion", type: "application", subtype: "ssh", verb: "connect", created: "2026-07-02T09:00:00.125Z",
                      stream: recording([(1, "i", "sudo ls"), (1.2, "i", "x\u{7f} /root\r"), (1.5, "o", "ok\r\n"), (4, "i", "\u{1b}[Awhoami\n")]))
        try f.session("outside", created: "2026-10-01T00:00:00Z")
        try f.finish()

        let (unordered, store) = try readAll(f.path)
        let sessions = unordered.sorted { $0.createdAt < $1.createdAt }
        #expect(sessions.map(\.id) == ["s1", "s2", "s3"])
        #expect(store.dataQuality.isEmpty)
        let s1 = sessions[0]
        #expect(s1.transcript.commands.map(\.text) == ["UPDATE t SET a = 1 WHERE id = 2;"])
        #expect(s1.transcript.commands[0].source == .script)
        #expect(s1.transcript.firstEventAt == date("2026-07-01T10:00:01.500Z"))
        #expect(s1.transcript.output.map { String(decoding: $0.bytes, as: UTF8.self) } == ["UPDATE 1\n"])
        #expect(sessions[1].transcript.commands.map(\.text) == ["DELETE FROM t"])
        #expect(sessions[1].transcript.commands[0].recordedAt == date("2026-07-01T11:00:03Z"))
        // Keystrokes: backspace edits, escape sequences dropped, CR and LF end lines.
        #expect(sessions[2].transcript.commands.map(\.text) == ["sudo ls /root", "whoami"])
        #expect(sessions[2].protocol == .ssh)
    }

    @Test func infersJITCoverageForSessionsWithoutTheirOwnReview() throws {
        let f = try StoreFixture()
        try f.session("request", verb: "connect", created: "2026-07-01T09:00:00Z", ended: "2026-07-01T09:30:00Z")
        try f.review("r1", session: "request", type: "jit", status: "APPROVED", created: "2026-07-01T09:00:00Z",
                     expires: "2026-07-01T11:00:00Z", duration: 3600, decisions: [("dba", "APPROVED", "okta|boss", "2026-07-01T10:00:00Z")])
        try f.session("inside", verb: "connect", created: "2026-07-01T10:30:00Z", ended: "2026-07-01T10:40:00Z")
        try f.session("after", verb: "connect", created: "2026-07-01T11:00:00Z", ended: "2026-07-01T11:10:00Z")
        try f.session("other-user", verb: "connect", user: "okta|u2", created: "2026-07-01T10:30:00Z")
        try f.session("other-connection", connection: "pg-other", verb: "connect", created: "2026-07-01T10:30:00Z")
        try f.finish()
        let sessions = try readAll(f.path).sessions
        func grants(_ id: String) -> [String] { sessions.first { $0.id == id }!.jitGrants.map(\.id) }
        #expect(grants("inside") == ["r1"])
        #expect(grants("after").isEmpty)
        #expect(grants("other-user").isEmpty)
        #expect(grants("other-connection").isEmpty)
        let request = sessions.first { $0.id == "request" }!
        #expect(request.approval?.id == "r1")
        #expect(request.jitGrants.isEmpty)
        #expect(request.approval?.approvedAt == date("2026-07-01T10:00:00Z"))
        #expect(request.approval?.decisions.first?.reviewer?.subject == "okta|boss")
    }

    @Test func mergesMaskingCountersFromBothSources() throws {
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z",
                      metrics: "{\"data_masking\":{\"info_types\":{\"EMAIL_ADDRESS\":2}},\"data_analyzer\":{\"EMAIL_ADDRESS\":3,\"PHONE_NUMBER\":1}}")
        try f.writer.insert("session_metrics", ["id": .text("m1"), "session_id": .text("s1"), "info_type": .text("PHONE_NUMBER"),
                                                "count_masked": .int(1), "count_analyzed": .int(4)])
        try f.finish()
        let s = try readAll(f.path).sessions[0]
        #expect(s.masking.detected == ["EMAIL_ADDRESS": 3, "PHONE_NUMBER": 4])
        #expect(s.masking.masked == ["EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1])
        #expect(s.masking.unmaskedTypes.map(\.type) == ["EMAIL_ADDRESS", "PHONE_NUMBER"])
    }

    @Test func noLogOnDiskIsAMissingRecording() throws {
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z", exitCode: nil, script: "DROP TABLE x",
                      stream: recording([(0, "e", "no log found on disk")]))
        try f.finish()
        let s = try readAll(f.path).sessions[0]
        #expect(s.transcript.recordingMissing)
        #expect(s.transcript.output.isEmpty)
        #expect(!s.ran)
    }

    // MARK: bad input

    @Test func rejectsAFileThatIsNotSQLite() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("notes.sqlite").path
        try Data("hello, this is not a database, just text that is long enough".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.notSQLite(path: path)) { try SQLiteGatewayStore(path: path) }
        #expect(throws: StoreError.notFound(path: path + ".missing")) { try SQLiteGatewayStore(path: path + ".missing") }
    }

    @Test func reportsEveryMissingTableAndColumnAtOnce() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("partial.sqlite").path
        let db = try SQLiteDatabase(path: path, mode: .create)
        for sql in GatewaySchema.createStatements() where !sql.contains("INDEX") && !sql.contains("TABLE events") && !sql.contains("TABLE sessions") {
            try db.execute(sql)
        }
        try db.execute("CREATE TABLE sessions (id TEXT, connection TEXT, created_at TEXT)")
        do {
            _ = try SQLiteGatewayStore(path: path)
            Issue.record("expected a schema error")
        } catch let StoreError.missingSchema(_, missing) {
            // events is never analysed: a store without it is still a store.
            #expect(!missing.contains("table events"))
            #expect(missing.contains("column sessions.verb"))
            #expect(missing.contains("column sessions.blob_stream_id"))
            #expect(!missing.contains("column sessions.connection"))
            #expect(!missing.contains { $0.hasPrefix("column events.") })
            // Columns hoop added after migration 63 are optional (read as NULL, named in the report).
            #expect(!missing.contains("column sessions.origin") && !missing.contains("column sessions.guardrails_info"))
            #expect(missing.count == 14)
            #expect(StoreError.missingSchema(path: path, missing: missing).description.contains(": not a gateway store: missing column sessions.connection_type, "))
        }
    }

    @Test func badRowsBecomeDataQualityFindings() throws {
        let f = try StoreFixture()
        try f.session("bad-json", created: "2026-07-01T10:00:00Z", metrics: "{not json")
        try f.session("bad-base64", created: "2026-07-01T10:01:00Z", stream: "[[1.0,\"o\",\"@@@notbase64@@@\"]]")
        try f.session("bad-stream", created: "2026-07-01T10:02:00Z", stream: "[[1.0,\"o\"")
        try f.session("bad-time", created: "2026-07-01Tnoon")
        try f.session("bad-ended", created: "2026-07-01T10:03:00Z", ended: "tomorrow")
        try f.session("bad-guardrails", created: "2026-07-01T10:04:00Z", guardrails: "{\"rule_name\":\"x\"}")
        try f.session("good", created: "2026-07-01T10:05:00Z")
        try f.finish()
        let (sessions, store) = try readAll(f.path)
        #expect(sessions.map(\.id) == ["bad-json", "bad-base64", "bad-stream", "bad-ended", "bad-guardrails", "good"])
        let issues = store.dataQuality.map { "\($0.table).\($0.column) \($0.rowID)" }
        #expect(Set(issues) == ["sessions.metrics bad-json", "blobs.blob_stream session-stream of bad-base64",
                                "blobs.blob_stream session-stream of bad-stream", "sessions.created_at bad-time",
                                "sessions.ended_at bad-ended", "sessions.guardrails_info bad-guardrails"])
        #expect(store.dataQuality.first { $0.rowID.hasSuffix("bad-base64") }!.problem.contains("not valid base64"))
        #expect(store.dataQuality.first { $0.rowID == "bad-time" }!.problem.contains("'2026-07-01Tnoon'"))
    }

    /// A `created_at` that is not text falls in no period's range: such sessions are listed as data
    /// quality whatever the period (found by a count first, then by their ids), and never tested.
    @Test func sessionsWithoutATextCreatedAtAreListed() throws {
        let f = try StoreFixture()
        try f.session("blob-time", created: "2026-07-01T10:00:00Z")
        try f.session("empty-blob-time", created: "2026-07-01T10:01:00Z")
        try f.session("good", created: "2026-07-01T10:02:00Z")
        try f.finish()
        let (_, clean) = try readAll(f.path)
        #expect(clean.dataQuality.isEmpty)
        do {
            let db = try SQLiteDatabase(path: f.path, mode: .create)
            try db.execute("UPDATE sessions SET created_at = CAST(created_at AS BLOB) WHERE id = 'blob-time'")
            try db.execute("UPDATE sessions SET created_at = zeroblob(0) WHERE id = 'empty-blob-time'")
        }
        let (sessions, store) = try readAll(f.path)
        #expect(sessions.map(\.id) == ["good"])
        #expect(store.dataQuality.map { "\($0.table).\($0.column) \($0.rowID): \($0.problem)" }.sorted() == [
            "sessions.created_at blob-time: a blob value where a timestamp is expected; the session belongs to no period and is not tested",
            "sessions.created_at empty-blob-time: a blob value where a timestamp is expected; the session belongs to no period and is not tested",
        ])
    }

    @Test func strictModeFailsOnDataQualityAndWritesNothing() throws {
        let f = try StoreFixture()
        try f.session("bad-json", created: "2026-07-01T10:00:00Z", metrics: "{not json")
        try f.finish()
        let out = f.directory.appendingPathComponent("report").path
        let run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"), strict: true)
        #expect(throws: StoreError.self) { try run.write(to: out) }
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.directory.path).sorted() == ["store.sqlite"])
        // Without --strict the same store gives a report that lists the row.
        var lenient = run
        lenient.strict = false
        let output = try lenient.write(to: out)
        #expect(output.document.dataQuality.map(\.rowID) == ["bad-json"])
    }

    @Test func neverWritesToTheStore() throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: sampleStorePath))
        let attributes = try FileManager.default.attributesOfItem(atPath: sampleStorePath)
        let dir = try temporaryDirectory()
        try ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: Date()).write(to: dir.appendingPathComponent("r").path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: sampleStorePath)) == before)
        #expect(try FileManager.default.attributesOfItem(atPath: sampleStorePath)[.modificationDate] as? Date == attributes[.modificationDate] as? Date)
        #expect(!FileManager.default.fileExists(atPath: sampleStorePath + "-journal"))
        #expect(!FileManager.default.fileExists(atPath: sampleStorePath + "-wal"))
    }

    @Test func recordingDecoderHandlesEscapesAndRejectsJunk() throws {
        let events = try HoopRecording.decode(Array("[ [0.5, \"o\", \"aGk=\"] , [1e0,\"e\",\"\\/w==\"] ]".utf8))
        #expect(events.map(\.payload) == [Array("hi".utf8), [0xFF]])
        #expect(events.map(\.elapsed) == [0.5, 1.0])
        #expect(try HoopRecording.decode(Array("[]".utf8)).isEmpty)
        for junk in ["", "{}", "[[1,\"o\"]]", "[[1,\"oo\",\"aGk=\"]]", "[[1,\"o\",\"aGk=\"]] trailing", "[[\"x\",\"o\",\"aGk=\"]]"] {
            #expect(throws: HoopRecording.DecodeError.self, "\(junk)") { try HoopRecording.decode(Array(junk.utf8)) }
        }
        #expect(Base64.decode(Array("aGVsbG8".utf8)) == Array("hello".utf8))
        #expect(Base64.decode(Array("a".utf8)) == nil)
    }
}
