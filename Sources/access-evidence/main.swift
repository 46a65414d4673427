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
