import AccessEvidence
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// hoop's API over AsyncHTTPClient: TLS verified against the system's roots or `--ca-file`, no
/// redirects (the token goes to the host named and nowhere else), at most `inFlight` requests at once,
/// bounded retries with backoff on 429, 5xx, timeouts and dropped connections.
public final class HTTPTransport: HoopAPITransport, @unchecked Sendable {
    public let location: HoopAPILocation
    let token: HoopAPIToken
    let client: HTTPClient
    let inFlight: Int
    let retry: RetryPolicy
    /// Seconds of silence before a request is given up (and retried).
    let requestTimeout: Double
    /// Seconds a whole request may take: a recording near hoop's 110 MiB cap is a large body, so this
    /// is generous; silence is what `requestTimeout` catches.
    let deadline: Double

    public struct RetryPolicy: Sendable {
        /// Tries per request, the first included.
        public var attempts: Int
        /// The first wait; each later one doubles, up to `maximumDelay`.
        public var initialDelay: Double
        public var maximumDelay: Double

        public init(attempts: Int = 5, initialDelay: Double = 0.5, maximumDelay: Double = 30) {
            self.attempts = attempts
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
        }
    }

    /// hoop caps a session's recording near 110 MiB; its JSON in base64 stays under this.
    static let maximumBody = 256 << 20

    public var display: String { location.display }
    public var basePath: String { location.basePath }

    public init(location: HoopAPILocation, token: HoopAPIToken, caFile: String? = nil, inFlight: Int = 8,
                retry: RetryPolicy = RetryPolicy(), requestTimeout: Double = 120, deadline: Double = 3600) throws {
        self.location = location
        self.token = token
        self.inFlight = max(1, inFlight)
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.deadline = deadline
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw StoreError.unreadable(path: caFile, reason: "--ca-file cannot be read")
            }
            tls.trustRoots = .file(caFile)
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(Int64(requestTimeout))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: self.inFlight)
        configuration.decompression = .enabled(limit: .ratio(50))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    /// Sends up to `inFlight` requests at once and waits on their futures from the calling thread:
    /// no Swift concurrency, so a caller running on the cooperative pool (a test, a report's reader
    /// thread) cannot starve the tasks it waits for. What may pass on a later try (429, 5xx, timeouts,
    /// dropped connections) is sent again after a backoff, doubling up to `maximumDelay` or the
    /// server's `Retry-After`, at most `attempts` times in all.
    public func get(_ requests: [HoopAPIRequest]) throws -> [HoopAPIResponse] {
        var out = [HoopAPIResponse?](repeating: nil, count: requests.count)
        var attempts = [Int](repeating: 0, count: requests.count)
        var pending = Array(requests.indices)
        var delay = retry.initialDelay
        while !pending.isEmpty {
            var again: [Int] = []
            var serverWait: Double? = nil
            for start in stride(from: 0, to: pending.count, by: inFlight) {
                let window = pending[start..<min(start + inFlight, pending.count)]
                let sent = try window.map { i -> (Int, EventLoopFuture<HTTPClient.Response>) in
                    attempts[i] += 1
                    return (i, try send(requests[i]))
                }
                for (i, future) in sent {
                    let endpoint = "GET \(location.basePath)\(requests[i].path)"
                    do {
                        let response = try future.wait()
                        let status = Int(response.status.code)
                        let body = response.body.map { Array($0.readableBytesView) } ?? []
                        if (status == 429 || (500...599).contains(status)) && attempts[i] < retry.attempts {
                            again.append(i)
                            // Retry-After in seconds (a proxy's 429 or 503); an HTTP date falls back to the backoff.
                            if let after = response.headers.first(name: "Retry-After").flatMap(Double.init), after >= 0 {
                                serverWait = max(serverWait ?? 0, min(after, retry.maximumDelay))
                            }
                            continue
                        }
                        out[i] = HoopAPIResponse(status: status, body: body, attempts: attempts[i])
                    } catch let error as NIOSSLError {
                        throw StoreError.unavailable(source: location.display, reason: "\(endpoint): TLS failed (\(Self.tlsReason(error))); for a private certificate authority give --ca-file")
                    } catch let error as NIOSSLExtraError {
                        throw StoreError.unavailable(source: location.display, reason: "\(endpoint): TLS failed (\(Self.tlsReason(error))); for a private certificate authority give --ca-file")
                    } catch is ResponseAccumulator.ResponseTooBigError {
                        throw StoreError.unavailable(source: location.display, reason: "\(endpoint): the answer is larger than \(Self.maximumBody >> 20) MiB")
                    } catch {
                        guard attempts[i] < retry.attempts else {
                            throw StoreError.unavailable(source: location.display, reason: "\(endpoint): \(Self.describe(error)) after \(attempts[i]) attempts; no report was written")
                        }
                        again.append(i)
                    }
                }
            }
            if !again.isEmpty {
                let pause = serverWait ?? delay
                delay = min(delay * 2, retry.maximumDelay)
                Thread.sleep(forTimeInterval: pause)
            }
            pending = again
        }
        return out.map { $0! }
    }

    func send(_ request: HoopAPIRequest) throws -> EventLoopFuture<HTTPClient.Response> {
        var http = try HTTPClient.Request(url: url(request), method: .GET)
        http.headers.add(name: "Authorization", value: token.authorization)
        http.headers.add(name: "Accept", value: "application/json")
        http.headers.add(name: "User-Agent", value: "access-evidence/\(ToolInfo.version)")
        let accumulator = ResponseAccumulator(request: http, maxBodySize: Self.maximumBody)
        return client.execute(request: http, delegate: accumulator, deadline: .now() + .seconds(Int64(deadline))).futureResult
    }

    func url(_ request: HoopAPIRequest) -> String {
        var components = URLComponents()
        components.queryItems = request.query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // `+` in a time zone offset would read as a space.
        let query = request.query.isEmpty ? "" : "?" + (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return location.url(request.path) + query
    }

    /// BoringSSL's reason (`CERTIFICATE_VERIFY_FAILED`) without its source path and error numbers.
    static func tlsReason(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return "the server's certificate could not be verified: CERTIFICATE_VERIFY_FAILED" }
        if let range = text.range(of: "OPENSSL_internal:") {
            return String(text[range.upperBound...].prefix { $0.isUppercase || $0 == "_" || $0.isNumber })
        }
        return String(text.prefix(200))
    }

    /// An error in a few words: the connection's address and reason, never the request's query.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout: return "no answer within the read timeout"
            case .connectTimeout: return "the connection timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .deadlineExceeded: return "no answer within the deadline"
            default: return "\(error)"
            }
        }
        return String(String(describing: error).prefix(200))
    }
}
