import Foundation

public enum ReportFormat: String, Sendable, CaseIterable {
    case html, xlsx, json, csv, ocsf, oscal
}

public enum ToolInfo {
    public static let name = "access-evidence"
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
    /// Folder of Mustache templates for `report.html`; nil: the templates built into the binary.
    public var templates: String?
    /// The organization named on the cover (free text).
    public var organization = ""
    /// The tenant of a multi-tenant store to read (`--org`: id or name); nil: the store's only one.
    public var storeOrganization: String?
    /// Opens `storePath`; the command layer passes one that knows every source it was built with.
    public var openStore: StoreOpener = openSQLiteGatewayStore
    /// Called every so many sessions with the count so far (for a progress line).
    public var progress: ((Int) -> Void)?
    /// Every path the run reads (store file, catalog, roster, …): no output may land on one.
    public var inputs: [OutputGuard.Use] = []
    /// Threads: 2 reads the store on one while the tests and writers run on the other; 1 runs both
    /// on one. The report is the same bytes either way.
    public var threads = 2
    /// Rows of each population the workbook holds; the full population is in its CSV file.
    public var xlsxPopulationLimit = XLSXReport.defaultPopulationLimit
    /// gzip the population CSV files (`populations/*.csv.gz`).
    public var compressPopulations = false
    /// Base URL of the gateway's web app: session ids become links in the HTML and workbook.
    public var gatewayURL: String?
    /// Input files that change results, hashed into the report and manifest (roster, accepted exceptions).
    public var inputFiles: [EvidenceDocument.InputFile] = []
    public var invocation: EvidenceDocument.Invocation?

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
    }

    /// Reads and analyses the period in one pass: every tested item goes to `sinks` as it is tested.
    public func analyse(sinks: [any PopulationSink] = [], populationFiles: [Int: String] = [:], workbookRows: Int? = nil) throws -> Output {
        let store = try openStore(storePath)
        try StoreOrganization.select(in: store, period: period, asked: storeOrganization)
        if threads > 1 { (store as? SQLiteGatewayStore)?.hashInBackground() }
        let directory = try store.loadDirectory(for: period)
        let analyzer = Analyzer(catalog: catalog, context: AnalysisContext(period: period, directory: directory, generatedAt: generatedAt, roster: roster),
                                accepted: accepted, keepPopulations: keepPopulations, sampleSeed: sampleSeed, sinks: sinks,
                                background: threads > 1)
        let period = self.period
        let reader = UnsafeTransfer(store)
        let issues: [DataQualityIssue], source: SourceInfo, analysis: AnalysisResult
        do {
            try RecordPipeline.run(threads: threads, produce: { emit in
                try reader.value.forEachSession(in: period) { try emit(.session(SessionBox($0))) }
                try reader.value.forEachConfigChange(in: period) { try emit(.change($0)) }
            }, consume: { record in
                switch record {
                case .session(let box):
                    try analyzer.observe(box.record)
                    if let progress, analyzer.sessionsAnalysed % 1000 == 0 { progress(analyzer.sessionsAnalysed) }
                case .change(let change):
                    try analyzer.observe(change)
                }
            })
            issues = store.dataQuality
            if strict, let first = issues.first {
                throw StoreError.dataQuality(count: issues.count, first: first)
            }
            source = try store.describe()
            analysis = try analyzer.finish()
        } catch {
            // Its writers must not be writing when the caller abandons the listings they write to.
            analyzer.abandon()
            throw error
        }
        var context = ReportContext(toolVersion: ToolInfo.version, generatedAt: generatedAt, source: source,
                                    catalog: catalog, dataQuality: issues)
        context.accepted = accepted
        context.roster = roster
        context.sampleSeed = sampleSeed
        context.inputFiles = inputFiles
        if let roster, !roster.sha256.isEmpty {
            context.inputFiles.append(.init(role: "roster", path: roster.source, sha256: roster.sha256, entries: roster.entries.count))
        }
        if let accepted, !accepted.sha256.isEmpty {
            context.inputFiles.append(.init(role: "accepted-exceptions", path: accepted.source, sha256: accepted.sha256, entries: accepted.entries.count))
        }
        context.invocation = invocation
        context.gatewayURL = gatewayURL
        context.populationFiles = populationFiles
        context.workbookRowLimit = workbookRows
        let count = try store.countSessions(in: period)
        context.reconciliation = Reconciliation(
            sessionsInStore: count.count, sessionsTested: analysis.sessionsAnalysed,
            skippedUnreadable: issues.filter { $0.table == "sessions" && $0.column == "created_at" }.count,
            storeQuery: count.query)
        return Output(analysis: analysis, document: EvidenceDocument(analysis: analysis, context: context), dataQuality: issues)
    }

    /// Analyses and writes `report.json` into `outputPath` (replacing a previous report there).
    @discardableResult
    public func write(to outputPath: String) throws -> Output {
        let key = try signingKey.map { try SigningKeys.privateKey(path: $0) }
        let library = formats.contains(.html)
            ? try templates.map { try HTMLReport.templates(directory: $0) } ?? HTMLReport.builtInTemplates() : nil
        guard !formats.isEmpty else { throw OutputError(path: outputPath, reason: "no report format was asked for", usage: true) }
        try OutputGuard.checkDistinct(inputs: inputs, outputs: [OutputGuard.Use("--out", outputPath, folder: true)])
        var result: Output?
        try ReportFolder(path: outputPath).write { dir in
            // Files already hashed on the way (for OSCAL's evidence links), by name.
            var known: [String: Manifest.File] = [:]
            // Every listing is open before the first session is read: items stream straight into them.
            let tests = Analyzer.tests(of: catalog)
            let files = try PopulationFiles(directory: dir, tests: tests, compressed: compressPopulations)
            var sinks: [any PopulationSink] = [files]
            let listing = formats.contains(.json) ? try PopulationListing(path: dir.appendingPathComponent(PopulationListing.fileName).path) : nil
            if let listing { sinks.append(listing) }
            let workbook = formats.contains(.xlsx)
                ? try XLSXReport(path: dir.appendingPathComponent("evidence.xlsx").path, tests: tests, frameworks: catalog.frameworks,
                                 limit: xlsxPopulationLimit,
                                 compressed: compressPopulations, generatedAt: generatedAt, tmpdir: dir.path, organization: organization,
                                 gatewayURL: gatewayURL, background: threads > 1)
                : nil
            if let workbook { sinks.append(workbook) }
            do {
                let paths = Dictionary(uniqueKeysWithValues: tests.map { ($0.index, $0.csvPath(compressed: compressPopulations)) })
                let output = try analyse(sinks: sinks, populationFiles: paths, workbookRows: workbook.map { _ in xlsxPopulationLimit })
                result = output
                try files.close()
                try listing?.close()
                if formats.contains(.json) {
                    try output.document.encoded().write(to: dir.appendingPathComponent("report.json"))
                }
                if let library {
                    let html = try HTMLReport(document: output.document, organization: organization).render(library: library)
                    try Data(html.utf8).write(to: dir.appendingPathComponent("report.html"))
                }
                try workbook?.finish(document: output.document)
                if formats.contains(.csv) {
                    try Data(FlatCSV.findings(output.document)).write(to: dir.appendingPathComponent(FlatCSV.findingsFile))
                    try Data(FlatCSV.results(output.document)).write(to: dir.appendingPathComponent(FlatCSV.resultsFile))
                }
                if formats.contains(.ocsf) {
                    try Data(try OCSFFindings.events(output.document)).write(to: dir.appendingPathComponent(OCSFFindings.fileName))
                }
                if formats.contains(.oscal) {
                    // The results cite report.json and evidence.xlsx by hash: both are complete by now,
                    // and the manifest takes the same hashes instead of reading the files again.
                    var evidence: [String: String] = [:]
                    for name in ["report.json", "evidence.xlsx"] where FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) {
                        let path = dir.appendingPathComponent(name).path
                        let sha256 = try FileHash.sha256(path: path)
                        evidence[name] = sha256
                        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
                        known[name] = Manifest.File(name: name, sha256: sha256, size: size)
                    }
                    for (name, data) in try OSCALDocuments.documents(output.document, evidence: evidence) {
                        try data.write(to: dir.appendingPathComponent(name))
                    }
                }
            } catch {
                workbook?.abandon()
                throw error
            }
            // The population files were hashed as they were written (gigabytes at a million sessions).
            var hashed = known
            for stream in files.streams + (listing.map { [$0.stream] } ?? []) {
                guard let digest = stream.digest, stream.path.hasPrefix(dir.path + "/") else { continue }
                let name = String(stream.path.dropFirst(dir.path.count + 1))
                hashed[name] = Manifest.File(name: name, sha256: digest.sha256, size: digest.size)
            }
            let manifest = try Manifest(directory: dir, document: result!.document, hashed: hashed).encoded()
            try manifest.write(to: dir.appendingPathComponent(Manifest.fileName))
            if let key {
                try Data((try key.signature(for: manifest).base64EncodedString() + "\n").utf8)
                    .write(to: dir.appendingPathComponent(Manifest.signatureName))
            }
        }
        return result!
    }
}
