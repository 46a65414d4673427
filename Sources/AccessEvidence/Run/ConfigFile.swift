import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Yams

/// What a cron line would otherwise repeat, read from YAML: `--config FILE`, or else
/// `/etc/access-evidence.yaml` and then `~/.config/access-evidence.yaml` (the user's file wins key by
/// key). Options on the command line win over all of them. Relative paths are relative to the file
/// that names them, so a config works whatever folder cron starts in.
///
/// ```yaml
/// store: postgres://auditor@db.internal/hoop?sslmode=verify-full
/// store_password_file: /etc/access-evidence/db-password
/// roster: /srv/hr/roster.csv
/// report:
///   out: /srv/evidence/{period}
///   formats: [html, xlsx, json]
///   frameworks: [soc2, iso27001]
/// alert:
///   state: /var/lib/access-evidence/alert-state.sqlite
///   webhook_file: /etc/access-evidence/webhook
/// ```
///
/// Secrets (the webhook URL, the store's password) can come from a file readable by its owner only
/// (like `~/.pgpass`) or from an environment variable named in the file, so no secret needs to be on a
/// command line, where `ps` shows it to every user of the machine.
public struct ConfigFile: Sendable, Equatable {
    // Shared by report, alert and snapshot.
    public var store: String?
    /// The password of `store` (of the file that named that store only).
    public var storePassword: Secret?
    public var org: String?
    public var controls: String?
    public var roster: String?
    public var exceptions: String?
    public var timezone: String?
    // report
    public var out: String?
    public var formats: [String]?
    /// Framework keys to report against (`--framework`); checked against the catalog when it is loaded.
    public var frameworks: [String]?
    public var templates: String?
    public var organization: String?
    public var signKey: String?
    public var sampleSeed: String?
    public var gatewayURL: String?
    public var xlsxPopulationLimit: Int?
    public var compress: Bool?
    // alert
    public var state: String?
    public var alertFormat: String?
    public var webhook: Secret?
    public var failOn: String?
    public var since: String?
    /// A file read, as the report records it among its inputs: the settings it gave change the report.
    public struct Source: Sendable, Equatable {
        public var path: String
        public var sha256: String
        /// Keys the file set.
        public var keys: Int
    }

    /// The files read, in the order they were applied.
    public var sources: [Source] = []
    public var files: [String] { sources.map(\.path) }

    public init() {}

    /// A secret the configuration names. It is read only when the run uses it, so a file naming a
    /// secret this command does not need (or a password file only root reads) stops nothing.
    public struct Secret: Sendable, Equatable {
        enum Source: Sendable, Equatable { case file(String), environment(String), literal(String) }
        let source: Source
        /// The key and where the file gives it (`file:line:column`), for errors.
        let key: String
        let location: String

        public func reveal(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
            func fail(_ message: String) -> ConfigError { ConfigError(problems: ["\(location): \(key): \(message)"]) }
            switch source {
            case .literal(let value): return value
            case .environment(let name):
                guard let value = environment[name], !value.isEmpty else { throw fail("the environment variable \(name) is not set") }
                return value
            case .file(let path):
                switch SecretFile.read(path) {
                case .failure(.cannotRead(let reason)): throw fail("cannot read \(path): \(reason)")
                case .failure(.notARegularFile): throw fail("\(path) is not a regular file")
                case .failure(.exposed): throw fail("\(path) is readable by group or others (chmod 600 it)")
                case .failure(.tooLarge): throw fail("\(path) must hold the secret on one line")
                case .success(let value):
                    guard !value.isEmpty, !value.contains(where: \.isNewline) else { throw fail("\(path) must hold the secret on one line") }
                    return value
                }
            }
        }
    }

    /// The keys a file may hold, per section (each one's type is checked where it is read, in `set`).
    static let keys: [String: Set<String>] = [
        "": ["store", "store_password_file", "store_password_env", "org", "controls", "roster", "exceptions", "timezone"],
        "report": ["out", "formats", "frameworks", "templates", "organization", "sign_key", "sample_seed", "gateway_url", "xlsx_population_limit", "compress"],
        "alert": ["state", "format", "webhook", "webhook_file", "webhook_env", "fail_on", "since"],
    ]

    /// The placeholders `report.out` may hold.
    public static let outPlaceholders = ["{period}"]

    /// The system-wide file; `ACCESS_EVIDENCE_SYSTEM_CONFIG` names another (packagers, tests).
    public static func systemPath(environment: [String: String]) -> String {
        environment["ACCESS_EVIDENCE_SYSTEM_CONFIG"] ?? "/etc/access-evidence.yaml"
    }

    /// The user's file: `$XDG_CONFIG_HOME/access-evidence.yaml`, by default under `~/.config`.
    public static func userPath(environment: [String: String], home: String) -> String {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.config"
        return base + "/access-evidence.yaml"
    }

    /// The configuration for a run: only `explicit` when given (a cron job that names its file gets
    /// exactly that file), else the system's and the user's files that exist.
    public static func load(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            home: String = NSHomeDirectory()) throws -> ConfigFile {
        var config = ConfigFile()
        if let explicit {
            try config.apply(path: explicit, required: true)
        } else {
            for path in [systemPath(environment: environment), userPath(environment: environment, home: home)] {
                try config.apply(path: path, required: false)
            }
        }
        return config
    }

    /// Reads one file over what is already set. Every problem in the file is collected and reported
    /// together, each with file:line:column, as the catalog's are.
    mutating func apply(path: String, required: Bool) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            if required { throw ConfigError(problems: ["\(path): no such configuration file"]) }
            return
        }
        guard !isFolder.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(problems: ["\(path): cannot read the configuration file"])
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ConfigError(problems: ["\(path): not UTF-8 text"]) }
        let file = YAMLFile(name: path, problems: Problems())
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var seen = Set<String>()
        defer { sources.append(Source(path: path, sha256: Hex.encode(SHA256.hash(data: data)), keys: seen.count)) }
        // An empty file (or one of comments only) sets nothing.
        if text.split(whereSeparator: \.isNewline).allSatisfy({ $0.trimmed(.whitespaces).isEmpty || $0.trimmed(.whitespaces).hasPrefix("#") }) {
            return
        }
        guard let root = file.parse(text) else { throw ConfigError(problems: file.problems.list) }
        guard case .mapping(let top) = root else { throw ConfigError(problems: ["\(path):1:1: the configuration must be a mapping of keys"]) }
        func read(_ mapping: Node.Mapping, section: String) {
            let allowed = Self.keys[section]!
            for (keyNode, value) in mapping {
                guard let key = keyNode.string else { file.fail(keyNode, "keys must be strings"); continue }
                if section.isEmpty, key == "report" || key == "alert" {
                    guard case .mapping(let inner) = value else { file.fail(value, "'\(key)' must be a mapping"); continue }
                    read(inner, section: key)
                    continue
                }
                let name = section.isEmpty ? key : "\(section).\(key)"
                guard allowed.contains(key) else {
                    let known = allowed.sorted() + (section.isEmpty ? ["alert", "report"] : [])
                    file.fail(keyNode, "unknown key '\(name)' (known\(section.isEmpty ? "" : " in \(section)"): \(known.sorted().joined(separator: ", ")))")
                    continue
                }
                seen.insert(name)
                set(name, value, file: file, folder: folder)
            }
        }
        read(top, section: "")
        // One secret, one source: two would leave the reader guessing which was used.
        for (a, b, c) in [("store_password_file", "store_password_env", ""), ("alert.webhook", "alert.webhook_file", "alert.webhook_env")] {
            let given = [a, b, c].filter { !$0.isEmpty && seen.contains($0) }
            if given.count > 1 { file.problems.add("\(path): give only one of \(given.joined(separator: ", "))") }
        }
        // A password and an organization belong to the store of the file that gives them: a later file
        // naming another store without its own must not send this one's there.
        if seen.contains("store") {
            if !seen.contains("store_password_file"), !seen.contains("store_password_env") { storePassword = nil }
            if !seen.contains("org") { org = nil }
        }
        if !file.problems.list.isEmpty { throw ConfigError(problems: file.problems.list) }
    }

    private mutating func set(_ name: String, _ node: Node, file: YAMLFile, folder: URL) {
        func path() -> String? {
            guard let text = file.string(node, name) else { return nil }
            if name == "report.out", let bad = Self.unknownPlaceholder(text) {
                file.fail(node, "\(name): unknown placeholder \(bad) (known: \(Self.outPlaceholders.joined(separator: ", ")))")
                return nil
            }
            return text.hasPrefix("/") ? text : folder.appendingPathComponent(text).path
        }
        func secret() -> Secret? {
            guard let text = file.string(node, name) else { return nil }
            let location = file.location(node).description
            guard name.hasSuffix("_file") else { return Secret(source: .environment(text), key: name, location: location) }
            let secretPath = text.hasPrefix("/") ? text : folder.appendingPathComponent(text).path
            return Secret(source: .file(secretPath), key: name, location: location)
        }
        switch name {
        case "store":
            // An SQLite file is a path like the others; a URL is taken as written.
            guard let text = file.string(node, name) else { return }
            store = text.contains("://") || text.hasPrefix("/") ? text : folder.appendingPathComponent(text).path
        case "store_password_file", "store_password_env": storePassword = secret()
        case "org": org = file.string(node, name)
        case "controls": controls = path()
        case "roster": roster = path()
        case "exceptions": exceptions = path()
        case "timezone":
            guard let text = file.string(node, name) else { return }
            guard TimeZone(identifier: text) != nil else { file.fail(node, "\(name): '\(text)' is not an IANA time zone"); return }
            timezone = text
        case "report.out": out = path()
        case "report.formats":
            // A single format may be written without the list.
            let list = { if case .scalar = node { return file.string(node, name).map { [$0] } } else { return file.stringList(node, name) } }()
            let known = ReportFormat.allCases.map(\.rawValue)
            if let unknown = list?.first(where: { !known.contains($0.lowercased()) }) {
                file.fail(node, "\(name): unknown format '\(unknown)' (available: \(known.joined(separator: ", ")))")
                return
            }
            formats = list
        case "report.frameworks":
            let list = { if case .scalar = node { return file.string(node, name).map { [$0] } } else { return file.stringList(node, name) } }()
            if let bad = list?.first(where: { !CatalogLoader.isFrameworkKey(Catalog.canonicalKey($0.lowercased())) }) {
                file.fail(node, "\(name): '\(bad)' is not a framework key (soc2, iso27001, pci-dss, hipaa, nist-800-53, all, or a catalog's own)")
                return
            }
            frameworks = list
        case "report.templates": templates = path()
        case "report.organization": organization = file.string(node, name)
        case "report.sign_key": signKey = path()
        case "report.sample_seed": sampleSeed = file.string(node, name)
        case "report.gateway_url":
            guard let text = file.string(node, name) else { return }
            guard GatewayLinks.validate(text) else {
                file.fail(node, "\(name) takes an https:// URL (http:// only to localhost) without query or credentials"); return
            }
            gatewayURL = text
        case "report.xlsx_population_limit":
            guard case .scalar = node, let i = node.int else { file.fail(node, "\(name) must be an integer"); return }
            xlsxPopulationLimit = i
        case "report.compress": compress = file.bool(node, name)
        case "alert.state": state = path()
        case "alert.format":
            guard let text = file.string(node, name) else { return }
            guard AlertRun.Format(rawValue: text) != nil else { file.fail(node, "\(name): unknown format '\(text)' (\(AlertRun.Format.allCases.map(\.rawValue).joined(separator: ", ")))"); return }
            alertFormat = text
        case "alert.webhook": webhook = file.string(node, name).map { Secret(source: .literal($0), key: name, location: file.location(node).description) }
        case "alert.webhook_file", "alert.webhook_env": webhook = secret()
        case "alert.fail_on":
            guard let text = file.string(node, name) else { return }
            guard ["new", "open", "never"].contains(text) else { file.fail(node, "\(name) takes new, open or never"); return }
            failOn = text
        case "alert.since":
            guard let text = file.string(node, name) else { return }
            guard let seconds = ParameterValue.parseDuration(text), seconds > 0, seconds <= 366 * 86_400 * 10 else {
                file.fail(node, "\(name): '\(text)' is not a positive duration of at most ten years, such as 7d"); return
            }
            since = text
        default: file.fail(node, "unknown key '\(name)'")
        }
    }

    /// The first `{…}` in `text` that is not a known placeholder.
    static func unknownPlaceholder(_ text: String) -> String? {
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return String(rest[open...]) }
            let placeholder = String(rest[open...close])
            if !outPlaceholders.contains(placeholder) { return placeholder }
            rest = rest[rest.index(after: close)...]
        }
        return nil
    }

    /// `report.out` with `{period}` filled in: the period's label, as a single folder name (a custom
    /// period's `from/to` becomes `from_to`).
    public static func outFolder(_ pattern: String, period: Period) -> String {
        let label = String(period.label.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
        return pattern.replacingOccurrences(of: "{period}", with: label)
    }
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}
