import Foundation

/// One GET of hoop's API: a path under the base path and its query parameters, in order.
public struct HoopAPIRequest: Sendable, Equatable {
    public var path: String
    public var query: [(String, String)]

    public init(_ path: String, _ query: [(String, String)] = []) {
        self.path = path
        self.query = query
    }

    public static func == (a: HoopAPIRequest, b: HoopAPIRequest) -> Bool {
        a.path == b.path && a.query.elementsEqual(b.query) { $0 == $1 }
    }

    /// `GET /api/sessions?limit=100&…`, for messages and the manifest (the base path included).
    public func shown(basePath: String) -> String {
        "GET \(basePath)\(path)" + (query.isEmpty ? "" : "?" + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&"))
    }
}

/// The answer to a request, whatever its status: the pull decides what a 404 or a 422 means.
public struct HoopAPIResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// Tries it took (1 when the first answered).
    public var attempts: Int

    public init(status: Int, body: [UInt8], attempts: Int = 1) {
        self.status = status
        self.body = body
        self.attempts = attempts
    }
}

/// Carries requests to hoop's API. The HTTP client lives in its own target (AccessEvidenceHoopAPI)
/// so the SQLite pipeline builds without it; tests can hand the pull any transport.
///
/// A transport retries what may pass (429, 5xx, timeouts, dropped connections) with a bounded
/// backoff itself and returns the last answer; it throws `StoreError.unavailable` only when no
/// answer came at all, naming the endpoint but never the token.
public protocol HoopAPITransport: AnyObject {
    /// The API's address as shown (no secret), e.g. `hoop+https://gw.example/api`.
    var display: String { get }
    var basePath: String { get }
    /// Requests answered in the order given, at most the transport's limit in flight at once.
    func get(_ requests: [HoopAPIRequest]) throws -> [HoopAPIResponse]
}

extension HoopAPITransport {
    public func get(_ request: HoopAPIRequest) throws -> HoopAPIResponse {
        try get([request])[0]
    }
}
