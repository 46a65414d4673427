import Foundation

/// `evidence.xlsx`, the auditor's workpaper (`Workbook`). The workbook is opened before the
/// analysis: population rows go to their sheets as the tests produce them (each sheet compresses its
/// rows into its own temporary file as they come), up to a limit per test; the
/// other sheets are written once the analysis is done. Data is only ever written as strings,
/// numbers or dates, never as a formula, whatever it starts with.
///
/// Sheets, in order: Summary, Procedures, Criteria (one per framework of the run, `Criteria ISO 27001`
/// when there are several), the ISO 27001 statement of applicability when ISO 27001 is one of them,
/// Controls, Exceptions, Observations, Posture, Samples, one population sheet per test, About.
///
/// With `background`, the population rows are compressed by a thread of their own (compressing
/// every cell is one of the larger costs of a run, and the tests need not wait for it): the rows'
/// XML is written where they arrive and handed over in 64 KiB pieces; each sheet's compressed file is
/// touched by one thread at a time and gets the same bytes in the same order, so the file is the
/// same either way.
public final class XLSXReport: PopulationSink {
    let book: Workbook
    let tests: [PopulationTest]
    let limit: Int
    let compressed: Bool
    let gatewayURL: String?
    let summarySheet, proceduresSheet, controlsSheet, exceptionsSheet, observationsSheet, postureSheet, samplesSheet: Sheet
    /// One per framework of the run, in the order chosen.
    let criteriaSheets: [Sheet]
    let applicabilitySheet: Sheet?
    var populationSheets: [Sheet] = []
    var written: [Int]
    var seen: [Int]
    let aboutSheet: Sheet
    /// Compresses the population sheets' rows when the workbook is written in the background.
    private let worker: SerialWorker?

    /// Excel's row limit, header included.
    static let maxRows = 1_048_576
    public static let defaultPopulationLimit = 100_000

    /// Opens the workbook at `path` with a sheet for each test's population (at most `limit` rows each).
    public init(path: String, tests: [PopulationTest], frameworks: [Framework], limit: Int, compressed: Bool, generatedAt: Date, tmpdir: String?,
                organization: String, gatewayURL: String?, background: Bool = false) throws {
        book = try Workbook(path: path, created: generatedAt, tmpdir: tmpdir, organization: organization)
        self.tests = tests
        self.limit = max(0, min(limit, Self.maxRows - 3))
        self.compressed = compressed
        self.gatewayURL = gatewayURL
        written = Array(repeating: 0, count: tests.count)
        seen = Array(repeating: 0, count: tests.count)
        do {
            summarySheet = try book.sheet("Summary")
            proceduresSheet = try book.sheet("Procedures")
            let book = book
            criteriaSheets = try frameworks.map { try book.sheet(frameworks.count == 1 ? "Criteria" : "Criteria " + $0.shortName) }
            applicabilitySheet = frameworks.contains { $0.id == WorkpaperSheets.applicabilityFramework }
                ? try book.sheet(WorkpaperSheets.applicabilitySheetName) : nil
            controlsSheet = try book.sheet("Controls")
            exceptionsSheet = try book.sheet("Exceptions")
            observationsSheet = try book.sheet("Observations")
            postureSheet = try book.sheet("Posture")
            samplesSheet = try book.sheet("Samples")
            for test in tests {
                let sheet = try book.sheet(Self.sheetName(test))
                let (titles, widths) = Self.populationColumns(test.definition)
                try sheet.header(titles, widths: widths)
                populationSheets.append(sheet)
            }
            aboutSheet = try book.sheet("About")
        } catch {
            book.abandon()
            throw error
        }
        worker = background ? SerialWorker(name: "access-evidence workbook") : nil
        for sheet in populationSheets { sheet.compressor = worker }
    }

    deinit { worker?.stop() }

    /// `GW-CHG-01 privileged-commands`: the control and the last part of the test's id (31 characters at most).
    static func sheetName(_ test: PopulationTest) -> String {
        let short = test.definition.id.split(separator: ".").last.map(String.init) ?? test.definition.id
        return "\(test.control.id) \(short)"
    }

    static func attributeHeader(_ a: AttributeDefinition) -> String { "\(a.id): \(a.label)" }

    static func populationColumns(_ d: TestDefinition) -> ([String], [Double]) {
        let titles = ["Item", "Session", "Identity", "Resource", "Time (UTC)"] + d.attributes.map(attributeHeader)
            + ["Exceptions"] + d.facts.map(\.label)
        let widths: [Double] = [40, 38, 30, 22, 20] + d.attributes.map { _ in 16 } + [24] + d.facts.map { _ in 28 }
        return (titles, widths)
    }

    public func add(_ row: PopulationRow, record: [UInt8], test: PopulationTest) throws {
        seen[test.index] += 1
        guard written[test.index] < limit else { return }
        written[test.index] += 1
        try populationSheets[test.index].populationRow(row)
    }

    /// Writes the other sheets from the finished report and closes the file.
    public func finish(document: EvidenceDocument) throws {
        do {
            if let worker {
                try worker.drain()
                worker.stop()
                for sheet in populationSheets { sheet.compressor = nil }
            }
            for (i, test) in tests.enumerated() {
                let sheet = populationSheets[i]
                try sheet.finish()
                let left = seen[i] - written[i]
                sheet.skip(1)
                if left > 0 {
                    try sheet.title("\(left) further row\(left == 1 ? " is" : "s are") not in this sheet (limit \(limit) rows): "
                                    + "the full population of \(seen[i]) rows is in \(test.csvPath(compressed: compressed)) beside this workbook.")
                } else {
                    try sheet.title("All \(seen[i]) row\(seen[i] == 1 ? "" : "s") of the population; also in \(test.csvPath(compressed: compressed)).")
                }
            }
            var writer = WorkpaperSheets(document: document, gatewayURL: gatewayURL, tests: tests, limit: limit)
            writer.populationSheets = Dictionary(uniqueKeysWithValues: zip(tests.map(\.index), populationSheets.map(\.name)))
            try writer.summary(summarySheet)
            try writer.procedures(proceduresSheet)
            for (sheet, framework) in zip(criteriaSheets, document.frameworks) { try writer.criteria(sheet, framework: framework) }
            if let applicabilitySheet, let iso = document.frameworks.first(where: { $0.id == WorkpaperSheets.applicabilityFramework }) {
                try writer.applicability(applicabilitySheet, framework: iso)
            }
            try writer.controls(controlsSheet)
            try writer.findings(exceptionsSheet, kind: .exception)
            try writer.findings(observationsSheet, kind: .observation)
            try writer.posture(postureSheet)
            try writer.samples(samplesSheet)
            try writer.about(aboutSheet)
            try book.close()
        } catch {
            abandon()
            throw error
        }
    }

    /// On an error path: the workbook is freed and its file removed.
    public func abandon() {
        worker?.stop()
        book.abandon()
    }
}
