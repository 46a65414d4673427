import AccessEvidence
import AccessEvidenceHoopAPI
import AccessEvidencePostgres
import ArgumentParser
import Foundation

/// How `report`, `alert` and `snapshot` reach hoop's HTTP API (`--store hoop+https://…`).
struct APIOptions: ParsableArguments {
    @Option(help: "hoop API: a file holding the token or hpk_ API key (mode 600; default: HOOP_API_TOKEN, or store_password_file/store_password_env in the configuration file).")
    var tokenFile: String?

    @Option(help: "hoop API: PEM file of the certificate authorities to trust instead of the system's (a private CA).")
    var caFile: String?

    @Option(help: "hoop API: session details fetched at once (1 to 64).")
    var apiConcurrency: Int = 8

    func validate() throws {
        try checkRange(apiConcurrency, 1...64, "--api-concurrency")
    }

    /// Opens any store; a `hoop+https://` one with these options' token and trust, its pull dated
    /// `extractedAt` (the run's `--generated-at`) when given.
    func opener(extractedAt: Date? = nil) -> StoreOpener {
        let options = self
        return { location in
            guard HoopAPILocation.isHoopAPI(location) else { return try openAnyGatewayStore(location) }
            return HoopAPIStore(api: try options.transport(location), batch: options.apiConcurrency, extractedAt: extractedAt)
        }
    }

    func transport(_ location: String) throws -> HTTPTransport {
        let parsed = try HoopAPILocation.parse(location)
        let token = try HoopAPIToken.resolve(file: tokenFile)
        return try HTTPTransport(location: parsed, token: token, caFile: caFile, inFlight: apiConcurrency)
    }
}
