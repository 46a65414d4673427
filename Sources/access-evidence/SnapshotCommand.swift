import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Freeze a period of hoop's PostgreSQL store into an SQLite store with an extract manifest, for the auditor.")

    @OptionGroup var configOption: ConfigOption

    @Option(help: "hoop's PostgreSQL: postgres://user@host:port/db?sslmode=… (password from PGPASSWORD, ~/.pgpass or the configuration file).")
    var store: String?

    @Option(help: "The organization (tenant) to extract, by id or name, when the database holds several; a snapshot carries one.")
    var org: String?

    @OptionGroup var periodOptions: PeriodOptions

    @Option(help: "The SQLite snapshot to write (replaced only when the extraction succeeds).")
    var out: String

    @Option(help: "Extraction time to record (ISO 8601), for reproducible snapshots; default now.")
    var generatedAt: String?

    mutating func run() throws {
        let configured = try configOption.load()
        let org = org ?? (store == nil ? configured.org : nil)
        let store = try resolveStore(store, configured)
        guard PostgresLocation.isPostgres(store) else {
            throw ValidationError("--store must be a postgres:// URL: a snapshot is taken from hoop's PostgreSQL store")
        }
        let period = try periodOptions.resolve(configured: configured)
        var extractedAt = Date()
        if let generatedAt {
            let date = try Timestamp.parseChecked(generatedAt, name: "--generated-at")
            extractedAt = date
        }
        let source = try PostgresGatewayStore(location: try PostgresLocation.parse(store))
        try StoreOrganization.select(in: source, period: period, asked: org)
        let result = try PostgresSnapshot.write(from: source, period: period, to: out, extractedAt: extractedAt)
        let rows = result.tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.rows)" }.joined(separator: ", ")
        print("wrote \(out): \(period.label) from \(source.location.display) (schema \(source.schemaVersion ?? "unknown")); \(rows)")
    }
}
