import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Freeze a period of a store for the auditor: hoop's PostgreSQL into an SQLite store with an extract manifest, or any store into canonical records (--format jsonl).")

    @OptionGroup var configOption: ConfigOption

    @Option(help: "The store: hoop's PostgreSQL, postgres://user@host:port/db?sslmode=… (password from PGPASSWORD, ~/.pgpass or the configuration file), or hoop's HTTP API, hoop+https://HOST[/api] (token from HOOP_API_TOKEN, --token-file or the configuration file); with --format jsonl also an SQLite store, teleport:PATH or jsonl:FILE.")
    var store: String?

    @OptionGroup var api: APIOptions

    @Option(help: "sqlite (default: an SQLite store with an extract manifest, from PostgreSQL) or jsonl (canonical records, one JSON object per line, from any store; gzip when --out ends in .gz).")
    var format: SnapshotFormat = .sqlite

    @Option(help: "The organization (tenant) to extract, by id or name, when the database holds several; a snapshot carries one.")
    var org: String?

    @OptionGroup var periodOptions: PeriodOptions

    @Option(help: "The snapshot to write (replaced only when the extraction succeeds, and only when it is a snapshot or export this tool wrote).")
    var out: String

    @Option(help: "Extraction time to record (ISO 8601), for reproducible snapshots; default now.")
    var generatedAt: String?

    mutating func run() throws {
        let configured = try configOption.load()
        let org = org ?? (store == nil ? configured.org : nil)
        let store = try resolveStore(store, configured)
        let period = try periodOptions.resolve(configured: configured)
        var extractedAt = Date()
        if let generatedAt {
            let date = try Timestamp.parseChecked(generatedAt, name: "--generated-at")
            extractedAt = date
        }
        if format == .jsonl {
            try OutputGuard.checkDistinct(inputs: storeFile(store).map { [OutputGuard.Use("--store", $0)] } ?? [],
                                          outputs: [OutputGuard.Use("--out", out)])
            let source = try api.opener(extractedAt: extractedAt)(store)
            try StoreOrganization.select(in: source, period: period, asked: org)
            let result = try CanonicalExport.write(from: source, period: period, to: out, exportedAt: extractedAt)
            let counts = result.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("wrote \(out): \(period.label) from \(redactedStoreLocation(store)); \(counts)")
            return
        }
        if HoopAPILocation.isHoopAPI(store) {
            let transport = try api.transport(store)
            let rows = try HoopAPIStore.writeSnapshot(api: transport, period: period, to: out, extractedAt: extractedAt, batch: api.apiConcurrency)
            let shown = rows.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("wrote \(out): \(period.label) from \(transport.display) (hoop API); \(shown)")
            return
        }
        guard PostgresLocation.isPostgres(store) else {
            throw ValidationError("--store must be a postgres:// or hoop+https:// URL: an SQLite snapshot is taken from hoop's PostgreSQL store or its API (--format jsonl exports any store)")
        }
        let source = try PostgresGatewayStore(location: try PostgresLocation.parse(store))
        try StoreOrganization.select(in: source, period: period, asked: org)
        let result = try PostgresSnapshot.write(from: source, period: period, to: out, extractedAt: extractedAt)
        let rows = result.tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.rows)" }.joined(separator: ", ")
        print("wrote \(out): \(period.label) from \(source.location.display) (schema \(source.schemaVersion ?? "unknown")); \(rows)")
    }
}

enum SnapshotFormat: String, ExpressibleByArgument, CaseIterable {
    case sqlite, jsonl
}
