import CXLSXWriter
import Foundation

/// `evidence.xlsx`, the auditor's workpaper, written with libxlsxwriter in constant-memory mode.
/// The workbook is opened before the analysis: population rows go to their sheets as the tests
/// produce them (each sheet keeps its rows in its own temporary file), up to a limit per test; the
/// other sheets are written once the analysis is done. Data is only ever written as strings,
/// numbers or dates, never as a formula, whatever it starts with.
///
/// Sheets, in order: Summary, Procedures, Criteria, Controls, Exceptions, Observations, Samples,
/// one population sheet per test, About.
public final class XLSXReport: PopulationSink {
    let book: Workbook
    let tests: [PopulationTest]
    let limit: Int
    let compressed: Bool
    let gatewayURL: String?
    let summarySheet, proceduresSheet, criteriaSheet, controlsSheet, exceptionsSheet, observationsSheet, samplesSheet: Sheet
    var populationSheets: [Sheet] = []
    var written: [Int]
    var seen: [Int]
    let aboutSheet: Sheet

    /// Excel's row limit, header included.
    static let maxRows = 1_048_576
    public static let defaultPopulationLimit = 100_000

    /// Opens the workbook at `path` with a sheet for each test's population (at most `limit` rows each).
    public init(path: String, tests: [PopulationTest], limit: Int, compressed: Bool, generatedAt: Date, tmpdir: String?,
                organization: String, gatewayURL: String?) throws {
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
            criteriaSheet = try book.sheet("Criteria")
            controlsSheet = try book.sheet("Controls")
            exceptionsSheet = try book.sheet("Exceptions")
            observationsSheet = try book.sheet("Observations")
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
    }

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
        try populationSheets[test.index].row(
            [.gated(row.item), .gated(row.session), .gated(row.identity), .gated(row.resource), .date(row.time)]
            + row.outcomes.map { .gated($0.mark) } + [.gated(row.exceptions.joined(separator: " "))] + row.facts.map(Cell.gated))
    }

    /// Writes the other sheets from the finished report and closes the file.
    public func finish(document: EvidenceDocument) throws {
        do {
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
            let writer = WorkpaperSheets(document: document, gatewayURL: gatewayURL, tests: tests, limit: limit)
            try writer.summary(summarySheet)
            try writer.procedures(proceduresSheet)
            try writer.criteria(criteriaSheet)
            try writer.controls(controlsSheet)
            try writer.findings(exceptionsSheet, kind: .exception)
            try writer.findings(observationsSheet, kind: .observation)
            try writer.samples(samplesSheet)
            try writer.about(aboutSheet)
            try book.close()
        } catch {
            book.abandon()
            throw error
        }
    }

    /// On an error path: the workbook is freed and its file removed.
    public func abandon() { book.abandon() }
}
