@testable import AccessEvidence
import Foundation
import Testing

/// `--format ocsf` and `alert --format ocsf`: every event checked by OCSF's own tooling
/// (`Schemas/validate_ocsf.py`: py-ocsf-models, ocsf-json-schema, ocsf-lib, from `.build/venv`),
/// and every event agreeing with report.json.
@Suite struct OCSFTests {
    static let validator = SchemaTests.schemas.appendingPathComponent("validate_ocsf.py").path

    static let sample = Result {
        try SchemaTests.writeReport(store: sampleStorePath, name: "ocsf") { $0.formats = [.json, .ocsf] }
    }

    static func validate(_ events: URL) throws -> (code: Int32, output: String) {
        // Not a skip: without the validators the events are not checked at all.
        try #require(FileManager.default.isExecutableFile(atPath: SchemaTests.python),
                     "no Python virtual environment at \(SchemaTests.python): run `make test-deps`")
        let check = try SchemaTests.run(SchemaTests.python, ["-c", "import py_ocsf_models, ocsf.schema, ocsf_json_schema"])
        try #require(check.code == 0, "the OCSF validators are not installed in .build/venv: run `make test-deps`\n\(check.output)")
        return try SchemaTests.run(SchemaTests.python, [validator, events.path, OCSFFindings.schemaVersion])
    }

    static func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func sampleEventsPassOCSFsValidators() throws {
        let folder = try Self.sample.get()
        let events = folder.appendingPathComponent(OCSFFindings.fileName)
        let result = try Self.validate(events)
        #expect(result.code == 0, "\(result.output)")
        #expect(result.output.contains("0 problems"), "\(result.output)")
        // The manifest lists the file with its hash.
        let manifest = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(Manifest.fileName))) as? [String: Any])
        let files = try #require(manifest["files"] as? [[String: Any]])
        #expect(files.contains { $0["name"] as? String == OCSFFindings.fileName && ($0["sha256"] as? String)?.count == 64 })
    }

    /// A broken event is caught: the validators are really reading the file.
    @Test func validatorsRejectABrokenEvent() throws {
        let folder = try Self.sample.get()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let all = try Self.lines(folder.appendingPathComponent(OCSFFindings.fileName))
        var first = try #require(all.first)
        first["severity_id"] = 9
        first["class_uid"] = 2004
        let broken = dir.appendingPathComponent("broken.jsonl")
        try JSONSerialization.data(withJSONObject: first).write(to: broken)
        let result = try Self.validate(broken)
        #expect(result.code == 1)
        #expect(result.output.contains("severity_id"), "\(result.output)")
        #expect(result.output.contains("class_uid 2004"), "\(result.output)")
    }

    @Test func eventsAgreeWithReportJSON() throws {
        let folder = try Self.sample.get()
        let report = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json"))) as? [String: Any])
        let events = try Self.lines(folder.appendingPathComponent(OCSFFindings.fileName))
        let controls = try #require(report["controls"] as? [[String: Any]])
        func compliance(_ e: [String: Any]) -> [String: Any] { e["compliance"] as? [String: Any] ?? [:] }
        func info(_ e: [String: Any]) -> [String: Any] { e["finding_info"] as? [String: Any] ?? [:] }
        let results = events.filter { (info($0)["types"] as? [String]) == ["Control test result"] }
        let findings = events.filter { (info($0)["types"] as? [String]) != ["Control test result"] }
        var expectedFindings = 0
        var testCount = 0
        for control in controls {
            let id = try #require(control["id"] as? String)
            let criteria = try #require(control["criteria"] as? [String])
            for test in try #require(control["tests"] as? [[String: Any]]) {
                testCount += 1
                let name = try #require(test["test"] as? String)
                let exceptions = try #require(test["exceptions"] as? [[String: Any]])
                let observations = try #require(test["observations"] as? [[String: Any]])
                let population = try #require(test["populationCount"] as? Int)
                let matching = results.filter { compliance($0)["control"] as? String == id && ($0["unmapped"] as? [String: String])?["test"] == name }
                try #require(matching.count == 1, "\(id) \(name): \(matching.count) result events")
                let event = matching[0]
                let expected = population == 0 ? "Warning" : !exceptions.isEmpty ? "Fail" : "Pass"
                #expect(compliance(event)["status"] as? String == expected, "\(id) \(name)")
                #expect(compliance(event)["standards"] as? [String] == criteria.map { "SOC 2 \($0)" }, "\(id) \(name)")
                #expect(event["class_uid"] as? Int == 2003 && event["type_uid"] as? Int == 200301)
                for e in exceptions + observations {
                    expectedFindings += 1
                    let fingerprint = try #require(e["fingerprint"] as? String)
                    let hits = findings.filter { info($0)["uid"] as? String == fingerprint }
                    try #require(hits.count == 1, "\(fingerprint): \(hits.count) events")
                    let hit = hits[0]
                    let severity = ["low": 2, "medium": 3, "high": 4, "critical": 5][e["severity"] as? String ?? ""]
                    #expect(hit["severity_id"] as? Int == severity, "\(fingerprint)")
                    #expect(compliance(hit)["control"] as? String == id)
                    #expect(compliance(hit)["requirements"] as? [String] == e["criteria"] as? [String])
                    #expect(compliance(hit)["status"] as? String == (e["kind"] as? String == "observation" ? "Observation" : "Fail"))
                    #expect(compliance(hit)["status_id"] as? Int == (e["kind"] as? String == "observation" ? 99 : 3))
                    #expect(hit["status"] as? String == (e["managementResponse"] == nil ? "New" : "Accepted"), "\(fingerprint)")
                    let resources = (hit["resources"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                    for key in ["session", "identity", "resource"] {
                        if let value = e[key] as? String, !value.isEmpty { #expect(resources.contains(value), "\(fingerprint) \(key)") }
                    }
                    let timeText = try #require(e["time"] as? String)
                    let time = try #require(Timestamp.parse(timeText))
                    #expect(hit["time"] as? Int64 == Int64(time.timeIntervalSince1970 * 1000), "\(fingerprint): epoch milliseconds")
                }
            }
        }
        #expect(results.count == testCount)
        #expect(findings.count == expectedFindings)
        #expect(expectedFindings > 40)
        // Every criterion with exceptions has a failing event among its requirements, and no other does.
        for criterion in try #require(report["criteria"] as? [[String: Any]]) {
            let id = try #require(criterion["id"] as? String)
            let failing = findings.contains { compliance($0)["status"] as? String == "Fail" && (compliance($0)["requirements"] as? [String] ?? []).contains(id) }
            #expect(failing == ((criterion["exceptionCount"] as? Int ?? 0) > 0), "\(id)")
        }
        // Accepted exceptions of the sample are marked so, with the acceptance said.
        let accepted = findings.filter { $0["status_id"] as? Int == 99 }
        #expect(!accepted.isEmpty)
        #expect(accepted.allSatisfy { $0["status"] as? String == "Accepted" && ($0["status_detail"] as? String)?.hasPrefix("accepted as ") == true })
    }

    /// Same input, same bytes: a second run with the same `--generated-at` writes the same file.
    @Test func rerunWritesTheSameBytes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let again = try SchemaTests.writeReport(store: sampleStorePath, name: "again", in: dir) { $0.formats = [.ocsf] }
        let first = try Data(contentsOf: try Self.sample.get().appendingPathComponent(OCSFFindings.fileName))
        #expect(try Data(contentsOf: again.appendingPathComponent(OCSFFindings.fileName)) == first)
    }

    /// Values leave through the gate: a card number in a command reaches the events masked.
    @Test func eventsCarryMaskedValuesOnly() throws {
        let f = try StoreFixture()
        try f.session("s1", user: "okta|x", email: "x@acme.example", created: "2026-08-03T10:00:00Z", ended: "2026-08-03T10:01:00Z",
                      script: "UPDATE cards SET pan = '4111 1111 1111 1111';")
        try f.finish()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.ocsf]
        try run.write(to: dir.appendingPathComponent("r").path)
        let text = try String(contentsOf: dir.appendingPathComponent("r/" + OCSFFindings.fileName), encoding: .utf8)
        #expect(text.contains("4111 **** **** 1111"), "\(text.prefix(2_000))")
        #expect(!text.contains("4111 1111 1111 1111") && !text.contains("4111111111111111"))
    }

    @Test func alertEventsPassOCSFsValidators() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = dir.appendingPathComponent("store.sqlite").path
        try FileManager.default.copyItem(atPath: sampleStorePath, toPath: store)
        let run = try runExecutable(["alert", "--store", store, "--period", "2026-Q3", "--state", dir.appendingPathComponent("state.sqlite").path,
                                     "--generated-at", "2026-10-01T00:00:00Z", "--format", "ocsf", "--roster",
                                     packageRoot.appendingPathComponent("SampleData/roster.csv").path])
        #expect(run.code == 0, "\(run.stderr)")   // --fail-on defaults to never
        let events = dir.appendingPathComponent("alert.jsonl")
        try Data(run.stdout.utf8).write(to: events)
        let lines = try Self.lines(events)
        #expect(lines.count == 44)
        #expect(lines.allSatisfy { $0["activity_id"] as? Int == 1 && $0["status"] as? String == "New" })
        // Each event names its control's criteria, as the catalog maps them.
        let criteria = Dictionary(uniqueKeysWithValues: try shippedCatalog().controls.map { ($0.id, $0.criteria) })
        for line in lines {
            let compliance = try #require(line["compliance"] as? [String: Any])
            let control = try #require(compliance["control"] as? String)
            #expect(compliance["standards"] as? [String] == criteria[control]?.map { "SOC 2 \($0)" }, "\(control)")
        }
        let result = try Self.validate(events)
        #expect(result.code == 0, "\(result.output)")

        // With --framework, each event names every chosen framework's requirements; the primary's bare ids stay `requirements`.
        let framed = try runExecutable(["alert", "--store", store, "--period", "2026-Q3", "--state", dir.appendingPathComponent("state2.sqlite").path,
                                        "--generated-at", "2026-10-01T00:00:00Z", "--format", "ocsf", "--framework", "soc2,iso27001"])
        #expect(framed.code == 0, "\(framed.stderr)")
        let framedEvents = dir.appendingPathComponent("framed.jsonl")
        try Data(framed.stdout.utf8).write(to: framedEvents)
        let framedCheck = try Self.validate(framedEvents)
        #expect(framedCheck.code == 0, "\(framedCheck.output)")
        let change = try #require(framed.stdout.split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.first { ($0["compliance"] as? [String: Any])?["control"] as? String == "GW-CHG-01" })
        let compliance = try #require(change["compliance"] as? [String: Any])
        #expect(compliance["standards"] as? [String] == ["SOC 2 CC6.1", "SOC 2 CC6.3", "SOC 2 CC8.1",
                                                          "ISO 27001 A.8.32", "ISO 27001 A.8.2", "ISO 27001 A.5.3", "ISO 27001 A.8.18", "ISO 27001 A.8.19"])
        #expect(compliance["requirements"] as? [String] == ["CC6.1", "CC6.3", "CC8.1"])
        let wrong = try runExecutable(["alert", "--store", store, "--period", "2026-Q3", "--state", dir.appendingPathComponent("state3.sqlite").path,
                                       "--format", "ocsf", "--framework", "sox"])
        #expect(wrong.code == 64 && wrong.stderr.contains("--framework: unknown framework 'sox'"), "\(wrong.stderr)")
    }
}
