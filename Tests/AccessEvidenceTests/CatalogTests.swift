@testable import AccessEvidence
import Foundation
import Testing

/// Writes the shipped criteria plus `controls` as a catalog folder.
func catalogFolder(controls: String, file: String) throws -> String {
    try catalogFolder(files: [file: controls])
}

/// A catalog folder of `files` (name → text), with the shipped SOC 2 criteria unless `soc2` is false.
func catalogFolder(files: [String: String], soc2: Bool = true) throws -> String {
    let dir = try temporaryDirectory()
    if soc2 { try FileManager.default.copyItem(atPath: controlsPath + "/soc2-tsc-2017.yaml", toPath: dir.appendingPathComponent("soc2-tsc-2017.yaml").path) }
    for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    return dir.path
}

/// Every problem loading the catalog folder `dir` reports, with the folder left out of the paths.
func catalogProblems(_ dir: String) throws -> [String] {
    do {
        _ = try CatalogLoader.load(directory: dir)
        return []
    } catch let error as CatalogError {
        return error.problems.map { $0.replacingOccurrences(of: dir + "/", with: "") }
    }
}

@Suite struct CatalogTests {
    @Test func shippedCatalogHasAll61Criteria() throws {
        let catalog = try shippedCatalog()
        #expect(catalog.criteria.count == 61)
        #expect(Set(catalog.criteria.map(\.id)).count == 61)
        let byCategory = Dictionary(grouping: catalog.criteria, by: \.category).mapValues(\.count)
        #expect(byCategory == ["Security": 33, "Availability": 3, "Confidentiality": 2, "Processing Integrity": 5, "Privacy": 18])
        #expect(catalog.criterion("CC6.1")?.gatewayEvidence == .primary)
        #expect(catalog.criterion("CC1.1")?.gatewayEvidence == GatewayEvidence.none)
        #expect(catalog.criterion("CC4.1")?.gatewayEvidence == .supporting)
        #expect(catalog.controls.map(\.id) == ["GW-IAM-01", "GW-IAM-03", "GW-IAM-02", "GW-IAM-04", "GW-IAM-05", "GW-IAM-06", "GW-CHG-01", "GW-CHG-02", "GW-CFG-01", "GW-CFG-02", "GW-DLP-01", "GW-MON-01", "GW-MON-02", "GW-LOG-01"])
        // Every registered test is used by the shipped catalog.
        #expect(Set(catalog.controls.flatMap(\.tests).map(\.test)) == Set(ControlTestRegistry.all.map(\.id)))
        #expect(catalog.sha256.count == 64)
    }

    func catalog(controls: String) throws -> String { try catalogFolder(controls: controls, file: "controls.yaml") }

    func problems(_ controls: String) throws -> [String] { try catalogProblems(try catalog(controls: controls)) }

    static let valid = """
    controls:
      - id: C-1
        title: One
        description: d
        owner: o
        frequency: weekly
        criteria: [CC6.1]
        tests:
          - test: identity.attribution
    """

    @Test func validCatalogLoadsWithDefaults() throws {
        let catalog = try CatalogLoader.load(directory: try catalog(controls: Self.valid))
        #expect(catalog.controls.count == 1)
        #expect(catalog.controls[0].frequency == .weekly)
        #expect(catalog.controls[0].tests[0].parameters.strings("shared_identity_patterns").count == 2)
    }

    @Test func reportsEachProblemWithFileAndLine() throws {
        let found = try problems("""
        controls:
          - id: C-1
            title: One
            description: d
            owner: o
            frequency: weekly
            criteria: [CC6.1, CC99.9]
            tests:
              - test: identity.attribution
          - id: C-1
            title: Duplicate
            description: d
            owner: o
            frequency: sometimes
            criteria: [CC6.1]
            tests:
              - test: no.such.test
          - id: C-3
            title: Missing fields
            criteria: CC6.1
            tests:
              - test: approval.privileged-commands
                parameters:
                  privileged_kinds: [sql.write, sql.bogus]
                  scope_tags: prod
                  colour: blue
          - id: C-4
            title: [not, a, string]
            description: d
            owner: o
            frequency: daily
            high_risk: maybe
            criteria: [CC6.2]
            tests:
              - test: access.terminated-users
                parameters:
                  grace_period: soon
        """)
        #expect(found == [
            "controls.yaml:14:16: frequency must be one of annual, quarterly, monthly, weekly, daily, per-event, continuous (got 'sometimes')",
            "controls.yaml:17:15: unknown test 'no.such.test' (known: \(ControlTestRegistry.all.map(\.id).joined(separator: ", ")))",
            "controls.yaml:18:5: missing fields description, owner, frequency in 'C-3'",
            "controls.yaml:20:15: criteria must be a list",
            "controls.yaml:24:29: parameter 'privileged_kinds': unknown value sql.bogus (allowed: \(CommandKind.allCases.map(\.rawValue).joined(separator: ", ")))",
            "controls.yaml:25:23: parameter 'scope_tags' must be a list",
            "controls.yaml:26:19: test 'approval.privileged-commands' has no parameter 'colour' (it has: privileged_kinds, scope_tags, extra_privileged_kinds)",
            "controls.yaml:32:16: high_risk must be true or false",
            "controls.yaml:37:25: parameter 'grace_period' must be a duration such as 30m, 24h or 7d",
            "controls.yaml:28:12: title must be a string",
            "controls.yaml:10:5: duplicate control id 'C-1' (first at controls.yaml:2:5)",
            "controls.yaml:7:23: control C-1 names unknown soc2 criterion 'CC99.9'",
        ])
    }

    @Test func reportsYAMLSyntaxErrorsWithTheirLine() throws {
        let found = try problems("controls:\n  - id: C-1\n    title: [unclosed\n")
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("controls.yaml:4:"))
    }

    @Test func rejectsDuplicateKeysAndUnknownTopLevelKeys() throws {
        #expect(try problems(Self.valid + "\nextra: 1\n") == ["controls.yaml:10:8: unknown top-level key 'extra'"])
        let dup = try problems(Self.valid.replacingOccurrences(of: "    owner: o", with: "    owner: o\n    owner: p"))
        #expect(dup.count == 1 && dup[0].contains("duplicate key owner"))
    }

    @Test func rejectsBadCriteriaFiles() throws {
        let dir = try temporaryDirectory()
        try """
        series:
          - id: CC6
            title: Access
            category: Security
        criteria:
          - id: CC6.1
            series: CC6
            title: A
            summary: s
            gateway_evidence: strong
            reason: r
          - id: CC6.1
            series: CC6
            title: A
            summary: s
            gateway_evidence: primary
            reason: r
          - id: CC7.1
            series: CC9
            title: B
            summary: s
            gateway_evidence: none
        """.write(to: dir.appendingPathComponent("criteria.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try CatalogLoader.load(directory: dir.path)
            Issue.record("expected errors")
        } catch let error as CatalogError {
            let p = error.problems.map { $0.replacingOccurrences(of: dir.path + "/", with: "") }
            #expect(p == [
                "criteria.yaml:10:23: gateway_evidence must be one of primary, supporting, none (got 'strong')",
                "criteria.yaml:18:5: missing field reason in 'CC7.1'",
                "catalog: no controls defined (expected a file with 'controls:')",
            ])
        }
    }
}

@Suite struct SelectorParameterTests {
    @Test func validatesSelectorsAndKinds() throws {
        let dir = try catalogFolder(controls: """
        controls:
          - id: C-1
            title: One
            description: d
            owner: o
            frequency: weekly
            criteria: [CC6.1]
            tests:
              - test: approval.privileged-commands
                parameters:
                  extra_privileged_kinds:
                    "colour:blue": [sql.read]
              - test: approval.privileged-commands
                parameters:
                  extra_privileged_kinds:
                    "protocol:carrier-pigeon": [sql.read]
              - test: approval.privileged-commands
                parameters:
                  extra_privileged_kinds:
                    "tag:pci": [sql.reed]
        """, file: "c.yaml")
        do {
            _ = try CatalogLoader.load(directory: dir)
            Issue.record("expected errors")
        } catch let error as CatalogError {
            let p = error.problems.map { $0.replacingOccurrences(of: dir + "/", with: "") }
            #expect(p.count == 3)
            #expect(p[0].hasPrefix("c.yaml:12:28") && p[0].contains("selector 'colour:blue' must be tag:NAME"))
            #expect(p[1].hasPrefix("c.yaml:16:") && p[1].contains("unknown protocol 'carrier-pigeon'"))
            #expect(p[2].hasPrefix("c.yaml:20:") && p[2].contains("unknown value sql.reed"))
        }
    }
}

@Suite struct DurationTests {
    @Test func durationsAreFiniteAndBounded() {
        #expect(ParameterValue.parseDuration("24h") == 86_400)
        #expect(ParameterValue.parseDuration("90") == 90)
        for bad in ["inf", "infd", "nan", "1e300d", "-5m", "x", ""] { #expect(ParameterValue.parseDuration(bad) == nil, "\(bad)") }
    }
}
