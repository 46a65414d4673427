import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A source of gateway audit records. Each reader knows its source's SQL and quirks and
/// yields the same canonical records; nothing after it does.
public protocol GatewayStore: AnyObject {
    /// What was read, for the report's provenance.
    func describe() throws -> SourceInfo
    /// Users and connections as of extraction: small, so held in memory.
    func loadDirectory() throws -> StoreDirectory
    /// Streams the sessions created in `period`, one at a time, in the store's `created_at` order.
    func forEachSession(in period: Period, _ body: (SessionRecord) throws -> Void) throws
    /// Sessions the store holds for `period` by a plain SQL count (and that SQL), for reconciling
    /// against the sessions tested.
    func countSessions(in period: Period) throws -> (count: Int, query: String)
    /// Streams the configuration changes made in `period`.
    func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws
    /// Rows that could not be fully used, in the order met.
    var dataQuality: [DataQualityIssue] { get }
}

public struct StoreDirectory: Sendable {
    /// By subject (the IdP `sub` sessions carry as `user_id`).
    public var users: [String: DirectoryUser]
    /// By connection name (sessions carry only the name).
    public var connections: [String: ConnectionConfig]

    public init(users: [String: DirectoryUser] = [:], connections: [String: ConnectionConfig] = [:]) {
        self.users = users
        self.connections = connections
    }
}

public struct SourceInfo: Sendable, Equatable {
    public var kind: String
    public var location: String
    /// SQLite: SHA-256 over the bytes the report was read from: the store file, followed by its
    /// `-wal` file when SQLite read one with it (a WAL-mode store's committed rows may live only in
    /// the log, so the same file with and without it are different inputs and hash differently).
    public var sha256: String?
    public var rowCounts: [String: Int]
    public var schemaVersion: String?
    /// The queries populations come from, by record kind (`sessions`, `configuration_changes`, …).
    public var queries: [String: String] = [:]
    /// When the store is a snapshot: where and when it was extracted, and whether its tables still hash as recorded.
    public var snapshot: SnapshotProvenance?
    /// How the period's session rows were met (tested, skipped and why), once they have been read:
    /// what the reconciliation explains a difference with.
    public var sessionTally: SessionTally?

    public init(kind: String, location: String, sha256: String?, rowCounts: [String: Int], schemaVersion: String?) {
        self.kind = kind
        self.location = location
        self.sha256 = sha256
        self.rowCounts = rowCounts
        self.schemaVersion = schemaVersion
    }
}

/// Opens the store a `--store` argument names. Readers for other sources (PostgreSQL) live in
/// their own targets and are handed to a run as its `StoreOpener`.
public typealias StoreOpener = @Sendable (String) throws -> any GatewayStore

public let openSQLiteGatewayStore: StoreOpener = { try SQLiteGatewayStore(path: $0) }

enum FileHash {
    /// SHA-256 of a file, read in 1 MiB chunks.
    static func sha256(path: String) throws -> String {
        try sha256(paths: [path])
    }

    /// SHA-256 of the files' bytes one after the other, read in 1 MiB chunks through descriptors that
    /// cannot block (a FIFO is refused, not waited on).
    static func sha256(paths: [String]) throws -> String {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for path in paths {
            try StoreFiles.withRegularFile(path) { fd in
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                    if n < 0, errno == EINTR { continue }
                    guard n >= 0 else { throw StoreError.unreadable(path: path, reason: String(cString: strerror(errno))) }
                    if n == 0 { break }
                    buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                }
            }
        }
        return Hex.encode(hasher.finalize())
    }
}

/// A store argument as it may be shown or stored: a URL's password removed. Fails closed: a URL
/// it cannot parse loses everything between `user` and the last `@`.
public func redactedStoreLocation(_ location: String) -> String {
    guard let scheme = location.range(of: "://") else { return location }
    if var components = URLComponents(string: location) {
        guard components.password != nil else { return location }
        components.password = nil
        if let shown = components.string { return shown }
    }
    guard let at = location.range(of: "@", options: .backwards), at.lowerBound > scheme.upperBound else { return location }
    let userinfo = location[scheme.upperBound..<at.lowerBound]
    let user = userinfo.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
    return String(location[..<scheme.upperBound]) + user + String(location[at.lowerBound...])
}
