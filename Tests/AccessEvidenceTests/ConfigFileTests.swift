@testable import AccessEvidence
import Crypto
import Foundation
import Testing

/// `--config FILE` and the default configuration files: what a cron line would repeat.
@Suite struct ConfigFileTests {
    func write(_ text: String, _ name: String = "access-evidence.yaml", in dir: URL, mode: Int = 0o644) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func problems(_ text: String, environment: [String: String] = [:]) throws -> [String] {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try write(text, in: dir)
        do {
            // Secrets are read when used: here, as a run that uses them would.
            let config = try ConfigFile.load(explicit: path, environment: environment)
            _ = try config.storePassword?.reveal(environment: environment)
            _ = try config.webhook?.reveal(environment: environment)
            return []
        } catch let error as ConfigError {
            return error.problems.map { $0.replacingOccurrences(of: path, with: "FILE").replacingOccurrences(of: dir.path, with: "DIR") }
        }
    }

    @Test func readsEveryKeyWithPathsRelativeToTheFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try write("https://hooks.example/T0/SECRET\n", "hook", in: dir, mode: 0o600)
        let path = try write("""
            # weekly evidence
            store: gateway.sqlite
            controls: catalog
            roster: /srv/hr/roster.csv
            exceptions: accepted.yaml
            timezone: Europe/Berlin
            report:
              out: reports/{period}
              formats: [html, xlsx]
              frameworks: [soc2, iso27001]
              organization: Acme
              sample_seed: 42
              xlsx_population_limit: 500
              compress: true
              gateway_url: https://hoop.example.com
            alert:
              state: state/alert.sqlite
              webhook_file: hook
              format: slack
              fail_on: new
              since: 7d
            """, in: dir)
        let c = try ConfigFile.load(explicit: path, environment: [:])
        #expect(c.store == dir.path + "/gateway.sqlite")
        #expect(c.controls == dir.path + "/catalog" && c.roster == "/srv/hr/roster.csv" && c.exceptions == dir.path + "/accepted.yaml")
        #expect(c.timezone == "Europe/Berlin")
        #expect(c.out == dir.path + "/reports/{period}" && c.formats == ["html", "xlsx"] && c.organization == "Acme")
        #expect(c.frameworks == ["soc2", "iso27001"])
        #expect(c.sampleSeed == "42" && c.xlsxPopulationLimit == 500 && c.compress == true && c.gatewayURL == "https://hoop.example.com")
        #expect(try c.state == dir.path + "/state/alert.sqlite" && c.webhook?.reveal() == "https://hooks.example/T0/SECRET")
        #expect(c.alertFormat == "slack" && c.failOn == "new" && c.since == "7d")
        #expect(c.files == [path])
        #expect(ConfigFile.outFolder(c.out!, period: q3) == dir.path + "/reports/2026-Q3")
        let custom = try Period.parse(from: "2026-07-01", to: "2026-08-01", timeZone: "UTC")
        #expect(ConfigFile.outFolder("r/{period}", period: custom) == "r/2026-07-01_2026-08-01")
    }

    @Test func typosAndWrongTypesAreNamedWithFileAndLine() throws {
        #expect(try problems("store: a.sqlite\nstroe: b.sqlite\n")
                == ["FILE:2:1: unknown key 'stroe' (known: alert, controls, exceptions, org, report, roster, store, store_password_env, store_password_file, timezone)"])
        #expect(try problems("report:\n  out: r\n  format: [html]\n")
                == ["FILE:3:3: unknown key 'report.format' (known in report: compress, formats, frameworks, gateway_url, organization, out, sample_seed, sign_key, templates, xlsx_population_limit)"])
        #expect(try problems("report:\n  frameworks: [soc2, ISO 27001]\n") == ["FILE:2:15: report.frameworks: 'ISO 27001' is not a framework key (soc2, iso27001, pci-dss, hipaa, nist-800-53, all, or a catalog's own)"])
        #expect(try problems("report:\n  xlsx_population_limit: many\n  compress: sometimes\n  out: r/{quarter}\n")
                == ["FILE:2:26: report.xlsx_population_limit must be an integer", "FILE:3:13: report.compress must be true or false",
                    "FILE:4:8: report.out: unknown placeholder {quarter} (known: {period})"])
        #expect(try problems("alert: yes\nstore: [a, b]\n") == ["FILE:1:8: 'alert' must be a mapping", "FILE:2:8: store must be a string"])
        #expect(try problems("- store\n") == ["FILE:1:1: the configuration must be a mapping of keys"])
        #expect(try problems("store: a\nstore: b\n").first?.hasPrefix("FILE:") == true)
        #expect(try problems("store: [unclosed\n").count == 1)
        #expect(try problems("# nothing set yet\n\n") == [])
        #expect(try problems("timezone: Mars/Olympus\nreport:\n  formats: [html, pdf]\n  gateway_url: http://hoop.example.com\nalert:\n  format: teams\n  fail_on: always\n  since: forever\n")
                == ["FILE:1:11: timezone: 'Mars/Olympus' is not an IANA time zone",
                    "FILE:3:12: report.formats: unknown format 'pdf' (available: html, xlsx, json, csv, ocsf, oscal)",
                    "FILE:4:16: report.gateway_url takes an https:// URL (http:// only to localhost) without query or credentials",
                    "FILE:6:11: alert.format: unknown format 'teams' (text, markdown, json, slack, ocsf)",
                    "FILE:7:12: alert.fail_on takes new, open or never",
                    "FILE:8:10: alert.since: 'forever' is not a positive duration of at most ten years, such as 7d"])
    }

    /// The one reader of secret files (configuration passwords, `--token-file`): checked through
    /// the descriptor it reads, never blocked by a FIFO, bounded, links followed.
    @Test func secretFilesAreCheckedThroughTheDescriptorTheyAreReadFrom() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let secret = try write("  s3cret\n", "secret", in: dir, mode: 0o600)
        #expect(try SecretFile.read(secret).get() == "s3cret")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/link", withDestinationPath: secret)
        #expect(try SecretFile.read(dir.path + "/link").get() == "s3cret")
        let open = try write("s3cret", "open", in: dir, mode: 0o640)
        #expect(SecretFile.read(open) == .failure(.exposed(mode: 0o640)))
        let fifo = dir.path + "/fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        #expect(SecretFile.read(fifo) == .failure(.notARegularFile))
        #expect(SecretFile.read(dir.path) == .failure(.notARegularFile))
        #expect(SecretFile.read(dir.path + "/missing") == .failure(.cannotRead("No such file or directory")))
        let exact = try write(String(repeating: "a", count: SecretFile.limit), "exact", in: dir, mode: 0o600)
        #expect(try SecretFile.read(exact).get().utf8.count == SecretFile.limit)
        let large = try write(String(repeating: "a", count: SecretFile.limit + 1), "large", in: dir, mode: 0o600)
        #expect(SecretFile.read(large) == .failure(.tooLarge))
        // Through --token-file: the same checks, the option's own words.
        #expect(throws: StoreError.permissionDenied(source: "--token-file", reason: "\(open) is readable by its group or others (mode 640); chmod 600 it")) {
            try HoopAPIToken.resolve(file: open, environment: [:])
        }
        #expect(throws: StoreError.unreadable(path: "--token-file \(fifo)", reason: "not a regular file")) {
            try HoopAPIToken.resolve(file: fifo, environment: [:])
        }
        #expect(try HoopAPIToken.resolve(file: secret, environment: [:]).authorization == "Bearer s3cret")
    }

    @Test func secretsComeFromPrivateFilesOrTheEnvironment() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try write("hunter2\n", "open-password", in: dir, mode: 0o644)
        _ = try write("hunter2\n", "password", in: dir, mode: 0o600)
        #expect(try problems("store_password_file: \(dir.path)/open-password\n")
                == ["FILE:1:22: store_password_file: \(dir.path)/open-password is readable by group or others (chmod 600 it)"])
        #expect(try problems("store_password_file: \(dir.path)/missing\n")
                == ["FILE:1:22: store_password_file: cannot read \(dir.path)/missing: No such file or directory"])
        // A symbolic link to a private file is followed (mounted secrets often are links).
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/linked", withDestinationPath: dir.path + "/password")
        #expect(try problems("store_password_file: \(dir.path)/linked\n") == [])
        #expect(try problems("alert:\n  webhook_env: HOOK_URL\n") == ["FILE:2:16: alert.webhook_env: the environment variable HOOK_URL is not set"])
        #expect(try problems("alert:\n  webhook: https://a.example/x\n  webhook_env: HOOK_URL\n", environment: ["HOOK_URL": "https://b.example/y"])
                == ["FILE: give only one of alert.webhook, alert.webhook_env"])
        let path = try write("store: postgres://auditor@db/hoop\nstore_password_file: password\nalert:\n  webhook_env: HOOK_URL\n", in: dir)
        let environment = ["HOOK_URL": "https://hooks.example/T1"]
        let c = try ConfigFile.load(explicit: path, environment: environment)
        #expect(try c.storePassword?.reveal(environment: environment) == "hunter2" && c.webhook?.reveal(environment: environment) == "https://hooks.example/T1")
        // A secret the run does not use is never read: loading a file naming an unreadable one succeeds.
        let unused = try write("alert:\n  webhook_file: /root/none/hook\n", "unused.yaml", in: dir)
        #expect(try ConfigFile.load(explicit: unused, environment: [:]).webhook != nil)
    }

    @Test func defaultFilesAreLayeredAndAnExplicitFileStandsAlone() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("xdg"), withIntermediateDirectories: true)
        let system = try write("store: /srv/system.sqlite\nroster: /srv/roster.csv\n", "system.yaml", in: dir)
        _ = try write("store: /home/me/mine.sqlite\n", "xdg/access-evidence.yaml", in: dir)
        let environment = ["ACCESS_EVIDENCE_SYSTEM_CONFIG": system, "XDG_CONFIG_HOME": dir.path + "/xdg"]
        let layered = try ConfigFile.load(explicit: nil, environment: environment)
        #expect(layered.store == "/home/me/mine.sqlite" && layered.roster == "/srv/roster.csv")
        #expect(layered.files == [system, dir.path + "/xdg/access-evidence.yaml"])
        // The system file's password belongs to its store: the user's file names another store, so
        // no password goes with it.
        _ = try write("pw\n", "pw", in: dir, mode: 0o600)
        let withPassword = try write("store: postgres://a@db-a/hoop\nstore_password_file: \(dir.path)/pw\norg: Acme\n", "system2.yaml", in: dir)
        let tied = try ConfigFile.load(explicit: nil, environment: ["ACCESS_EVIDENCE_SYSTEM_CONFIG": withPassword, "XDG_CONFIG_HOME": dir.path + "/xdg"])
        #expect(tied.store == "/home/me/mine.sqlite" && tied.storePassword == nil && tied.org == nil)
        let kept = try ConfigFile.load(explicit: nil, environment: ["ACCESS_EVIDENCE_SYSTEM_CONFIG": withPassword, "XDG_CONFIG_HOME": "/nonexistent"])
        #expect(try kept.store == "postgres://a@db-a/hoop" && kept.storePassword?.reveal() == "pw" && kept.org == "Acme")
        let explicit = try write("store: /x.sqlite\n", "cron.yaml", in: dir)
        let alone = try ConfigFile.load(explicit: explicit, environment: environment)
        #expect(alone.store == "/x.sqlite" && alone.roster == nil)
        #expect(throws: ConfigError.self) { try ConfigFile.load(explicit: dir.path + "/none.yaml", environment: [:]) }
        // Neither default file present: nothing set.
        #expect(try ConfigFile.load(explicit: nil, environment: ["ACCESS_EVIDENCE_SYSTEM_CONFIG": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"]) == ConfigFile())
    }

    /// The cron line `report --config FILE --period 2026-Q3` writes what the long command line writes.
    @Test func cronRunEqualsTheLongCommandLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try write("""
            store: \(sampleStorePath)
            roster: \(packageRoot.path)/SampleData/roster.csv
            exceptions: \(packageRoot.path)/SampleData/accepted-exceptions.yaml
            report:
              out: reports/{period}
              formats: [html, json]
              organization: Acme Payments (sample data)
            """, in: dir)
        let cron = try runExecutable(["report", "--config", config, "--period", "2026-Q3", "--generated-at", "2026-10-01T00:00:00Z", "--quiet"],
                                     directory: URL(fileURLWithPath: "/"))
        #expect(cron.code == 0 && cron.stderr.isEmpty)
        let long = try runExecutable(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", dir.path + "/long", "--format", "html,json",
                                      "--organization", "Acme Payments (sample data)", "--roster", packageRoot.path + "/SampleData/roster.csv",
                                      "--exceptions", packageRoot.path + "/SampleData/accepted-exceptions.yaml",
                                      "--generated-at", "2026-10-01T00:00:00Z", "--quiet"])
        #expect(long.code == 0)
        let fromConfig = dir.appendingPathComponent("reports/2026-Q3")
        #expect(try Data(contentsOf: fromConfig.appendingPathComponent("populations.jsonl")) == Data(contentsOf: dir.appendingPathComponent("long/populations.jsonl")))
        // The configuration file is recorded among the inputs, with its hash and the keys it set.
        let cronJSON = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: fromConfig.appendingPathComponent("report.json"))) as? [String: Any])
        let configInput = (cronJSON["inputs"] as? [[String: Any]])?.first
        #expect(configInput?["role"] as? String == "configuration" && configInput?["path"] as? String == config)
        let configHash = Hex.encode(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: config))))
        #expect(configInput?["entries"] as? Int == 6 && configInput?["sha256"] as? String == configHash)
        func json(_ folder: URL) throws -> NSDictionary {
            var object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json"))) as? [String: Any])
            object["invocation"] = nil
            object["inputs"] = (object["inputs"] as? [[String: Any]])?.filter { $0["role"] as? String != "configuration" }
            return object as NSDictionary
        }
        #expect(try json(fromConfig) == json(dir.appendingPathComponent("long")))
        let summary = try #require(try json(fromConfig)["summary"] as? [String: Any])
        #expect(summary["exceptions"] as? Int == 38)
        // The HTML differs by the command line and by the configuration file among the inputs (cover and appendix).
        func html(_ folder: URL) throws -> [String] {
            try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
                .split(separator: "\n").filter { !$0.hasPrefix("<dt>Command line</dt>") && !$0.hasPrefix("<dt>Input: configuration</dt>") }
                .map { line in
                    guard let start = line.range(of: "<p>configuration: "), let end = line[start.upperBound...].range(of: "</p>") else { return String(line) }
                    return String(line[..<start.lowerBound] + line[end.upperBound...])
                }
        }
        #expect(try html(fromConfig) == html(dir.appendingPathComponent("long")))

        // The command line wins over the file: json only, into the folder it names.
        let override = try runExecutable(["report", "--config", config, "--period", "2026-Q3", "--format", "json", "--out", dir.path + "/override", "--quiet"])
        #expect(override.code == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/override").contains("report.html") == false)

        // A typo'd key stops the run before anything is read or written, naming file:line.
        let typo = try write("stroe: \(sampleStorePath)\n", "typo.yaml", in: dir)
        let refused = try runExecutable(["report", "--config", typo, "--period", "2026-Q3", "--out", dir.path + "/typo"])
        #expect(refused.code == 64)
        #expect(refused.stderr == "access-evidence: \(typo):1:1: unknown key 'stroe' (known: alert, controls, exceptions, org, report, roster, store, store_password_env, store_password_file, timezone)\n")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/typo"))
        // Nothing names the store: the message says where it can come from.
        let none = try runExecutable(["report", "--period", "2026-Q3", "--out", dir.path + "/none"])
        #expect(none.code == 64 && none.stderr == "access-evidence: give --store (or store: in a configuration file)\n")
    }

    /// The webhook URL comes from a file only its owner reads; neither stdout nor stderr shows it.
    @Test func alertWebhookFromAFileIsNeverPrinted() throws {
        let server = try LoopbackServer(statuses: [200])
        defer { server.stop() }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try write("http://127.0.0.1:\(server.port)/hook/T0-SECRET-PATH\n", "hook", in: dir, mode: 0o600)
        let config = try write("store: \(sampleStorePath)\nalert:\n  state: alert.sqlite\n  webhook_file: hook\n  format: slack\n", in: dir)
        let run = try runExecutable(["alert", "--config", config, "--period", "2026-Q3", "--generated-at", "2026-10-01T00:00:00Z"])
        #expect(run.code == 0)
        #expect(server.received().count == 1)
        #expect(!(run.stdout + run.stderr).contains("SECRET"))
        #expect(run.stderr == "delivered to http://127.0.0.1/…: 44 new, 0 open\n")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/alert.sqlite"))
    }
}
