@testable import AccessEvidence
@testable import AccessEvidencePostgres
import Foundation
import Testing

/// One throwaway cluster for the test process (initdb once), stopped at exit; each test loads
/// its own database.
nonisolated(unsafe) private var clusterToStop: ThrowawayCluster?
private let sharedCluster: Result<ThrowawayCluster, any Error> = Result {
    let cluster = try ThrowawayCluster()
    clusterToStop = cluster
    atexit { clusterToStop?.stop() }
    return cluster
}

func cluster() throws -> ThrowawayCluster { try sharedCluster.get() }

/// A new database holding `sqlite` in hoop's PostgreSQL schema.
func loadedDatabase(_ sqlite: String = sampleStorePath, version: Int = HoopPostgresSchema.latest) throws -> (name: String, location: PostgresLocation) {
    let c = try cluster()
    let name = "t_" + UUID().uuidString.prefix(8).lowercased()
    try c.createDatabase(name)
    _ = try PostgresStoreLoader.load(sqlite: sqlite, into: c.location(database: name), migrationVersion: version)
    return (name, c.location(database: name))
}

/// report.json with what depends on where the data was read from taken out: the source block,
/// the count query, and each test's source, source hash and query.
func withoutProvenance(_ data: Data) throws -> NSDictionary {
    var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    json["source"] = nil
    if var reconciliation = json["reconciliation"] as? [String: Any] {
        reconciliation["storeQuery"] = nil
        json["reconciliation"] = reconciliation
    }
    json["controls"] = (json["controls"] as? [[String: Any]])?.map { control in
        var control = control
        control["tests"] = (control["tests"] as? [[String: Any]])?.map { test in
            var test = test
            if var provenance = test["provenance"] as? [String: Any] {
                for field in ["source", "sourceSHA256", "query"] { provenance[field] = nil }
                test["provenance"] = provenance
            }
            return test
        }
        return control
    }
    return json as NSDictionary
}

func sampleReport(_ store: String, in dir: URL, name: String, period: Period = q3,
                  opener: @escaping StoreOpener = openAnyGatewayStore) throws -> (Data, ReportRun.Output) {
    var run = ReportRun(storePath: store, period: period, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
    run.openStore = opener
    run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
    run.accepted = try AcceptedExceptions.load(path: packageRoot.appendingPathComponent("SampleData/accepted-exceptions.yaml").path,
                                               controls: run.catalog.controls.map(\.id))
    let out = dir.appendingPathComponent(name)
    let output = try run.write(to: out.path)
    return (try Data(contentsOf: out.appendingPathComponent("report.json")), output)
}

/// Whether `folder`'s report.json (a `report --quiet --generated-at 2026-10-01T00:00:00Z` run over Q3)
/// equals the one the sample SQLite store gives with the same options, apart from provenance and the
/// command line.
func matchesTheSQLiteReport(_ folder: URL) throws -> Bool {
    let sqlite = folder.deletingLastPathComponent().appendingPathComponent("sqlite-\(UUID().uuidString.prefix(8))")
    let run = try runExecutable(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", sqlite.path, "--quiet",
                                 "--generated-at", "2026-10-01T00:00:00Z"])
    guard run.code == 0 else { return false }
    func comparable(_ folder: URL) throws -> NSDictionary {
        let json = try withoutProvenance(Data(contentsOf: folder.appendingPathComponent("report.json"))).mutableCopy() as! NSMutableDictionary
        json["invocation"] = nil
        return json
    }
    return try comparable(folder) == comparable(sqlite)
}

/// The URL of a test database with its password, as a compliance lead would not write it but a test may.
func url(_ location: PostgresLocation) -> String {
    "postgres://\(location.user):\(location.password ?? "")@\(location.host):\(location.port)/\(location.database)?sslmode=disable"
}

@Suite struct PostgresStoreTests {
    @Test func sameDataGivesTheSameReportFromPostgreSQLAndSQLite() throws {
        let db = try loadedDatabase()
        let dir = try temporaryDirectory()
        let (fromSQLite, sqliteOutput) = try sampleReport(sampleStorePath, in: dir, name: "sqlite")
        let (fromPostgres, postgresOutput) = try sampleReport(url(db.location), in: dir, name: "postgres")
        #expect(try withoutProvenance(fromPostgres) == withoutProvenance(fromSQLite))
        #expect(postgresOutput.analysis.sessionsAnalysed == 1247)
        #expect(postgresOutput.document.reconciliation?.sessionsInStore == 1247)
        #expect(postgresOutput.document.summary.exceptions == sqliteOutput.document.summary.exceptions)
        #expect(postgresOutput.document.summary.exceptions > 0)

        let source = postgresOutput.document.source
        #expect(source.kind == "postgresql")
        #expect(source.location == "postgres://evidence_admin@127.0.0.1:\(db.location.port)/\(db.name)")
        #expect(source.schemaVersion == "113")
        #expect(source.rowCounts == sqliteOutput.document.source.rowCounts)
        #expect(source.queries["sessions"]?.contains("FROM private.sessions s") == true)
        #expect(source.queries["sessions"]?.contains("$1::timestamptz") == true)
        let text = String(decoding: fromPostgres, as: UTF8.self)
        #expect(!text.contains(db.location.password!))
    }

    @Test func theStoreReadsInsideAReadOnlyTransaction() throws {
        let db = try loadedDatabase()
        let store = try PostgresGatewayStore(location: db.location)
        do {
            try store.session.execute("DELETE FROM private.sessions", during: "deleting")
            Issue.record("a delete went through")
        } catch let error as StoreError {
            #expect(error.description.contains("read-only transaction"))
        }
    }

    @Test func everyMissingTableAndColumnIsNamedAtOnce() throws {
        let db = try loadedDatabase()
        try cluster().execute([
            "DROP TABLE private.session_metrics", "ALTER TABLE private.sessions DROP COLUMN verb",
            // Added by hoop's migration 69: optional, so not among the missing.
            "ALTER TABLE private.sessions DROP COLUMN guardrails_info",
            "ALTER TABLE private.reviews DROP COLUMN revoked_at", "ALTER TABLE private.users DROP COLUMN status",
        ], database: db.name)
        #expect(throws: StoreError.missingSchema(path: "postgres://evidence_admin@127.0.0.1:\(db.location.port)/\(db.name)", missing: [
            "column private.sessions.verb", "column private.reviews.revoked_at", "table private.session_metrics",
            "column private.users.status",
        ])) { try PostgresGatewayStore(location: db.location) }
    }

    @Test func aRoleWithoutSelectIsToldWhichTables() throws {
        let db = try loadedDatabase()
        try cluster().execute([
            "CREATE ROLE auditor_ro LOGIN PASSWORD 'ro-secret'", "GRANT USAGE ON SCHEMA private TO auditor_ro",
            "GRANT SELECT ON ALL TABLES IN SCHEMA private TO auditor_ro", "REVOKE SELECT ON private.blobs, private.users FROM auditor_ro",
        ], database: db.name)
        var location = db.location
        location.user = "auditor_ro"
        location.password = "ro-secret"
        do {
            _ = try PostgresGatewayStore(location: location)
            Issue.record("opened without SELECT on blobs and users")
        } catch let error as StoreError {
            #expect(error.description == "postgres://auditor_ro@127.0.0.1:\(location.port)/\(db.name): the role auditor_ro may not SELECT from private.blobs, private.users"
                    + " (GRANT SELECT ON private.blobs, private.users TO auditor_ro)")
        }
        try cluster().execute(["GRANT SELECT ON private.blobs, private.users TO auditor_ro"], database: db.name)
        var sessions = 0
        try PostgresGatewayStore(location: location).forEachSession(in: q3) { _ in sessions += 1 }
        #expect(sessions == 1247)
    }

    @Test func connectionFailuresAreOneLineWithoutThePassword() throws {
        let db = try loadedDatabase()
        var wrong = db.location
        wrong.password = "not-the-Secret-42"
        let display = "postgres://evidence_admin@127.0.0.1:\(db.location.port)/\(db.name)"
        func failure(_ location: PostgresLocation) -> StoreError? {
            do { _ = try PostgresGatewayStore(location: location) } catch let error as StoreError { return error } catch { return nil }
            return nil
        }
        let auth = try #require(failure(wrong))
        #expect(auth.kind == "permissionDenied", "\(auth)")
        #expect(auth.description.hasPrefix("\(display): authentication failed for user evidence_admin (28P01"))
        #expect(!auth.description.contains("not-the-Secret-42") && !auth.description.contains("\n"))

        var noDatabase = db.location
        noDatabase.database = "no_such_db"
        let missing = try #require(failure(noDatabase))
        #expect(missing.kind == "unavailable", "\(missing)")
        #expect(missing.description == "postgres://evidence_admin@127.0.0.1:\(db.location.port)/no_such_db: connecting: database \"no_such_db\" does not exist (3D000)")

        var closed = db.location
        closed.port = try ThrowawayCluster.freePort()
        let refused = try #require(failure(closed))
        #expect(refused.kind == "unavailable", "\(refused)")
        #expect(refused.description.hasPrefix("postgres://evidence_admin@127.0.0.1:\(closed.port)/\(db.name): cannot connect:"))
        #expect(refused.description.lowercased().contains("refused"))
        #expect(!refused.description.contains(db.location.password!))
    }

    @Test func aConnectionLostMidStreamFailsTheRunAndKeepsThePreviousReport() throws {
        let db = try loadedDatabase()
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("report")
        _ = try sampleReport(sampleStorePath, in: dir, name: "report")
        let before = try Data(contentsOf: out.appendingPathComponent("report.json"))

        let c = try cluster()
        var run = ReportRun(storePath: url(db.location), period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.openStore = openAnyGatewayStore
        nonisolated(unsafe) var killed = false
        run.progress = { _ in }
        run.openStore = { location in
            let store = try PostgresGatewayStore(url: location)
            return InterruptedStore(store) {
                guard !killed else { return }
                killed = true
                try c.execute(["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(db.name)' AND pid <> pg_backend_pid()"])
            }
        }
        do {
            try run.write(to: out.path)
            Issue.record("the run survived a terminated connection")
        } catch let error as StoreError {
            #expect(error.kind == "unavailable", "\(error)")
            #expect(error.description.contains("connection lost while reading the store"))
        }
        #expect(killed)
        #expect(try Data(contentsOf: out.appendingPathComponent("report.json")) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["report"])
    }
}

/// Forwards to a store and calls `interrupt` when the first session arrives.
final class InterruptedStore: GatewayStore {
    let store: PostgresGatewayStore
    let interrupt: () throws -> Void

    init(_ store: PostgresGatewayStore, interrupt: @escaping () throws -> Void) {
        self.store = store
        self.interrupt = interrupt
    }

    func describe() throws -> SourceInfo { try store.describe() }
    func loadDirectory(for period: Period) throws -> StoreDirectory { try store.loadDirectory(for: period) }
    func countSessions(in period: Period) throws -> (count: Int, query: String) { try store.countSessions(in: period) }
    func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws { try store.forEachConfigChange(in: period, body) }
    func forEachGrant(in period: Period, _ body: (Approval) throws -> Void) throws { try store.forEachGrant(in: period, body) }
    var dataQuality: [DataQualityIssue] { store.dataQuality }
    func organizations(in period: Period) throws -> [StoreOrganization] { try store.organizations(in: period) }
    func select(organization: StoreOrganization, filter: Bool) { store.select(organization: organization, filter: filter) }
    func forEachSession(in period: Period, _ body: (SessionRecord) throws -> Void) throws {
        try store.forEachSession(in: period) { session in
            try interrupt()
            try body(session)
        }
    }
}

@Suite struct PostgresSnapshotTests {
    @Test func aReportFromTheSnapshotEqualsTheReportFromTheDatabase() throws {
        let db = try loadedDatabase()
        let dir = try temporaryDirectory()
        let snapshot = dir.appendingPathComponent("aug.sqlite").path
        let august = try Period.parse("2026-08")
        let store = try PostgresGatewayStore(location: db.location)
        let result = try PostgresSnapshot.write(from: store, period: august, to: snapshot, extractedAt: date("2026-10-02T08:00:00Z"))
        #expect(FileManager.default.fileExists(atPath: snapshot))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["aug.sqlite"])

        let (fromDatabase, databaseOutput) = try sampleReport(url(db.location), in: dir, name: "from-db", period: august)
        let (fromSnapshot, snapshotOutput) = try sampleReport(snapshot, in: dir, name: "from-snapshot", period: august)
        #expect(try withoutProvenance(fromSnapshot) == withoutProvenance(fromDatabase))
        #expect(snapshotOutput.analysis.sessionsAnalysed == databaseOutput.analysis.sessionsAnalysed)
        #expect(snapshotOutput.document.summary.exceptions == databaseOutput.document.summary.exceptions)
        #expect(snapshotOutput.document.summary.exceptions > 0)

        // The period's slice, not the whole store: August's sessions and changes; directory tables whole.
        let sqlite = try SQLiteDatabase(path: sampleStorePath, mode: .readOnly)
        let inAugust = "created_at >= '2026-08-01' AND created_at < '2026-09-01'"
        let augustSessions = try sqlite.scalarInt("SELECT count(*) FROM sessions WHERE \(inAugust)")
        #expect(result.tables["sessions"]?.rows == augustSessions)
        #expect(databaseOutput.analysis.sessionsAnalysed == augustSessions)
        let allSessions = try sqlite.scalarInt("SELECT count(*) FROM sessions")
        #expect(augustSessions > 0 && augustSessions < allSessions)
        // The period's changes, and the earlier changes to connections, guardrails and masking rules (the review gate as of a session).
        #expect(result.tables["security_audit_log"]?.rows == (try sqlite.scalarInt("""
            SELECT count(*) FROM security_audit_log WHERE (\(inAugust))
               OR (resource_type IN ('connections', 'guardrails', 'data_masking') AND created_at < '2026-09-01')
            """)))
        #expect(result.tables["users"]?.rows == (try sqlite.scalarInt("SELECT count(*) FROM users")))
        #expect(result.tables["session_metrics"]?.rows == (try sqlite.scalarInt(
            "SELECT count(*) FROM session_metrics WHERE session_id IN (SELECT id FROM sessions WHERE \(inAugust))")))

        // The provenance an auditor sees, and the manifest behind it.
        let provenance = try #require(snapshotOutput.document.source.snapshot)
        #expect(provenance.extractedFrom == "postgres://evidence_admin@127.0.0.1:\(db.location.port)/\(db.name)")
        #expect(provenance.extractedAt == "2026-10-02T08:00:00Z" && provenance.schemaVersion == "113" && provenance.verified)
        #expect(provenance.period == "2026-08 [2026-08-01T00:00:00Z, 2026-09-01T00:00:00Z)")
        #expect(provenance.tables == result.tables)
        let manifest = try SQLiteDatabase(path: snapshot, mode: .readOnly)
        var queries: [String: String] = [:]
        try manifest.forEachRow("SELECT name, value, parameters FROM extract_manifest WHERE section = 'query'") { row in
            queries[row.text(0)!] = row.text(1)! + " " + row.text(2)!
        }
        #expect(Set(queries.keys) == Set(GatewaySchema.tables.map(\.name)))
        #expect(queries["sessions"]?.hasSuffix("[\"2026-08-01T00:00:00Z\", \"2026-09-01T00:00:00Z\"]") == true)
        #expect(queries["users"]?.hasSuffix(" []") == true)
        var digest = SnapshotManifest.Digest()
        try manifest.forEachRow("SELECT \(GatewaySchema.tables[0].columns.map(\.0).joined(separator: ", ")) FROM sessions ORDER BY rowid") { row in
            digest.add((0..<Int32(GatewaySchema.tables[0].columns.count)).map { row.text($0) })
        }
        #expect(digest.finalize() == result.tables["sessions"]?.sha256)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        #expect(bytes.range(of: Data(db.location.password!.utf8)) == nil)
    }

    @Test func anAlteredSnapshotIsRefused() throws {
        let db = try loadedDatabase()
        let dir = try temporaryDirectory()
        let snapshot = dir.appendingPathComponent("q3.sqlite").path
        _ = try PostgresSnapshot.write(from: try PostgresGatewayStore(location: db.location), period: q3, to: snapshot, extractedAt: date("2026-10-02T08:00:00Z"))
        let edit = try SQLiteDatabase(path: snapshot, mode: .create)
        try edit.execute("UPDATE review_groups SET owner_email = 'someone.else@acme.example' WHERE rowid = 1; DELETE FROM security_audit_log WHERE rowid = 2")
        #expect(throws: StoreError.snapshotAltered(path: snapshot, tables: ["review_groups", "security_audit_log"])) {
            try sampleReport(snapshot, in: dir, name: "report")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("report").path))

        // Dropping a table's line from the manifest does not exempt the table.
        let second = dir.appendingPathComponent("q3-b.sqlite").path
        _ = try PostgresSnapshot.write(from: try PostgresGatewayStore(location: db.location), period: q3, to: second, extractedAt: date("2026-10-02T08:00:00Z"))
        let edit2 = try SQLiteDatabase(path: second, mode: .create)
        try edit2.execute("DELETE FROM extract_manifest WHERE section = 'table' AND name = 'users'; UPDATE users SET status = 'active'")
        #expect(throws: StoreError.snapshotAltered(path: second, tables: ["users (not in the manifest)"])) { try SQLiteGatewayStore(path: second) }
    }

    @Test func aFailedExtractionLeavesNoFile() throws {
        let db = try loadedDatabase()
        let dir = try temporaryDirectory()
        let snapshot = dir.appendingPathComponent("q3.sqlite").path
        let store = try PostgresGatewayStore(location: db.location)
        try cluster().execute(["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(db.name)' AND pid <> pg_backend_pid()"])
        do {
            _ = try PostgresSnapshot.write(from: store, period: q3, to: snapshot, extractedAt: date("2026-10-02T08:00:00Z"))
            Issue.record("extracted over a terminated connection")
        } catch let error as StoreError {
            #expect(error.kind == "unavailable" && error.description.contains("connection lost while extracting private.sessions"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

@Suite struct PostgresCommandLineTests {
    func invoke(_ args: [String], password: String?) throws -> (code: Int32, stdout: String, stderr: String) {
        try runExecutable(args, environment: ["PGPASSWORD": password, "PGPASSFILE": "/nonexistent"])
    }

    @Test func reportAndSnapshotFromPostgreSQLWithExitCodes() throws {
        let db = try loadedDatabase()
        let c = try cluster()
        let dir = try temporaryDirectory()
        let store = c.url(database: db.name)
        let report = try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.appendingPathComponent("r").path,
                                 "--quiet", "--generated-at", "2026-10-01T00:00:00Z"], password: c.password)
        #expect(report.code == 0 && report.stderr.isEmpty)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("r/report.json"))) as? [String: Any]
        #expect((json?["source"] as? [String: Any])?["kind"] as? String == "postgresql")

        let snap = try invoke(["snapshot", "--store", store, "--period", "2026-Q3", "--out", dir.appendingPathComponent("q3.sqlite").path,
                               "--generated-at", "2026-10-02T08:00:00Z"], password: c.password)
        #expect(snap.code == 0)
        #expect(snap.stdout.hasPrefix("wrote \(dir.appendingPathComponent("q3.sqlite").path): 2026-Q3 from postgres://evidence_admin@127.0.0.1:\(c.port)/\(db.name) (schema 113); access_request_rules 2, access_request_rules_attributes 0, blobs "))

        let denied = try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.appendingPathComponent("denied").path],
                                password: "wrong-Pass-77")
        #expect(denied.code == 77)
        #expect(denied.stderr.hasPrefix("access-evidence: postgres://evidence_admin@127.0.0.1:\(c.port)/\(db.name): authentication failed"))
        #expect(denied.stderr.split(separator: "\n").count == 1 && !denied.stderr.contains("wrong-Pass-77"))
        let inline = try invoke(["report", "--store", "postgres://evidence_admin:wrong-Pass-78@127.0.0.1:\(c.port)/\(db.name)?sslmode=disable",
                                 "--period", "2026-Q3", "--out", dir.appendingPathComponent("denied").path], password: nil)
        #expect(inline.code == 77 && !inline.stderr.contains("wrong-Pass-78"))
        let down = try invoke(["snapshot", "--store", "postgres://evidence_admin@127.0.0.1:\(try ThrowawayCluster.freePort())/x?sslmode=disable",
                               "--period", "2026-Q3", "--out", dir.appendingPathComponent("down.sqlite").path], password: c.password)
        #expect(down.code == 69)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("denied").path))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("down.sqlite").path))
        let refused = dir.appendingPathComponent("refused").path
        #expect(try invoke(["snapshot", "--store", sampleStorePath, "--period", "2026-Q3", "--out", refused], password: nil).code == 64)
        #expect(try invoke(["report", "--store", "postgres://h/db?sslmode=sometimes", "--period", "2026-Q3", "--out", refused], password: nil).code == 64)
        #expect(!FileManager.default.fileExists(atPath: refused))
    }

    /// A second tenant with one Q3 session (a privileged command, no approval, on a connection named
    /// like one of the first's) stays out of the first's report, and the other way round.
    @Test func twoOrganizationsNeverMix() throws {
        let db = try loadedDatabase()
        let c = try cluster()
        let acme = "0a000000-0000-4000-8000-000000000001", beta = "0b000000-0000-4000-8000-000000000002"
        let betaSession = "0b000000-0000-4000-8000-000000000101"
        do {
            let session = try PostgresSession(c.location(database: db.name))
            defer { session.close() }
            for sql in [
                "UPDATE private.orgs SET name = 'Acme Payments' WHERE id = '\(acme)'",
                "INSERT INTO private.orgs (id, name) VALUES ('\(beta)', 'Beta Corp')",
                "INSERT INTO private.blobs (id, org_id, type, blob_stream) VALUES ('0b000000-0000-4000-8000-000000000201', '\(beta)', 'session-input', '[\"DROP TABLE invoices;\"]')",
                """
                INSERT INTO private.sessions (id, org_id, connection, connection_type, connection_subtype, connection_tags, verb, user_id,
                  user_name, user_email, status, exit_code, blob_input_id, identity_type, created_at, ended_at)
                VALUES ('\(betaSession)', '\(beta)', 'pg-prod', 'database', 'postgres', '{"env":"prod"}', 'exec', 'okta|beta1',
                  'Bea', 'bea@beta.example', 'done', 0, '0b000000-0000-4000-8000-000000000201', 'user', '2026-08-01 09:00:00', '2026-08-01 09:00:05')
                """,
            ] { try session.execute(sql, during: "adding a second organization") }
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = c.url(database: db.name)
        let refused = try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/none"], password: c.password)
        #expect(refused.code == 64)
        #expect(refused.stderr == "access-evidence: the store holds 2 organizations; choose one with --org ID or NAME: "
                + "\(acme) (Acme Payments): 1247 sessions in the period; \(beta) (Beta Corp): 1 session in the period\n")

        // Acme's report is the one the single-org store gives: Beta's session raises nothing in it.
        #expect(try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/acme", "--org", "Acme Payments",
                            "--quiet", "--generated-at", "2026-10-01T00:00:00Z"], password: c.password).code == 0)
        #expect(try matchesTheSQLiteReport(dir.appendingPathComponent("acme")))
        let acmeJSON = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("acme/report.json"))) as? [String: Any])
        #expect((acmeJSON["source"] as? [String: Any])?["organization"] as? [String: String] == ["id": acme, "name": "Acme Payments"])
        #expect((acmeJSON["source"] as? [String: Any])?["sessionsInPeriod"] as? Int == 1247)
        #expect(!(try String(contentsOf: dir.appendingPathComponent("acme/populations.jsonl"), encoding: .utf8)).contains(betaSession))

        #expect(try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/beta", "--org", beta, "--quiet"],
                           password: c.password).code == 0)
        let betaJSON = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("beta/report.json"))) as? [String: Any])
        #expect((betaJSON["source"] as? [String: Any])?["sessionsInPeriod"] as? Int == 1)
        #expect((betaJSON["reconciliation"] as? [String: Any])?["sessionsInStore"] as? Int == 1)
        let betaRows = try String(contentsOf: dir.appendingPathComponent("beta/populations.jsonl"), encoding: .utf8)
        #expect(betaRows.contains(betaSession) && !betaRows.contains("aaaaaaaa-0000-4000-8000-000000000007"))

        // A snapshot carries one organization.
        let snapshot = dir.appendingPathComponent("beta.sqlite").path
        #expect(try invoke(["snapshot", "--store", store, "--period", "2026-Q3", "--org", "beta corp", "--out", snapshot], password: c.password).code == 0)
        let copy = try SQLiteDatabase(path: snapshot, mode: .readOnly)
        #expect(try copy.scalarInt("SELECT COUNT(*) FROM sessions") == 1)
        #expect(try copy.scalarInt("SELECT COUNT(*) FROM users WHERE org_id <> '\(beta)'") == 0)
        #expect(try copy.scalarInt("SELECT COUNT(*) FROM connections") == 0)
    }

    /// A gateway at hoop's migration 95, before `sessions.origin` (000096): read, with the same findings
    /// as the same data at the latest version, and the report names the missing column.
    /// hoop's layout at the oldest version the tool reads, at 95 and at the latest, written from hoop's
    /// migrations: each report equals the report of an SQLite store holding the same data (the sample
    /// without what the version lacks), and names what the version lacks.
    @Test(arguments: [HoopPostgresSchema.oldestSupported, 95, HoopPostgresSchema.latest])
    func hoopsLayoutAtEverySupportedVersion(version: Int) throws {
        let db = try loadedDatabase(version: version)
        let c = try cluster()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The same data in SQLite: the sample without the tables and columns the version lacks.
        let copy = dir.appendingPathComponent("at-\(version).sqlite").path
        try FileManager.default.copyItem(atPath: sampleStorePath, toPath: copy)
        do {
            let sqlite = try SQLiteDatabase(path: copy, mode: .create)
            for table in GatewaySchema.tables {
                guard let present = HoopPostgresSchema.columns(of: table.name, at: version) else {
                    try sqlite.execute("DROP TABLE \(table.name)")
                    continue
                }
                for column in table.columns.map(\.0) where !present.contains(column) {
                    try sqlite.execute("ALTER TABLE \(table.name) DROP COLUMN \(column)")
                }
            }
        }
        let fromPostgres = dir.appendingPathComponent("pg"), fromSQLite = dir.appendingPathComponent("sqlite")
        for (store, out, password) in [(c.url(database: db.name), fromPostgres, c.password), (copy, fromSQLite, nil)] {
            let run = try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", out.path, "--quiet",
                                  "--generated-at", "2026-10-01T00:00:00Z"], password: password)
            #expect(run.code == 0 && run.stderr.isEmpty, "\(run.stderr)")
        }
        func comparable(_ folder: URL) throws -> NSDictionary {
            let json = try withoutProvenance(Data(contentsOf: folder.appendingPathComponent("report.json"))).mutableCopy() as! NSMutableDictionary
            json["invocation"] = nil
            return json
        }
        #expect(try comparable(fromPostgres) == comparable(fromSQLite))
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: fromPostgres.appendingPathComponent("report.json"))) as? [String: Any])
        let source = try #require(json["source"] as? [String: Any])
        #expect(source["schemaVersion"] as? String == String(version))
        let absent = (source["absentColumns"] as? [[String: Any]])?.compactMap { $0["column"] as? String } ?? []
        let expected: [Int: [String]] = [
            HoopPostgresSchema.oldestSupported: ["access_request_rules_attributes", "connections_attributes", "guardrail_rules_attributes",
                                                 "datamasking_rules_attributes", "security_audit_log.http_path",
                                                 "sessions.ai_analysis", "sessions.guardrails_info", "reviews.rejection_reason",
                                                 "sessions.machine_identity_id", "sessions.identity_type", "sessions.origin",
                                                 "access_request_rules.skip_review_groups"],
            95: ["sessions.origin", "access_request_rules.skip_review_groups"],
            HoopPostgresSchema.latest: [],
        ]
        #expect(absent == expected[version], "\(absent)")
        let sqliteJSON = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: fromSQLite.appendingPathComponent("report.json"))) as? [String: Any])
        #expect(((sqliteJSON["source"] as? [String: Any])?["absentColumns"] as? [[String: Any]])?.compactMap { $0["column"] as? String } ?? [] == absent)
        // The latest layout holds the sample whole: its report is the sample's.
        if version == HoopPostgresSchema.latest { #expect(try matchesTheSQLiteReport(fromPostgres)) }
        // A snapshot holds the layout whole, and still names what the database lacked.
        let snapshot = dir.appendingPathComponent("snapshot.sqlite").path, fromSnapshot = dir.appendingPathComponent("snap")
        let snap = try invoke(["snapshot", "--store", c.url(database: db.name), "--period", "2026-Q3", "--out", snapshot,
                               "--generated-at", "2026-10-02T08:00:00Z"], password: c.password)
        #expect(snap.code == 0, "\(snap.stderr)")
        let again = try invoke(["report", "--store", snapshot, "--period", "2026-Q3", "--out", fromSnapshot.path, "--quiet",
                                "--generated-at", "2026-10-01T00:00:00Z"], password: nil)
        #expect(again.code == 0, "\(again.stderr)")
        let snapshotJSON = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: fromSnapshot.appendingPathComponent("report.json"))) as? [String: Any])
        #expect(((snapshotJSON["source"] as? [String: Any])?["absentColumns"] as? [[String: Any]])?.compactMap { $0["column"] as? String } ?? [] == absent)
    }

    /// The README's read-only role, made from the README's own statements, produces the report; without
    /// USAGE on the schema the error names that grant; without the table the analysis never reads, the
    /// report still runs and the snapshot holds that table empty.
    @Test func aReadOnlyRoleWithTheREADMEGrants() throws {
        let db = try loadedDatabase()
        let c = try cluster()
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "-- access-evidence: read-only reporting role").dropFirst().first?
            .components(separatedBy: "```").first)
        let role = "reader_" + UUID().uuidString.prefix(8).lowercased(), password = "Rd-" + UUID().uuidString
        let statements = block.components(separatedBy: "\n").dropFirst()  // the rest of the comment line
            .joined(separator: "\n").components(separatedBy: ";")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            .map { $0.replacingOccurrences(of: "evidence_reader", with: role).replacingOccurrences(of: "DATABASE hoop", with: "DATABASE \(db.name)")
                     .replacingOccurrences(of: "'choose-one'", with: "'\(password)'") }
        #expect(statements.count == 5 && statements[0].hasPrefix("CREATE ROLE"))
        let admin = try PostgresSession(c.location(database: db.name))
        defer { admin.close() }
        for sql in statements { try admin.execute(sql, during: "granting the README's privileges") }

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = "postgres://\(role)@127.0.0.1:\(c.port)/\(db.name)?sslmode=disable"
        let report = try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/r", "--quiet"], password: password)
        #expect(report.code == 0 && report.stderr.isEmpty)
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("r/report.json"))) as? [String: Any])
        #expect((json["source"] as? [String: Any])?["schemaVersion"] as? String == "113")

        try admin.execute("REVOKE SELECT ON private.events FROM \(role)", during: "revoking")
        #expect(try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/r", "--quiet"], password: password).code == 0)
        let snapshot = dir.appendingPathComponent("q3.sqlite").path
        #expect(try invoke(["snapshot", "--store", store, "--period", "2026-Q3", "--out", snapshot], password: password).code == 0)
        let copy = try SQLiteDatabase(path: snapshot, mode: .readOnly)
        #expect(try copy.scalarInt("SELECT COUNT(*) FROM events") == 0)
        #expect(try copy.scalarInt("SELECT COUNT(*) FROM sessions") == 1247)
        // The snapshot reads as a store, its manifest verified.
        #expect(try invoke(["report", "--store", snapshot, "--period", "2026-Q3", "--out", dir.path + "/from-snapshot", "--quiet"], password: nil).code == 0)

        try admin.execute("REVOKE SELECT ON public.schema_migrations FROM \(role)", during: "revoking")
        #expect(try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/r", "--quiet"], password: password).code == 0)
        let unknown = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("r/report.json"))) as? [String: Any])
        #expect((unknown["source"] as? [String: Any])?["schemaVersion"] as? String
                == "unknown (the role may not read public.schema_migrations: GRANT SELECT ON public.schema_migrations TO \(role))")

        try admin.execute("REVOKE SELECT ON private.reviews FROM \(role)", during: "revoking")
        let noReviews = try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/r2"], password: password)
        #expect(noReviews.code == 77)
        #expect(noReviews.stderr.hasSuffix("the role \(role) may not SELECT from private.reviews (GRANT SELECT ON private.reviews TO \(role))\n"))

        try admin.execute("REVOKE USAGE ON SCHEMA private FROM \(role)", during: "revoking")
        let noUsage = try invoke(["report", "--store", store, "--period", "2026-Q3", "--out", dir.path + "/r2"], password: password)
        #expect(noUsage.code == 77)
        #expect(noUsage.stderr.hasSuffix("the role \(role) lacks USAGE on schema private (GRANT USAGE ON SCHEMA private TO \(role))\n"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/r2"))
    }

    /// A cron job keeps the database password in a file only its user reads, named by the
    /// configuration; the password goes to the configuration's store only.
    @Test func storePasswordFromTheConfigurationFile() throws {
        let db = try loadedDatabase()
        let c = try cluster()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let secret = dir.appendingPathComponent("db-password")
        try Data("\(c.password)\n".utf8).write(to: secret)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
        let config = dir.appendingPathComponent("cron.yaml")
        try Data("store: \(c.url(database: db.name))\nstore_password_file: db-password\nreport:\n  out: r-{period}\n".utf8).write(to: config)
        let report = try invoke(["report", "--config", config.path, "--period", "2026-Q3", "--quiet"], password: nil)
        #expect(report.code == 0 && report.stderr.isEmpty)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("r-2026-Q3/report.json").path))
        let snapshot = try invoke(["snapshot", "--config", config.path, "--period", "2026-Q3", "--out", dir.appendingPathComponent("q3.sqlite").path],
                                  password: nil)
        #expect(snapshot.code == 0 && !snapshot.stdout.contains(c.password))
        // A store named on the command line does not get the configuration's password.
        let other = try invoke(["report", "--config", config.path, "--store", c.url(database: db.name), "--period", "2026-Q3",
                                "--out", dir.appendingPathComponent("other").path], password: nil)
        #expect(other.code == 77 && !other.stderr.contains(c.password))
    }
}

@Suite struct PostgresLocationTests {
    @Test func urlThenEnvironmentThenDefaults() throws {
        let full = try PostgresLocation.parse("postgres://auditor:s%40cret@db.internal:6432/hoop?sslmode=verify-full&sslrootcert=/etc/ca.pem",
                                              environment: [:], home: "/nonexistent")
        #expect(full == PostgresLocation(host: "db.internal", port: 6432, user: "auditor", database: "hoop", password: "s@cret",
                                         sslMode: .verifyFull, sslRootCert: "/etc/ca.pem"))
        #expect(full.display == "postgres://auditor@db.internal:6432/hoop")
        let env = ["PGHOST": "pg.example", "PGPORT": "5433", "PGUSER": "ro", "PGDATABASE": "gw", "PGPASSWORD": "from-env", "PGSSLMODE": "require"]
        let bare = try PostgresLocation.parse("postgresql://", environment: env, home: "/nonexistent")
        #expect(bare == PostgresLocation(host: "pg.example", port: 5433, user: "ro", database: "gw", password: "from-env", sslMode: .require, sslRootCert: nil))
        let socket = try PostgresLocation.parse("postgres:///hoop?host=/run/postgresql", environment: ["USER": "ops"], home: "/nonexistent")
        #expect(socket.socketDirectory == "/run/postgresql" && socket.user == "ops" && socket.port == 5432 && socket.sslMode == .prefer)
        #expect(throws: PostgresLocation.Invalid.self) { try PostgresLocation.parse("postgres://h/db?sslmode=always", environment: [:]) }
        #expect(throws: PostgresLocation.Invalid.self) { try PostgresLocation.parse("postgres://h/db?password=x", environment: [:]) }
        #expect(throws: PostgresLocation.Invalid.self) { try PostgresLocation.parse("postgres://h:99999/db", environment: [:]) }
        #expect(redactedStoreLocation("postgres://u:pw@h:5432/db?sslmode=disable") == "postgres://u@h:5432/db?sslmode=disable")
        // A URL that does not parse still loses its password.
        #expect(redactedStoreLocation("postgres://u:p w#x@h:5432/db") == "postgres://u@h:5432/db")
        #expect(redactedStoreLocation("/var/lib/hoop/store.sqlite") == "/var/lib/hoop/store.sqlite")
    }

    @Test func pgpassMatchesLikeLibpqAndIsIgnoredWhenOthersCanReadIt() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("pgpass").path
        try """
            # host:port:database:user:password
            other:5432:*:auditor:not-this-one
            db.internal:*:hoop:auditor:pa\\:ss\\\\word
            *:*:*:*:fallback
            """.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let env = ["PGPASSFILE": file]
        #expect(try PostgresLocation.parse("postgres://auditor@db.internal:6432/hoop", environment: env).password == "pa:ss\\word")
        #expect(try PostgresLocation.parse("postgres://auditor@elsewhere/hoop", environment: env).password == "fallback")
        #expect(try PostgresLocation.parse("postgres://auditor:given@db.internal/hoop", environment: env).password == "given")
        #expect(try PostgresLocation.parse("postgres://auditor@db.internal/hoop", environment: env.merging(["PGPASSWORD": "env"]) { $1 }).password == "env")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        #expect(try PostgresLocation.parse("postgres://auditor@db.internal:6432/hoop", environment: env).password == nil)
    }
}

@Suite struct PostgresTLSTests {
    @Test func sslModesAgainstAServerWithASelfSignedCertificate() throws {
        let tlsCluster = try ThrowawayCluster(tls: true)
        defer { tlsCluster.stop() }
        try tlsCluster.createDatabase("gw")
        _ = try PostgresStoreLoader.load(sqlite: sampleStorePath, into: tlsCluster.location(database: "gw"))
        func open(_ mode: PostgresLocation.SSLMode, root: String? = nil) throws -> Int {
            var location = tlsCluster.location(database: "gw")
            location.sslMode = mode
            location.sslRootCert = root
            var sessions = 0
            try PostgresGatewayStore(location: location).forEachSession(in: q3) { _ in sessions += 1 }
            return sessions
        }
        #expect(try open(.require) == 1247)
        #expect(try open(.verifyFull, root: tlsCluster.certificate) == 1247)
        // The system's roots do not vouch for a self-signed certificate: refused, in one line.
        do {
            _ = try open(.verifyFull)
            Issue.record("verify-full accepted a certificate no trusted root signed")
        } catch let error as StoreError {
            #expect(error.kind == "unavailable", "\(error)")
            #expect(error.description.hasPrefix("postgres://evidence_admin@127.0.0.1:\(tlsCluster.port)/gw: "))
            #expect(error.description == "postgres://evidence_admin@127.0.0.1:\(tlsCluster.port)/gw: TLS handshake failed: the server's certificate is not signed by a trusted CA (sslmode=verify-full; give the CA with sslrootcert=FILE)")
            #expect(!error.description.contains(tlsCluster.password))
        }
        // A server without TLS refuses sslmode=require.
        var plain = try cluster().location()
        plain.sslMode = .require
        do {
            _ = try PostgresGatewayStore(location: plain)
            Issue.record("sslmode=require connected without TLS")
        } catch let error as StoreError {
            #expect(error.description.contains("does not offer TLS"))
        }
    }
}

extension StoreError {
    /// The case's name, for tests that check which kind of failure they got and go on.
    var kind: String { Mirror(reflecting: self).children.first?.label ?? "" }
}
