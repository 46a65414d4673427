@testable import AccessEvidence
import Foundation
import Testing

/// `--format oscal`: the catalog, assessment plan and assessment results checked by compliance-trestle
/// (`Schemas/validate_oscal.py`, from `.build/venv`), and the results agreeing with report.json.
@Suite struct OSCALTests {
    static let validator = SchemaTests.schemas.appendingPathComponent("validate_oscal.py").path

    static let sample = Result {
        try SchemaTests.writeReport(store: sampleStorePath, name: "oscal") { $0.formats = [.json, .xlsx, .oscal] }
    }

    static func validate(_ folder: URL, framework: String? = nil) throws -> (code: Int32, output: String) {
        // Not a skip: without trestle the documents are not checked at all.
        try #require(FileManager.default.isExecutableFile(atPath: SchemaTests.python),
                     "no Python virtual environment at \(SchemaTests.python): run `make test-deps`")
        let check = try SchemaTests.run(SchemaTests.python, ["-c", "import trestle"])
        try #require(check.code == 0, "compliance-trestle is not installed in .build/venv: run `make test-deps`\n\(check.output)")
        return try SchemaTests.run(SchemaTests.python, [validator, folder.path] + (framework.map { [$0] } ?? []))
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    @Test func sampleDocumentsPassTrestle() throws {
        let folder = try Self.sample.get()
        let result = try Self.validate(folder)
        #expect(result.code == 0, "\(result.output)")
        #expect(result.output.contains("0 problems"), "\(result.output)")
        let manifest = try Self.json(folder.appendingPathComponent(Manifest.fileName))
        let names = Set((manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: [OSCALDocuments.catalogFile, OSCALDocuments.planFile, OSCALDocuments.resultsFile]))
    }

    /// Every framework of the run gets its own set, each passing trestle; a GW-CHG-01 exception makes
    /// ISO 27001's A.8.32 not satisfied, with the exception's risk linked.
    @Test func aSetPerFramework() throws {
        let chosen = try shippedCatalog().choosing(["soc2", "iso27001", "hipaa"])
        let folder = try SchemaTests.writeReport(store: sampleStorePath, name: "oscal-frameworks") {
            $0.formats = [.json, .oscal]
            $0.catalog = chosen
        }
        let manifest = try Self.json(folder.appendingPathComponent(Manifest.fileName))
        let names = Set((manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        for framework in [nil, "iso27001", "hipaa"] {
            let set = OSCALDocuments.Names(framework: framework)
            #expect(names.isSuperset(of: [set.catalog, set.plan, set.results]), "\(framework ?? "soc2")")
            let result = try Self.validate(folder, framework: framework)
            #expect(result.code == 0 && result.output.contains("0 problems"), "\(framework ?? "soc2"): \(result.output)")
        }
        #expect(!names.contains(OSCALDocuments.Names(framework: "pci-dss").catalog))
        let iso = OSCALDocuments.Names(framework: "iso27001")
        let catalog = try #require(try Self.json(folder.appendingPathComponent(iso.catalog))["catalog"] as? [String: Any])
        #expect((catalog["metadata"] as? [String: Any])?["title"] as? String == "ISO/IEC 27001:2022 Annex A: criteria and access gateway controls")
        let ar = try #require(try Self.json(folder.appendingPathComponent(iso.results))["assessment-results"] as? [String: Any])
        #expect((ar["import-ap"] as? [String: Any])?["href"] as? String == iso.plan)
        let result = try #require((ar["results"] as? [[String: Any]])?.first)
        let change = try #require((result["findings"] as? [[String: Any]])?.first { ($0["target"] as? [String: Any])?["title"] as? String == "A.8.32" })
        #expect(((change["target"] as? [String: Any])?["status"] as? [String: Any])?["state"] as? String == "not-satisfied")
        #expect(((change["related-risks"] as? [[String: Any]])?.count ?? 0) > 0)
        #expect(((catalog["metadata"] as? [String: Any])?["props"] as? [[String: Any]])?.contains { $0["name"] as? String == "framework" && $0["value"] as? String == "iso27001" } == true)
        // The primary set's catalog and plan are the single-framework run's, byte for byte (its results
        // cite report.json and evidence.xlsx by hash, and those files differ).
        let single = try Self.sample.get()
        for name in [OSCALDocuments.catalogFile, OSCALDocuments.planFile] {
            #expect(try Data(contentsOf: folder.appendingPathComponent(name)) == Data(contentsOf: single.appendingPathComponent(name)), "\(name)")
        }
        // Naming the primary framework to the validator says how to check it.
        let primary = try Self.validate(folder, framework: "soc2")
        #expect(primary.code == 1 && primary.output.contains("KEY names a further framework of the run"), "\(primary.output)")
    }

    /// A framework no control maps into (a new one, before its crosswalk is written) still gets a valid
    /// set: its results have observations and no findings.
    @Test func aFrameworkNoControlMapsInto() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let controls = dir.appendingPathComponent("controls")
        try FileManager.default.copyItem(atPath: controlsPath, toPath: controls.path)
        try FrameworkTests.criteriaFile.write(to: controls.appendingPathComponent("acme.yaml"), atomically: true, encoding: .utf8)
        let chosen = try CatalogLoader.load(directory: controls.path).choosing(["soc2", "acme"])
        let folder = try SchemaTests.writeReport(store: sampleStorePath, name: "oscal-unmapped", in: dir) {
            $0.formats = [.json, .oscal]
            $0.catalog = chosen
        }
        let result = try Self.validate(folder, framework: "acme")
        #expect(result.code == 0 && result.output.contains("controls, 0 findings checked"), "\(result.output)")
        let ar = try #require(try Self.json(folder.appendingPathComponent(OSCALDocuments.Names(framework: "acme").results))["assessment-results"] as? [String: Any])
        let first = try #require((ar["results"] as? [[String: Any]])?.first)
        #expect(first["findings"] == nil && ((first["observations"] as? [Any])?.count ?? 0) == 16)
    }

    /// A finding aimed at an objective the catalog lacks is caught: the checks really read the files.
    @Test func trestleChecksRejectABrokenReference() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try Self.sample.get()
        for name in [OSCALDocuments.catalogFile, OSCALDocuments.planFile, OSCALDocuments.resultsFile] {
            try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let results = dir.appendingPathComponent(OSCALDocuments.resultsFile)
        let text = try String(contentsOf: results, encoding: .utf8).replacingOccurrences(of: "\"cc6.1_obj\"", with: "\"cc9.9_obj\"")
        try text.write(to: results, atomically: true, encoding: .utf8)
        let result = try Self.validate(dir)
        #expect(result.code == 1)
        #expect(result.output.contains("cc9.9_obj is no assessment objective"), "\(result.output)")
    }

    @Test func resultsAgreeWithReportJSON() throws {
        let folder = try Self.sample.get()
        let report = try Self.json(folder.appendingPathComponent("report.json"))
        let ar = try #require(try Self.json(folder.appendingPathComponent(OSCALDocuments.resultsFile))["assessment-results"] as? [String: Any])
        let result = try #require((ar["results"] as? [[String: Any]])?.first)
        let findings = try #require(result["findings"] as? [[String: Any]])
        let observations = try #require(result["observations"] as? [[String: Any]])
        let risks = result["risks"] as? [[String: Any]] ?? []
        func target(_ f: [String: Any]) -> [String: Any] { f["target"] as? [String: Any] ?? [:] }
        // Every criterion a test bears on has one finding, satisfied exactly when it has no exception and items.
        let criteria = try #require(report["criteria"] as? [[String: Any]])
        var tested = 0
        for c in criteria {
            let id = try #require(c["id"] as? String)
            let tests = c["tests"] as? [[String: Any]] ?? []
            let hits = findings.filter { target($0)["title"] as? String == id }
            guard !tests.isEmpty else {
                #expect(hits.isEmpty, "\(id) has no test, yet a finding")
                continue
            }
            tested += 1
            try #require(hits.count == 1, "\(id): \(hits.count) findings")
            let status = target(hits[0])["status"] as? [String: Any] ?? [:]
            let satisfied = (c["exceptionCount"] as? Int ?? 0) == 0 && (c["populationCount"] as? Int ?? 0) > 0
            #expect(status["state"] as? String == (satisfied ? "satisfied" : "not-satisfied"), "\(id) (\(c["status"] ?? ""))")
            #expect(target(hits[0])["target-id"] as? String == OSCALDocuments.token(id) + "_obj")
            #expect((hits[0]["related-observations"] as? [Any])?.count == tests.count, "\(id)")
            #expect((hits[0]["related-risks"] as? [Any])?.count ?? 0 == (c["exceptionCount"] as? Int ?? 0), "\(id): one risk per exception")
        }
        #expect(tested > 0 && findings.count == tested)
        // One observation per test, one risk per exception; accepted ones deviation-approved, with a deadline.
        var exceptions: [[String: Any]] = []
        var tests = 0
        for control in try #require(report["controls"] as? [[String: Any]]) {
            for test in control["tests"] as? [[String: Any]] ?? [] {
                tests += 1
                exceptions += test["exceptions"] as? [[String: Any]] ?? []
            }
        }
        #expect(observations.count == tests)
        #expect(observations.allSatisfy { ($0["methods"] as? [String]) == ["TEST"] && ($0["relevant-evidence"] as? [Any])?.isEmpty == false })
        #expect(risks.count == exceptions.count)
        for e in exceptions {
            let fingerprint = try #require(e["fingerprint"] as? String)
            let hits = risks.filter { (($0["props"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == "fingerprint" && $0["value"] as? String == fingerprint } }
            try #require(hits.count == 1, "\(fingerprint)")
            let accepted = e["managementResponse"] != nil
            #expect(hits[0]["status"] as? String == (accepted ? "deviation-approved" : "open"), "\(fingerprint)")
            #expect((hits[0]["remediations"] != nil) == accepted && (hits[0]["deadline"] != nil) == accepted, "\(fingerprint)")
        }
        #expect(risks.contains { $0["status"] as? String == "deviation-approved" })
        // The evidence cited is the report's own, by hash.
        let backMatter = try #require((ar["back-matter"] as? [String: Any])?["resources"] as? [[String: Any]])
        let sha = try FileHash.sha256(path: folder.appendingPathComponent("report.json").path)
        #expect(backMatter.contains { (($0["rlinks"] as? [[String: Any]]) ?? []).contains { ($0["href"] as? String) == "report.json" && ((($0["hashes"] as? [[String: Any]])?.first?["value"] as? String) == sha) } })
    }

    @Test func rerunWritesTheSameBytes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let again = try SchemaTests.writeReport(store: sampleStorePath, name: "again", in: dir) { $0.formats = [.json, .xlsx, .oscal] }
        for name in [OSCALDocuments.catalogFile, OSCALDocuments.planFile, OSCALDocuments.resultsFile] {
            #expect(try Data(contentsOf: again.appendingPathComponent(name)) == Data(contentsOf: try Self.sample.get().appendingPathComponent(name)), "\(name)")
        }
    }
}
