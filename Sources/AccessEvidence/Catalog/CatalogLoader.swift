import Crypto
import Foundation
import Yams

/// Loads and validates a catalog folder: every `*.yaml`/`*.yml` in it, in name order. A file
/// holding `criteria:` defines criteria, one holding `controls:` defines controls. All problems
/// are collected and reported together, each with its file and line.
public enum CatalogLoader {
    /// Loads the catalog folder given with `option` (named in the error when it cannot be read, with
    /// the built-in catalog used when the option is left out).
    public static func load(directory: String, option: String = "--controls") throws -> Catalog {
        let url = URL(fileURLWithPath: directory)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw CatalogError(problems: ["\(option) \(directory): cannot read the catalog folder (without \(option), the built-in catalog is used)"])
        }
        guard !names.isEmpty else { throw CatalogError(problems: ["\(directory): no .yaml files"]) }
        var files: [(name: String, path: String, data: Data)] = []
        for name in names {
            let path = url.appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CatalogError(problems: ["\(path): cannot read"])
            }
            files.append((name, path, data))
        }
        return try load(files)
    }

    /// The catalog built into the binary (`Controls/` at build time).
    public static func loadBuiltIn() throws -> Catalog {
        try load(BuiltInDefaults.controls.map { ($0.name, BuiltInDefaults.origin("Controls", $0.name), $0.data) })
    }

    /// The catalog's fingerprint: SHA-256 over each file's name and bytes in name order. It depends
    /// on the files only, not on where they are, so the built-in catalog and an exported copy agree.
    public static func fingerprint(_ files: [(name: String, data: Data)]) -> String {
        var hasher = SHA256()
        for file in files.sorted(by: { $0.name < $1.name }) {
            hasher.update(data: Data(file.name.utf8)); hasher.update(data: Data([0]))
            hasher.update(data: file.data); hasher.update(data: Data([0]))
        }
        return Hex.encode(hasher.finalize())
    }

    static func load(_ files: [(name: String, path: String, data: Data)]) throws -> Catalog {
        var texts: [(name: String, text: String)] = []
        for file in files {
            guard let text = String(data: file.data, encoding: .utf8) else {
                throw CatalogError(problems: ["\(file.path): not UTF-8 text"])
            }
            texts.append((file.path, text))
        }
        return try load(files: texts, sha256: fingerprint(files.map { ($0.name, $0.data) }))
    }

    static func load(files: [(name: String, text: String)], sha256: String) throws -> Catalog {
        var problems = Problems()
        var frameworks: [(Framework, YAMLFile.Location)] = []
        var controls: [(Control, LoadedCrosswalk)] = []
        var controlIDs: [(String, YAMLFile.Location)] = []
        var unparsed = false
        var sampling = SamplingPolicy()
        var observations = Set<String>()
        var criteriaFiles = 0
        for (_, text) in files where Self.holdsCriteria(text) { criteriaFiles += 1 }
        for (name, text) in files {
            let file = YAMLFile(name: name, problems: problems)
            guard let root = file.parse(text) else { problems = file.problems; unparsed = true; continue }
            guard let top = file.mapping(root, "the file") else { problems = file.problems; continue }
            var header: (key: String?, title: String, version: String) = (nil, "", "")
            for (key, value) in top {
                switch key {
                case "framework":
                    guard let text = file.string(value, "framework") else { break }
                    let canonical = Catalog.canonicalKey(text)
                    if isFrameworkKey(canonical) { header.key = canonical } else {
                        file.fail(value, "framework: '\(text)' is not a framework key (lower-case letters, digits and '-', e.g. iso27001)")
                    }
                case "title": header.title = file.string(value, "title") ?? ""
                case "version": header.version = file.string(value, "version") ?? ""
                case "series", "criteria", "controls": break
                case "sampling":
                    guard let entries = file.mapping(value, "sampling") else { break }
                    for (key, node) in entries {
                        guard key == "high_risk" || Frequency(rawValue: key) != nil else {
                            file.fail(node, "sampling: '\(key)' is not a frequency (\(Frequency.allCases.map(\.rawValue).joined(separator: ", ")), high_risk)")
                            continue
                        }
                        guard let n = node.int, n >= 1 else { file.fail(node, "sampling: '\(key)' must be a whole number of at least 1"); continue }
                        if key == "high_risk" { sampling.highRisk = n } else { sampling.sizes[key] = n }
                    }
                case "observations":
                    guard let codes = file.stringList(value, "observations") else { break }
                    for code in codes {
                        if isReasonCode(code) { observations.insert(code) } else {
                            file.fail(value, "observations: '\(code)' is not a reason code (lower-case letters, digits and '-')")
                        }
                    }
                default: file.fail(value, "unknown top-level key '\(key)'")
                }
            }
            if let seriesNode = top.first(where: { $0.0 == "series" })?.1,
               let criteriaNode = top.first(where: { $0.0 == "criteria" })?.1 {
                // One file is one framework. A lone criteria file without a key is SOC 2, as
                // catalogs written before frameworks were keyed.
                if header.key == nil, criteriaFiles > 1 {
                    file.fail(root, "a criteria file needs 'framework: KEY' when the catalog holds several (e.g. framework: iso27001)")
                }
                let key = header.key ?? Framework.defaultID
                var criteria: [Criterion] = []
                var seen: [String: YAMLFile.Location] = [:]
                for (criterion, location) in loadCriteria(file, criteriaNode, series: loadSeries(file, seriesNode)) {
                    if let first = seen[criterion.id] {
                        file.fail(at: location, "duplicate criterion id '\(criterion.id)' (first at line \(first.line))")
                    } else {
                        seen[criterion.id] = location
                        criteria.append(criterion)
                    }
                }
                let framework = Framework(id: key, title: header.title.isEmpty ? key : header.title, version: header.version,
                                          file: URL(fileURLWithPath: name).lastPathComponent, criteria: criteria)
                if let first = frameworks.first(where: { $0.0.id == key }) {
                    file.fail(root, "framework '\(key)' is defined twice (first in \(first.1.file))")
                } else {
                    frameworks.append((framework, file.location(root)))
                }
            } else if top.contains(where: { $0.0 == "criteria" }) {
                file.fail(root, "a criteria file needs a 'series' list")
            }
            if let controlsNode = top.first(where: { $0.0 == "controls" })?.1 {
                controls += loadControls(file, controlsNode, ids: &controlIDs)
            }
            problems = file.problems
        }
        if frameworks.isEmpty, !unparsed { problems.add("catalog: no criteria defined (expected a file with 'criteria:')") }
        if controlIDs.isEmpty, !unparsed { problems.add("catalog: no controls defined (expected a file with 'controls:')") }
        var seen: [String: YAMLFile.Location] = [:]
        for (id, location) in controlIDs {
            if let first = seen[id] {
                problems.add("\(location): duplicate control id '\(id)' (first at \(first))")
            } else {
                seen[id] = location
            }
        }
        let ordered = frameworks.map(\.0).sorted { a, b in
            (a.id == Framework.defaultID ? 0 : 1, a.file) < (b.id == Framework.defaultID ? 0 : 1, b.file)
        }
        let keys = ordered.map(\.id).joined(separator: ", ")
        // A plain list names the default framework's criteria: SOC 2, or the only framework there is.
        let plainListFramework = frameworks.first { $0.0.id == Framework.defaultID }?.0.id ?? (frameworks.count == 1 ? frameworks[0].0.id : nil)
        let known = Dictionary(uniqueKeysWithValues: frameworks.map { ($0.0.id, Set($0.0.criteria.map(\.id))) })
        var resolved: [Control] = []
        for (control, crosswalk) in controls {
            var control = control
            for entry in crosswalk.entries {
                let key: String
                if let named = entry.framework {
                    key = named
                } else if let plain = plainListFramework {
                    key = plain
                } else {
                    if !frameworks.isEmpty {
                        problems.add("\(entry.location): control \(control.id) lists criteria without naming a framework, and the catalog has no SOC 2 file; write criteria: {KEY: [...]} (frameworks: \(keys))")
                    }
                    continue
                }
                guard let ids = known[key] else {
                    if !frameworks.isEmpty {
                        problems.add("\(entry.location): control \(control.id) names unknown framework '\(key)' (the catalog has: \(keys))")
                    }
                    continue
                }
                for (id, location) in entry.ids {
                    if !ids.contains(id) {
                        problems.add("\(location): control \(control.id) names unknown \(key) criterion '\(id)'")
                    } else if control.crosswalk[key]?.contains(id) == true {
                        problems.add("\(location): control \(control.id) names \(key) criterion '\(id)' twice")
                    } else {
                        control.crosswalk[key, default: []].append(id)
                    }
                }
            }
            resolved.append(control)
        }
        if !problems.list.isEmpty { throw CatalogError(problems: problems.list) }
        return Catalog(frameworks: ordered, controls: resolved, files: files.map { URL(fileURLWithPath: $0.name).lastPathComponent },
                       sha256: sha256, sampling: sampling, observations: observations)
    }

    /// Whether a file defines criteria, judged before parsing so a lone unkeyed criteria file can be
    /// told from one of several: a top-level `criteria:` line.
    static func holdsCriteria(_ text: String) -> Bool {
        // `isNewline`, not "\n": in Swift "\r\n" is one character, which a split on "\n" never cuts.
        text.split(whereSeparator: \.isNewline).contains { $0.hasPrefix("criteria:") }
    }

    /// `soc2`, `iso27001`, `pci-dss`, `nist-800-53`.
    static func isFrameworkKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        return (1...32).contains(bytes.count) && (97...122).contains(bytes[0])
            && bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
    }

    /// A control's `criteria`, as written: a plain list (the default framework's) or a map from
    /// framework key to list, with where each id stands for the error that names it.
    struct LoadedCrosswalk {
        struct Entry {
            var framework: String?
            var ids: [(String, YAMLFile.Location)]
            var location: YAMLFile.Location
        }
        var entries: [Entry] = []
    }

    /// Ids name workbook sheets (`Population GW-IAM-01`), anchors and files: Excel refuses an apostrophe
    /// at either end of a sheet name, and `[]:*?/\` anywhere, which only shows when the workbook is
    /// written. `^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$`, checked byte by byte.
    static func isSafeID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...30).contains(bytes.count) else { return false }
        func alphanumeric(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) }
        return alphanumeric(bytes[0]) && bytes.dropFirst().allSatisfy { alphanumeric($0) || $0 == 46 || $0 == 95 || $0 == 45 }
    }

    /// `failed-change`, `forced-approval`: what tests raise and alerts key on.
    static func isReasonCode(_ code: String) -> Bool {
        let bytes = Array(code.utf8)
        return (1...64).contains(bytes.count) && bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
    }

    static let safeIDRule = "must be 1 to 30 letters, digits, '.', '_' or '-', starting with a letter or digit"

    /// Requirement ids as frameworks number them: `CC6.1`, `A.8.32`, `10.2.1.1`, `AC-6(9)`,
    /// `164.312(a)(2)(iv)`. They never name a sheet or a file; anchors and OSCAL tokens escape them.
    static func isCriterionID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...30).contains(bytes.count) else { return false }
        func alphanumeric(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) }
        return alphanumeric(bytes[0]) && bytes.dropFirst().allSatisfy { alphanumeric($0) || [46, 95, 45, 40, 41].contains($0) }
    }

    static let criterionIDRule = "must be 1 to 30 letters, digits, '.', '_', '-', '(' or ')', starting with a letter or digit"

    static func loadSeries(_ file: YAMLFile, _ node: Node) -> [String: (title: String, category: String)] {
        var out: [String: (String, String)] = [:]
        for item in file.sequence(node, "series") ?? [] {
            guard let m = file.mapping(item, "a series entry") else { continue }
            let fields = file.fields(m, at: item, required: ["id", "title", "category"], optional: [])
            if let id = fields.string("id"), let title = fields.string("title"), let category = fields.string("category") {
                out[id] = (title, category)
            }
        }
        return out
    }

    static func loadCriteria(_ file: YAMLFile, _ node: Node, series: [String: (title: String, category: String)]) -> [(Criterion, YAMLFile.Location)] {
        var out: [(Criterion, YAMLFile.Location)] = []
        for item in file.sequence(node, "criteria") ?? [] {
            guard let m = file.mapping(item, "a criterion") else { continue }
            let f = file.fields(m, at: item, required: ["id", "series", "title", "summary", "gateway_evidence", "reason"], optional: ["obligation"])
            guard let id = f.string("id"), let seriesID = f.string("series"), let title = f.string("title"),
                  let summary = f.string("summary"), let evidenceText = f.string("gateway_evidence"),
                  let reason = f.string("reason") else { continue }
            guard let evidence = GatewayEvidence(rawValue: evidenceText) else {
                file.fail(f.node("gateway_evidence")!, "gateway_evidence must be one of primary, supporting, none (got '\(evidenceText)')")
                continue
            }
            guard let s = series[seriesID] else {
                file.fail(f.node("series")!, "unknown series '\(seriesID)'")
                continue
            }
            if ![".", "-", "("].contains(where: { id.hasPrefix(seriesID + $0) }) {
                file.fail(f.node("id")!, "criterion '\(id)' does not belong to series '\(seriesID)' (it must start with '\(seriesID).', '\(seriesID)-' or '\(seriesID)(')")
            }
            if !CatalogLoader.isCriterionID(id) { file.fail(f.node("id")!, "criterion id '\(id)' \(CatalogLoader.criterionIDRule)") }
            let obligation = f.string("obligation")
            if let obligation, !["required", "addressable", "standard"].contains(obligation) {
                file.fail(f.node("obligation")!, "obligation must be one of required, addressable, standard (got '\(obligation)')")
            }
            out.append((Criterion(id: id, series: seriesID, seriesTitle: s.title, category: s.category, title: title,
                                  summary: summary, gatewayEvidence: evidence, reason: reason, obligation: obligation), file.location(item)))
        }
        return out
    }

    static func loadControls(_ file: YAMLFile, _ node: Node, ids: inout [(String, YAMLFile.Location)]) -> [(Control, LoadedCrosswalk)] {
        var out: [(Control, LoadedCrosswalk)] = []
        for item in file.sequence(node, "controls") ?? [] {
            guard let m = file.mapping(item, "a control") else { continue }
            let f = file.fields(m, at: item, required: ["id", "title", "description", "owner", "frequency", "criteria", "tests"],
                                optional: ["high_risk"])
            let frequencyText = f.string("frequency")
            let frequency = frequencyText.flatMap(Frequency.init(rawValue:))
            if let frequencyText, frequency == nil {
                file.fail(f.node("frequency")!, "frequency must be one of \(Frequency.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(frequencyText)')")
            }
            if let idNode = f.node("id"), let id = idNode.string {
                ids.append((id, file.location(item)))
                if !CatalogLoader.isSafeID(id) { file.fail(idNode, "control id '\(id)' \(CatalogLoader.safeIDRule)") }
            }
            let crosswalk = f.node("criteria").map { loadCrosswalk(file, $0) } ?? LoadedCrosswalk()
            let highRisk = f.node("high_risk").flatMap { file.bool($0, "high_risk") } ?? false
            var tests: [ControlTestSpec] = []
            if let testsNode = f.node("tests") {
                let items = file.sequence(testsNode, "tests") ?? []
                if items.isEmpty { file.fail(testsNode, "tests must list at least one test") }
                for t in items { if let spec = loadTest(file, t) { tests.append(spec) } }
            }
            guard let id = f.string("id"), let title = f.string("title"), let description = f.string("description"),
                  let owner = f.string("owner"), let frequency, !crosswalk.entries.isEmpty else { continue }
            out.append((Control(id: id, title: title, description: description, owner: owner, frequency: frequency,
                                highRisk: highRisk, criteria: [], crosswalk: [:], tests: tests), crosswalk))
        }
        return out
    }

    /// `criteria: [CC6.1]` (the default framework's) or `criteria: {soc2: [CC6.1], iso27001: [A.5.15]}`;
    /// at least one requirement in all.
    static func loadCrosswalk(_ file: YAMLFile, _ node: Node) -> LoadedCrosswalk {
        func ids(_ list: Node, _ what: String) -> [(String, YAMLFile.Location)]? {
            guard let items = file.sequence(list, what) else { return nil }
            var out: [(String, YAMLFile.Location)] = []
            for item in items {
                guard case .scalar = item else { file.fail(item, "each entry of \(what) must be a string"); continue }
                if let id = file.string(item, "each entry of \(what)") { out.append((id, file.location(item))) }
            }
            return out
        }
        var crosswalk = LoadedCrosswalk()
        let problemsBefore = file.problems.list.count
        if case .mapping = node {
            for (key, list) in file.mapping(node, "criteria") ?? [] {
                let canonical = Catalog.canonicalKey(key)
                guard isFrameworkKey(canonical) else { file.fail(list, "criteria: '\(key)' is not a framework key (lower-case letters, digits and '-')"); continue }
                guard let found = ids(list, "criteria '\(key)'") else { continue }
                if !found.isEmpty { crosswalk.entries.append(.init(framework: canonical, ids: found, location: file.location(list))) }
            }
        } else if let found = ids(node, "criteria"), !found.isEmpty {
            crosswalk.entries.append(.init(framework: nil, ids: found, location: file.location(node)))
        }
        if crosswalk.entries.isEmpty, file.problems.list.count == problemsBefore {
            file.fail(node, "criteria must list at least one criterion (a list, or a map from framework key to list)")
        }
        return crosswalk
    }

    static func loadTest(_ file: YAMLFile, _ node: Node) -> ControlTestSpec? {
        guard let m = file.mapping(node, "a test") else { return nil }
        let f = file.fields(m, at: node, required: ["test"], optional: ["parameters"])
        guard let name = f.string("test") else { return nil }
        guard let definition = ControlTestRegistry.definition(name) else {
            file.fail(f.node("test")!, "unknown test '\(name)' (known: \(ControlTestRegistry.all.map(\.id).joined(separator: ", ")))")
            return nil
        }
        var values = definition.defaultParameters.values
        if let paramsNode = f.node("parameters"), let params = file.mapping(paramsNode, "parameters") {
            for (key, value) in params {
                guard let p = definition.parameters.first(where: { $0.name == key }) else {
                    file.fail(value, "test '\(name)' has no parameter '\(key)' (it has: \(definition.parameters.map(\.name).joined(separator: ", ")))")
                    continue
                }
                guard let v = file.parameter(value, kind: p.kind, name: key) else { continue }
                if let allowed = p.allowed, case .listMap(let map) = v {
                    let unknown = map.values.flatMap { $0 }.filter { !allowed.contains($0) }
                    if !unknown.isEmpty {
                        file.fail(value, "parameter '\(key)': unknown value\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", "))")
                        continue
                    }
                }
                if let allowed = p.allowed, case .string(let name) = v, !allowed.contains(name) {
                    file.fail(value, "parameter '\(key)' must be one of \(allowed.joined(separator: ", ")) (got '\(name)')")
                    continue
                }
                if let allowed = p.allowed, case .strings(let names) = v {
                    let unknown = names.filter { !allowed.contains($0) }
                    if !unknown.isEmpty {
                        file.fail(value, "parameter '\(key)': unknown value\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) (allowed: \(allowed.joined(separator: ", ")))")
                        continue
                    }
                }
                values[key] = v
            }
        }
        return ControlTestSpec(test: name, parameters: TestParameters(values))
    }
}
