@testable import AccessEvidence
@testable import AccessEvidenceHoopAPI
import AccessEvidencePostgres
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A fake of hoop's HTTP API (`Tests/FakeHoopAPI/fake_hoop_api.py`, loopback only) serving a gateway
/// store as hoop's OpenAPI document describes it, with hoop's quirks; every answer it sends is
/// validated against `hoop-openapi.json` (only the deviations hoop's own code makes are allowed), and
/// a violation lands in its violations file, which each test expects empty.
final class FakeHoopAPI: @unchecked Sendable {
    static let script = packageRoot.appendingPathComponent("Tests/FakeHoopAPI/fake_hoop_api.py").path
    let dir: URL
    let pid: pid_t
    let port: Int
    let token: String
    let violations: URL
    let requestLog: URL
    let secure: Bool

    init(store: String = sampleStorePath, token: String = "hpk_test_\(UUID().uuidString.prefix(8))", role: String = "auditor",
         arguments: [String] = [], tls: (cert: String, key: String)? = nil) throws {
        try #require(FileManager.default.isExecutableFile(atPath: SchemaTests.python),
                     "no Python virtual environment at \(SchemaTests.python): run `make test-deps`")
        dir = try temporaryDirectory()
        self.token = token
        violations = dir.appendingPathComponent("violations.txt")
        requestLog = dir.appendingPathComponent("requests.log")
        secure = tls != nil
        let portFile = dir.appendingPathComponent("port")
        var args = [Self.script, "--store", store, "--token", token, "--role", role, "--port-file", portFile.path,
                    "--violations-file", violations.path, "--request-log", requestLog.path] + arguments
        if let tls { args += ["--tls-cert", tls.cert, "--tls-key", tls.key] }
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        // Every signal at its default and none blocked: a test that made this process ignore SIGTERM
        // (the report's signal handling) must not pass that on, or the fake would outlive its test.
        pid = try spawnChild(SchemaTests.python, args, environment: environment, stdout: dir.appendingPathComponent("stdout").path,
                             stderr: dir.appendingPathComponent("stderr").path, blockedSignals: [])
        var found: Int? = nil
        for _ in 0..<300 where found == nil {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let n = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                found = n
            } else {
                usleep(50_000)
            }
        }
        guard let found else {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let stderr = (try? String(contentsOf: dir.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
            throw FakeError(description: "the fake hoop API did not start: \(stderr)")
        }
        port = found
    }

    struct FakeError: Error, CustomStringConvertible { let description: String }

    deinit {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        // Ten seconds to stop, then killed: a test never waits on the fake forever.
        for _ in 0..<200 where waitpid(pid, &status, WNOHANG) == 0 { usleep(50_000) }
        if waitpid(pid, &status, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(at: dir)
    }

    var url: String { "hoop+\(secure ? "https" : "http")://\(secure ? "localhost" : "127.0.0.1"):\(port)/api" }

    /// Contract violations the fake met (empty when every answer matched hoop's document).
    var contractViolations: String { (try? String(contentsOf: violations, encoding: .utf8)) ?? "" }

    var requests: [String] {
        ((try? String(contentsOf: requestLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func transport(token: String? = nil, caFile: String? = nil, retry: HTTPTransport.RetryPolicy = .init(attempts: 4, initialDelay: 0.2)) throws -> HTTPTransport {
        try HTTPTransport(location: try HoopAPILocation.parse(url),
                          token: try HoopAPIToken.resolve(file: nil, environment: ["HOOP_API_TOKEN": token ?? self.token]),
                          caFile: caFile, retry: retry)
    }

    func opener(token: String? = nil) -> StoreOpener {
        let fake = self
        return { _ in HoopAPIStore(api: try fake.transport(token: token)) }
    }
}

/// report.json without provenance and without the notes on what hoop's API could not give: what a
/// report through the API shares with the database's.
func withoutSourceLimits(_ data: Data) throws -> NSDictionary {
    let json = try withoutProvenance(data).mutableCopy() as! NSMutableDictionary
    json["controls"] = (json["controls"] as? [[String: Any]])?.map { control in
        var control = control
        control["tests"] = (control["tests"] as? [[String: Any]])?.map { test in
            var test = test
            let notes = (test["notes"] as? [String] ?? []).filter { !$0.hasPrefix("Limited by this source: ") }
            test["notes"] = notes.isEmpty ? nil : notes
            return test
        }
        return control
    }
    return json
}

/// The notes on limits each test of a report.json carries, by test id.
func sourceLimitNotes(_ data: Data) throws -> [String: [String]] {
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    var out: [String: [String]] = [:]
    for control in json["controls"] as? [[String: Any]] ?? [] {
        for test in control["tests"] as? [[String: Any]] ?? [] {
            let notes = (test["notes"] as? [String] ?? []).filter { $0.hasPrefix("Limited by this source: ") }
            if !notes.isEmpty, let id = test["test"] as? String { out[id, default: []] += notes }
        }
    }
    return out
}

@Suite(.serialized) struct HoopAPITests {
    @Test func aReportThroughTheAPIEqualsTheReportFromTheSample() throws {
        let fake = try FakeHoopAPI()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (fromAPI, apiOutput) = try sampleReport(fake.url, in: dir, name: "api", opener: fake.opener())
        let (fromSQLite, sqliteOutput) = try sampleReport(sampleStorePath, in: dir, name: "sqlite")
        #expect(fake.contractViolations == "")
        #expect(try withoutSourceLimits(fromAPI) == withoutProvenance(fromSQLite))
        // Each test the API feeds only in part says how.
        let limited = try sourceLimitNotes(fromAPI)
        #expect(limited.keys.sorted() == ["access.terminated-users", "approval.gated-access", "approval.privileged-commands", "identity.attribution"])
        #expect(limited["access.terminated-users"]?.last == "Limited by this source: users.updated_at is not given by hoop's API: GET /users gives no times: an inactive user's deactivation time is the security audit log's last update setting them inactive, else unknown (a roster with termination times wins).")
        #expect(try sourceLimitNotes(fromSQLite).isEmpty)
        #expect(apiOutput.document.summary.exceptions == sqliteOutput.document.summary.exceptions)
        #expect(apiOutput.document.summary.exceptions == 38)
        let populations = dir.appendingPathComponent("sqlite/populations")
        let names = try FileManager.default.contentsOfDirectory(atPath: populations.path).sorted()
        #expect(names.count == 16)
        for name in names {
            #expect(try Data(contentsOf: populations.appendingPathComponent(name))
                    == Data(contentsOf: dir.appendingPathComponent("api/populations/\(name)")), "\(name)")
        }
        // What the auditor reads about the source: the API, the requests, and what the API cannot give.
        let source = apiOutput.document.source
        #expect(source.kind == "hoop-api" && source.location == fake.url && source.sha256 == nil)
        #expect(source.sessionsInPeriod == 1247 && source.rowCounts["sessions"] == 1247)
        #expect(source.queries["sessions"]?.hasPrefix("GET /api/sessions?start_date=2026-07-01T00:00:00Z&end_date=2026-10-01T00:00:00Z&limit=1&offset=0&count=capped") == true)
        let absent = (source.absentColumns ?? []).map(\.column)
        #expect(absent == HoopAPIStore.limits.map(\.column))
        #expect((source.absentColumns ?? []).allSatisfy { $0.addedIn == 0 })
        let provenance = try #require(source.snapshot)
        #expect(provenance.extractedFrom == fake.url && provenance.verified && provenance.tables["sessions"]?.rows == 1247)
        #expect(apiOutput.document.reconciliation?.sessionsInStore == 1247)
        // Each session's details were asked for once.
        let details = fake.requests.filter { $0.contains("/api/sessions/") && $0.contains("expand=event_stream") }
        #expect(details.count == 1247 && Set(details).count == 1247)
        // The pulled file is gone with the run.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("access-evidence-api-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func aSnapshotFromTheAPIReportsAsThePullDoes() throws {
        let fake = try FakeHoopAPI()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let snapshot = dir.appendingPathComponent("q3.sqlite").path
        let rows = try HoopAPIStore.writeSnapshot(api: try fake.transport(), period: q3, to: snapshot, extractedAt: date("2026-10-01T00:00:00Z"))
        #expect(rows["sessions"] == 1247 && rows["review_groups"] ?? 0 > 0 && rows["security_audit_log"] == 7)
        let (fromSnapshot, snapshotOutput) = try sampleReport(snapshot, in: dir, name: "snapshot")
        let (fromSQLite, _) = try sampleReport(sampleStorePath, in: dir, name: "sqlite")
        #expect(try withoutSourceLimits(fromSnapshot) == withoutProvenance(fromSQLite))
        #expect(try sourceLimitNotes(fromSnapshot).count == 4)
        let provenance = try #require(snapshotOutput.document.source.snapshot)
        #expect(provenance.extractedFrom == fake.url && provenance.extractedAt == "2026-10-01T00:00:00Z" && provenance.verified)
        #expect(snapshotOutput.document.source.absentColumns?.map(\.column) == HoopAPIStore.limits.map(\.column))
        // The manifest names the endpoints, not SQL.
        let db = try SQLiteDatabase(path: snapshot, mode: .readOnly)
        var sessionsQuery = ""
        try db.forEachRow("SELECT value FROM extract_manifest WHERE section = 'query' AND name = 'sessions'") { sessionsQuery = $0.text(0) ?? "" }
        #expect(sessionsQuery.contains("GET /api/sessions?start_date=") && sessionsQuery.contains("GET /api/sessions/{id}?expand=event_stream,session_input"))
        // Rerun: byte for byte the same snapshot.
        let again = dir.appendingPathComponent("again.sqlite").path
        _ = try HoopAPIStore.writeSnapshot(api: try fake.transport(), period: q3, to: again, extractedAt: date("2026-10-01T00:00:00Z"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: snapshot)) == Data(contentsOf: URL(fileURLWithPath: again)))
        #expect(fake.contractViolations == "")
    }

    /// A quarter of 10,547 sessions: more than one offset-paged listing may reach, so the pull cuts
    /// the period into windows and reconciles each window's exact count.
    @Test func aPeriodOfMoreThanTenThousandSessionsIsReadWhole() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = dir.appendingPathComponent("big.sqlite").path
        let made = try runExecutable(["sample-data", "--out", store, "--sessions", "10500"])
        try #require(made.code == 0, "\(made.stderr)")
        let fake = try FakeHoopAPI(store: store)
        func report(_ opener: @escaping StoreOpener, _ location: String, _ name: String) throws -> (Data, ReportRun.Output) {
            var run = ReportRun(storePath: location, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
            run.openStore = opener
            run.formats = [.json]
            let output = try run.write(to: dir.appendingPathComponent(name).path)
            return (try Data(contentsOf: dir.appendingPathComponent("\(name)/report.json")), output)
        }
        let (fromAPI, apiOutput) = try report(fake.opener(), fake.url, "api")
        let (fromSQLite, _) = try report(openAnyGatewayStore, store, "sqlite")
        #expect(apiOutput.document.source.sessionsInPeriod == 10547)
        #expect(try withoutSourceLimits(fromAPI) == withoutProvenance(fromSQLite))
        // Several windows; no page past offset 10000.
        let probes = fake.requests.filter { $0.contains("/api/sessions?") && $0.contains("count=capped") }
        let counts = fake.requests.filter { $0.contains("/api/sessions?") && $0.contains("count=exact") }
        // A cheap capped probe for every window tried (halving: 2w - 1 for w windows kept), and an exact
        // count before and after paging each window kept.
        let windows = counts.count / 2
        #expect(windows >= 2 && counts.count == 2 * windows && probes.count == 2 * windows - 1, "\(probes) \(counts)")
        let offsets = fake.requests.compactMap { line -> Int? in
            guard line.contains("/api/sessions?"), let range = line.range(of: "offset=") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(offsets.max() ?? 0 <= 10_000 && offsets.max() ?? 0 >= 4_000)
        #expect(fake.contractViolations == "")
    }

    @Test func aProxysTooManyRequestsIsWaitedOut() throws {
        let fake = try FakeHoopAPI(arguments: ["--fail-429", "/api/sessions:3"])
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (fromAPI, _) = try sampleReport(fake.url, in: dir, name: "api", opener: fake.opener())
        let (fromSQLite, _) = try sampleReport(sampleStorePath, in: dir, name: "sqlite")
        #expect(try withoutSourceLimits(fromAPI) == withoutProvenance(fromSQLite))
        // Three answers of 429 on the first requests to /api/sessions, each waited out and sent again.
        let refused = fake.requests.filter { $0.hasSuffix(" 429") }
        #expect(refused.count == 3 && refused.allSatisfy { $0.hasPrefix("GET /api/sessions?") }, "\(refused)")
        #expect(fake.contractViolations == "")
    }

    @Test func aServerErrorMidPullLeavesNoReportAndThePreviousOneIntact() throws {
        let good = try FakeHoopAPI()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report")
        let first = try runExecutable(["report", "--store", good.url, "--period", "2026-Q3", "--out", out.path, "--quiet",
                                       "--generated-at", "2026-10-01T00:00:00Z"], environment: ["HOOP_API_TOKEN": good.token])
        #expect(first.code == 0 || first.code == 1, "\(first.stderr)")
        let before = try Data(contentsOf: out.appendingPathComponent("report.json"))
        let failing = try FakeHoopAPI(token: good.token, arguments: ["--fail-500-after", "300"])
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let second = try runExecutable(["report", "--store", failing.url, "--period", "2026-Q3", "--out", out.path, "--quiet",
                                        "--generated-at", "2026-10-02T00:00:00Z"], environment: ["HOOP_API_TOKEN": good.token, "TMPDIR": scratch.path])
        // The half-pulled file went with the run.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == [])
        #expect(second.code == 69)
        let line = second.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!line.contains("\n"))
        #expect(line.contains("\(failing.url): GET /api/sessions/") && line.contains("answered HTTP 500 after 5 attempts"), "\(line)")
        #expect(!line.contains(good.token))
        #expect(try Data(contentsOf: out.appendingPathComponent("report.json")) == before)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(siblings == ["report"], "\(siblings)")
    }

    /// Same organization, same `--generated-at`: the same report, file for file (the pull is dated by
    /// the run's time, not the clock).
    @Test func aRerunThroughTheAPIIsByteIdentical() throws {
        let fake = try FakeHoopAPI()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The same command twice (the command line is in the report), the first result kept aside.
        for name in ["first", "second"] {
            let run = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", dir.appendingPathComponent("report").path,
                                         "--format", "html,json,csv", "--generated-at", "2026-10-01T00:00:00Z", "--quiet"],
                                        environment: ["HOOP_API_TOKEN": fake.token])
            #expect(run.code == 0, "\(run.stderr)")
            try FileManager.default.copyItem(at: dir.appendingPathComponent("report"), to: dir.appendingPathComponent(name))
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("first").path).sorted()
        #expect(files == (try FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("second").path).sorted()))
        #expect(files.contains("report.json") && files.contains("report.html"))
        for file in files {
            let a = dir.appendingPathComponent("first/\(file)"), b = dir.appendingPathComponent("second/\(file)")
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: a.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            #expect(try Data(contentsOf: a) == Data(contentsOf: b), "\(file)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("first/report.json"))) as? [String: Any])
        let snapshot = (json["source"] as? [String: Any])?["snapshot"] as? [String: Any]
        #expect(snapshot?["extractedAt"] as? String == "2026-10-01T00:00:00Z")
    }

    @Test func aWrongTokenExits77AndIsNeverShown() throws {
        let fake = try FakeHoopAPI()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wrong = "hpk_wrong_0123456789abcdef"
        let run = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", dir.appendingPathComponent("r").path],
                                    environment: ["HOOP_API_TOKEN": wrong])
        #expect(run.code == 77)
        #expect(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                == "access-evidence: \(fake.url): GET /api/userinfo answered HTTP 401: the token was refused (expired, revoked or not hoop's): invalid authentication")
        #expect(!run.stderr.contains(wrong) && !run.stdout.contains(wrong))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r").path))
    }

    @Test func aUserWhoSeesOnlyTheirOwnSessionsIsRefused() throws {
        let fake = try FakeHoopAPI(role: "standard")
        let run = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", try temporaryDirectory().appendingPathComponent("r").path],
                                    environment: ["HOOP_API_TOKEN": fake.token])
        #expect(run.code == 77)
        #expect(run.stderr.contains("is neither admin nor auditor (role standard)"), "\(run.stderr)")
    }

    @Test func aSessionDeletedBetweenListAndDetailIsReportedNotFatal() throws {
        let deleted = "0d6b2f1c-6a35-4c4e-9a57-000000000000"
        let db = try SQLiteDatabase(path: sampleStorePath, mode: .readOnly)
        var victim = deleted
        try db.forEachRow("SELECT id FROM sessions WHERE created_at >= '2026-08-01' ORDER BY created_at, id LIMIT 1") { victim = $0.text(0) ?? deleted }
        let fake = try FakeHoopAPI(arguments: ["--delete-after-list", victim])
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, output) = try sampleReport(fake.url, in: dir, name: "api", opener: fake.opener())
        #expect(output.document.source.sessionsInPeriod == 1246)
        let issues = output.dataQuality.filter { $0.table == "api" }
        #expect(issues.map(\.rowID) == [victim])
        #expect(issues.first?.problem == "listed by GET /api/sessions but answered 404 on its own (deleted during the pull); not tested")
        #expect(fake.contractViolations == "")
    }

    /// An API that lists a row twice (a user, a connection, a guardrail, a metric of each page): the
    /// first copy is kept and each repeat is a data-quality finding naming the endpoint, where the
    /// pull once stopped on SQLite's "UNIQUE constraint failed" naming its temporary file.
    @Test func rowsListedTwiceAreFindingsNotAFailedPull() throws {
        let fake = try FakeHoopAPI(arguments: ["--repeat-rows"])
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, output) = try sampleReport(fake.url, in: dir, name: "api", opener: fake.opener())
        let (_, sqliteOutput) = try sampleReport(sampleStorePath, in: dir, name: "sqlite")
        #expect(fake.contractViolations == "")
        #expect(output.document.source.sessionsInPeriod == 1247)
        #expect(output.document.summary.exceptions == sqliteOutput.document.summary.exceptions)
        let issues = output.dataQuality.filter { $0.table == "api" }
        let byEndpoint = Dictionary(grouping: issues, by: \.column)
        #expect(byEndpoint.keys.sorted() == ["GET /api/connections/{name}", "GET /api/guardrails", "GET /api/metrics/sessions", "GET /api/users"])
        let db = try SQLiteDatabase(path: sampleStorePath, mode: .readOnly)
        var firstUser = "", firstConnection = "", firstGuardrail = ""
        try db.forEachRow("SELECT id FROM users ORDER BY lower(coalesce(email, '')), id LIMIT 1") { firstUser = $0.text(0) ?? "" }
        try db.forEachRow("SELECT id FROM connections ORDER BY coalesce(name, '') LIMIT 1") { firstConnection = $0.text(0) ?? "" }
        try db.forEachRow("SELECT id FROM guardrail_rules ORDER BY coalesce(name, '') LIMIT 1") { firstGuardrail = $0.text(0) ?? "" }
        #expect(byEndpoint["GET /api/users"]?.map(\.rowID) == [firstUser])
        #expect(byEndpoint["GET /api/connections/{name}"]?.map(\.rowID) == [firstConnection])
        #expect(byEndpoint["GET /api/guardrails"]?.map(\.rowID) == [firstGuardrail])
        #expect(byEndpoint["GET /api/users"]?.first?.problem == "listed more than once (users); the first copy is kept")
        #expect(byEndpoint["GET /api/metrics/sessions"]?.allSatisfy { $0.problem == "listed more than once (session_metrics); the first copy is kept" } == true)
        #expect((byEndpoint["GET /api/metrics/sessions"]?.count ?? 0) > 0)
        // The rows kept are the rows: every population equals the database's.
        let populations = dir.appendingPathComponent("sqlite/populations")
        for name in try FileManager.default.contentsOfDirectory(atPath: populations.path).sorted() {
            #expect(try Data(contentsOf: populations.appendingPathComponent(name))
                    == Data(contentsOf: dir.appendingPathComponent("api/populations/\(name)")), "\(name)")
        }
    }

    /// A pull killed outright leaves its directory (the period's sessions) under `$TMPDIR`; the next
    /// pull removes such directories when no live run holds their lock, and nothing else.
    @Test func aKilledPullsDirectoryIsRemovedByTheNextPull() throws {
        let base = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: base) }
        let old = Date().addingTimeInterval(-600)
        func make(_ name: String, files: [String], age: Date = old) throws -> String {
            let dir = base.appendingPathComponent(name).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            for file in files { try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/" + file)) }
            try FileManager.default.setAttributes([.modificationDate: age], ofItemAtPath: dir)
            return dir
        }
        let stale = try make("access-evidence-api-aB3dE5", files: ["owner.lock", "pull.sqlite"])
        let live = try make("access-evidence-api-Xy7zQ1", files: ["owner.lock", "pull.sqlite"])
        let held = open(live + "/owner.lock", O_RDWR)
        defer { close(held) }
        try #require(flock(held, LOCK_EX | LOCK_NB) == 0)
        let justMade = try make("access-evidence-api-Jm1234", files: ["owner.lock"], age: Date())
        let foreign = try make("access-evidence-api-Fo5678", files: ["owner.lock", "pull.sqlite", "notes.txt"])
        let unlocked = try make("access-evidence-api-Nl9012", files: ["pull.sqlite"])
        let otherName = try make("access-evidence-apix-123456", files: ["owner.lock"])
        let target = try make("elsewhere", files: ["owner.lock", "pull.sqlite"])
        try FileManager.default.createSymbolicLink(atPath: base.appendingPathComponent("access-evidence-api-Ln3456").path, withDestinationPath: target)
        PrivateDirectory.sweep(base.path)
        let left = try FileManager.default.contentsOfDirectory(atPath: base.path).sorted()
        #expect(!left.contains((stale as NSString).lastPathComponent))
        #expect(left == ["access-evidence-api-Fo5678", "access-evidence-api-Jm1234", "access-evidence-api-Ln3456", "access-evidence-api-Nl9012",
                         "access-evidence-api-Xy7zQ1", "access-evidence-apix-123456", "elsewhere"])
        // Only the files a pull makes go from a directory holding more; the rest stays with it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign) == ["notes.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: live).sorted() == ["owner.lock", "pull.sqlite"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).sorted() == ["owner.lock", "pull.sqlite"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: justMade) == ["owner.lock"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: unlocked) == ["pull.sqlite"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: otherName) == ["owner.lock"])
        // A pull's own directory is locked while it lives, even once old, and gone when released.
        let own = try PrivateDirectory.make()
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: own.path)
        PrivateDirectory.sweep(PrivateDirectory.base())
        #expect(FileManager.default.fileExists(atPath: own.path + "/owner.lock"))
        var info = stat()
        #expect(lstat(own.path, &info) == 0 && info.st_mode & 0o777 == 0o700)
        own.remove()
        #expect(!FileManager.default.fileExists(atPath: own.path))
    }

    @Test func theTokenNeverLeavesTheRequestHeader() throws {
        let fake = try FakeHoopAPI(token: "hpk_secret_5f1d0c9e7a2b4c8d")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // In the URL: refused before anything is sent, without echoing it.
        for url in ["hoop+http://\(fake.token)@127.0.0.1:\(fake.port)/api", "hoop+http://127.0.0.1:\(fake.port)/api?token=\(fake.token)"] {
            let run = try runExecutable(["report", "--store", url, "--period", "2026-Q3", "--out", dir.appendingPathComponent("x").path])
            #expect(run.code == 64)
            #expect(!run.stderr.contains(fake.token) && run.stderr.contains("carries credentials or parameters"), "\(run.stderr)")
        }
        // From the environment: a whole report, every file of it searched.
        let out = dir.appendingPathComponent("report")
        let run = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", out.path,
                                     "--format", "html,xlsx,json,csv,oscal,ocsf", "--generated-at", "2026-10-01T00:00:00Z"],
                                    environment: ["HOOP_API_TOKEN": fake.token])
        #expect(run.code == 0 || run.code == 1, "\(run.stderr)")
        #expect(!run.stdout.contains(fake.token) && !run.stderr.contains(fake.token))
        let files = try FileManager.default.subpathsOfDirectory(atPath: out.path)
        #expect(files.count > 10)
        for file in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let data = try Data(contentsOf: out.appendingPathComponent(file))
            #expect(data.range(of: Data(fake.token.utf8)) == nil, "\(file)")
        }
        // A token file others may read is refused (as libpq refuses such a .pgpass).
        let tokenFile = dir.appendingPathComponent("hoop-credentials")
        try Data((fake.token + "\n").utf8).write(to: tokenFile)
        chmod(tokenFile.path, 0o644)
        let loose = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", dir.appendingPathComponent("y").path,
                                       "--token-file", tokenFile.path])
        #expect(loose.code == 77 && loose.stderr == "access-evidence: --token-file: \(tokenFile.path) is readable by its group or others (mode 644); chmod 600 it\n", "\(loose.stderr)")
        chmod(tokenFile.path, 0o600)
        let tight = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", dir.appendingPathComponent("y").path,
                                       "--token-file", tokenFile.path, "--quiet"])
        #expect(tight.code == 0 || tight.code == 1, "\(tight.stderr)")
    }

    @Test func plainHTTPGoesOnlyToThisMachine() throws {
        #expect(throws: HoopAPILocation.Invalid.self) { try HoopAPILocation.parse("hoop+http://gateway.example.com/api") }
        #expect(try HoopAPILocation.parse("hoop+http://127.0.0.1:8009").display == "hoop+http://127.0.0.1:8009/api")
        #expect(try HoopAPILocation.parse("hoop+https://gw.example.com/").display == "hoop+https://gw.example.com/api")
        #expect(try HoopAPILocation.parse("hoop+https://gw.example.com:8443/hoop/api").url("/sessions") == "https://gw.example.com:8443/hoop/api/sessions")
        #expect(redactedStoreLocation("hoop+https://secret@gw.example.com/api?token=x") == "hoop+https://gw.example.com/api")
    }

    @Test func tlsIsVerifiedAgainstTheSystemOrTheGivenAuthority() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let made = try spawnAndWait("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                                                         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                                    environment: ProcessInfo.processInfo.environment, stdout: dir.appendingPathComponent("o").path,
                                    stderr: dir.appendingPathComponent("e").path)
        try #require(made == 0)
        let fake = try FakeHoopAPI(tls: (cert, key))
        let untrusted = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", dir.appendingPathComponent("a").path],
                                          environment: ["HOOP_API_TOKEN": fake.token])
        #expect(untrusted.code == 69 && untrusted.stderr.contains("GET /api/userinfo: TLS failed (the server's certificate could not be verified: CERTIFICATE_VERIFY_FAILED); for a private certificate authority give --ca-file"), "\(untrusted.stderr)")
        let trusted = try runExecutable(["report", "--store", fake.url, "--period", "2026-Q3", "--out", dir.appendingPathComponent("b").path,
                                         "--ca-file", cert, "--quiet"], environment: ["HOOP_API_TOKEN": fake.token])
        #expect(trusted.code == 0 || trusted.code == 1, "\(trusted.stderr)")
    }
}
