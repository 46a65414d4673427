@testable import AccessEvidence
@testable import AccessEvidencePostgres
import Crypto
import Foundation
import Testing

let teleportSample = packageRoot.appendingPathComponent("SampleData/teleport")
let pantherFixture = packageRoot.appendingPathComponent("Tests/AccessEvidenceTests/Fixtures/teleport-panther/events.jsonl").path

/// Teleport's audit log as a source: the sample's planted gaps exactly, third-party events read as
/// Teleport writes them and as Panther renames them, and what real logs hold turned into data-quality
/// findings with file and line.
@Suite struct TeleportTests {
    static func report(_ store: String, in dir: URL, name: String, period: Period = q3, formats: Set<ReportFormat> = [.json]) throws -> (json: [String: Any], data: Data, output: ReportRun.Output) {
        var run = ReportRun(storePath: store, period: period, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.openStore = openAnyGatewayStore
        run.formats = formats
        let out = dir.appendingPathComponent(name)
        let output = try run.write(to: out.path)
        let data = try Data(contentsOf: out.appendingPathComponent("report.json"))
        return (try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]), data, output)
    }

    static func findings(_ json: [String: Any], _ key: String) -> [[String: Any]] {
        (json["controls"] as! [[String: Any]]).flatMap { ($0["tests"] as! [[String: Any]]).flatMap { $0[key] as! [[String: Any]] } }
    }

    static var truth: PlantedGaps {
        get throws { try JSONDecoder().decode(PlantedGaps.self, from: Data(contentsOf: teleportSample.appendingPathComponent("planted-gaps.json"))) }
    }

    @Test func sampleLogYieldsExactlyThePlantedGaps() throws {
        let dir = try temporaryDirectory()
        let (json, _, output) = try Self.report("teleport:" + teleportSample.appendingPathComponent("log").path, in: dir, name: "report",
                                                formats: [.json, .html, .oscal])
        let truth = try Self.truth
        func line(_ e: [String: Any]) -> String {
            "\(e["control"]!) \(e["item"]!) \(e["reasonCode"]!) \((e["criteria"] as! [String]).joined(separator: ","))"
        }
        let found = Self.findings(json, "exceptions").map(line) + Self.findings(json, "observations").map(line)
        #expect(found.sorted() == truth.gaps.map { "\($0.control) \($0.item) \($0.reasonCode) \($0.criteria.joined(separator: ","))" }.sorted())
        #expect(found.count == 12)
        // Every Teleport-only class is among them.
        #expect(Set(truth.gaps.map(\.reasonCode)).isSuperset(of: ["no-mfa", "recording-not-uploaded", "recording-off", "access-while-locked",
                                                                  "used-after-expiry", "self-approval", "approved-after-use", "denied-request-used"]))
        let flagged = Set(Self.findings(json, "exceptions").map { $0["session"] as! String })
        for near in truth.nearMisses { #expect(!flagged.contains(near.session), "\(near.description)") }
        #expect(output.document.summary.exceptions == 11 && output.document.summary.observations == 1)
        #expect(output.analysis.sessionsAnalysed == 601 && output.document.reconciliation?.sessionsInStore == 601)
        #expect(output.dataQuality.isEmpty)

        // What Teleport cannot show is said, per test, and the tests with evidence ran on real populations.
        var notSupported: [String: String] = [:], populations: [String: Int] = [:]
        for control in json["controls"] as! [[String: Any]] {
            for test in control["tests"] as! [[String: Any]] {
                populations[test["test"] as! String] = test["populationCount"] as? Int
                if let reason = test["notSupported"] as? String { notSupported[test["test"] as! String] = reason }
            }
        }
        #expect(Set(notSupported.keys) == ["masking.detected-not-masked", "masking.sensitive-output", "guardrails.blocked-commands",
                                           "detection.guardrail-bursts", "detection.ai-high-risk", "posture.production-protections",
                                           "approval.gated-access"])
        #expect(notSupported["masking.detected-not-masked"] == "Teleport does not mask data in sessions, so its audit log records no masking")
        #expect(populations["access.session-mfa"] == 324 && populations["approval.access-requests"] == 36)
        #expect(populations["approval.privileged-commands"] == 32 && populations["changes.gateway-configuration"] == 3)
        let criteria = json["criteria"] as! [[String: Any]]
        #expect(criteria.first { $0["id"] as? String == "C1.1" }?["reason"] as? String
                == "Not supported by this source: GW-DLP-01 could not be tested (see the controls)")
        #expect(criteria.first { $0["id"] as? String == "CC6.1" }?["status"] as? String == "exceptions-noted")

        let source = output.document.source
        #expect(source.kind == "teleport" && source.rowCounts["session.start"] == 415 && source.rowCounts["user.login"] == 462)
        // The HTML scoreboard and OSCAL's results say it too, rather than showing an empty population.
        let folder = dir.appendingPathComponent("report")
        let page = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(page.contains("masking.detected-not-masked</a>: not supported by this source<br>"))
        #expect(page.contains("approval.access-requests</a>: 36<br>"))
        let results = try String(contentsOf: folder.appendingPathComponent(OSCALDocuments.Names(framework: nil).results), encoding: .utf8)
        #expect(results.contains("Not supported by this source: GW-DLP-01 could not be tested (see the controls)."))
        // The report follows the published schema, notSupported included.
        let check = try SchemaTests.validate(dir.appendingPathComponent("report"))
        #expect(check.code == 0, "\(check.output)")
    }

    @Test func sampleReadmeListsTheSameGaps() throws {
        let truth = try Self.truth
        let readme = try String(contentsOf: teleportSample.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("`") && $0.contains("GW-") }
        let listed = rows.map { row -> String in
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
            return "\(cells[2]) \(cells[4]) \(cells[5])"
        }
        #expect(listed.sorted() == truth.gaps.map { "\($0.control) \($0.item) \($0.reasonCode)" }.sorted())
        let nearListed = readme.split(separator: "\n").filter { $0.hasPrefix("- `7e1e") }.count
        #expect(nearListed == truth.nearMisses.count)
    }

    @Test func theGeneratorWritesTheCommittedLog() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("log").path
        let truth = try TeleportSampleGenerator(period: q3).write(to: out)
        #expect(truth == (try Self.truth))
        let server = TeleportSampleGenerator.authServer
        let committed = teleportSample.appendingPathComponent("log/\(server)")
        let names = try FileManager.default.contentsOfDirectory(atPath: committed.path).sorted()
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/" + server).sorted() == names)
        #expect(names.count == 93 && names.first == "2026-06-01.00:00:00.log")
        for name in names {
            #expect(try Data(contentsOf: committed.appendingPathComponent(name)) == Data(contentsOf: URL(fileURLWithPath: "\(out)/\(server)/\(name)")), "\(name)")
        }
        // It replaces only a log it wrote.
        try Data("x".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
        #expect(throws: OutputError.self) { try TeleportSampleGenerator(period: q3).write(to: out) }
        #expect(FileManager.default.fileExists(atPath: out + "/notes.txt"))
    }

    /// Panther's test events (Apache-2.0, see Fixtures/teleport-panther/SOURCE.md): every line is read,
    /// into the records expected, and every departure from Teleport's own form is a finding with file:line.
    @Test func pantherEventsParseIntoRecords() throws {
        let store = try TeleportAuditStore(location: pantherFixture)
        let period = Period(label: "2020-2023", start: date("2020-01-01T00:00:00Z"), end: date("2024-01-01T00:00:00Z"), timeZone: "UTC")
        _ = try store.organizations(in: period)
        let directory = try store.loadDirectory(for: period)
        // Users known from their logins (a login is what makes a user known; it says nothing of status).
        #expect(directory.users.keys.sorted() == ["jane.doe@example.com", "max.mustermann", "wtf.how@omghax.gravitational.io"])
        #expect(directory.locks.map(\.user) == ["user-to-disable"] && directory.locks[0].until == nil)
        var sessions: [SessionRecord] = []
        try store.forEachSession(in: period) { sessions.append($0) }
        let byID = Dictionary(uniqueKeysWithValues: sessions.map { ($0.id, $0) })
        #expect(sessions.count == 6)
        let start = try #require(byID["12345678-1111-2222-3333-54e9467ff0e6"])
        #expect(start.connectionName == "ip-10-0-0-1.us-west-2.compute.internal" && start.protocol == .ssh)
        #expect(start.connectionTags == ["env": "prod", "role": "project123"] && start.actor.subject == "max.mustermann@zumbeispiel.example")
        #expect(start.createdAt == date("2023-09-18T11:22:33Z") && start.endedAt == nil && start.status == "open")
        #expect(start.metadata["login"] == "root" && start.metadata["remote_address"] == "192.0.2.1:35194")
        #expect(start.assurance?.recordingMode == "node-sync" && start.assurance?.mfa == false)
        #expect(byID["8a3fc038-785b-43f3-8737-827b3e25fe5b"]?.transcript.commands.map(\.text) == ["/bin/echo", "/bin/nc -l -p 11434"])
        #expect(byID["4244c271-8069-4679-a27e-f7c18f88ce45"]?.transcript.commands.map(\.text) == ["/sbin/userdel jacknew"])
        #expect(byID["af24d0b8-9767-4bd8-99ce-7a4449ee3eba"]?.transcript.commands.map(\.text) == ["/bin/crontab -l", "/bin/crontab -e"])
        #expect(byID["af24d0b8-9767-4bd8-99ce-7a4449ee3eba"]?.transcript.commands.first?.recordedAt == date("2020-08-17T18:50:39.1Z"))
        var changes: [ConfigChange] = []
        try store.forEachConfigChange(in: period) { changes.append($0) }
        #expect(changes.map { "\($0.resourceType) \($0.action) \($0.payload) \($0.actor.subject)" } == ["locks create user-to-disable max.mustermann@example.com"])
        let here = { (line: Int) in "\(pantherFixture):\(line)" }
        #expect(store.dataQuality.map { "\($0.rowID) \($0.column): \($0.problem)" }.sorted() == [
            "\(here(1)) addr.remote: read from addr_remote (a renamed field)",
            "\(here(1)) code: 't2000i' read as T2000I",
            "\(here(1)) time: '2023-09-18 11:22:33' has no time zone; read as UTC",
            "\(here(14)) time: '2023-09-18 00:00:00' has no time zone; read as UTC",
            "\(here(15)) time: '2023-09-18 00:00:00' has no time zone; read as UTC",
            "\(here(16)) time: '2023-09-18 00:00:00' has no time zone; read as UTC",
            "\(here(17)) time: '2023-09-17 21:00:00.000000' has no time zone; read as UTC",
            "\(here(18)) time: '2023-09-17 21:00:00.000000' has no time zone; read as UTC",
            "\(here(2)) sid: session.command of session 8a3fc038-785b-43f3-8737-827b3e25fe5b, whose session.start is not in the log; the session starts at its first event",
            "\(here(2)) time: 2020-08-17T17:40:37.491Z is more than five minutes before an earlier line's 2023-09-18T11:22:33Z: the file is not in time order (sort an export by time first); later lines out of order are not listed",
            "\(here(20)) time: not a timestamp: '2023-09-20T23:00:000.000000Z'; the event is skipped",
            "\(here(21)) time: '2023-09-19 18:00:00' has no time zone; read as UTC",
            "\(here(4)) sid: session.command of session a3562a0e-e57f-4273-9f69-eedb6cd029cb, whose session.start is not in the log; the session starts at its first event",
            "\(here(7)) sid: session.command of session 4244c271-8069-4679-a27e-f7c18f88ce45, whose session.start is not in the log; the session starts at its first event",
            "\(here(8)) sid: session.command of session 29a3d18c-2c05-453d-979a-2ed888a14788, whose session.start is not in the log; the session starts at its first event",
            "\(here(9)) sid: session.command of session af24d0b8-9767-4bd8-99ce-7a4449ee3eba, whose session.start is not in the log; the session starts at its first event",
        ])
        let info = try store.describe()
        #expect(info.rowCounts == ["session.start": 1, "session.command": 8, "session.network": 1, "auth": 1, "user.login": 5,
                                   "cert.create": 2, "lock.created": 1, "saml.created": 1])
    }

    /// What real logs hold: each becomes a finding naming file and line, never a stop.
    @Test func whatRealLogsHoldIsToleratedAndReported() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("audit.log").path
        let lines = [
            // 1-3: a session whose command arrives before its start, with exitCode as a string.
            #"{"ei":1,"event":"exec","uid":"e1","code":"T3002I","time":"2026-07-02T10:00:01.123456789Z","user":"ann@example.com","sid":"s-1","command":"systemctl restart nginx","exitCode":"1","server_hostname":"web-1"}"#,
            #"{"ei":0,"event":"session.start","uid":"e0","code":"T2000I","time":"2026-07-02T10:00:00Z","user":"ann@example.com","sid":"s-1","server_hostname":"web-1","server_labels":{"env":"prod"},"session_recording":"node","initial_command":["systemctl restart nginx"],"with_mfa":"dev-1"}"#,
            #"{"ei":2,"event":"session.end","uid":"e2","code":"T2004I","time":"2026-07-02T10:00:03Z","user":"ann@example.com","sid":"s-1","interactive":false,"session_recording":"node"}"#,
            // 4: not JSON. 5: Teleport's own unknown. 6: no event type. 7: exitCode that is no number.
            #"{"event":"exec","#,
            #"{"event":"unknown","unknown_type":"device.weird","time":"2026-07-02T10:00:00Z"}"#,
            #"{"time":"2026-07-02T10:00:00Z","user":"x"}"#,
            #"{"event":"exec","uid":"e7","code":"T3002E","time":1783000000123,"user":"bob@example.com","command":"ls","exitCode":"abc","server_hostname":"web-1"}"#,
            // 8: an Athena row, 9: a DynamoDB item, each with a user.create inside (null roles).
            #"{"event_type":"user.create","event_data":"{\"event\":\"user.create\",\"uid\":\"e8\",\"code\":\"T1002I\",\"time\":\"2026-07-03T09:00:00Z\",\"user\":\"admin\",\"name\":\"cy@example.com\",\"roles\":null}"}"#,
            #"{"SessionID":"x","EventType":"user.delete","Fields":"{\"event\":\"user.delete\",\"uid\":\"e9\",\"code\":\"T1004I\",\"time\":\"2026-07-04T09:00:00Z\",\"user\":\"admin\",\"name\":\"cy@example.com\"}"}"#,
            // 10: a time outside the years the tool accepts. 11: a kubectl request outside any session.
            #"{"event":"exec","uid":"e10","time":"1999-12-31T23:59:59Z","user":"z","command":"ls"}"#,
            #"{"event":"kube.request","uid":"e11","code":"T3009I","time":"2026-07-05T08:00:00Z","user":"ann@example.com","kubernetes_cluster":"k8s-prod","verb":"DELETE","request_path":"/api/v1/namespaces/shop/pods/web-0","kubernetes_labels":{"env":"prod"}}"#,
            // 12: the last line, cut short while the log was being written.
            #"{"event":"session.start","time":"2026-07-05T09:0"#,
        ]
        try lines.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let store = try TeleportAuditStore(location: file)
        _ = try store.organizations(in: q3)
        let directory = try store.loadDirectory(for: q3)
        #expect(directory.users["cy@example.com"]?.status == "inactive" && directory.users["cy@example.com"]?.groups == [])
        #expect(directory.users["cy@example.com"]?.deactivatedAt == date("2026-07-04T09:00:00Z"))
        var sessions: [SessionRecord] = []
        try store.forEachSession(in: q3) { sessions.append($0) }
        #expect(sessions.map(\.id) == ["s-1", "e7", "e11"])
        let s1 = sessions[0]
        #expect(s1.createdAt == date("2026-07-02T10:00:00Z") && s1.endedAt == date("2026-07-02T10:00:03Z") && s1.verb == "exec" && s1.exitCode == 1)
        #expect(s1.transcript.commands.map(\.text) == ["systemctl restart nginx"] && s1.assurance?.mfa == true && s1.assurance?.interactive == false)
        #expect(s1.metadata["mfa"] == "per-session MFA (device dev-1)")
        #expect(sessions[1].createdAt == Date(timeIntervalSince1970: 1_783_000_000.123) && sessions[1].exitCode == nil)
        #expect(sessions[2].connectionName == "k8s-prod" && sessions[2].protocol == .kubernetes)
        #expect(sessions[2].transcript.commands.map(\.text) == ["DELETE /api/v1/namespaces/shop/pods/web-0"])
        #expect(CommandClassifier.classify(sessions[2].transcript.commands[0].text, protocol: .kubernetes) == [.k8sMutation])
        #expect(store.dataQuality.map { "\($0.rowID.replacingOccurrences(of: file, with: "F")) \($0.column): \($0.problem)" }.sorted() == [
            "F:1 sid: exec of session s-1, whose session.start is not in the log; the session starts at its first event",
            "F:10 time: '1999-12-31T23:59:59Z' is outside the years 2000–2100; treated as unreadable; the event is skipped",
            "F:12 json: the last line ends without a newline and is not complete JSON (the log may still be being written); skipped",
            "F:4 json: malformed JSON at byte 17 (expected a key); the line is skipped",
            "F:5 event: an event Teleport itself could not type (device.weird); skipped",
            "F:6 event: no event type; the line is skipped",
            "F:7 exitCode: 'abc' is not a whole number",
        ])
    }

    /// The sample's canonical export reports the same as the log itself, and it carries what Teleport adds.
    @Test func theSampleRoundTripsThroughCanonicalRecords() throws {
        let dir = try temporaryDirectory()
        let log = "teleport:" + teleportSample.appendingPathComponent("log").path
        let file = dir.appendingPathComponent("teleport-q3.jsonl").path
        let source = try openAnyGatewayStore(log)
        try StoreOrganization.select(in: source, period: q3, asked: nil)
        _ = try CanonicalExport.write(from: source, period: q3, to: file, exportedAt: date("2026-10-01T00:00:00Z"))
        let (_, fromLog, _) = try Self.report(log, in: dir, name: "log")
        let (_, fromRecords, _) = try Self.report("jsonl:" + file, in: dir, name: "records")
        #expect(try withoutProvenance(fromRecords) == withoutProvenance(fromLog))
        let check = try SchemaTests.run(SchemaTests.python, [SchemaTests.validator, "--records", file])
        #expect(check.code == 0, "\(check.output)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains(#""type":"lock","id":"lock-erin","user":"erin@acme.example""#))
        #expect(text.contains(#""unsupported":{"access-requests""#) == false && text.contains(#""unsupported":{"ai-analysis":"#))
    }

    /// Standard input, gzip, and a folder read by the days a period needs.
    @Test func readsStandardInputGzipAndOnlyTheDaysNeeded() throws {
        let dir = try temporaryDirectory()
        let server = teleportSample.appendingPathComponent("log/\(TeleportSampleGenerator.authServer)")
        // August from the folder reads the history (the users) and the days around August, not September's.
        let august = try Period.parse("2026-08")
        let store = try TeleportAuditStore(location: teleportSample.appendingPathComponent("log").path)
        let read = store.input.files(for: august, history: true).compactMap(\.day)
        #expect(read.first == "2026-06-01" && read.last == "2026-09-01" && !read.contains("2026-09-02"))
        #expect(store.input.files(for: august, history: false).compactMap(\.day).first == "2026-07-30")

        // One gzip file of every day, and the same on standard input, report as the folder does.
        let all = dir.appendingPathComponent("all.log")
        var bytes = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: server.path).sorted() {
            bytes.append(try Data(contentsOf: server.appendingPathComponent(name)))
        }
        try bytes.write(to: all)
        #expect(try SchemaTests.run("/bin/sh", ["-c", "gzip -k '\(all.path)'"]).code == 0)
        let (_, fromFolder, _) = try Self.report("teleport:" + teleportSample.appendingPathComponent("log").path, in: dir, name: "folder")
        let (_, fromGzip, _) = try Self.report("teleport:" + all.path + ".gz", in: dir, name: "gzip")
        #expect(try withoutProvenance(fromGzip) == withoutProvenance(fromFolder))
        let out = dir.appendingPathComponent("stdin")
        let piped = try SchemaTests.run("/bin/sh", ["-c", "ACCESS_EVIDENCE_SYSTEM_CONFIG=/nonexistent XDG_CONFIG_HOME=/nonexistent '\(executablePath)' report --store teleport:- --period 2026-Q3 --out '\(out.path)' --quiet --generated-at 2026-10-01T00:00:00Z < '\(all.path)'"])
        #expect(piped.code == 0, "\(piped.output)")
        let fromStdin = try withoutProvenance(Data(contentsOf: out.appendingPathComponent("report.json"))).mutableCopy() as! NSMutableDictionary
        fromStdin["invocation"] = nil
        #expect(fromStdin == (try withoutProvenance(fromFolder)))
        #expect(try SchemaTests.json(out.appendingPathComponent("report.json"))["source"].flatMap { ($0 as? [String: Any])?["location"] as? String } == "-")
    }

    /// An Athena or DynamoDB export is not in time order: a review before its request's creation still
    /// counts, a future session_stop cannot hold a session, and the disorder is said once.
    @Test func anUnsortedExportIsReadWithItsOrderSaid() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("athena.jsonl").path
        let lines = [
            #"{"event":"access_request.review","uid":"r2","code":"T5002I","time":"2026-07-02T09:30:00Z","user":"carol","id":"req-1","reviewer":"carol","proposed_state":"APPROVED","state":"APPROVED"}"#,
            #"{"event":"access_request.create","uid":"r1","code":"T5000I","time":"2026-07-02T09:00:00Z","user":"ann","id":"req-1","state":"PENDING","roles":["db-admin"],"max_duration":"2026-07-02T13:00:00Z"}"#,
            #"{"event":"session.start","uid":"s1","code":"T2000I","time":"2026-07-02T09:40:00Z","user":"ann","sid":"s-1","server_hostname":"db-1","server_labels":{"env":"prod"},"access_requests":["req-1"],"with_mfa":"d"}"#,
            #"{"event":"session.end","uid":"s2","code":"T2004I","time":"2026-07-02T09:50:00Z","user":"ann","sid":"s-1","interactive":true,"session_stop":"2099-01-01T00:00:00Z"}"#,
            #"{"event":"session.upload","uid":"s3","code":"T2005I","time":"2026-07-02T09:50:05Z","sid":"s-1"}"#,
        ]
        try lines.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let store = try TeleportAuditStore(location: file)
        _ = try store.loadDirectory(for: q3)
        var sessions: [SessionRecord] = []
        try store.forEachSession(in: q3) { sessions.append($0) }
        #expect(sessions.count == 1)
        let grant = try #require(sessions.first?.jitGrants.first)
        #expect(grant.id == "req-1" && grant.status == "APPROVED" && grant.approvedAt == date("2026-07-02T09:30:00Z"))
        #expect(grant.expiresAt == date("2026-07-02T13:00:00Z"))
        #expect(sessions[0].endedAt == date("2026-07-02T09:50:00Z") && sessions[0].assurance?.recordingUploaded == true)
        #expect(store.dataQuality.map { "\($0.rowID.replacingOccurrences(of: file, with: "F")) \($0.column): \($0.problem)" } == [
            "F:2 time: 2026-07-02T09:00:00Z is more than five minutes before an earlier line's 2026-07-02T09:30:00Z: the file is not in time order (sort an export by time first); later lines out of order are not listed",
        ])
    }

    /// A log still being written: what is appended after the first pass is neither analysed nor hashed,
    /// so the report is of one state of the file.
    @Test func aGrowingLogIsReadAsTheFirstPassSawIt() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("today.log")
        let first = [
            #"{"event":"session.start","uid":"a1","code":"T2000I","time":"2026-07-02T10:00:00Z","user":"ann","sid":"s-1","server_hostname":"db-1","with_mfa":"d"}"#,
            #"{"event":"session.end","uid":"a2","code":"T2004I","time":"2026-07-02T10:05:00Z","user":"ann","sid":"s-1","interactive":true}"#,
            #"{"event":"session.upload","uid":"a3","code":"T2005I","time":"2026-07-02T10:05:02Z","sid":"s-1"}"#,
        ].joined(separator: "\n") + "\n"
        try first.write(to: file, atomically: false, encoding: .utf8)
        let store = try TeleportAuditStore(location: file.path)
        _ = try store.loadDirectory(for: q3)
        // Written while the report runs, between the passes.
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"event":"session.start","uid":"b1","code":"T2000I","time":"2026-07-02T10:06:00Z","user":"bob","sid":"s-2","server_hostname":"db-1"}"#.utf8 + [10]))
        try handle.close()
        var sessions: [SessionRecord] = []
        try store.forEachSession(in: q3) { sessions.append($0) }
        #expect(sessions.map(\.id) == ["s-1"])
        #expect(try store.describe().sha256 == Hex.encode(SHA256.hash(data: Data(first.utf8))))
    }
}
