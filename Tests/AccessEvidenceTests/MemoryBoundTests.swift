@testable import AccessEvidence
@testable import AccessEvidencePostgres
import Foundation
import Testing

/// Memory follows the largest recording, not how many of them a batch holds: the reader's queue is
/// bounded by bytes, and a PostgreSQL cursor sizes its FETCH by the rows it has seen.
@Suite struct MemoryBoundTests {
    func session(_ id: String, outputBytes: Int) -> GatewayRecord {
        let transcript = Transcript(output: [OutputChunk(at: date("2026-08-03T10:00:00Z"), stream: UInt8(ascii: "o"), bytes: Array(repeating: 0x61, count: outputBytes))])
        return .session(SessionBox(SessionRecord(id: id, connectionName: "c", connectionType: "application", connectionSubtype: "ssh", connectionTags: [:],
                                      verb: "connect", actor: Actor(subject: "s", email: "e", name: "n"), status: "done", exitCode: 0,
                                      createdAt: date("2026-08-03T10:00:00Z"), endedAt: nil, origin: nil, transcript: transcript,
                                      masking: MaskingCounters(), guardrailHits: [], aiVerdict: nil, approval: nil, jitGrants: [], metadata: [:])))
    }

    /// A producer of large records is held back once the queue holds `bytesInFlight`: never more than
    /// that plus one record are decoded ahead of the consumer, and every record arrives in order.
    @Test func theReaderQueueIsBoundedByBytes() throws {
        let size = 12 << 20
        let produced = NSLock()
        nonisolated(unsafe) var made = 0
        var aheadMost = 0, consumed: [String] = []
        try RecordPipeline.run(threads: 2, produce: { emit in
            for i in 0..<20 {
                produced.lock(); made += 1; produced.unlock()
                try emit(self.session("s\(i)", outputBytes: size))
            }
        }, consume: { record in
            guard case .session(let s) = record else { return }
            consumed.append(s.record.id)
            // Give the producer time to run ahead as far as the queue lets it.
            Thread.sleep(forTimeInterval: 0.02)
            produced.lock(); aheadMost = max(aheadMost, made - consumed.count); produced.unlock()
        })
        #expect(consumed == (0..<20).map { "s\($0)" })
        // 32 MB holds two 12 MB records; one more may be waiting at put, one being decoded.
        #expect(aheadMost <= RecordPipeline.bytesInFlight / size + 2, "\(aheadMost) records ahead")
    }

    /// Recordings too large to come inline with their session are read from PostgreSQL one at a time:
    /// the report is the SQLite report of the same data.
    @Test func longRecordingsAreReadOnTheirOwn() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("long.sqlite").path
        try LargeRecordingStore.write(to: path, sessions: 3, megabytes: 4)
        let db = try loadedDatabase(path)
        let c = try cluster()
        let session = try PostgresSession(c.location(database: db.name))
        let large = try session.rows("SELECT count(*)::text FROM private.blobs WHERE pg_column_size(blob_stream) > \(PostgresDialect.inlineBlobBytes)",
                                     during: "testing")
        session.close()
        #expect(large.first?.first.flatMap { $0 }.map { String(buffer: $0) } == "3")
        var reports: [NSDictionary] = []
        for (store, name, password) in [(c.url(database: db.name), "pg", c.password), (path, "sqlite", nil)] {
            let out = dir.appendingPathComponent(name)
            let run = try runExecutable(["report", "--store", store, "--period", "2026-Q3", "--out", out.path, "--quiet",
                                         "--generated-at", "2026-10-01T00:00:00Z"], environment: ["PGPASSWORD": password, "PGPASSFILE": "/nonexistent"])
            #expect(run.code == 0, "\(run.stderr)")
            let json = try withoutProvenance(Data(contentsOf: out.appendingPathComponent("report.json"))).mutableCopy() as! NSMutableDictionary
            json["invocation"] = nil
            reports.append(json)
        }
        #expect(reports.count == 2 && reports[0] == reports[1])
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("pg/report.json"))) as? [String: Any])
        #expect((json["source"] as? [String: Any])?["sessionsInPeriod"] as? Int == 3)
        #expect((json["dataQuality"] as? [Any])?.isEmpty == true)
    }

    /// A connection to a database of its own, inside a transaction (cursors need one).
    private func sessionInANewDatabase() throws -> PostgresSession {
        let c = try cluster()
        let name = "t_" + UUID().uuidString.prefix(8).lowercased()
        try c.createDatabase(name)
        let session = try PostgresSession(c.location(database: name))
        try session.execute("BEGIN", during: "testing")
        return session
    }

    /// Rows of 6 MB come one or two per FETCH under the 16 MB budget; small rows grow to full batches.
    @Test func aCursorSizesItsBatchesByBytes() throws {
        let session = try sessionInANewDatabase()
        defer { session.close() }
        let large = try session.cursor("SELECT repeat('x', 6 << 20) FROM generate_series(1, 12)", [], during: "testing")
        var rows = 0
        while let row = try large.next() {
            #expect(row[0]?.readableBytes == 6 << 20)
            rows += 1
        }
        #expect(rows == 12 && large.largestBatch == 2)
        let small = try session.cursor("SELECT g::text FROM generate_series(1, 1000) g", [], during: "testing")
        rows = 0
        while try small.next() != nil { rows += 1 }
        #expect(rows == 1000 && small.largestBatch == session.batchSize)
    }

    /// A FETCH sent ahead that fails (row 200 divides by zero, in the sixth batch: 1 + 4 + 16 + 64 +
    /// 100 rows come before it) aborts the transaction. The query waited on next is refused for that
    /// alone (25P02); the error names the failure itself, and so does the cursor when read on.
    @Test func aFailedFetchSentAheadIsTheErrorReported() throws {
        let session = try sessionInANewDatabase()
        defer { session.close() }
        let cursor = try session.cursor("SELECT CASE WHEN g < 200 THEN g::text ELSE (1 / (g - g))::text END FROM generate_series(1, 1000) g",
                                        [], during: "reading the rows")
        for n in 1...185 { #expect(try cursor.next()?[0].map { String(decoding: $0.readableBytesView, as: UTF8.self) } == "\(n)") }
        #expect(throws: StoreError.query(path: session.location.display, reason: "reading a recording: division by zero (22012)")) {
            try session.rows("SELECT 1", during: "reading a recording")
        }
        #expect(throws: StoreError.query(path: session.location.display, reason: "reading the rows: division by zero (22012)")) {
            try cursor.next()
        }
    }
}
