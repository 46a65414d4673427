import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation

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

    @Option(help: "Control catalog folder (default: the catalog built into the tool; `controls export` writes it out).")
    var controls: String?

    @Option(help: "HR or identity-provider roster (CSV or JSON): status, termination time, owners. Wins over the store's users.")
    var roster: String?

    @Option(help: "Accepted exceptions (YAML): findings management has accepted, with reason, approver, ticket and expiry.")
    var exceptions: String?

    @Option(help: "The run's time (ISO 8601), for reproducible output; default now.")
    var generatedAt: String?

    func now() throws -> Date {
        guard let text = generatedAt else { return Date() }
        let date = try Timestamp.parseChecked(text, name: "--generated-at")
        return date
    }

    /// The paths this run reads, which no output may land on or replace.
    var inputPaths: [OutputGuard.Use] {
        var uses: [OutputGuard.Use] = []
        if !store.contains("://") { uses.append(OutputGuard.Use("--store", store)) }
        if let controls { uses.append(OutputGuard.Use("--controls", controls, folder: true)) }
        if let roster { uses.append(OutputGuard.Use("--roster", roster)) }
        if let exceptions { uses.append(OutputGuard.Use("--exceptions", exceptions)) }
        return uses
    }

    /// A report run over `period` with the catalog, roster and accepted exceptions loaded.
    func reportRun(period: Period, at now: Date) throws -> ReportRun {
        let catalog = try loadCatalog(controls)
        var run = ReportRun(storePath: store, period: period, catalog: catalog, generatedAt: now)
        run.inputs = inputPaths
        run.openStore = openAnyGatewayStore
        run.roster = try roster.map { try Roster.load(path: $0) }
        run.accepted = try exceptions.map { try AcceptedExceptions.load(path: $0, controls: catalog.controls.map(\.id)) }
        return run
    }
}

/// A numeric option outside what makes sense is a usage error naming the option and the range.
func checkRange<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ option: String) throws {
    guard range.contains(value) else {
        throw ValidationError("\(option) takes a value from \(range.lowerBound) to \(range.upperBound), not \(value)")
    }
}

/// The catalog folder given with `--controls`, or the one built into the binary.
func loadCatalog(_ folder: String?) throws -> Catalog {
    try folder.map { try CatalogLoader.load(directory: $0) } ?? CatalogLoader.loadBuiltIn()
}
