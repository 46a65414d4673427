import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes (documented in README.md; cron jobs depend on them).
enum Exit {
    static let ok: Int32 = 0
    static let exceptionsFound: Int32 = 1
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let noInput: Int32 = 66
    static let internalError: Int32 = 70
    static let unavailable: Int32 = 69
    static let cannotWrite: Int32 = 73
    static let tryAgain: Int32 = 75
    static let permissionDenied: Int32 = 77
}

struct AccessEvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-evidence",
        abstract: "Turn an access gateway's audit trail into SOC 2 evidence.",
        version: ToolInfo.version,
        subcommands: [ReportCommand.self, AlertCommand.self, SnapshotCommand.self, VerifyCommand.self, KeygenCommand.self, ControlsCommand.self, SampleDataCommand.self, BenchmarkCommand.self])
}

struct PeriodOptions: ParsableArguments {
    @Option(help: "Audit period: 2026, 2026-Q3, 2026-09 or 2026-W38.")
    var period: String?

    @Option(help: "Start of a custom period (ISO 8601 date or date-time, inclusive).")
    var from: String?

    @Option(help: "End of a custom period (ISO 8601 date or date-time, exclusive).")
    var to: String?

    @Option(help: "IANA time zone for period boundaries.")
    var timezone: String = "UTC"

    func resolve() throws -> Period {
        switch (period, from, to) {
        case (let p?, nil, nil): return try Period.parse(p, timeZone: timezone)
        case (nil, let f?, let t?): return try Period.parse(from: f, to: t, timeZone: timezone)
        case (nil, nil, nil): throw ValidationError("give --period, or --from and --to")
        default: throw ValidationError("give either --period or both --from and --to")
        }
    }
}

/// What every analysis run reads: the store, the catalog, the optional roster and accepted
/// exceptions, and the run's time. Shared by `report` and `alert`.
struct AnalysisInputs: ParsableArguments {
    @Option(help: "The gateway store: an SQLite file (sample data or a snapshot) or hoop's PostgreSQL, postgres://user@host:port/db?sslmode=… (password from PGPASSWORD or ~/.pgpass).")
    var store: String

    @Option(help: "Control catalog folder (default: the Controls folder shipped with the tool).")
    var controls: String?

    @Option(help: "HR or identity-provider roster (CSV or JSON): status, termination time, owners. Wins over the store's users.")
    var roster: String?

    @Option(help: "Accepted exceptions (YAML): findings management has accepted, with reason, approver, ticket and expiry.")
    var exceptions: String?

    @Option(help: "The run's time (ISO 8601), for reproducible output; default now.")
    var generatedAt: String?

    func now() throws -> Date {
        guard let text = generatedAt else { return Date() }
        guard let date = Timestamp.parse(text) else { throw ValidationError("--generated-at '\(text)' is not an ISO 8601 date-time") }
        return date
    }

    /// A report run over `period` with the catalog, roster and accepted exceptions loaded.
    func reportRun(period: Period, at now: Date) throws -> ReportRun {
        let catalog = try CatalogLoader.load(directory: controls ?? Locations.controls)
        var run = ReportRun(storePath: store, period: period, catalog: catalog, generatedAt: now)
        run.openStore = openAnyGatewayStore
        run.roster = try roster.map { try Roster.load(path: $0) }
        run.accepted = try exceptions.map { try AcceptedExceptions.load(path: $0, controls: catalog.controls.map(\.id)) }
        return run
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Write the evidence report for a period into a folder.")

    @OptionGroup var inputs: AnalysisInputs

    @OptionGroup var periodOptions: PeriodOptions

    @Option(help: "Report folder to write (replaced as a whole when the run succeeds).")
    var out: String

    @Option(help: "Comma-separated report formats.")
    var format: String = "json"

    @Option(help: "Ed25519 private key (PEM or base64) to sign manifest.json into manifest.sig.")
    var signKey: String?

    @Option(help: "Template folder for report.html (default: the Templates folder shipped with the tool).")
    var templates: String?

    @Option(help: "Organization named on the report's cover.")
    var organization: String = ""

    @Option(help: "Seed for the auditor's samples (recorded in the report).")
    var sampleSeed: String = "0"

    @Flag(help: "Fail (exit 65) when any row of the store cannot be fully used, instead of reporting it as a data-quality finding.")
    var strict = false

    @Flag(help: "Exit 1 when the report holds any exception.")
    var failOnExceptions = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    func run() throws {
        var formats = Set<ReportFormat>()
        for f in format.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            guard let known = ReportFormat(rawValue: f) else {
                throw ValidationError("unknown --format '\(f)' (available: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            formats.insert(known)
        }
        let period = try periodOptions.resolve()
        let interactive = !quiet && isatty(STDERR_FILENO) != 0
        var run = try inputs.reportRun(period: period, at: inputs.now())
        run.strict = strict
        if interactive { run.progress = { n in stderrWrite("\r\(n) sessions analysed") } }
        run.signingKey = signKey
        run.formats = formats
        run.organization = organization
        if let templates { run.templates = templates }
        run.sampleSeed = sampleSeed
        let output = try run.write(to: out)
        if interactive { stderrWrite("\r\u{1B}[K") }
        let summary = output.document.summary
        if !quiet {
            stderrWrite("\(output.analysis.sessionsAnalysed) sessions in \(period.label); \(summary.exceptions) exceptions; "
                        + "\(summary.dataQualityIssues) data-quality issues; wrote \(out)\n")
        }
        if failOnExceptions, summary.exceptions > 0 { throw ExitCode(Exit.exceptionsFound) }
    }
}

struct ControlsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controls", abstract: "Inspect the control catalog.",
        subcommands: [List.self, Validate.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the controls and the criteria they support.")
        @Option(help: "Control catalog folder.") var controls: String?

        func run() throws {
            let catalog = try CatalogLoader.load(directory: controls ?? Locations.controls)
            for control in catalog.controls {
                print("\(control.id)\t\(control.criteria.joined(separator: ","))\t\(control.frequency.rawValue)\t\(control.owner)\t\(control.title)")
                for test in control.tests { print("\t\(test.test)") }
            }
            let covered = Set(catalog.controls.flatMap(\.criteria))
            let byEvidence = Dictionary(grouping: catalog.criteria, by: \.gatewayEvidence)
            print("\(catalog.criteria.count) criteria (\(byEvidence[.primary]?.count ?? 0) primary, \(byEvidence[.supporting]?.count ?? 0) supporting, \(byEvidence[.none]?.count ?? 0) not evidenced by the gateway); \(covered.count) tested by \(catalog.controls.count) controls")
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a catalog folder; problems are listed with file and line.")
        @Option(help: "Control catalog folder.") var controls: String?

        func run() throws {
            let dir = controls ?? Locations.controls
            let catalog = try CatalogLoader.load(directory: dir)
            print("\(dir): valid: \(catalog.criteria.count) criteria, \(catalog.controls.count) controls, sha256 \(catalog.sha256)")
        }
    }
}

struct SampleDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-data",
        abstract: "Generate a realistic SQLite gateway store with planted gaps, deterministically.")

    @Option(help: "The SQLite file to write (replaced).") var out: String
    @Option(help: "Routine sessions to generate besides the planted ones.") var sessions: Int = 1200
    @Option(help: "Random seed.") var seed: UInt64 = 2026
    @Option(help: "Extra variants of each content-based gap and near miss (a labelled corpus).") var variations: Int = 0
    @Option(help: "Quarter the sessions fall in.") var period: String = "2026-Q3"
    @Option(help: "Also write the planted gaps as JSON to this file.") var groundTruth: String?
    @Option(help: "Also write the matching HR roster (CSV) to this file.") var roster: String?

    func run() throws {
        guard sessions >= 0 else { throw ValidationError("--sessions must not be negative") }
        let p = try Period.parse(period)
        guard variations >= 0 else { throw ValidationError("--variations must not be negative") }
        let planted = try SampleStoreGenerator(seed: seed, sessions: sessions, period: p, variations: variations).write(to: out)
        if let roster {
            try Data(SampleStoreGenerator.roster.utf8).write(to: URL(fileURLWithPath: roster), options: .atomic)
        }
        if let groundTruth {
            try planted.encoded().write(to: URL(fileURLWithPath: groundTruth), options: .atomic)
        }
        stderrWrite("wrote \(out): \(sessions) routine sessions and \(planted.gaps.count) planted gaps\n")
    }
}

struct AlertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Tell control owners what is new, still open and resolved since the last run (for cron).")

    @OptionGroup var inputs: AnalysisInputs
    @Option(help: "Window ending now (or at --generated-at): 7d, 24h, 2w.") var since: String?
    @OptionGroup var periodOptions: PeriodOptions
    @Option(help: "Alert state file (SQLite), created on first use.") var state: String
    @Option(help: "text, markdown, json or slack.") var format: String = "text"
    @Option(help: "POST the alert here instead of printing it (Slack-compatible payload with --format slack).") var webhook: String?
    @Option(help: "Exit 1 when there are new gaps (new), any open gaps (open), or never.") var failOn: String = "never"
    @Option(help: "Seconds to wait for the webhook.") var timeout: Double = 10
    @Option(help: "Delivery attempts before giving up.") var attempts: Int = 3
    @Option(help: "Seconds to wait for another run holding the state file.") var lockTimeout: Double = 60

    func run() throws {
        guard let alertFormat = AlertRun.Format(rawValue: format) else {
            throw ValidationError("unknown --format '\(format)' (text, markdown, json, slack)")
        }
        guard ["new", "open", "never"].contains(failOn) else { throw ValidationError("--fail-on takes new, open or never") }
        guard attempts >= 1, attempts <= 10, timeout > 0 else { throw ValidationError("--attempts takes 1 to 10 and --timeout a positive number") }
        let now = try inputs.now()
        let period: Period
        if let since {
            guard periodOptions.period == nil, periodOptions.from == nil, periodOptions.to == nil else {
                throw ValidationError("give --since or a period, not both")
            }
            guard let seconds = ParameterValue.parseDuration(since), seconds > 0 else { throw ValidationError("--since '\(since)' is not a duration such as 7d") }
            period = Period(label: "last \(since)", start: now.addingTimeInterval(-seconds), end: now, timeZone: "UTC")
        } else {
            period = try periodOptions.resolve()
        }
        var url: URL?
        if let webhook {
            guard let u = URL(string: webhook), ["http", "https"].contains(u.scheme ?? "") else { throw ValidationError("--webhook is not an http(s) URL") }
            url = u
        }
        var alert = AlertRun(report: try inputs.reportRun(period: period, at: now), statePath: state)
        alert.format = alertFormat
        alert.webhook = url
        alert.timeout = timeout
        alert.attempts = attempts
        alert.lockTimeout = lockTimeout
        let outcome = try alert.run()
        if let url { stderrWrite("delivered to \(AlertRun.shown(url)): \(outcome.document.newCount) new, \(outcome.document.openCount) open\n") }
        if failOn == "new", outcome.document.newCount > 0 { throw ExitCode(Exit.exceptionsFound) }
        if failOn == "open", outcome.document.newCount + outcome.document.openCount > 0 { throw ExitCode(Exit.exceptionsFound) }
    }
}

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Freeze a period of hoop's PostgreSQL store into an SQLite store with an extract manifest, for the auditor.")

    @Option(help: "hoop's PostgreSQL: postgres://user@host:port/db?sslmode=… (password from PGPASSWORD or ~/.pgpass).")
    var store: String

    @OptionGroup var periodOptions: PeriodOptions

    @Option(help: "The SQLite snapshot to write (replaced only when the extraction succeeds).")
    var out: String

    @Option(help: "Extraction time to record (ISO 8601), for reproducible snapshots; default now.")
    var generatedAt: String?

    func run() throws {
        guard PostgresLocation.isPostgres(store) else {
            throw ValidationError("--store must be a postgres:// URL: a snapshot is taken from hoop's PostgreSQL store")
        }
        let period = try periodOptions.resolve()
        var extractedAt = Date()
        if let generatedAt {
            guard let date = Timestamp.parse(generatedAt) else { throw ValidationError("--generated-at '\(generatedAt)' is not an ISO 8601 date-time") }
            extractedAt = date
        }
        let source = try PostgresGatewayStore(location: try PostgresLocation.parse(store))
        let result = try PostgresSnapshot.write(from: source, period: period, to: out, extractedAt: extractedAt)
        let rows = result.tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.rows)" }.joined(separator: ", ")
        print("wrote \(out): \(period.label) from \(source.location.display) (schema \(source.schemaVersion ?? "unknown")); \(rows)")
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-hash a report folder against its manifest and check its signature.")

    @Argument(help: "The report folder.") var directory: String
    @Option(help: "Ed25519 public key (PEM or base64) to check manifest.sig with.") var publicKey: String?

    func run() throws {
        let result = try ManifestVerifier.verify(directory: directory, publicKey: publicKey)
        for problem in result.problems { stderrWrite("access-evidence: \(directory)/\(problem)\n") }
        if !result.ok { throw ExitCode(Exit.exceptionsFound) }
        print("\(directory): \(result.checked) file\(result.checked == 1 ? "" : "s") match the manifest; \(result.signature)")
    }
}

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Write a new Ed25519 key pair for signing reports: FILE (private) and FILE.pub.")

    @Option(help: "Private key file to write; the public key goes to FILE.pub.") var out: String

    func run() throws {
        let (privatePEM, publicPEM) = SigningKeys.generate()
        guard FileManager.default.createFile(atPath: out, contents: Data(privatePEM.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw OutputError(path: out, reason: "cannot create the key file")
        }
        try Data(publicPEM.utf8).write(to: URL(fileURLWithPath: out + ".pub"), options: .atomic)
        print("wrote \(out) (private, mode 600) and \(out).pub")
    }
}

struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Print the throughput of the sensitive-data scanner, the command classifiers and a report run, over generated data; with --postgres, sessions/s and peak memory reading PostgreSQL stores of two sizes.")

    @Option(help: "Megabytes of recorded output to scan.") var megabytes: Int = 64
    @Option(help: "Commands to classify.") var commands: Int = 200_000
    @Option(help: "Sessions in the generated store for the report run (0 to skip).") var sessions: Int = 20_000
    @Option(help: "Control catalog folder.") var controls: String?
    @Flag(help: "Benchmark reading hoop's PostgreSQL store instead (starts a throwaway cluster; needs Debian's postgresql).") var postgres = false
    @Option(help: "Routine sessions in each PostgreSQL store, comma-separated.") var postgresSessions: String = "2000,25000"
    @Option(help: .hidden) var streamStore: String?
    @Option(help: .hidden) var streamPeriod: String = "2026-Q3"

    func run() throws {
        if let streamStore {
            // One measured run of the PostgreSQL benchmark: stream the period's sessions and nothing else.
            let store = try openAnyGatewayStore(streamStore)
            var count = 0
            try store.forEachSession(in: try Period.parse(streamPeriod)) { _ in count += 1 }
            print("streamed \(count) sessions")
            return
        }
        guard megabytes > 0, commands > 0, sessions >= 0 else { throw ValidationError("sizes must be positive") }
        if postgres {
            let sizes = postgresSessions.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard sizes.count == postgresSessions.split(separator: ",").count, sizes.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--postgres-sessions takes positive counts, such as 2000,25000")
            }
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let figures = try PostgresBenchmark.run(sizes: sizes, executable: executable) { stderrWrite($0 + "\n") }
            for figure in figures { for line in figure.lines { print(line) } }
            if let small = figures.first, let large = figures.last, figures.count > 1 {
                print(String(format: "peak memory from %d to %d sessions (%.1f×): stream %+.1f MB, report %+.1f MB",
                             small.sessions, large.sessions, Double(large.sessions) / Double(max(small.sessions, 1)),
                             Double(large.stream.maxResidentKiB - small.stream.maxResidentKiB) / 1024,
                             Double(large.report.maxResidentKiB - small.report.maxResidentKiB) / 1024))
            }
            return
        }
        let catalog = try CatalogLoader.load(directory: controls ?? Locations.controls)
        let figures = try Benchmark.run(megabytes: megabytes, commands: commands, sessions: sessions, catalog: catalog)
        for line in figures.lines { print(line) }
    }
}

func stderrWrite(_ s: String) {
    FileHandle.standardError.write(Data(s.utf8))
}

/// Maps errors to one line on stderr and a documented exit code.
func exitCode(for error: Error) -> Int32 {
    switch error {
    case let e as StoreError:
        switch e {
        case .notFound, .unreadable: return Exit.noInput
        case .unavailable: return Exit.unavailable
        case .permissionDenied: return Exit.permissionDenied
        default: return Exit.dataError
        }
    case is CatalogError, is RosterError, is SigningError: return Exit.dataError
    case is XLSXError: return Exit.cannotWrite
    case is TemplateError: return Exit.dataError
    case let e as AlertError:
        switch e {
        case .state: return Exit.dataError
        case .locked, .delivery: return Exit.tryAgain
        }
    case is PeriodError, is PostgresLocation.Invalid: return Exit.usage
    case is OutputError: return Exit.cannotWrite
    default: return Exit.internalError
    }
}

let parsed: ParsableCommand
do {
    parsed = try AccessEvidenceCommand.parseAsRoot()
} catch {
    // Help and --version exit 0; anything else the parser rejects is a usage error (64).
    AccessEvidenceCommand.exit(withError: error)
}

do {
    var command = parsed
    try command.run()
} catch let error as CatalogError {
    stderrWrite(error.problems.map { "access-evidence: \($0)\n" }.joined())
    exit(Exit.dataError)
} catch let error as ExitCode {
    exit(error.rawValue)
} catch let error as ValidationError {
    stderrWrite("access-evidence: \(error.message)\n")
    exit(Exit.usage)
} catch {
    let code = exitCode(for: error)
    if code == Exit.internalError {
        // Help and version requests arrive here as parser errors: let the parser answer them.
        let parserCode = AccessEvidenceCommand.exitCode(for: error)
        if parserCode == .success || parserCode == .validationFailure { AccessEvidenceCommand.exit(withError: error) }
    }
    stderrWrite("access-evidence: \(error)\n")
    exit(code)
}
