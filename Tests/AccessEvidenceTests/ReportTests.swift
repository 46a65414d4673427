@testable import AccessEvidence
import Foundation
import Testing

@Suite(.serialized) struct ReportTests {
    let generatedAt = date("2026-10-01T06:00:00Z")

    func sampleRun() throws -> ReportRun {
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: generatedAt)
        run.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
        run.accepted = try AcceptedExceptions.load(path: packageRoot.appendingPathComponent("SampleData/accepted-exceptions.yaml").path,
                                                   controls: run.catalog.controls.map(\.id))
        return run
    }

    func sampleReport() throws -> (json: [String: Any], data: Data, dir: URL) {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("report").path
        try sampleRun().write(to: out)
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any], data, dir)
    }

    func exceptions(_ json: [String: Any], _ key: String = "exceptions") -> [[String: Any]] {
        (json["controls"] as! [[String: Any]]).flatMap { ($0["tests"] as! [[String: Any]]).flatMap { $0[key] as! [[String: Any]] } }
    }

    @Test func sampleStoreYieldsExactlyThePlantedGaps() throws {
        let truth = try JSONDecoder().decode(PlantedGaps.self, from: Data(contentsOf: packageRoot.appendingPathComponent("SampleData/planted-gaps.json")))
        let (json, _, _) = try sampleReport()
        func line(_ e: [String: Any]) -> String {
            "\(e["control"]!) \(e["item"]!) \(e["reasonCode"]!) \((e["criteria"] as! [String]).joined(separator: ","))"
        }
        let found = exceptions(json).map(line) + exceptions(json, "observations").map(line)
        let expected = truth.gaps.map { "\($0.control) \($0.item) \($0.reasonCode) \($0.criteria.joined(separator: ","))" }
        #expect(found.sorted() == expected.sorted())
        #expect(found.count == 44)
        // The control operated: a refused configuration change and a forced approval are observations,
        // listed for the auditor's judgement, never exceptions.
        #expect(Set(exceptions(json, "observations").map { $0["reasonCode"] as! String })
                == ["failed-change", "forced-approval", "guardrail-burst-blocked", "production-unprotected"])
        #expect(exceptions(json, "observations").allSatisfy { $0["kind"] as? String == "observation" })
        #expect(exceptions(json).allSatisfy { $0["kind"] as? String == "exception" })
        #expect(!exceptions(json).contains { ["failed-change", "forced-approval", "guardrail-burst-blocked", "production-unprotected"].contains($0["reasonCode"] as! String) })
        #expect((json["summary"] as! [String: Any])["observations"] as? Int == 6)
        #expect((json["summary"] as! [String: Any])["exceptions"] as? Int == 38)
        // Near misses are in the store and are not flagged.
        let flaggedSessions = Set(exceptions(json).map { $0["session"] as! String })
        for near in truth.nearMisses { #expect(!flaggedSessions.contains(near.session), "\(near.description)") }
        // Every criterion a planted exception names is marked as having exceptions.
        let criteria = json["criteria"] as! [[String: Any]]
        #expect(criteria.count == 61)
        let observationCodes: Set<String> = ["failed-change", "forced-approval", "guardrail-burst-blocked", "production-unprotected"]
        for id in Set(truth.gaps.filter { !observationCodes.contains($0.reasonCode) }.flatMap(\.criteria)) {
            #expect(criteria.first { $0["id"] as? String == id }?["status"] as? String == "exceptions-noted", "\(id)")
        }
        #expect(criteria.first { $0["id"] as? String == "CC1.1" }?["status"] as? String == "not-addressed")
    }

    @Test func sampleReadmeListsTheSameGaps() throws {
        let truth = try JSONDecoder().decode(PlantedGaps.self, from: Data(contentsOf: packageRoot.appendingPathComponent("SampleData/planted-gaps.json")))
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("SampleData/README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("`") && $0.contains("GW-") }
        let listed = rows.map { row -> String in
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
            return "\(cells[2]) \(cells[4]) \(cells[5])"
        }
        #expect(listed.sorted() == truth.gaps.map { "\($0.control) \($0.item) \($0.reasonCode)" }.sorted())
    }

    @Test func documentShape() throws {
        let (json, _, _) = try sampleReport()
        #expect(json["schemaVersion"] as? String == "2.1")
        #expect(json["$schema"] as? String == EvidenceDocument.schemaID)
        #expect(json["generatedAt"] as? String == "2026-10-01T06:00:00Z")
        let period = json["period"] as! [String: Any]
        #expect(period["start"] as? String == "2026-07-01T00:00:00Z")
        #expect(period["end"] as? String == "2026-10-01T00:00:00Z")
        let source = json["source"] as! [String: Any]
        #expect((source["sha256"] as? String)?.count == 64)
        let counts = source["rowCounts"] as! [String: Int]
        #expect(Set(counts.keys) == Set(GatewaySchema.tables.map(\.name)))
        #expect(counts["sessions"] == source["sessionsInPeriod"] as? Int)
        #expect((json["catalog"] as! [String: Any])["sha256"] as? String == (try shippedCatalog()).sha256)
        let first = exceptions(json)[0]
        for key in ["fingerprint", "control", "test", "criteria", "item", "session", "identity", "resource", "time", "reason", "severity", "evidence"] {
            #expect(first[key] != nil, "\(key)")
        }
        let control = (json["controls"] as! [[String: Any]]).first { $0["id"] as? String == "GW-CHG-01" }!
        let test = (control["tests"] as! [[String: Any]])[0]
        let attributes = test["attributes"] as! [[String: Any]]
        #expect(attributes.map { $0["id"] as! String } == ["A", "B", "C", "D"])
        #expect(attributes[0]["failed"] as? Int == 6)
        #expect(attributes[2]["failed"] as? Int == 3)
    }

    @Test func acceptedExceptionsCarryManagementResponses() throws {
        let (json, _, _) = try sampleReport()
        let all = exceptions(json) + exceptions(json, "observations")
        let accepted = all.filter { $0["status"] as? String == "accepted" }
        #expect(accepted.map { $0["reasonCode"] as! String }.sorted() == ["failed-change", "machine-without-owner"])
        let response = accepted.first { $0["reasonCode"] as? String == "failed-change" }!["managementResponse"] as! [String: String]
        #expect(response == ["acceptance": "ACC-2026-014", "reason": "The attempt was refused by the gateway (HTTP 403); no change took effect.",
                             "approver": "ines.duarte@acme.example", "ticket": "SEC-4412", "expires": "2026-12-31"])
        // The expired acceptance no longer covers Carol's self-approval, and is itself reported.
        let carol = all.first { $0["reasonCode"] as? String == "self-approval" }!
        #expect(carol["status"] as? String == "open")
        let section = json["acceptedExceptions"] as! [String: Any]
        #expect(section["applied"] as? Int == 2)
        #expect((section["expired"] as! [[String: Any]]).map { $0["id"] as! String } == ["ACC-2026-009"])
        #expect((section["unused"] as! [[String: Any]]).isEmpty)
        #expect(all.count == 44)
    }

    @Test func acceptedExceptionsFileIsValidated() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("x.yaml").path
        try """
        exceptions:
          - id: A
            control: GW-NOPE-01
            reason: r
            approver: a
            ticket: t
            expires: someday
          - id: B
            reason: r
            approver: a
            ticket: t
            expires: 2026-01-01
        """.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try AcceptedExceptions.load(path: path, controls: ["GW-IAM-01"])
            Issue.record("expected errors")
        } catch let error as CatalogError {
            #expect(error.problems == [
                "\(path):3:14: unknown control 'GW-NOPE-01'",
                "\(path):7:14: expires must be an ISO 8601 date (got 'someday')",
                "\(path):8:5: an accepted exception needs a fingerprint or a control",
            ])
        }
    }

    @Test func sameInputsGiveIdenticalBytes() throws {
        let a = try sampleReport().data
        let b = try sampleReport().data
        #expect(a == b)
    }

    @Test func failedRunKeepsThePreviousReport() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("report").path
        let run = try sampleRun()
        try run.write(to: out)
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
        var broken = run
        broken.storePath = dir.appendingPathComponent("missing.sqlite").path
        #expect(throws: StoreError.self) { try broken.write(to: out) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/report.json")) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report"])
    }

    @Test func generatorIsDeterministicAndPlantsTheSameGaps() throws {
        let dir = try temporaryDirectory()
        let p1 = dir.appendingPathComponent("a.sqlite").path, p2 = dir.appendingPathComponent("b.sqlite").path
        let g1 = try SampleStoreGenerator(seed: 7, sessions: 300, period: q3).write(to: p1)
        let rosterPath = dir.appendingPathComponent("roster.csv").path
        try SampleStoreGenerator.roster.write(toFile: rosterPath, atomically: true, encoding: .utf8)
        let g2 = try SampleStoreGenerator(seed: 7, sessions: 300, period: q3).write(to: p2)
        #expect(g1 == g2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: p1)) == Data(contentsOf: URL(fileURLWithPath: p2)))
        // Whatever the size and seed, only the planted gaps are found.
        var run = ReportRun(storePath: p1, period: q3, catalog: try shippedCatalog(), generatedAt: generatedAt)
        run.roster = try Roster.load(path: rosterPath)
        let output = try run.analyse()
        let found = output.analysis.controls.flatMap(\.findings).map { "\($0.controlID) \($0.itemID) \($0.reasonCode)" }
        #expect(found.sorted() == g1.gaps.map { "\($0.control) \($0.item) \($0.reasonCode)" }.sorted())
        let stored = try SQLiteDatabase(path: p1, mode: .readOnly).scalarInt("SELECT count(*) FROM sessions")
        #expect(stored >= 300 && output.analysis.sessionsAnalysed == stored)
    }
}

/// The executable's exit codes, as cron sees them.
@Suite(.serialized) struct CommandLineTests {
    func invoke(_ args: [String]) throws -> (code: Int32, stderr: String) {
        let result = try runExecutable(args)
        return (result.code, result.stderr)
    }

    @Test func exitCodes() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("r").path
        let ok = try invoke(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", out, "--quiet",
                             "--roster", packageRoot.appendingPathComponent("SampleData/roster.csv").path])
        #expect(ok.code == 0 && ok.stderr.isEmpty)
        #expect(try invoke(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", out, "--quiet", "--fail-on-exceptions"]).code == 1)
        #expect(try invoke(["report", "--store", sampleStorePath, "--period", "2026-Q9", "--out", out]).code == 64)
        #expect(try invoke(["report", "--store", sampleStorePath, "--out", out]).code == 64)
        #expect(try invoke(["report", "--bogus"]).code == 64)
        let missing = try invoke(["report", "--store", dir.appendingPathComponent("none.sqlite").path, "--period", "2026-Q3", "--out", out])
        #expect(missing.code == 66)
        #expect(missing.stderr.hasSuffix("none.sqlite: no such file\n"))
        let text = dir.appendingPathComponent("text.sqlite")
        try Data(repeating: 65, count: 100).write(to: text)
        let notDB = try invoke(["report", "--store", text.path, "--period", "2026-Q3", "--out", out])
        #expect(notDB.code == 65)
        #expect(notDB.stderr.split(separator: "\n").count == 1)
        #expect(try invoke(["controls", "validate", "--controls", dir.path]).code == 65)
        #expect(try invoke(["controls", "validate", "--controls", controlsPath]).code == 0)
        #expect(try invoke(["--help"]).code == 0)
        #expect(try invoke(["alert", "--help"]).code == 0)
        #expect(try invoke(["--version"]).code == 0)
        // A webhook nobody answers: delivery failure, exit 75, and the state is left as it was.
        let state = dir.appendingPathComponent("alerts.sqlite").path
        let alert = try invoke(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", state,
                                "--webhook", "http://127.0.0.1:9/hook", "--attempts", "1", "--timeout", "2"])
        #expect(alert.code == 75)
        #expect(alert.stderr.contains("delivery failed after 1 attempt"))
        #expect(try invoke(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", state, "--fail-on", "new"]).code == 1)
        #expect(try invoke(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", state, "--fail-on", "new"]).code == 0)
        let roster = dir.appendingPathComponent("roster.csv")
        try "subject,email,colour\nx,y,z\n".write(to: roster, atomically: true, encoding: .utf8)
        let badRoster = try invoke(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", out, "--roster", roster.path])
        #expect(badRoster.code == 65)
        #expect(badRoster.stderr.contains("roster.csv:1: unknown column 'colour'"))
    }
}
