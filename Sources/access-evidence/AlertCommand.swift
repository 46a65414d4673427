import AccessEvidence
import ArgumentParser
import Foundation

struct AlertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Tell control owners what is new, still open and resolved since the last run (for cron).")

    @OptionGroup var inputs: AnalysisInputs
    @Option(parsing: .unconditional, help: "Window ending now (or at --generated-at): 7d, 24h, 2w.") var since: String?
    @OptionGroup var periodOptions: PeriodOptions
    @Option(help: "Alert state file (SQLite), created on first use.") var state: String?
    @Option(help: "text, markdown, json, slack or ocsf (OCSF Compliance Finding events, one per line; default: text).") var format: String?
    @Option(help: "Comma-separated frameworks whose requirements OCSF events name: soc2, iso27001, pci-dss, hipaa, nist-800-53, or all (default: soc2, or report.frameworks of the configuration file).")
    var framework: String?
    @Option(help: "POST the alert here instead of printing it (Slack-compatible payload with --format slack). Keep the URL off the command line with webhook_file: in a configuration file.") var webhook: String?
    @Option(help: "Exit 1 when there are new gaps (new), any open gaps (open), or never (default).") var failOn: String?
    @Option(parsing: .unconditional, help: "Seconds to wait for the webhook (up to 3600).") var timeout: Double = 10
    @Option(parsing: .unconditional, help: "Delivery attempts before giving up (1 to 10).") var attempts: Int = 3
    @Option(parsing: .unconditional, help: "Seconds to wait for another run holding the state file (0 to 86400).") var lockTimeout: Double = 60

    mutating func run() throws {
        let configured = try inputs.configure()
        let format = format ?? configured.alertFormat ?? "text"
        let failOn = failOn ?? configured.failOn ?? "never"
        let webhook = try webhook ?? configured.webhook?.reveal()
        let since = since ?? (periodOptions.period == nil && periodOptions.from == nil && periodOptions.to == nil ? configured.since : nil)
        guard let state = state ?? configured.state else { throw ValidationError("give --state (or alert.state: in a configuration file)") }
        guard let alertFormat = AlertRun.Format(rawValue: format) else {
            throw ValidationError("unknown --format '\(format)' (text, markdown, json, slack, ocsf)")
        }
        guard ["new", "open", "never"].contains(failOn) else { throw ValidationError("--fail-on takes new, open or never") }
        try checkRange(attempts, 1...10, "--attempts")
        try checkRange(timeout, 0.001...3600, "--timeout")
        try checkRange(lockTimeout, 0...86_400, "--lock-timeout")
        let now = try inputs.now()
        let period: Period
        if let since {
            guard periodOptions.period == nil, periodOptions.from == nil, periodOptions.to == nil else {
                throw ValidationError("give --since or a period, not both")
            }
            guard let seconds = ParameterValue.parseDuration(since), seconds > 0, seconds <= 366 * 86_400 * 10 else {
                throw ValidationError("--since '\(since)' is not a positive duration of at most ten years, such as 7d")
            }
            period = Period(label: "last \(since)", start: now.addingTimeInterval(-seconds), end: now, timeZone: "UTC")
        } else {
            period = try periodOptions.resolve(configured: configured)
        }
        var url: URL?
        if let webhook {
            guard let u = URL(string: webhook), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), let host = u.host, !host.isEmpty else {
                throw ValidationError("--webhook is not an http(s) URL with a host")
            }
            url = u
        }
        try OutputGuard.checkDistinct(inputs: inputs.inputPaths, outputs: [OutputGuard.Use("--state", state)])
        var report = try inputs.reportRun(period: period, at: now, configured: configured)
        // Only OCSF events name requirements: a shared configuration's report.frameworks does not stop a
        // text or Slack alert, while a --framework given here is still checked.
        if alertFormat == .ocsf || framework != nil {
            report.catalog = try chooseFrameworks(report.catalog, option: framework, configured: configured)
        }
        var alert = AlertRun(report: report, statePath: state)
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
