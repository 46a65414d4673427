import AccessEvidence
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Write the evidence report for a period into a folder.")

    @OptionGroup var inputs: AnalysisInputs

    @OptionGroup var periodOptions: PeriodOptions

    @Option(help: "Report folder to write (replaced as a whole when the run succeeds); the configuration's report.out may say reports/{period}.")
    var out: String?

    @Option(help: "Comma-separated report formats: html, xlsx, json, csv, ocsf, oscal (default: json).")
    var format: String?

    @Option(help: "Comma-separated frameworks to report against: soc2, iso27001, pci-dss, hipaa, nist-800-53, or all (default: soc2). The tests run once; the first named is the report's primary framework.")
    var framework: String?

    @Option(help: "Ed25519 private key (PEM or base64) to sign manifest.json into manifest.sig.")
    var signKey: String?

    @Option(help: "Template folder for report.html (default: the Templates folder shipped with the tool).")
    var templates: String?

    @Option(help: "Organization named on the report's cover.")
    var organization: String?

    @Option(help: "Seed for the auditor's samples (recorded in the report; default: 0).")
    var sampleSeed: String?

    @Option(help: "Rows of each test's population in evidence.xlsx (default: \(XLSXReport.defaultPopulationLimit)); the full population is always in populations/<control>-<test>.csv.")
    var xlsxPopulationLimit: Int?

    @Flag(inversion: .prefixedNo, help: "gzip the population files (populations/*.csv.gz); default: no.")
    var compress: Bool?

    @Option(help: "Base URL of the gateway's web app (e.g. https://hoop.example.com): session ids become links in report.html and evidence.xlsx.")
    var gatewayURL: String?

    @Option(help: "Threads: 2 reads the store while the tests and writers run; 1 does both in turn. The report is the same either way.")
    var threads: Int = 2

    @Flag(help: "Fail (exit 65) when any row of the store cannot be fully used, instead of reporting it as a data-quality finding.")
    var strict = false

    @Flag(help: "Exit 1 when the report holds any exception.")
    var failOnExceptions = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    mutating func run() throws {
        let configured = try inputs.configure()
        let format = format ?? configured.formats?.joined(separator: ",") ?? "json"
        let templates = templates ?? configured.templates
        let signKey = signKey ?? configured.signKey
        let organization = organization ?? configured.organization ?? ""
        let sampleSeed = sampleSeed ?? configured.sampleSeed ?? "0"
        let xlsxPopulationLimit = xlsxPopulationLimit ?? configured.xlsxPopulationLimit ?? XLSXReport.defaultPopulationLimit
        let compress = compress ?? configured.compress ?? false
        let gatewayURL = gatewayURL ?? configured.gatewayURL
        var formats = Set<ReportFormat>()
        for f in format.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            guard let known = ReportFormat(rawValue: f) else {
                throw ValidationError("unknown --format '\(f)' (available: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            formats.insert(known)
        }
        guard !formats.isEmpty else {
            throw ValidationError("--format names no format (available: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        try checkRange(xlsxPopulationLimit, 0...1_048_000, "--xlsx-population-limit")
        try checkRange(threads, 1...2, "--threads")
        if let gatewayURL, !GatewayLinks.validate(gatewayURL) {
            throw ValidationError("--gateway-url takes an https:// URL (http:// only to localhost) without query or credentials, not '\(OutputGate.text(gatewayURL))'")
        }
        let period = try periodOptions.resolve(configured: configured)
        guard let out = out ?? configured.out.map({ ConfigFile.outFolder($0, period: period) }) else {
            throw ValidationError("give --out (or report.out: in a configuration file)")
        }
        let interactive = !quiet && isatty(STDERR_FILENO) != 0
        var read = inputs.inputPaths
        if let signKey { read.append(OutputGuard.Use("--sign-key", signKey)) }
        if let templates { read.append(OutputGuard.Use("--templates", templates, folder: true)) }
        // Before any input is read: an input inside the folder the run replaces is a contradiction.
        try OutputGuard.checkDistinct(inputs: read, outputs: [OutputGuard.Use("--out", out, folder: true)])
        var run = try inputs.reportRun(period: period, at: inputs.now(), configured: configured)
        run.catalog = try chooseFrameworks(run.catalog, option: framework, configured: configured)
        run.inputs = read
        run.strict = strict
        if interactive { run.progress = { n in stderrWrite("\r\(n) sessions analysed") } }
        run.signingKey = signKey
        run.formats = formats
        run.organization = organization
        if let templates { run.templates = templates }
        run.sampleSeed = sampleSeed
        run.xlsxPopulationLimit = xlsxPopulationLimit
        run.compressPopulations = compress
        run.gatewayURL = gatewayURL
        run.threads = threads
        run.invocation = Invocation.current()
        let output = try run.write(to: out)
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }  // our own escape: clears the progress line
        let summary = output.document.summary
        if !quiet {
            stderrWrite("\(output.analysis.sessionsAnalysed) sessions in \(period.label); \(summary.exceptions) exceptions, "
                        + "\(summary.observations) observations; \(summary.dataQualityIssues) data-quality issues; wrote \(out)\n")
            for line in OutputSizes.lines(folder: out) { stderrWrite("  \(line)\n") }
        }
        if failOnExceptions, summary.exceptions > 0 { throw ExitCode(Exit.exceptionsFound) }
    }
}
