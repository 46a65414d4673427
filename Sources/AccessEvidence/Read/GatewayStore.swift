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
    /// Users, connections and their protections as of extraction, and the audit log's changes to those
    /// protections up to the end of `period`: small, so held in memory.
    func loadDirectory(for period: Period) throws -> StoreDirectory
    /// Streams the sessions created in `period`, one at a time, in the store's `created_at` order.
    func forEachSession(in period: Period, _ body: (consuming SessionRecord) throws -> Void) throws
    /// Sessions the store holds for `period` by a plain SQL count (and that SQL), for reconciling
    /// against the sessions tested.
    func countSessions(in period: Period) throws -> (count: Int, query: String)
    /// Streams the approved just-in-time grants the sessions of `period` are matched against (each
    /// session's `jitGrants` and `lapsedGrant`), in request order: what an export carries so that a
    /// reader of it can match them again.
    func forEachGrant(in period: Period, _ body: (Approval) throws -> Void) throws
    /// Streams the configuration changes made in `period`.
    func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws
    /// Rows that could not be fully used, in the order met.
    var dataQuality: [DataQualityIssue] { get }
    /// The organizations (tenants) the store holds, with their sessions in `period`, for choosing one.
    func organizations(in period: Period) throws -> [StoreOrganization]
    /// Names the organization read; with `filter`, every query from now on reads only its rows.
    func select(organization: StoreOrganization, filter: Bool)
}

/// A tenant of a multi-tenant gateway (hoop's `private.orgs`; in a store without that table, an
/// `org_id` the sessions carry).
public struct StoreOrganization: Sendable, Equatable {
    public var id: String
    public var name: String?
    public var sessionsInPeriod: Int

    public init(id: String, name: String?, sessionsInPeriod: Int) {
        self.id = id
        self.name = name
        self.sessionsInPeriod = sessionsInPeriod
    }

    /// A UUID in its text form (8-4-4-4-12 hex digits), as hoop's `org_id` always is.
    public static func isOrganizationID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            let hex = (48...57).contains(b) || (65...70).contains(b) || (97...102).contains(b)
            if [8, 13, 18, 23].contains(i) ? b != UInt8(ascii: "-") : !hex { return false }
        }
        return true
    }

    var listed: String {
        "\(id)\(name.map { " (\($0))" } ?? ""): \(sessionsInPeriod) session\(sessionsInPeriod == 1 ? "" : "s") in the period"
    }

    /// Chooses the organization (`choose`) and tells the store: filtered when the store holds several
    /// or one was asked for; a store of one is read whole (as it always was) and only named.
    public static func select(in store: any GatewayStore, period: Period, asked: String?) throws {
        let organizations = try store.organizations(in: period)
        if let chosen = try choose(organizations, asked: asked) {
            store.select(organization: chosen, filter: asked != nil || organizations.count > 1)
        }
    }

    /// The organization a run reads: the one `asked` names (id, or name, exactly or ignoring case
    /// when that is unique), or the only one the store holds. Several and none asked for is an error
    /// listing them, so one tenant's report never holds another's sessions.
    public static func choose(_ organizations: [StoreOrganization], asked: String?) throws -> StoreOrganization? {
        // One line, however many tenants a hosted gateway serves.
        let shown = 20
        let list = organizations.prefix(shown).map(\.listed).joined(separator: "; ")
            + (organizations.count > shown ? "; and \(organizations.count - shown) more" : "")
        guard let asked else {
            if organizations.count <= 1 { return organizations.first }
            throw OrganizationError(description: "the store holds \(organizations.count) organizations; choose one with --org ID or NAME: \(list)")
        }
        if let match = organizations.first(where: { $0.id.lowercased() == asked.lowercased() || $0.name == asked }) { return match }
        let folded = organizations.filter { $0.name?.lowercased() == asked.lowercased() }
        if folded.count == 1 { return folded[0] }
        throw OrganizationError(description: organizations.isEmpty
            ? "--org \(asked): the store names no organization"
            : "--org \(asked): no such organization in the store (it holds: \(list))")
    }
}

/// The organization asked for is not in the store, or the store holds several and none was asked for.
public struct OrganizationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The organization a report was made for, as report.json names it.
public struct OrganizationRef: Codable, Sendable, Equatable {
    public var id: String
    public var name: String?

    public init(id: String, name: String?) {
        self.id = id
        self.name = name
    }
}

public struct StoreDirectory: Sendable {
    /// By subject (the IdP `sub` sessions carry as `user_id`).
    public var users: [String: DirectoryUser]
    /// By connection name (sessions carry only the name).
    public var connections: [String: ConnectionConfig]
    /// Access request rules as of extraction, by name order.
    public var accessRules: [AccessRule] = []
    /// Changes to connections, guardrails and masking rules the audit log holds up to the period's
    /// end, in time order: the review gate as of a session, and who changed a connection's protections.
    public var policyChanges: [PolicyChange] = []
    /// Guardrail and masking rule names by id, for attributing a rule's changes to its connections.
    public var ruleNames: [String: String] = [:]
    /// Evidence the source does not record, by kind (`masking`, `guardrails`, `ai-analysis`,
    /// `connection-policy`), with why: tests that need it say "not supported by this source".
    public var unsupported: [String: String] = [:]
    /// Locks on identities (Teleport's `lock.created`/`lock.deleted`): no session may start under one.
    public var locks: [AccessLock] = []
    /// Tests the source feeds only in part (hoop's API lacks fields its database has), by test id,
    /// with how: each limited test's notes say so.
    public var limited: [String: [String]] = [:]

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
    /// The organization read, when the store names one (`org_id`); every count above is of its rows.
    public var organization: OrganizationRef?
    /// Columns of later hoop versions the store lacks (read as NULL), with what each limits.
    public var absentColumns: [AbsentColumn] = []

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
    // hoop's API address: nothing but scheme, host, port and path (a token it should not carry goes).
    if HoopAPILocation.isHoopAPI(location) {
        if let parsed = URLComponents(string: String(location.dropFirst(HoopAPILocation.scheme.count))), let host = parsed.host {
            return HoopAPILocation.scheme + (parsed.scheme?.lowercased() ?? "https") + "://" + host + (parsed.port.map { ":\($0)" } ?? "") + parsed.path
        }
        return HoopAPILocation.scheme + "…"
    }
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
