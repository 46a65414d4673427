@testable import AccessEvidence
import Foundation
import Testing

/// The framework files, the controls' crosswalk and `--framework`: the tests run once, each chosen
/// framework gets its own roll-up.
@Suite(.serialized) struct FrameworkTests {
    func framework(_ id: String) throws -> Framework {
        try #require(try shippedCatalog().allFrameworks.first { $0.id == id })
    }

    /// `# Count: N …` at the head of the framework's file: the count the file claims for itself.
    func statedCount(_ f: Framework) throws -> Int {
        let text = try String(contentsOfFile: controlsPath + "/" + f.file, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("# Count: ") })
        return try #require(Int(line.dropFirst("# Count: ".count).prefix { $0.isNumber }))
    }

    func ids(_ prefix: String, _ range: ClosedRange<Int>, except: Set<Int> = [], separator: String = ".") -> [String] {
        range.filter { !except.contains($0) }.map { "\(prefix)\(separator)\($0)" }
    }

    @Test func everyFrameworkFileHoldsExactlyItsRequirements() throws {
        let catalog = try shippedCatalog()
        #expect(catalog.allFrameworks.map(\.id) == ["soc2", "hipaa", "iso27001", "nist-800-53", "pci-dss"])
        for f in catalog.allFrameworks {
            #expect(f.criteria.count == (try statedCount(f)), "\(f.id): the header's count")
            #expect(Set(f.criteria.map(\.id)).count == f.criteria.count, "\(f.id): unique ids")
        }

        // ISO/IEC 27001:2022 Annex A: the 93 controls, in order.
        let iso = try framework("iso27001")
        #expect(iso.criteria.map(\.id) == ids("A.5", 1...37) + ids("A.6", 1...8) + ids("A.7", 1...14) + ids("A.8", 1...34))

        // NIST SP 800-53 Rev. 5: every base control of the six families that is not withdrawn, plus
        // the enhancements the gateway bears on.
        let nist = try framework("nist-800-53")
        let base = ids("AC", 1...25, except: [13, 15], separator: "-") + ids("AU", 1...16, except: [15], separator: "-")
            + ids("CM", 1...14, separator: "-") + ids("IA", 1...13, separator: "-") + ids("IR", 1...9, separator: "-")
            + ids("SI", 1...23, except: [9], separator: "-")
        #expect(base.count == 96)
        #expect(nist.criteria.map(\.id).filter { !$0.contains("(") } == base)
        let enhancements = nist.criteria.map(\.id).filter { $0.contains("(") }
        #expect(enhancements.count == 18)
        #expect(["AC-6(9)", "AC-6(10)", "AC-2(3)", "CM-5(1)", "SI-4(4)"].allSatisfy(enhancements.contains))

        // PCI DSS v4.0.1: every second-level requirement, and the listed sections in full.
        let pci = try framework("pci-dss")
        let second = [5, 3, 7, 2, 4, 5, 3, 6, 5, 7, 6, 10].enumerated().flatMap { i, n in ids(String(i + 1), 1...n) }
        #expect(second.count == 63)
        #expect(pci.criteria.map(\.id).filter { $0.split(separator: ".").count == 2 } == second)
        let deeper = pci.criteria.map(\.id).filter { $0.split(separator: ".").count > 2 }
        #expect(deeper.count == 88)
        #expect(deeper.filter { $0.hasPrefix("10.2.1.") } == ids("10.2.1", 1...7))
        #expect(deeper.filter { $0.hasPrefix("8.2.") } == ids("8.2", 1...8))
        #expect(deeper.filter { $0.hasPrefix("6.5.") } == ids("6.5", 1...6))
        #expect(["3.3.1", "3.4.1", "3.5.1", "7.2.5.1", "8.3.10.1", "12.10.4.1", "12.10.7"].allSatisfy(deeper.contains))

        // HIPAA Security Rule: 164.308, 164.310 and 164.312, standards and implementation specifications.
        let hipaa = try framework("hipaa")
        #expect(hipaa.criteria.map(\.id) == [
            "164.308(a)(1)", "164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)", "164.308(a)(1)(ii)(C)", "164.308(a)(1)(ii)(D)",
            "164.308(a)(2)", "164.308(a)(3)", "164.308(a)(3)(ii)(A)", "164.308(a)(3)(ii)(B)", "164.308(a)(3)(ii)(C)",
            "164.308(a)(4)", "164.308(a)(4)(ii)(A)", "164.308(a)(4)(ii)(B)", "164.308(a)(4)(ii)(C)", "164.308(a)(5)",
            "164.308(a)(5)(ii)(A)", "164.308(a)(5)(ii)(B)", "164.308(a)(5)(ii)(C)", "164.308(a)(5)(ii)(D)", "164.308(a)(6)",
            "164.308(a)(6)(ii)", "164.308(a)(7)", "164.308(a)(7)(ii)(A)", "164.308(a)(7)(ii)(B)", "164.308(a)(7)(ii)(C)",
            "164.308(a)(7)(ii)(D)", "164.308(a)(7)(ii)(E)", "164.308(a)(8)", "164.308(b)(1)", "164.308(b)(3)", "164.310(a)(1)",
            "164.310(a)(2)(i)", "164.310(a)(2)(ii)", "164.310(a)(2)(iii)", "164.310(a)(2)(iv)", "164.310(b)", "164.310(c)",
            "164.310(d)(1)", "164.310(d)(2)(i)", "164.310(d)(2)(ii)", "164.310(d)(2)(iii)", "164.310(d)(2)(iv)", "164.312(a)(1)",
            "164.312(a)(2)(i)", "164.312(a)(2)(ii)", "164.312(a)(2)(iii)", "164.312(a)(2)(iv)", "164.312(b)", "164.312(c)(1)",
            "164.312(c)(2)", "164.312(d)", "164.312(e)(1)", "164.312(e)(2)(i)", "164.312(e)(2)(ii)",
        ])
        #expect(Dictionary(grouping: hipaa.criteria, by: \.series).mapValues(\.count) == ["164.308": 30, "164.310": 12, "164.312": 12])
        #expect(Dictionary(grouping: hipaa.criteria, by: { $0.obligation ?? "" }).mapValues(\.count) == ["standard": 12, "required": 20, "addressable": 22])
        #expect(hipaa.criterion("164.312(a)(2)(iv)")?.obligation == "addressable")   // encryption and decryption
        #expect(hipaa.criterion("164.312(a)(2)(i)")?.obligation == "required")       // unique user identification
        #expect(hipaa.criterion("164.312(b)")?.obligation == "required")             // audit controls, no specification
        #expect(hipaa.criterion("164.308(a)(1)")?.obligation == "standard")
    }

    /// Every control maps into every shipped framework; every id it names exists there and is marked
    /// as evidenced by the gateway (primary or supporting).
    @Test func crosswalkNamesOnlyRequirementsThatExist() throws {
        let catalog = try shippedCatalog()
        for control in catalog.controls {
            #expect(Set(control.crosswalk.keys) == Set(catalog.allFrameworks.map(\.id)), "\(control.id)")
            for f in catalog.allFrameworks {
                for id in control.crosswalk[f.id] ?? [] {
                    let criterion = try #require(f.criterion(id), "\(control.id) names \(f.id) \(id)")
                    #expect(criterion.gatewayEvidence != GatewayEvidence.none, "\(control.id) → \(f.id) \(id) is marked none")
                }
            }
        }
        let change = try #require(catalog.controls.first { $0.id == "GW-CHG-01" })
        #expect(change.criteria == ["CC6.1", "CC6.3", "CC8.1"])   // the default view is SOC 2
        #expect(change.crosswalk["iso27001"]?.contains("A.8.32") == true)
        #expect(change.crosswalk["pci-dss"]?.contains("6.5.1") == true)
        #expect(change.crosswalk["hipaa"]?.contains("164.312(b)") == true)
        #expect(change.crosswalk["nist-800-53"]?.contains("CM-3") == true)
    }

    // MARK: loading

    static let criteriaFile = """
    framework: acme
    title: Acme policy
    version: "1"
    series:
      - id: AP
        title: Access policy
        category: Security
    criteria:
      - id: AP-1(a)
        series: AP
        title: Approvals
        summary: s
        gateway_evidence: primary
        reason: r
        obligation: required
    """

    func folder(_ files: [String: String], soc2: Bool = true) throws -> String { try catalogFolder(files: files, soc2: soc2) }

    func problems(_ files: [String: String], soc2: Bool = true) throws -> [String] { try catalogProblems(try folder(files, soc2: soc2)) }

    /// The one-control catalog of `CatalogTests`, with `criteria` as given.
    static func controls(_ criteria: String) -> String {
        CatalogTests.valid.replacingOccurrences(of: "criteria: [CC6.1]", with: "criteria: \(criteria)")
    }

    @Test func mapAndPlainListBothLoad() throws {
        let map = try CatalogLoader.load(directory: try folder(["acme.yaml": Self.criteriaFile,
                                                                "controls.yaml": Self.controls("{soc2: [CC6.1], acme: [\"AP-1(a)\"]}")]))
        #expect(map.controls[0].crosswalk == ["soc2": ["CC6.1"], "acme": ["AP-1(a)"]])
        #expect(map.controls[0].criteria == ["CC6.1"])
        #expect(map.allFrameworks.map(\.id) == ["soc2", "acme"])
        #expect(map.allFrameworks[1].criteria[0].obligation == "required")
        // The plain list is SOC 2, as before frameworks were keyed.
        let plain = try CatalogLoader.load(directory: try folder(["controls.yaml": Self.controls("[CC6.1, CC7.2]")]))
        #expect(plain.controls[0].crosswalk == ["soc2": ["CC6.1", "CC7.2"]])
        // A catalog with one other framework and no SOC 2: a plain list names that framework.
        let only = try CatalogLoader.load(directory: try folder(["acme.yaml": Self.criteriaFile, "controls.yaml": Self.controls("[\"AP-1(a)\"]")], soc2: false))
        #expect(only.framework == "acme" && only.controls[0].criteria == ["AP-1(a)"])
        // Earlier catalogs keyed SOC 2 as soc2-tsc.
        let legacy = try String(contentsOfFile: controlsPath + "/soc2-tsc-2017.yaml", encoding: .utf8)
            .replacingOccurrences(of: "framework: soc2\n", with: "framework: soc2-tsc\n")
        let old = try CatalogLoader.load(directory: try folder(["soc2-tsc-2017.yaml": legacy, "controls.yaml": Self.controls("{soc2-tsc: [CC6.1]}")]))
        #expect(old.framework == "soc2" && old.controls[0].criteria == ["CC6.1"])
    }

    @Test func crosswalkProblemsNameFileAndLine() throws {
        #expect(try problems(["acme.yaml": Self.criteriaFile, "controls.yaml": Self.controls("{soc2: [CC6.1], acme: [\"AP-2\"], pci: [\"1.1\"]}")]) == [
            "controls.yaml:7:38: control C-1 names unknown acme criterion 'AP-2'",
            "controls.yaml:7:52: control C-1 names unknown framework 'pci' (the catalog has: soc2, acme)",
        ])
        #expect(try problems(["controls.yaml": Self.controls("{soc2: []}")]) == [
            "controls.yaml:7:15: criteria must list at least one criterion (a list, or a map from framework key to list)",
        ])
        // The bad key is the one problem named: the empty crosswalk follows from it.
        #expect(try problems(["controls.yaml": Self.controls("{SOC2: [CC6.1]}")]) == [
            "controls.yaml:7:22: criteria: 'SOC2' is not a framework key (lower-case letters, digits and '-')",
        ])
        #expect(try problems(["controls.yaml": Self.controls("{soc2: [CC6.1, CC6.1]}")]) == [
            "controls.yaml:7:30: control C-1 names soc2 criterion 'CC6.1' twice",
        ])
        let badObligation = Self.criteriaFile.replacingOccurrences(of: "obligation: required", with: "obligation: optional")
        #expect(try problems(["acme.yaml": badObligation, "controls.yaml": Self.controls("[CC6.1]")]) == [
            "acme.yaml:15:17: obligation must be one of required, addressable, standard (got 'optional')",
        ])
        let noKey = Self.criteriaFile.replacingOccurrences(of: "framework: acme\n", with: "")
        #expect(try problems(["acme.yaml": noKey, "controls.yaml": Self.controls("[CC6.1]")]).first?
            .hasSuffix("a criteria file needs 'framework: KEY' when the catalog holds several (e.g. framework: iso27001)") == true)
        let twice = Self.criteriaFile.replacingOccurrences(of: "framework: acme", with: "framework: soc2")
        #expect(try problems(["acme.yaml": twice, "controls.yaml": Self.controls("[CC6.1]")]).contains {
            $0 == "soc2-tsc-2017.yaml:5:1: framework 'soc2' is defined twice (first in acme.yaml)"
        })
        let badSeries = Self.criteriaFile.replacingOccurrences(of: "id: AP-1(a)", with: "id: XP-1")
        #expect(try problems(["acme.yaml": badSeries, "controls.yaml": Self.controls("[CC6.1]")]) == [
            "acme.yaml:9:9: criterion 'XP-1' does not belong to series 'AP' (it must start with 'AP.', 'AP-' or 'AP(')",
        ])
    }

    @Test func choosingFrameworks() throws {
        let catalog = try shippedCatalog()
        #expect(catalog.frameworks.map(\.id) == ["soc2"])
        let chosen = try catalog.choosing(["iso27001", "soc2", "ISO27001"])
        #expect(chosen.frameworks.map(\.id) == ["iso27001", "soc2"])
        #expect(chosen.framework == "iso27001" && chosen.criteria.count == 93)
        #expect(chosen.controls.first { $0.id == "GW-CHG-01" }?.criteria.contains("A.8.32") == true)
        #expect(try catalog.choosing(["all"]).frameworks.map(\.id) == ["soc2", "hipaa", "iso27001", "nist-800-53", "pci-dss"])
        #expect(throws: CatalogError.self) { try catalog.choosing(["sox"]) }
        do {
            _ = try catalog.choosing(["sox"])
        } catch let error as CatalogError {
            #expect(error.description == "--framework: unknown framework 'sox' (the catalog has: soc2, hipaa, iso27001, nist-800-53, pci-dss, or all)")
        }
    }

    // MARK: reports

    /// The sample quarter reported against all five frameworks, through the command line, once for the suite.
    static let five = Result { try report("soc2,iso27001,pci-dss,hipaa,nist-800-53") }

    func fiveFrameworkReport() throws -> URL { try Self.five.get() }

    static func report(_ frameworks: String) throws -> URL {
        let out = try temporaryDirectory().appendingPathComponent("r")
        let run = try runExecutable(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", out.path,
                                     "--format", "html,xlsx,json,csv,ocsf", "--generated-at", "2026-10-01T00:00:00Z", "--quiet",
                                     "--framework", frameworks])
        try #require(run.code == 0, "\(run.stderr)")
        return out
    }

    @Test func anExceptionMarksTheMappedRequirementInEveryFramework() throws {
        let out = try fiveFrameworkReport()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any])
        let frameworks = try #require(json["frameworks"] as? [[String: Any]])
        #expect(frameworks.map { $0["id"] as? String } == ["soc2", "iso27001", "pci-dss", "hipaa", "nist-800-53"])
        #expect((json["catalog"] as? [String: Any])?["framework"] as? String == "soc2")
        // GW-CHG-01 has exceptions in the sample (unapproved, late and self-approved commands).
        let controls = try #require(json["controls"] as? [[String: Any]])
        let change = try #require(controls.first { $0["id"] as? String == "GW-CHG-01" })
        #expect((change["exceptionCount"] as? Int ?? 0) > 0)
        #expect((change["crosswalk"] as? [String: [String]])?["hipaa"]?.contains("164.312(b)") == true)
        let expected = ["soc2": "CC8.1", "iso27001": "A.8.32", "pci-dss": "6.5.1", "hipaa": "164.312(b)", "nist-800-53": "CM-3"]
        for f in frameworks {
            let id = try #require(f["id"] as? String)
            let criteria = try #require(f["criteria"] as? [[String: Any]])
            let wanted = try #require(expected[id])
            let marked = try #require(criteria.first { $0["id"] as? String == wanted }, "\(id) \(wanted)")
            #expect(marked["status"] as? String == "exceptions-noted", "\(id)")
            #expect((marked["controls"] as? [String])?.contains("GW-CHG-01") == true, "\(id)")
            let tests = try #require(marked["tests"] as? [[String: Any]])
            #expect(tests.contains { $0["control"] as? String == "GW-CHG-01" && ($0["exceptions"] as? Int ?? 0) > 0 }, "\(id)")
            // A requirement no control supports is not addressed, whatever the exceptions elsewhere.
            let unmapped = criteria.filter { ($0["controls"] as? [String])?.isEmpty == true }
            #expect(!unmapped.isEmpty && unmapped.allSatisfy { $0["status"] as? String == "not-addressed" }, "\(id)")
            // The coverage counts add up to the framework's requirements.
            let coverage = try #require(f["coverage"] as? [String: Int])
            #expect(coverage["requirements"] == criteria.count)
            #expect(try #require(coverage["withGatewayEvidence"]) + #require(coverage["notAddressed"]) == criteria.count)
            #expect(coverage["withExceptions"] == criteria.filter { $0["status"] as? String == "exceptions-noted" }.count)
        }
        // The physical controls of ISO 27001 are not addressed by gateway evidence.
        let iso = try #require(frameworks[1]["criteria"] as? [[String: Any]])
        #expect(iso.first { $0["id"] as? String == "A.7.1" }?["status"] as? String == "not-addressed")
        // The top-level criteria are the first framework's.
        #expect((json["criteria"] as? [[String: Any]])?.count == 61)
        // The five-framework report.json follows the schema, and its OCSF events pass OCSF's own tooling.
        let schema = try SchemaTests.validate(out)
        #expect(schema.code == 0, "\(schema.output)")
        let events = try OCSFTests.validate(out.appendingPathComponent(OCSFFindings.fileName))
        #expect(events.code == 0 && events.output.contains(" 0 problems"), "\(events.output)")
        // The flat results carry every framework, one per row.
        let results = try String(contentsOf: out.appendingPathComponent("results.csv"), encoding: .utf8)
        #expect(results.contains("\r\nhipaa,164.312(b),"))
        #expect(results.contains("\r\niso27001,A.8.32,"))
        // OCSF names each requirement with its framework.
        let ocsf = try String(contentsOf: out.appendingPathComponent("ocsf-findings.jsonl"), encoding: .utf8)
        let changeEvent = try #require(ocsf.split(separator: "\n").first { $0.contains("\"control\":\"GW-CHG-01\"") })
        #expect(changeEvent.contains("\"ISO 27001 A.8.32\"") && changeEvent.contains("\"PCI DSS 6.5.1\"") && changeEvent.contains("\"HIPAA 164.312(b)\""))
    }

    @Test func workbookHasACriteriaSheetPerFrameworkAndTheStatementOfApplicability() throws {
        let out = try fiveFrameworkReport()
        let book = try Workpaper(path: out.appendingPathComponent("evidence.xlsx").path)
        #expect(Array(book.order.prefix(9)) == ["Summary", "Procedures", "Criteria SOC 2", "Criteria ISO 27001", "Criteria PCI DSS",
                                                  "Criteria HIPAA", "Criteria NIST 800-53", "ISO 27001 SoA", "Controls"])
        // HIPAA's sheet has the obligation column.
        let hipaa = try book.rows("Criteria HIPAA")
        #expect(hipaa[0]["D"]?.text == "Obligation")
        let audit = try #require(hipaa.first { $0["A"]?.text == "164.312(b)" })
        #expect(audit["D"]?.text == "required" && audit["G"]?.text == "Exceptions noted" && audit["H"]?.text.contains("GW-CHG-01") == true)
        #expect(try book.rows("Criteria SOC 2")[0]["D"]?.text == "Title")   // no obligation column where the framework has none
        // The SoA: the 93 Annex A controls, each with whether gateway evidence supports it and where.
        let soa = try book.rows("ISO 27001 SoA")
        let lines = soa.dropFirst().filter { $0["A"]?.text.hasPrefix("A.") == true }
        #expect(lines.count == 93)
        let change = try #require(lines.first { $0["A"]?.text == "A.8.32" })
        #expect(change["D"]?.text == "Yes" && change["G"]?.text == "Exceptions noted")
        #expect(change["F"]?.text.contains("GW-CHG-01") == true)
        #expect(change["H"]?.text.contains("GW-CHG-01 approval.privileged-commands: ") == true)
        #expect(change["H"]?.text.contains("(sheet 'GW-CHG-01 privileged-commands')") == true)
        // A sheet name cut to Excel's 31 characters is named as the workbook has it.
        let configuration = try #require(lines.first { $0["A"]?.text == "A.8.9" })
        #expect(configuration["H"]?.text.contains("(sheet 'GW-CFG-02 production-protection')") == true)
        #expect(book.order.contains("GW-CFG-02 production-protection"))
        let physical = try #require(lines.first { $0["A"]?.text == "A.7.4" })
        #expect(physical["D"]?.text == "No" && (physical["F"]?.text ?? "") == "" && physical["I"]?.text.isEmpty == false)
    }

    @Test func htmlHasASectionPerFrameworkWithWorkingLinks() throws {
        let out = try fiveFrameworkReport()
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(htmlParseErrors(html) == [])
        for anchor in ["criteria", "framework-iso27001", "framework-pci-dss", "framework-hipaa", "framework-nist-800-53", "coverage-per-framework",
                       "framework-hipaa-addressed", "framework-hipaa-not-addressed"] {
            #expect(html.contains("id=\"\(anchor)\""), "\(anchor)")
        }
        #expect(html.contains("<title>SOC 2, ISO 27001, PCI DSS, HIPAA, NIST 800-53 gateway evidence"))
        #expect(html.contains("id=\"criterion-hipaa-164.312(b)\""))
        #expect(html.contains("ISO 27001: <a href=\"#criterion-iso27001-A.5.16\">A.5.16</a>"))
        let ids = html.matches(of: /id="([^"]+)"/).map { String($0.output.1) }
        #expect(Set(ids).count == ids.count)
        for link in html.matches(of: /href="#([^"]+)"/) { #expect(Set(ids).contains(String(link.output.1)), "\(link.output.1)") }
    }

    /// ISO 27001 alone: it is the primary framework, and exceptions are listed under its controls.
    @Test func anotherFrameworkAsThePrimaryOne() throws {
        let out = try Self.report("iso27001")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any])
        #expect((json["catalog"] as? [String: Any])?["framework"] as? String == "iso27001")
        #expect((json["criteria"] as? [[String: Any]])?.count == 93)
        let controls = try #require(json["controls"] as? [[String: Any]])
        let change = try #require(controls.first { $0["id"] as? String == "GW-CHG-01" })
        #expect((change["criteria"] as? [String])?.contains("A.8.32") == true)
        let exception = try #require(((change["tests"] as? [[String: Any]])?.first?["exceptions"] as? [[String: Any]])?.first)
        #expect((exception["criteria"] as? [String])?.contains("A.8.32") == true)
        let book = try Workpaper(path: out.appendingPathComponent("evidence.xlsx").path)
        #expect(Array(book.order.prefix(4)) == ["Summary", "Procedures", "Criteria", "ISO 27001 SoA"])
        let bad = try runExecutable(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", out.path + "-bad", "--framework", "soc2,sox"])
        #expect(bad.code == 64)
        #expect(bad.stderr.contains("--framework: unknown framework 'sox' (the catalog has: soc2, hipaa, iso27001, nist-800-53, pci-dss, or all)"))
        #expect(!FileManager.default.fileExists(atPath: out.path + "-bad"))
    }

    /// `report.frameworks` in the configuration file chooses the frameworks; `--framework` wins over it.
    @Test func frameworksFromTheConfigurationFile() throws {
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("config.yaml")
        try "report:\n  frameworks: [hipaa]\n".write(to: config, atomically: true, encoding: .utf8)
        let wrong = dir.appendingPathComponent("wrong.yaml")
        try "report:\n  frameworks: [sox]\n".write(to: wrong, atomically: true, encoding: .utf8)
        let refused = try runExecutable(["report", "--config", wrong.path, "--store", sampleStorePath, "--period", "2026-Q3",
                                         "--out", dir.appendingPathComponent("refused").path])
        #expect(refused.code == 64)
        #expect(refused.stderr.contains("report.frameworks in the configuration file: unknown framework 'sox'"))
        func primary(_ extra: [String]) throws -> String? {
            let out = dir.appendingPathComponent("r\(extra.count)")
            let run = try runExecutable(["report", "--config", config.path, "--store", sampleStorePath, "--period", "2026-Q3", "--out", out.path,
                                         "--generated-at", "2026-10-01T00:00:00Z", "--quiet"] + extra)
            try #require(run.code == 0, "\(run.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any]
            return (json?["catalog"] as? [String: Any])?["framework"] as? String
        }
        #expect(try primary([]) == "hipaa")
        #expect(try primary(["--framework", "nist-800-53"]) == "nist-800-53")
    }

    @Test func controlsListShowsTheCrosswalk() throws {
        let run = try runExecutable(["controls", "list", "--framework", "soc2,iso27001"])
        #expect(run.code == 0)
        #expect(run.stdout.contains("GW-CHG-01\tCC6.1,CC6.3,CC8.1\t"))
        #expect(run.stdout.contains("\tiso27001: A.8.32,A.8.2,A.5.3,A.8.18,A.8.19\n"))
        #expect(run.stdout.contains("iso27001: 93 criteria (9 primary, 15 supporting, 69 not evidenced by the gateway); 24 tested by 14 controls"))
    }
}
