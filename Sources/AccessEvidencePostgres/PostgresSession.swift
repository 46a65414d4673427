import AccessEvidence
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One connection, used from synchronous code: each query waits on its future, and large results
/// come through a server-side cursor a batch at a time, so memory stays flat whatever the period holds.
/// Every error becomes a one-line `StoreError` naming the server as `location.display`, never the password.
public final class PostgresSession {
    public let location: PostgresLocation
    let connection: PostgresConnection
    var cursors = 0
    /// The queries sent and not yet answered, failed by the close handler if the connection goes away:
    /// a query written to a closed channel is otherwise never answered. More than one while a cursor's
    /// next FETCH runs ahead of the rows being read (PostgresNIO queues the rest behind it).
    let pending = NIOLockedValueBox<[Int: EventLoopPromise<PostgresQueryResult>]>([:])
    private var sent = 0
    /// The error of the last query that failed since one last succeeded, set on the event loop in the
    /// order the server answered. A FETCH sent ahead can fail while the reader waits on a query queued
    /// behind it, which the server then refuses only because the transaction is aborted (25P02): the
    /// reader is told the first error, the one that says what went wrong.
    let lastFailure = NIOLockedValueBox<Error?>(nil)
    struct ConnectionClosed: Error {}
    /// Most rows per FETCH: enough to amortise the round trip.
    public var batchSize = 100
    /// Bytes a FETCH aims at: a cursor sizes its batches by the rows it has seen, so a batch of long
    /// recordings (hoop allows about 110 MiB each) is a row or two, and memory follows the largest
    /// recording rather than a hundred of them.
    public var batchBytes = 16 << 20

    static let logger = Logger(label: "access-evidence.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    public init(_ location: PostgresLocation) throws {
        self.location = location
        var configuration: PostgresConnection.Configuration
        if let directory = location.socketDirectory {
            configuration = .init(unixSocketPath: "\(directory)/.s.PGSQL.\(location.port)", username: location.user,
                                  password: location.password, database: location.database)
        } else {
            configuration = .init(host: location.host, port: location.port, username: location.user,
                                  password: location.password, database: location.database, tls: try Self.tls(location))
        }
        configuration.options.connectTimeout = .seconds(15)
        configuration.options.additionalStartupParameters = [("application_name", "access-evidence")]
        do {
            connection = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(),
                                                        configuration: configuration, id: 1, logger: Self.logger).wait()
        } catch {
            throw Self.storeError(error, location, during: "connecting")
        }
        connection.closeFuture.whenComplete { [pending] _ in
            pending.withLockedValue { $0.values.forEach { $0.fail(ConnectionClosed()) } }
        }
    }

    static func tls(_ location: PostgresLocation) throws -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable: return .disable
        case .allow, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let root = location.sslRootCert { tls.trustRoots = .file(root) }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: tls) } catch {
            throw StoreError.unavailable(source: location.display, reason: "cannot set up TLS (sslrootcert \(location.sslRootCert ?? "system")): \(error)")
        }
        return location.sslMode == .allow || location.sslMode == .prefer ? .prefer(context) : .require(context)
    }

    /// Sessions are released on the caller's thread, never on the event loop, so waiting is safe.
    deinit { close() }

    public func close() {
        if !connection.isClosed { try? connection.close().wait() }
    }

    /// Runs one statement and returns all its rows: for small results only.
    public func rows(_ sql: String, _ binds: [String?] = [], during what: String) throws -> [[ByteBuffer?]] {
        try wait(send(sql, binds), during: what)
    }

    /// A statement sent and not yet waited on.
    struct Sent {
        let key: Int
        let promise: EventLoopPromise<PostgresQueryResult>
    }

    /// Sends `sql` without waiting: the server works on it while the caller goes on. Statements sent
    /// while another runs wait their turn on the connection, so they are answered in the order sent.
    func send(_ sql: String, _ binds: [String?] = []) -> Sent {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            if let bind { bindings.append(bind) } else { bindings.appendNull() }
        }
        sent += 1
        let promise = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        promise.futureResult.whenComplete { [lastFailure] result in
            switch result {
            case .success: lastFailure.withLockedValue { $0 = nil }
            case .failure(let error) where Self.sqlState(error) != "25P02": lastFailure.withLockedValue { $0 = error }
            case .failure: break
            }
        }
        pending.withLockedValue { $0[sent] = promise }
        if connection.isClosed {
            promise.fail(ConnectionClosed())
        } else {
            connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: Self.logger).cascade(to: promise)
        }
        return Sent(key: sent, promise: promise)
    }

    /// The rows of a statement `send` sent, once the server has answered.
    func wait(_ query: Sent, during what: String) throws -> [[ByteBuffer?]] {
        defer { pending.withLockedValue { $0[query.key] = nil } }
        do {
            return try query.promise.futureResult.wait().rows.map { row in row.map(\.bytes) }
        } catch {
            let first = Self.sqlState(error) == "25P02" ? lastFailure.withLockedValue { $0 } : nil
            throw Self.storeError(first ?? error, location, during: what)
        }
    }

    static func sqlState(_ error: Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    public func execute(_ sql: String, during what: String) throws {
        _ = try rows(sql, during: what)
    }

    /// The rows of `sql` through a server-side cursor, fetched `batchSize` at a time when asked:
    /// between fetches the connection is free, so another query (or `forEachRow`) can run beside it.
    /// The next FETCH is sent as soon as a batch arrives, so the server computes it while the caller
    /// reads this one: on a machine the server shares, waiting for each FETCH in turn left one side
    /// idle while the other worked. At most two batches are held, this one and the next.
    public final class Cursor {
        let session: PostgresSession
        let name: String
        let what: String
        private var batch: [[ByteBuffer?]] = []
        private var position = 0
        private var done = false
        /// The FETCH sent ahead, and how many rows it asked for.
        private var ahead: (query: Sent, size: Int)?

        init(session: PostgresSession, sql: String, binds: [String?], during what: String) throws {
            self.session = session
            session.cursors += 1
            name = "access_evidence_\(session.cursors)"
            self.what = what
            _ = try session.rows("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", binds, during: what)
        }

        /// Rows asked for in the next FETCH: one at first, then as many as `batchBytes` holds at the
        /// largest row size met so far (growing at most fourfold a time, at most `batchSize`).
        private var fetchSize = 1
        private var largestRow = 0
        /// The most rows one FETCH brought: what a test checks the byte budget by.
        private(set) var largestBatch = 0

        /// The next row's cells; nil once the rows are exhausted (the cursor is then closed).
        public func next() throws -> [ByteBuffer?]? {
            if position == batch.count {
                guard !done else { return nil }
                let fetch = ahead ?? sendFetch()
                ahead = nil
                // The previous batch is released before the next is taken.
                batch = []
                batch = try session.wait(fetch.query, during: what)
                position = 0
                if batch.count < fetch.size { close() }
                if batch.isEmpty { return nil }
                largestBatch = max(largestBatch, batch.count)
                for row in batch { largestRow = max(largestRow, row.reduce(0) { $0 + ($1?.readableBytes ?? 0) }) }
                let fits = session.batchBytes / max(largestRow, 1)
                fetchSize = max(1, min(session.batchSize, fits, fetchSize * 4))
                if !done { ahead = sendFetch() }
            }
            position += 1
            return batch[position - 1]
        }

        /// Sends the next FETCH, of `fetchSize` rows, without waiting for it.
        private func sendFetch() -> (query: Sent, size: Int) {
            (session.send("FETCH FORWARD \(fetchSize) FROM \(name)"), fetchSize)
        }

        /// Closes the server-side cursor; after a lost connection this fails at once and is ignored.
        /// A FETCH sent ahead is waited out first (its rows dropped), so no answer is left unclaimed.
        public func close() {
            guard !done else { return }
            done = true
            if let fetch = ahead {
                ahead = nil
                _ = try? session.wait(fetch.query, during: what)
            }
            _ = try? session.rows("CLOSE \(name)", during: what)
        }

        deinit { close() }
    }

    public func cursor(_ sql: String, _ binds: [String?], during what: String) throws -> Cursor {
        try Cursor(session: self, sql: sql, binds: binds, during: what)
    }

    /// Streams the rows of `sql` through a server-side cursor, `batchSize` rows per round trip.
    public func forEachRow(_ sql: String, _ binds: [String?], during what: String, _ body: ([ByteBuffer?]) throws -> Void) throws {
        let rows = try cursor(sql, binds, during: what)
        // Closed however the loop ends.
        defer { rows.close() }
        while let row = try rows.next() { try body(row) }
    }

    /// A one-line error that says what failed and where, in words an operator can act on.
    static func storeError(_ error: Error, _ location: PostgresLocation, during what: String) -> Error {
        let source = location.display
        if error is ConnectionClosed {
            return StoreError.unavailable(source: source, reason: "connection lost while \(what); nothing was written")
        }
        guard let psql = error as? PSQLError else {
            return StoreError.unavailable(source: source, reason: "\(what): \(plain(error))")
        }
        switch psql.code {
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? ""
            let message = psql.serverInfo?[.message] ?? "server error"
            switch state {
            case "28P01", "28000":
                return StoreError.permissionDenied(source: source, reason: "authentication failed for user \(location.user) (\(state): \(message))")
            case "42501":
                return StoreError.permissionDenied(source: source, reason: "\(what): permission denied (\(state): \(message))")
            case "57P01", "57P02":
                return StoreError.unavailable(source: source, reason: "connection lost while \(what): \(message) (\(state)); nothing was written")
            case "3D000", "57P03", "53300":
                return StoreError.unavailable(source: source, reason: "\(what): \(message) (\(state))")
            default:
                return StoreError.query(path: source, reason: "\(what): \(message) (\(state))")
            }
        case .authMechanismRequiresPassword:
            return StoreError.permissionDenied(source: source, reason: "the server asks for a password for user \(location.user); give it in the URL, PGPASSWORD or ~/.pgpass")
        case .unsupportedAuthMechanism, .saslError:
            return StoreError.permissionDenied(source: source, reason: "authentication failed for user \(location.user) (\(psql.code))")
        case .sslUnsupported:
            return StoreError.unavailable(source: source, reason: "the server does not offer TLS (sslmode=\(location.sslMode.rawValue))")
        case .failedToAddSSLHandler:
            let reason = (psql.underlying as? NIOSSLError).map { describe($0, location) } ?? psql.underlying.map(plain) ?? "unknown"
            return StoreError.unavailable(source: source, reason: "TLS handshake failed: \(reason)")
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return StoreError.unavailable(source: source, reason: "connection lost while \(what); nothing was written")
        case .connectionError:
            if let tls = psql.underlying as? NIOSSLError {
                return StoreError.unavailable(source: source, reason: "TLS handshake failed: \(describe(tls, location))")
            }
            return StoreError.unavailable(source: source, reason: "cannot connect: \(psql.underlying.map(plain) ?? "connection failed")")
        default:
            if let underlying = psql.underlying {
                return StoreError.unavailable(source: source, reason: "\(what): \(plain(underlying))")
            }
            return StoreError.query(path: source, reason: "\(what): \(psql.code)")
        }
    }

    /// BoringSSL's reason, without the build paths its errors carry.
    static func describe(_ error: NIOSSLError, _ location: PostgresLocation) -> String {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not signed by a trusted CA (sslmode=\(location.sslMode.rawValue); give the CA with sslrootcert=FILE)"
        }
        if let range = text.range(of: #"OPENSSL_internal:[A-Z_]+"#, options: .regularExpression) {
            return text[range].replacingOccurrences(of: "OPENSSL_internal:", with: "").lowercased().replacingOccurrences(of: "_", with: " ")
        }
        return text
    }

    static func plain(_ error: Error) -> String {
        if let ssl = error as? NIOSSLError { return "\(ssl)" }
        if let io = error as? IOError { return io.description }
        if let connect = error as? NIOConnectionError {
            if let first = connect.connectionErrors.first { return "\(first.target): \(plain(first.error))" }
            return connect.dnsAAAAError.map(plain) ?? connect.dnsAError.map(plain) ?? "no address for \(connect.host)"
        }
        if let timeout = error as? ChannelError, case .connectTimeout = timeout { return "connection timed out" }
        return String(describing: error)
    }
}
