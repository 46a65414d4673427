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
func loadedDatabase(_ sqlite: String = sampleStorePath) throws -> (name: String, location: PostgresLocation) {
    let c = try cluster()
    let name = "t_" + UUID().uuidString.prefix(8).lowercased()
    try c.createDatabase(name)
    _ = try PostgresStoreLoader.load(sqlite: sqlite, into: c.location(database: name))
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

func sampleReport(_ store: String, in dir: URL, name: String) throws -> (Data, ReportRun.Output) {
    var run = ReportRun(storePath: store, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
    run.openStore = openAnyGatewayStore
    run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
    run.accepted = try AcceptedExceptions.load(path: packageRoot.appendingPathComponent("SampleData/accepted-exceptions.yaml").path,
                                               controls: run.catalog.controls.map(\.id))
    let out = dir.appendingPathComponent(name)
    let output = try run.write(to: out.path)
    return (try Data(contentsOf: out.appendingPathComponent("report.json")), output)
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
        #expect(postgresOutput.analysis.sessionsAnalysed == 1244)
        #expect(postgresOutput.document.reconciliation?.sessionsInStore == 1244)
        #expect(postgresOutput.document.summary.exceptions == sqliteOutput.document.summary.exceptions)
        #expect(postgresOutput.document.summary.exceptions > 0)

        let source = postgresOutput.document.source
        #expect(source.kind == "postgresql")
        #expect(source.location == "postgres://evidence_admin@127.0.0.1:\(db.location.port)/\(db.name)")
        #expect(source.schemaVersion == "119")
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
            "DROP TABLE private.session_metrics", "ALTER TABLE private.sessions DROP COLUMN guardrails_info",
            "ALTER TABLE private.reviews DROP COLUMN revoked_at", "ALTER TABLE private.users DROP COLUMN status",
        ], database: db.name)
        #expect(throws: StoreError.missingSchema(path: "postgres://evidence_admin@127.0.0.1:\(db.location.port)/\(db.name)", missing: [
            "column private.sessions.guardrails_info", "column private.reviews.revoked_at", "table private.session_metrics",
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
            #expect(error.description == "postgres://auditor_ro@127.0.0.1:\(location.port)/\(db.name): the role auditor_ro may not SELECT from private.blobs, private.users")
        }
        try cluster().execute(["GRANT SELECT ON private.blobs, private.users TO auditor_ro"], database: db.name)
        var sessions = 0
        try PostgresGatewayStore(location: location).forEachSession(in: q3) { _ in sessions += 1 }
        #expect(sessions == 1244)
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
        guard case .permissionDenied = auth else { Issue.record("expected permission denied, got \(auth)"); return }
        #expect(auth.description.hasPrefix("\(display): authentication failed for user evidence_admin (28P01"))
        #expect(!auth.description.contains("not-the-Secret-42") && !auth.description.contains("\n"))

        var noDatabase = db.location
        noDatabase.database = "no_such_db"
        let missing = try #require(failure(noDatabase))
        #expect(missing.description.contains("database \"no_such_db\" does not exist"))

        var closed = db.location
        closed.port = try ThrowawayCluster.freePort()
        let refused = try #require(failure(closed))
        guard case .unavailable = refused else { Issue.record("expected unavailable, got \(refused)"); return }
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
            guard case .unavailable = error else { Issue.record("expected unavailable, got \(error)"); return }
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
    func loadDirectory() throws -> StoreDirectory { try store.loadDirectory() }
    func countSessions(in period: Period) throws -> (count: Int, query: String) { try store.countSessions(in: period) }
    func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws { try store.forEachConfigChange(in: period, body) }
    var dataQuality: [DataQualityIssue] { store.dataQuality }
    func forEachSession(in period: Period, _ body: (SessionRecord) throws -> Void) throws {
        try store.forEachSession(in: period) { session in
            try interrupt()
            try body(session)
        }
    }
}
