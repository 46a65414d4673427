import Foundation

public enum ReportFormat: String, Sendable, CaseIterable {
    case html, xlsx, json
}

public enum ToolInfo {
    public static let version = "0.1.0"
}

/// One report run: read the store, analyse the period against the catalog, render, write.
public struct ReportRun {
    public var storePath: String
    public var period: Period
    public var catalog: Catalog
    public var generatedAt: Date
    public var strict: Bool
    public var roster: Roster?
    public var accepted: AcceptedExceptions?
    /// Ed25519 private key file: signs `manifest.json` into `manifest.sig`.
    public var signingKey: String?
    /// Seed for the auditor's samples; recorded in the report.
    public var sampleSeed = "0"
    public var formats: Set<ReportFormat> = [.json]
    /// Spool every tested item (for hashes, samples and listings); alerts do without.
    public var keepPopulations = true
    /// Folder of Mustache templates for `report.html`.
    public var templates: String = Locations.templates
    public var organization = ""
    /// Opens `storePath`; the command layer passes one that knows every source it was built with.
    public var openStore: StoreOpener = openSQLiteGatewayStore
    /// Called every so many sessions with the count so far (for a progress line).
    public var progress: ((Int) -> Void)?
    /// Every path the run reads (store file, catalog, roster, …): no output may land on one.
    public var inputs: [OutputGuard.Use] = []

    public init(storePath: String, period: Period, catalog: Catalog, generatedAt: Date, strict: Bool = false, progress: ((Int) -> Void)? = nil) {
        self.storePath = storePath
        self.period = period
        self.catalog = catalog
        self.generatedAt = generatedAt
        self.strict = strict
        self.progress = progress
    }

    public struct Output {
        public var analysis: AnalysisResult
        public var document: EvidenceDocument
        public var dataQuality: [DataQualityIssue]
        /// Every tested item, for the workpaper's population sheets (kept until the output is released).
        public var populations: Analyzer
    }

    /// Reads and analyses the period. With `keepPopulations`, tested items are spooled to a file in
    /// `spoolDirectory` (the report's staging folder, so a stopped run leaves nothing behind elsewhere).
    public func analyse(spoolDirectory: URL? = nil) throws -> Output {
        let store = try openStore(storePath)
        let directory = try store.loadDirectory()
        let analyzer = try Analyzer(catalog: catalog, context: AnalysisContext(period: period, directory: directory, generatedAt: generatedAt, roster: roster),
                                    accepted: accepted, keepPopulations: keepPopulations, sampleSeed: sampleSeed,
                                    spoolDirectory: spoolDirectory)
        try store.forEachSession(in: period) { session in
            try analyzer.observe(session)
            if let progress, analyzer.sessionsAnalysed % 1000 == 0 { progress(analyzer.sessionsAnalysed) }
        }
        try store.forEachConfigChange(in: period) { try analyzer.observe($0) }
        let issues = store.dataQuality
        if strict, let first = issues.first {
            throw StoreError.dataQuality(count: issues.count, first: first)
        }
        let source = try store.describe()
        let analysis = try analyzer.finish()
        var context = ReportContext(toolVersion: ToolInfo.version, generatedAt: generatedAt, source: source,
                                    catalog: catalog, dataQuality: issues)
        context.accepted = accepted
        context.roster = roster
        context.sampleSeed = sampleSeed
        let count = try store.countSessions(in: period)
        context.reconciliation = Reconciliation(
            sessionsInStore: count.count, sessionsTested: analysis.sessionsAnalysed,
            skippedUnreadable: issues.filter { $0.table == "sessions" && $0.column == "created_at" }.count,
            storeQuery: count.query)
        return Output(analysis: analysis, document: EvidenceDocument(analysis: analysis, context: context), dataQuality: issues,
                      populations: analyzer)
    }

    /// Analyses and writes `report.json` into `outputPath` (replacing a previous report there).
    @discardableResult
    public func write(to outputPath: String) throws -> Output {
        let key = try signingKey.map { try SigningKeys.privateKey(path: $0) }
        let library = formats.contains(.html) ? try HTMLReport.templates(directory: templates) : nil
        guard !formats.isEmpty else { throw OutputError(path: outputPath, reason: "no report format was asked for", usage: true) }
        try OutputGuard.checkDistinct(inputs: inputs, outputs: [OutputGuard.Use("--out", outputPath, folder: true)])
        var result: Output?
        try ReportFolder(path: outputPath).write { dir in
            let output = try analyse(spoolDirectory: dir)
            result = output
            if formats.contains(.json) {
                try output.document.encoded().write(to: dir.appendingPathComponent("report.json"))
                try PopulationListing.write(to: dir.appendingPathComponent("populations.jsonl"), document: output.document, populations: output.populations)
            }
            if let library {
                let html = try HTMLReport(document: output.document, organization: organization).render(library: library)
                try Data(html.utf8).write(to: dir.appendingPathComponent("report.html"))
            }
            if formats.contains(.xlsx) {
                try XLSXReport(document: output.document, populations: output.populations)
                    .write(to: dir.appendingPathComponent("evidence.xlsx").path, generatedAt: generatedAt)
            }
            try output.populations.closeSpool()
            let manifest = try Manifest(directory: dir, document: output.document).encoded()
            try manifest.write(to: dir.appendingPathComponent(Manifest.fileName))
            if let key {
                try Data((try key.signature(for: manifest).base64EncodedString() + "\n").utf8)
                    .write(to: dir.appendingPathComponent(Manifest.signatureName))
            }
        }
        return result!
    }
}
