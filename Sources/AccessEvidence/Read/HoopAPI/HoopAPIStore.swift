import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// hoop's HTTP API as a store (`--store hoop+https://HOST[/api]`): for organizations that may not
/// reach hoop's database (hoop Cloud, a locked-down PostgreSQL), only its API with an auditor token.
///
/// The period is pulled once (`HoopAPIPull`) into a private SQLite file in hoop's layout, with the
/// extract manifest a snapshot carries, and read from there by the SQLite reader: the API gives the
/// same records as the database, the tests cannot tell them apart, `snapshot` from the API writes
/// this very file, and a report from it equals the report from the pull. The file lives in a
/// directory only this user may enter (`PrivateDirectory`), is removed when the store is released or
/// the run is stopped by a signal (or by the next pull, after a kill), and holds one batch of session details (as many as are in flight) in memory at a time.
public final class HoopAPIStore: GatewayStore {
    public let api: any HoopAPITransport
    let batch: Int
    /// The extraction time the manifest records: the run's `--generated-at` when given, so that a
    /// rerun over an unchanged organization gives the same report byte for byte; else the clock.
    let extractedAt: Date?
    private var pulled: Pulled?

    struct Pulled {
        let period: Period
        let inner: SQLiteGatewayStore
        let directory: PrivateDirectory
        let findings: [DataQualityIssue]
        let windows: Int
        let listed: Int
        let requests: [String: [String]]
    }

    /// What hoop's API does not give that its database has, the tests each limits and how: written
    /// into the manifest as `absent` rows (migration 0), so a report from the pull or from its snapshot
    /// says so in its source and in each limited test's notes.
    public static let limits: [(column: String, tests: [String], limits: String)] = [
        ("users.subject", ["identity.attribution", "access.terminated-users"],
         "GET /users gives no subject: users are matched to sessions by the subject their e-mail carries on sessions, reviews and the audit log; a user seen on none keeps hoop's user id"),
        ("users.updated_at", ["access.terminated-users"],
         "GET /users gives no times: an inactive user's deactivation time is the security audit log's last update setting them inactive, else unknown (a roster with termination times wins)"),
        ("plugin_connections.created_at", ["approval.privileged-commands", "approval.gated-access"],
         "a connection's reviewers are its current settings, with no time they were set: the review gate as of a session comes from the audit log's connection changes only"),
        ("sessions.origin", [], "none (no test reads it; hoop's API does not return it)"),
        ("events", [], "none (no test reads hoop's derived event log, which has no endpoint)"),
    ]

    /// The limits per test id, from a store's absent columns (a pull, or a snapshot of one).
    public static func testLimits(_ absent: [AbsentColumn]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for column in absent where column.addedIn == 0 {
            guard let limit = limits.first(where: { $0.column == column.column }) else { continue }
            for test in limit.tests { out[test, default: []].append("\(column.column) is not given by hoop's API: \(limit.limits)") }
        }
        return out
    }

    public init(api: any HoopAPITransport, batch: Int = 8, extractedAt: Date? = nil) {
        self.api = api
        self.batch = batch
        self.extractedAt = extractedAt
    }

    deinit { release() }

    /// Removes the pulled file now (the store reads nothing after).
    public func release() {
        guard let pulled else { return }
        self.pulled = nil
        pulled.directory.remove()
    }

    /// The pull of `period`, made on first use.
    func store(for period: Period) throws -> SQLiteGatewayStore {
        if let pulled {
            guard pulled.period == period else {
                throw StoreError.unavailable(source: api.display, reason: "one run reads one period through the API")
            }
            return pulled.inner
        }
        let directory = try PrivateDirectory.make()
        let path = directory.path + "/" + PrivateDirectory.pullName
        do {
            // Read once and removed: not compacted.
            let pull = try Self.extract(api, period, into: path, extractedAt: extractedAt ?? Date(), batch: batch, compact: false)
            let inner = try SQLiteGatewayStore(path: path)
            pulled = Pulled(period: period, inner: inner, directory: directory, findings: pull.findings, windows: pull.windows,
                            listed: pull.sessionsListed, requests: pull.requests)
            return inner
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Pulls `period` into a new SQLite store at `path` with its extract manifest: the source, the
    /// requests each table came from, the API's limits, and each table's row count and digest.
    static func extract(_ api: any HoopAPITransport, _ period: Period, into path: String, extractedAt: Date,
                        batch: Int = 8, compact: Bool = true) throws -> HoopAPIPull {
        let writer: StoreWriter
        do { writer = try StoreWriter(path: path) } catch {
            throw OutputError(path: path, reason: "\(error)", what: "the API pull")
        }
        let pull = HoopAPIPull(api: api, period: period, writer: writer, batch: batch)
        try pull.run()
        try writer.db.execute(SnapshotManifest.createStatement)
        let manifest = try writer.db.prepare("INSERT INTO extract_manifest VALUES (?, ?, ?, ?, ?, ?)")
        let facts: [(String, String?)] = [
            ("location", api.display), ("schema_version", "hoop API"),
            ("organization", pull.organization.map { o in o.name.map { "\($0) (\(o.id))" } ?? o.id }),
            ("period", "\(period.label) [\(Timestamp.format(period.start)), \(Timestamp.format(period.end)))"),
            ("extracted_at", Timestamp.format(extractedAt)), ("tool", "access-evidence \(ToolInfo.version)"),
            ("reader", pull.reader.map { "\($0.email) (\($0.role))" }),
        ]
        for (name, value) in facts { try manifest.run([.text("source"), .text(name), value.map { .text($0) } ?? .null, .null, .null, .null]) }
        for limit in limits {
            try manifest.run([.text("absent"), .text(limit.column), .text(limit.limits), .text("0"), .null, .null])
        }
        for table in GatewaySchema.tables {
            let requests = pull.requests[table.name] ?? []
            try manifest.run([.text("query"), .text(table.name),
                              .text(requests.isEmpty ? "(not read: hoop's API has no endpoint for it)" : requests.joined(separator: "; ")),
                              .text("[]"), .null, .null])
            var digest = SnapshotManifest.Digest()
            let columns = table.columns.map(\.0)
            try writer.db.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(table.name) ORDER BY rowid") { row in
                digest.add((0..<Int32(columns.count)).map { row.text($0) })
            }
            try manifest.run([.text("table"), .text(table.name), .null, .null, .int(digest.rows), .text(digest.finalize())])
        }
        try writer.finish(compact: compact)
        return pull
    }

    /// `snapshot --store hoop+https://…`: the pull itself, written where asked (staged; it replaces
    /// only a snapshot this tool wrote).
    public static func writeSnapshot(api: any HoopAPITransport, period: Period, to path: String, extractedAt: Date,
                                     batch: Int = 8) throws -> [String: Int] {
        let isSnapshot: (String) -> Bool = { OutputGuard.sqliteHasTable($0, SnapshotManifest.table) }
        try OutputGuard.checkReplaceableFile(path, option: "--out", what: "a snapshot", isOurs: isSnapshot)
        let staging = try Staging(target: path, folder: false)
        do {
            let pull = try extract(api, period, into: staging.path, extractedAt: extractedAt, batch: batch)
            var rows: [String: Int] = [:]
            for table in GatewaySchema.tables {
                rows[table.name] = try pull.writer.db.scalarInt("SELECT COUNT(*) FROM \(table.name)")
            }
            try OutputGuard.checkReplaceableFile(path, option: "--out", what: "a snapshot", isOurs: isSnapshot)
            try staging.commit()
            return rows
        } catch {
            staging.discard()
            throw error
        }
    }

    // MARK: - GatewayStore

    public func describe() throws -> SourceInfo {
        guard let pulled else {
            return SourceInfo(kind: "hoop-api", location: api.display, sha256: nil, rowCounts: [:], schemaVersion: "hoop API")
        }
        var info = try pulled.inner.describe()
        info.kind = "hoop-api"
        info.location = api.display
        info.sha256 = nil
        info.schemaVersion = "hoop API"
        // Keyed as the other readers key their queries (what each test's provenance names).
        func requests(_ tables: [String]) -> String {
            var seen = Set<String>()
            return tables.flatMap { pulled.requests[$0] ?? [] }.filter { seen.insert($0).inserted }.joined(separator: "; ")
        }
        info.queries = [
            "sessions": requests(["sessions", "reviews", "session_metrics"]),
            "configuration_changes": requests(["security_audit_log"]),
            "directory": requests(["users", "connections", "guardrail_rules", "datamasking_rules", "access_request_rules"]),
        ]
        return info
    }

    public func loadDirectory(for period: Period) throws -> StoreDirectory {
        try store(for: period).loadDirectory(for: period)
    }

    public func forEachSession(in period: Period, _ body: (consuming SessionRecord) throws -> Void) throws {
        try store(for: period).forEachSession(in: period, body)
    }

    public func countSessions(in period: Period) throws -> (count: Int, query: String) {
        let inner = try store(for: period)
        let (count, _) = try inner.countSessions(in: period)
        let windows = pulled?.windows ?? 0, listed = pulled?.listed ?? 0
        return (count, "GET \(api.basePath)/sessions?start_date=…&end_date=…&count=exact over \(windows) time window\(windows == 1 ? "" : "s") of at most \(HoopAPIPull.offsetCap) sessions, paged by 100: \(listed) listed, \(count) created in [\(Timestamp.format(period.start)), \(Timestamp.format(period.end))) and read in detail")
    }

    public func forEachGrant(in period: Period, _ body: (Approval) throws -> Void) throws {
        try store(for: period).forEachGrant(in: period, body)
    }

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        try store(for: period).forEachConfigChange(in: period, body)
    }

    public var dataQuality: [DataQualityIssue] {
        (pulled?.findings ?? []) + (pulled?.inner.dataQuality ?? [])
    }

    public func organizations(in period: Period) throws -> [StoreOrganization] {
        try store(for: period).organizations(in: period)
    }

    public func select(organization: StoreOrganization, filter: Bool) {
        pulled?.inner.select(organization: organization, filter: filter)
    }
}

/// Where a pull is kept while the run reads it: a directory of its own under the temporary
/// directory, mode 0700, removed when the run ends or is stopped (SIGINT, SIGTERM, SIGHUP). A run
/// killed outright cannot remove it, and it holds the period's sessions, so the run holds a lock
/// on its `owner.lock` while it lives and the next pull removes any directory whose lock is free.
final class PrivateDirectory {
    static let prefix = "access-evidence-api-"
    static let pullName = "pull.sqlite"
    static let lockName = "owner.lock"
    /// Files a pull makes in its directory: a sweep removes these and nothing else, so a directory
    /// holding anything more stays.
    static let made = [pullName, pullName + "-journal", lockName]
    let path: String
    private var lockFD: Int32

    private init(path: String, lockFD: Int32) {
        self.path = path
        self.lockFD = lockFD
    }

    deinit { remove() }

    static func base() -> String {
        ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    static func make() throws -> PrivateDirectory {
        let base = base()
        sweep(base)
        var template = Array((base + "/" + prefix + "XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw OutputError(path: base, reason: String(cString: strerror(errno)), what: "the API pull's temporary directory")
        }
        let path = String(cString: made)
        Cleanup.shared.register(path)
        let fd = open(path + "/" + lockName, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            try? FileManager.default.removeItem(atPath: path)
            Cleanup.shared.unregister(path)
            throw OutputError(path: path, reason: reason, what: "the API pull's lock")
        }
        return PrivateDirectory(path: path, lockFD: fd)
    }

    /// Removes the directory (once) and lets its lock go.
    func remove() {
        guard lockFD >= 0 else { return }
        try? FileManager.default.removeItem(atPath: path)
        Cleanup.shared.unregister(path)
        close(lockFD)
        lockFD = -1
    }

    /// Removes what killed pulls left in `base`: directories of ours (the name, owned by this user,
    /// a real directory) whose lock no process holds, a minute old at least (a pull that has just
    /// made its directory takes its lock a moment later).
    static func sweep(_ base: String, now: Date = Date()) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        for entry in entries where entry.hasPrefix(prefix) && entry.utf8.count == prefix.utf8.count + 6 {
            let directory = base + "/" + entry
            var info = stat()
            guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(),
                  now.timeIntervalSince1970 - Double(info.st_mtim.tv_sec) >= 60 else { continue }
            let fd = open(directory + "/" + lockName, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // Held by a live run: leave it alone.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            for name in made { unlink(directory + "/" + name) }
            // Fails, and keeps the directory, if anything else is in it.
            rmdir(directory)
        }
    }
}
