import AccessEvidence
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct AccessEvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-evidence",
        abstract: "Turn an access gateway's audit trail into SOC 2 evidence.",
        discussion: """
            Reads the gateway's store (an SQLite file or hoop's PostgreSQL) for an audit period, tests it against \
            the control catalog built into the tool (or --controls DIR) and writes the evidence: report.html, \
            evidence.xlsx, report.json and the full populations. The store is only read.

            Settings a scheduled run repeats can come from a YAML configuration file: --config FILE, or else \
            /etc/access-evidence.yaml and then ~/.config/access-evidence.yaml when present (options on the \
            command line win). Secrets such as the webhook URL and the database password can come from a file \
            only its owner reads, or from an environment variable, instead of the command line.

            Exit codes: 0 success; 1 exceptions found (with --fail-on-exceptions) or verify found a difference; \
            64 usage error; 65 bad input data; 66 store not found; 69 PostgreSQL unreachable; 70 internal \
            error; 73 output cannot be written or must not be replaced; 75 alert delivery failed or state \
            locked, try again; 77 credentials refused.
            """,
        version: versionText,
        subcommands: [ReportCommand.self, AlertCommand.self, SnapshotCommand.self, VerifyCommand.self, KeygenCommand.self, ControlsCommand.self,
                      TemplatesCommand.self, SampleDataCommand.self, BenchmarkCommand.self])

    /// `--version`: what a bug report or an auditor needs to name the build: the tool's version, the
    /// commit it was built from, and the built-in catalog (its hash is the one a report records).
    static var versionText: String {
        "access-evidence \(ToolInfo.version) (commit \(BuildCommit.id))\n"
            + "built-in catalog: \(BuiltInDefaults.catalogVersion), sha256 \(BuiltInDefaults.catalogSHA256)"
    }
}

let parsed: ParsableCommand
do {
    try rejectRepeatedOptions(CommandLine.arguments.dropFirst())
} catch let error as ValidationError {
    stderrWrite("access-evidence: \(error.message)\n")
    exit(Exit.usage)
}
do {
    parsed = try AccessEvidenceCommand.parseAsRoot()
} catch {
    // Help and --version exit 0; anything else the parser rejects is a usage error (64).
    AccessEvidenceCommand.exit(withError: error)
}

// SIGINT, SIGTERM and SIGHUP remove the run's unfinished files before the process ends.
Cleanup.shared.installSignalHandlers()

do {
    var command = parsed
    try command.run()
    // A stop signal that came as the run finished still ends the process by that signal.
    while Cleanup.shared.isStopping { sleep(1) }
} catch let error as CatalogError {
    stderrWrite(error.problems.map { "access-evidence: \($0)\n" }.joined())
    exit(Exit.dataError)
} catch let error as ConfigError {
    // A configuration file stands in for options: its problems are usage errors, all listed at once.
    stderrWrite(error.problems.map { "access-evidence: \($0)\n" }.joined())
    exit(Exit.usage)
} catch let error as ExitCode {
    exit(error.rawValue)
} catch let error as ValidationError {
    stderrWrite("access-evidence: \(error.message)\n")
    exit(Exit.usage)
} catch {
    // Stopped by a signal: the handler is removing the run's files and will end the process by
    // that signal; an error caused by the removal is not the run's to report.
    while Cleanup.shared.isStopping { sleep(1) }
    let code = exitCode(for: error)
    if code == Exit.internalError {
        // Help and version requests arrive here as parser errors: let the parser answer them.
        let parserCode = AccessEvidenceCommand.exitCode(for: error)
        if parserCode == .success || parserCode == .validationFailure { AccessEvidenceCommand.exit(withError: error) }
    }
    stderrWrite("access-evidence: \(describe(error))\n")
    exit(code)
}
