import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct PeriodOptions: ParsableArguments {
    @Option(help: "Audit period: 2026, 2026-Q3, 2026-09 or 2026-W38.")
    var period: String?

    @Option(help: "Start of a custom period (ISO 8601 date or date-time, inclusive).")
    var from: String?

    @Option(help: "End of a custom period (ISO 8601 date or date-time, exclusive).")
    var to: String?

    @Option(help: "IANA time zone for period boundaries (default: UTC).")
    var timezone: String?

    /// The period asked for; `configured` is the configuration file's time zone, used when the
    /// command line names none.
    func resolve(configured: ConfigFile? = nil) throws -> Period {
        let zone = timezone ?? configured?.timezone ?? "UTC"
        switch (period, from, to) {
        case (let p?, nil, nil): return try Period.parse(p, timeZone: zone)
        case (nil, let f?, let t?): return try Period.parse(from: f, to: t, timeZone: zone)
        case (nil, nil, nil): throw ValidationError("give --period, or --from and --to")
        default: throw ValidationError("give either --period or both --from and --to")
        }
    }
}

/// The configuration file option of `report`, `alert` and `snapshot`.
struct ConfigOption: ParsableArguments {
    @Option(help: "Configuration file (YAML) with the settings a scheduled run repeats; default: /etc/access-evidence.yaml, then ~/.config/access-evidence.yaml, when present. Options given here win.")
    var config: String?

    func load() throws -> ConfigFile { try ConfigFile.load(explicit: config) }
}

/// The store from the command line, else from the configuration. A password the configuration
/// gives (from a file or an environment variable) is used for its own store only, never sent to a
/// store named on the command line.
func resolveStore(_ option: String?, _ configured: ConfigFile) throws -> String {
    if let option { return option }
    guard let store = configured.store else { throw ValidationError("give --store (or store: in a configuration file)") }
    if let secret = configured.storePassword, PostgresLocation.isPostgres(store) {
        // Read by the PostgreSQL reader as libpq reads PGPASSWORD; set before any thread starts.
        setenv("PGPASSWORD", try secret.reveal(), 1)
    }
    if let secret = configured.storePassword, HoopAPILocation.isHoopAPI(store) {
        // hoop's API token, read as HOOP_API_TOKEN is (a --token-file still wins).
        setenv("HOOP_API_TOKEN", try secret.reveal(), 1)
    }
    return store
}

/// What every analysis run reads: the store, the catalog, the optional roster and accepted
/// exceptions, and the run's time. Shared by `report` and `alert`; what the command line leaves out
/// comes from the configuration file (`configure`).
struct AnalysisInputs: ParsableArguments {
    @OptionGroup var configOption: ConfigOption

    @Option(help: "The gateway store: an SQLite file (sample data or a snapshot), hoop's PostgreSQL, postgres://user@host:port/db?sslmode=… (password from PGPASSWORD, ~/.pgpass or the configuration file), teleport:PATH, Teleport's audit log (a dir-backend folder, a file of events, optionally gzip, or - for standard input), jsonl:FILE, canonical records (JSON lines, optionally gzip), or hoop+https://HOST[/api], hoop's HTTP API (token from HOOP_API_TOKEN, --token-file or the configuration file).")
    var store: String?

    @OptionGroup var api: APIOptions

    @Option(help: "The organization (tenant) to report on, by id or name, when the store holds several (hoop is multi-tenant); with one, it is used.")
    var org: String?

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

    /// Loads the configuration and fills in what the command line left out.
    mutating func configure() throws -> ConfigFile {
        let configured = try configOption.load()
        // The configuration's organization is one of its store's: never applied to a store named here.
        if store == nil { org = org ?? configured.org }
        store = try resolveStore(store, configured)
        controls = controls ?? configured.controls
        roster = roster ?? configured.roster
        exceptions = exceptions ?? configured.exceptions
        return configured
    }

    /// The store, once `configure` has run.
    var storeLocation: String { store ?? "" }

    /// The paths this run reads, which no output may land on or replace.
    var inputPaths: [OutputGuard.Use] {
        var uses: [OutputGuard.Use] = []
        if let file = storeFile(storeLocation) { uses.append(OutputGuard.Use("--store", file)) }
        if let controls { uses.append(OutputGuard.Use("--controls", controls, folder: true)) }
        if let roster { uses.append(OutputGuard.Use("--roster", roster)) }
        if let exceptions { uses.append(OutputGuard.Use("--exceptions", exceptions)) }
        return uses
    }

    /// A report run over `period` with the catalog, roster and accepted exceptions loaded.
    func reportRun(period: Period, at now: Date, configured: ConfigFile) throws -> ReportRun {
        let catalog = try loadCatalog(controls)
        var run = ReportRun(storePath: storeLocation, period: period, catalog: catalog, generatedAt: now)
        run.inputs = inputPaths
        // The configuration files read are recorded beside the roster and accepted exceptions.
        run.storeOrganization = org
        run.inputFiles = configured.sources.map {
            EvidenceDocument.InputFile(role: "configuration", path: $0.path, sha256: $0.sha256, entries: $0.keys)
        }
        run.openStore = api.opener(extractedAt: generatedAt == nil ? nil : now)
        run.roster = try roster.map { try Roster.load(path: $0) }
        run.accepted = try exceptions.map { try AcceptedExceptions.load(path: $0, controls: catalog.controls.map(\.id)) }
        return run
    }
}

/// The file a store location reads, if it is one (an SQLite file, or a `jsonl:` file of canonical records).
func storeFile(_ location: String) -> String? {
    if JSONLGatewayStore.isCanonical(location) { return String(location.dropFirst(JSONLGatewayStore.scheme.count)) }
    if TeleportAuditStore.isTeleport(location) {
        let path = String(location.dropFirst(TeleportAuditStore.scheme.count))
        return path == "-" ? nil : path
    }
    return location.contains("://") ? nil : location
}

/// A numeric option outside what makes sense is a usage error naming the option and the range.
func checkRange<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ option: String) throws {
    guard range.contains(value) else {
        throw ValidationError("\(option) takes a value from \(range.lowerBound) to \(range.upperBound), not \(value)")
    }
}

/// The catalog reporting against `--framework` (comma-separated), else the configuration file's
/// `report.frameworks`, else its default (SOC 2); an unknown key is a usage error naming its source.
func chooseFrameworks(_ catalog: Catalog, option: String?, configured: ConfigFile) throws -> Catalog {
    guard let chosen = option.map({ $0.split(separator: ",").map(String.init) }) ?? configured.frameworks else { return catalog }
    do {
        return try catalog.choosing(chosen, option: option != nil ? "--framework" : "report.frameworks in the configuration file")
    } catch let error as CatalogError {
        throw ValidationError(error.description)
    }
}

/// The catalog folder given with `--controls`, or the one built into the binary.
func loadCatalog(_ folder: String?) throws -> Catalog {
    try folder.map { try CatalogLoader.load(directory: $0) } ?? CatalogLoader.loadBuiltIn()
}
