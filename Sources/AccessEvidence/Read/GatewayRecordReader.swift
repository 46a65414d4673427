import Crypto
import Foundation

/// One row of a reader's query. Every source hands its values over in the SQLite store's layout
/// (JSON text for json columns and arrays, ISO-8601 UTC for timestamps, 0/1 for booleans), so one
/// decoder turns rows from any source into the same canonical records.
public protocol StoreRow {
    func isNull(_ column: Int32) -> Bool
    func text(_ column: Int32) -> String?
    func bytes(_ column: Int32) -> [UInt8]?
    func int(_ column: Int32) -> Int?
    /// A BLOB where the layout has text or a number (SQLite stores whatever it is given).
    func isBlob(_ column: Int32) -> Bool
}

extension StoreRow {
    /// Sources whose columns are typed (PostgreSQL) never hand over a BLOB for a text column.
    public func isBlob(_ column: Int32) -> Bool { false }
}

extension SQLiteStatement: StoreRow {}

/// How one source's SQL spells what the canonical queries need. The differences between sources
/// (schema prefix, column types, JSON aggregation, parameters, collation) live here and nowhere else.
public protocol SQLDialect {
    /// The table's name as the source's SQL writes it.
    func table(_ name: String) -> String
    /// `alias.column` as text in the SQLite layout, or `NULL` when the source lacks that optional column.
    func value(_ alias: String, _ table: String, _ column: String) -> String
    /// A JSON array with one array of `expressions` per row of `table` (aliased `alias`) matching
    /// `condition`, in `orderBy` order; `[]` when no row matches.
    func jsonRows(_ expressions: [String], table: String, alias: String, where condition: String, orderBy: String) -> String
    /// The n-th (1-based) timestamp parameter.
    func timestampParameter(_ n: Int) -> String
    /// The n-th (1-based) text parameter.
    func textParameter(_ n: Int) -> String
    /// The lower and upper bound bound to a period query; the exact `[start, end)` is applied in Swift too.
    func bounds(_ period: Period) -> [String]
    /// A text expression as a sort key in binary (code point) order, so sources sort alike.
    func sortKey(_ expression: String) -> String
    /// Whether the store has the table (one a store of an older gateway version may lack).
    func hasTable(_ name: String) -> Bool
    /// Whether the store's plain count of the period's sessions (`countSessions`) counts a row whose
    /// `created_at` reads `text` (parsed: `parsed`), so the reconciliation can say why counts differ.
    func countsSession(createdAt text: String?, parsed: Date?, in period: Period) -> Bool
}

extension SQLDialect {
    /// `alias.blob_stream` as `value` gives it, when the source hands it over inline: a source that
    /// fetches rows in batches gives large ones only through `blobLocator` (NULL here).
    public func inlineBlob(_ alias: String) -> String { value(alias, "blobs", "blob_stream") }

    /// Where to fetch `alias.blob_stream` on its own (`RowSource.largeBlob`) when it is too large to
    /// come inline; NULL for a source that reads rows one at a time (SQLite).
    public func blobLocator(_ alias: String) -> String { "NULL" }

    /// A source whose timestamps are typed counts exactly the period's instants.
    public func countsSession(createdAt text: String?, parsed: Date?, in period: Period) -> Bool {
        parsed.map(period.contains) ?? false
    }
}

/// A source that runs the canonical queries: streams the rows of `sql` with `binds` to `body`.
public protocol RowSource: AnyObject {
    var dialect: any SQLDialect { get }
    func forEachRow(_ sql: String, binds: [String], _ body: (any StoreRow) throws -> Void) throws
    /// The rows of `sql` one at a time, for a query read alongside the one `forEachRow` streams
    /// (the JIT grants beside the sessions).
    func cursor(_ sql: String, binds: [String]) throws -> any RowCursor
    /// A blob's `blob_stream` by the locator `SQLDialect.blobLocator` gave: one long recording read on its
    /// own, so a batch of rows never holds several.
    func largeBlob(_ locator: String) throws -> [UInt8]?
}

extension RowSource {
    public func largeBlob(_ locator: String) throws -> [UInt8]? { nil }
}

/// Rows taken one at a time. A row is valid until the next call.
public protocol RowCursor: AnyObject {
    /// The next row; nil once the rows are exhausted.
    func next() throws -> (any StoreRow)?
}

/// A store whose records come from the shared reader: it supplies the connection, schema check and
/// provenance; the reader does the rest.
public protocol ReaderBackedStore: GatewayStore {
    var reader: GatewayRecordReader { get }
    /// Tests the store feeds only in part, by test id, with how (`StoreDirectory.limited`).
    func limitedTests() throws -> [String: [String]]
}

extension ReaderBackedStore {
    public func select(organization: StoreOrganization, filter: Bool) {
        reader.organization = organization
        reader.filtersOrganization = filter
    }

    public var dataQuality: [DataQualityIssue] { reader.dataQuality }

    public func loadDirectory(for period: Period) throws -> StoreDirectory {
        var directory = try reader.loadDirectory()
        try reader.loadPolicy(into: &directory, until: period)
        directory.unsupported = GatewayRecordReader.unsupported
        directory.limited = try limitedTests()
        return directory
    }

    /// A store of hoop's layout feeds every test whole.
    public func limitedTests() throws -> [String: [String]] { [:] }

    public func forEachSession(in period: Period, _ body: (consuming SessionRecord) throws -> Void) throws {
        try reader.forEachSession(in: period, body)
    }

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        try reader.forEachConfigChange(in: period, body)
    }

    public func forEachGrant(in period: Period, _ body: (Approval) throws -> Void) throws {
        try reader.forEachGrant(in: period, body)
    }
}

/// What the store may hold in a column before the value is treated as damaged. Values outside are
/// recorded as data-quality findings and ignored, so no arithmetic on them can overflow.
enum StoreLimits {
    /// Masking and analyzer counters (`session_metrics.count_*`, `metrics.data_masking`, `data_analyzer`).
    static let count = 0...1_000_000_000_000
    /// hoop's `exit_code` is a PostgreSQL smallint.
    static let exitCode = -32_768...32_767
    /// `access_duration_sec`, `access_max_duration`: ten years in seconds.
    static let durationSeconds = 0...315_576_000
    /// `min_approvals`, `min_review_approvals`.
    static let approvals = 0...1_000
    /// Booleans stored as numbers (`forced_review`, `enabled`, `outcome`): any whole number, zero is false.
    static let flag = -1_000_000_000_000...1_000_000_000_000
    /// Times the store may hold: the years 2000–2100. Anything else is damage (or an attack on the
    /// time arithmetic) and is treated as unreadable.
    static let earliestTime = Date(timeIntervalSince1970: Double(Timestamp.daysFromCivil(year: 2000, month: 1, day: 1)) * 86_400)
    static let endOfTime = Date(timeIntervalSince1970: Double(Timestamp.daysFromCivil(year: 2101, month: 1, day: 1)) * 86_400)
    /// Data-quality issues listed one by one; past this, only counts per `table.column`.
    static let listedIssues = 1_000
}

/// The canonical queries and the decoding of their rows into records, shared by every reader so
/// that the same data gives the same records whatever holds it.
public final class GatewayRecordReader {
    /// What hoop's store holds no evidence of (`StoreDirectory.unsupported`).
    public static let unsupported: [String: String] = [
        "mfa": "hoop's store records no multi-factor authentication of sessions (the identity provider enforces and logs it)",
        "access-requests": "hoop's sessions name no access requests; its reviews and JIT grants are tested by approval.privileged-commands and approval.gated-access",
    ]

    /// Unowned: the store owns its reader, and releasing the store must close its file or connection.
    unowned let source: any RowSource
    let d: any SQLDialect
    private var issues = DataQualityLog()
    /// How the last `forEachSession` met the period's rows, for the reconciliation.
    public private(set) var sessionTally: SessionTally?
    /// The organization (`org_id`) whose rows every query reads; nil reads every row (a store of one
    /// organization). hoop is multi-tenant: without it, a second org's sessions would land in this report.
    public var organization: StoreOrganization?
    /// Whether queries filter on `organization` (several in the store, or one asked for). A store of
    /// one organization is read whole, as before, and only named.
    public var filtersOrganization = false

    /// ` AND alias.org_id = <parameter n>` when an organization is chosen (`prefix` " WHERE " for a
    /// query with no other condition), else nothing.
    func orgCondition(_ alias: String, _ table: String, parameter n: Int, prefix: String = " AND ") -> String {
        guard organization != nil, filtersOrganization else { return "" }
        // As text: SQLite compares a BLOB holding the same bytes as unequal to the text bound.
        return prefix + "CAST(\(d.value(alias, table, "org_id")) AS TEXT) = \(d.textParameter(n))"
    }

    /// The binds `orgCondition` adds.
    public var orgBinds: [String] { filtersOrganization ? organization.map { [$0.id] } ?? [] : [] }

    /// The row count of `table`, of the chosen organization only: `(sql, binds)`.
    /// `count` is the count as the source's SQL returns it (PostgreSQL: `count(*)::text`).
    public func countQuery(_ table: String, count: String = "COUNT(*)") -> (String, [String]) {
        if ["plugin_connections", "guardrail_rules_connections", "datamasking_rules_connections", "connection_tags_association"].contains(table),
           !orgBinds.isEmpty {
            // Counted as read: the bindings of the org's connections (hoop allows a NULL org_id here).
            return ("SELECT \(count) FROM \(d.table(table)) x WHERE x.connection_id IN (SELECT c.id FROM \(d.table("connections")) c"
                    + orgCondition("c", "connections", parameter: 1, prefix: " WHERE ") + ")", orgBinds)
        }
        return ("SELECT \(count) FROM \(d.table(table)) x" + orgCondition("x", table, parameter: 1, prefix: " WHERE "), orgBinds)
    }

    /// Organizations by the `org_id`s the rows carry, with their sessions in the period: for a store
    /// without an organizations table (SQLite). The directory tables count too, so a tenant with users
    /// and connections but no session is not mistaken for none. Empty when no row carries an org_id.
    public func organizationsFromSessions(bounds: [String]) throws -> [StoreOrganization] {
        let tables = ["sessions", "users", "connections", "security_audit_log"].filter { d.value("x", $0, "org_id") != "NULL" }
        guard !tables.isEmpty else { return [] }
        let ids = tables.map { "SELECT \(d.value("x", $0, "org_id")) AS org FROM \(d.table($0)) x WHERE x.org_id IS NOT NULL" }
            .joined(separator: " UNION ")
        var out: [StoreOrganization] = []
        try source.forEachRow("SELECT o.org FROM (\(ids)) o ORDER BY \(d.sortKey("o.org"))", binds: []) { row in
            // hoop's org ids are UUIDs; any other value is a damaged row, not a tenant (it cannot stop the
            // run: it is read as before when the store has one organization, and left out of a chosen one's).
            // The same text stored as TEXT and as a BLOB comes twice: one organization.
            if let id = row.text(0), StoreOrganization.isOrganizationID(id), !out.contains(where: { $0.id == id }) {
                out.append(StoreOrganization(id: id, name: nil, sessionsInPeriod: 0))
            }
        }
        guard tables.contains("sessions") else { return out }
        let org = d.value("s", "sessions", "org_id")
        for i in out.indices {
            try source.forEachRow("""
                SELECT COUNT(*) FROM \(d.table("sessions")) s
                WHERE s.created_at >= \(d.timestampParameter(1)) AND s.created_at < \(d.timestampParameter(2))
                  AND CAST(\(org) AS TEXT) = \(d.textParameter(3))
                """, binds: bounds + [out[i].id]) { row in out[i].sessionsInPeriod = row.int(0) ?? 0 }
        }
        return out
    }

    public init(source: any RowSource) {
        self.source = source
        d = source.dialect
    }

    /// Rows that could not be fully used (see `DataQualityLog`).
    public var dataQuality: [DataQualityIssue] { issues.issues }

    func note(_ table: String, _ column: String, _ rowID: String, _ problem: String) {
        issues.note(DataQualityIssue(table: table, column: column, rowID: rowID, problem: problem))
    }

    func columns(_ alias: String, _ table: String, _ names: [String]) -> String {
        names.map { d.value(alias, table, $0) }.joined(separator: ", ")
    }

    // MARK: queries

    static let reviewFields = ["id", "type", "status", "owner_id", "owner_email", "owner_name", "connection_name", "created_at",
                               "revoked_at", "access_duration_sec", "access_request_rule_name", "min_approvals",
                               "rejection_reason", "time_window", "force_approval_groups"]
    static let decisionFields = ["id", "group_name", "status", "owner_id", "owner_email", "owner_name", "reviewed_at", "forced_review"]
    static let metricFields = ["info_type", "count_masked", "count_analyzed", "id"]
    static let sessionFields = ["id", "connection", "connection_type", "connection_subtype", "connection_tags", "verb", "user_id",
                                "user_name", "user_email", "status", "exit_code", "metadata", "metrics", "ai_analysis",
                                "guardrails_info", "machine_identity_id", "identity_type", "origin", "created_at", "ended_at"]
    static let changeFields = ["id", "actor_subject", "actor_email", "actor_name", "created_at", "resource_type", "action",
                               "http_path", "request_payload_redacted", "outcome", "error_message"]

    /// The review's 15 fields, then its group decisions as JSON (16 columns).
    var reviewBlock: String {
        columns("r", "reviews", Self.reviewFields) + ", " + d.jsonRows(
            Self.decisionFields.map { d.value("g", "review_groups", $0) }, table: "review_groups", alias: "g",
            where: "g.review_id = r.id", orderBy: d.sortKey(d.value("g", "review_groups", "id")))
    }

    public var sessionQuery: String {
        let metrics = d.jsonRows(Self.metricFields.map { d.value("m", "session_metrics", $0) },
                                 table: "session_metrics", alias: "m", where: "m.session_id = s.id",
                                 orderBy: d.sortKey(d.value("m", "session_metrics", "info_type")))
        return """
            SELECT \(columns("s", "sessions", Self.sessionFields)),
                   \(d.inlineBlob("bi")), \(d.value("bi", "blobs", "format")), \(d.inlineBlob("bs")),
                   \(reviewBlock), \(metrics), \(d.blobLocator("bi")), \(d.blobLocator("bs"))
            FROM \(d.table("sessions")) s
            LEFT JOIN \(d.table("blobs")) bi ON bi.id = s.blob_input_id
            LEFT JOIN \(d.table("blobs")) bs ON bs.id = s.blob_stream_id
            LEFT JOIN \(d.table("reviews")) r ON r.session_id = s.id
            WHERE s.created_at >= \(d.timestampParameter(1)) AND s.created_at < \(d.timestampParameter(2))\(orgCondition("s", "sessions", parameter: 3))
            ORDER BY s.created_at, \(d.sortKey(d.value("s", "sessions", "id"))), \(d.sortKey(d.value("r", "reviews", "id")))
            """
    }

    /// Session ids held by more than one row of the period's range: each such session is tested once.
    var duplicateSessionQuery: String {
        let id = d.value("s", "sessions", "id")
        return """
            SELECT \(id), CAST(COUNT(*) AS TEXT) FROM \(d.table("sessions")) s
            WHERE s.created_at >= \(d.timestampParameter(1)) AND s.created_at < \(d.timestampParameter(2)) AND s.id IS NOT NULL\(orgCondition("s", "sessions", parameter: 3))
            GROUP BY \(id) HAVING COUNT(*) > 1
            """
    }

    public var changeQuery: String {
        """
        SELECT \(columns("a", "security_audit_log", Self.changeFields))
        FROM \(d.table("security_audit_log")) a
        WHERE a.created_at >= \(d.timestampParameter(1)) AND a.created_at < \(d.timestampParameter(2))\(orgCondition("a", "security_audit_log", parameter: 3))
        ORDER BY a.created_at, \(d.sortKey(d.value("a", "security_audit_log", "id")))
        """
    }

    /// Approved JIT reviews whose window may touch the period: requested before its end, not expired
    /// before its start. Shared with the snapshot, which must carry exactly the grants the reader asks for.
    public func grantCondition(end: String, start: String) -> String {
        """
        lower(\(d.value("r", "reviews", "type"))) = 'jit'
          AND upper(\(d.value("r", "reviews", "status"))) IN ('APPROVED', 'PROCESSING', 'EXECUTED')
          AND r.created_at < \(end) AND (r.revoked_at IS NULL OR r.revoked_at >= \(start))
        """
    }

    public var grantQuery: String {
        """
        SELECT \(reviewBlock), \(d.value("r", "reviews", "session_id"))
        FROM \(d.table("reviews")) r
        WHERE \(grantCondition(end: d.timestampParameter(1), start: d.timestampParameter(2)))\(orgCondition("r", "reviews", parameter: 3))
        ORDER BY r.created_at, \(d.sortKey(d.value("r", "reviews", "id")))
        """
    }

    /// A query on one line, for provenance.
    public static func oneLine(_ sql: String) -> String {
        sql.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    public var queries: [String: String] {
        ["sessions": sessionQuery, "configuration_changes": changeQuery, "jit_grants": grantQuery].mapValues(Self.oneLine)
    }

    // MARK: directory

    public func loadDirectory() throws -> StoreDirectory {
        var groupsByUserID: [String: [String]] = [:]
        let groupUser = d.value("ug", "user_groups", "user_id"), groupName = d.value("ug", "user_groups", "name")
        try source.forEachRow("""
            SELECT \(groupUser), \(groupName) FROM \(d.table("user_groups")) ug WHERE ug.user_id IS NOT NULL\(orgCondition("ug", "user_groups", parameter: 1))
            ORDER BY \(d.sortKey(groupUser)), \(d.sortKey(groupName))
            """, binds: orgBinds) { row in
            guard let uid = rowID(row, 0, "user_groups", "user_id") else { return }
            if let name = text(row, 1, "user_groups", "name", uid) { groupsByUserID[uid, default: []].append(name) }
        }
        var users: [String: DirectoryUser] = [:]
        let userFields = ["id", "subject", "email", "name", "status", "created_at", "updated_at"]
        try source.forEachRow("""
            SELECT \(columns("u", "users", userFields))
            FROM \(d.table("users")) u\(orgCondition("u", "users", parameter: 1, prefix: " WHERE ")) ORDER BY \(d.sortKey(d.value("u", "users", "id")))
            """, binds: orgBinds) { row in
            let id = rowID(row, 0, "users", "id") ?? ""
            func t(_ i: Int32) -> String? { text(row, i, "users", userFields[Int(i)], id) }
            guard let subject = t(1), !subject.isEmpty else {
                note("users", "subject", id, "empty subject; the user cannot be matched to sessions")
                return
            }
            let created = timestamp(t(5), "users", "created_at", id)
            let updated = timestamp(t(6), "users", "updated_at", id)
            users[subject] = DirectoryUser(id: id, subject: subject, email: t(2) ?? "", name: t(3) ?? "",
                                           status: t(4) ?? "", createdAt: created, updatedAt: updated,
                                           groups: groupsByUserID[id] ?? [])
        }
        var pluginNames: [String: String] = [:]
        try source.forEachRow("SELECT \(columns("p", "plugins", ["id", "name"])) FROM \(d.table("plugins")) p"
                              + orgCondition("p", "plugins", parameter: 1, prefix: " WHERE "), binds: orgBinds) { row in
            if let id = rowID(row, 0, "plugins", "id"), let name = text(row, 1, "plugins", "name", id) { pluginNames[id] = name }
        }
        var reviewers: [String: [String]] = [:]
        var reviewSince: [String: Date] = [:]
        var redact: [String: [String]] = [:]
        let pluginFields = ["id", "plugin_id", "connection_id", "enabled", "config", "created_at"]
        try source.forEachRow("""
            SELECT \(columns("pc", "plugin_connections", pluginFields))
            FROM \(d.table("plugin_connections")) pc
            ORDER BY \(d.sortKey(d.value("pc", "plugin_connections", "connection_id"))), \(d.sortKey(d.value("pc", "plugin_connections", "id")))
            """, binds: []) { row in
            // Not filtered by org: hoop allows a NULL org_id here. Only rows naming one of the chosen
            // org's plugins and connections (both filtered) are used.
            let id = rowID(row, 0, "plugin_connections", "id") ?? ""
            func t(_ i: Int32) -> String? { text(row, i, "plugin_connections", pluginFields[Int(i)], id) }
            guard let connectionID = t(2),
                  integer(row, 3, "plugin_connections", "enabled", id, StoreLimits.flag) ?? 1 != 0 else { return }
            let config = stringArray(t(4), "plugin_connections", "config", id)
            switch pluginNames[t(1) ?? ""] {
            case "review":
                reviewers[connectionID, default: []] += config
                if let since = timestamp(t(5), "plugin_connections", "created_at", id) {
                    reviewSince[connectionID] = max(reviewSince[connectionID] ?? since, since)
                }
            case "dlp": redact[connectionID, default: []] += config
            default: break
            }
        }
        var connections: [String: ConnectionConfig] = [:]
        let connectionFields = ["id", "name", "type", "subtype", "_tags", "force_approve_groups", "min_review_approvals", "access_max_duration",
                                "access_mode_runbooks", "access_mode_exec", "access_mode_connect"]
        try source.forEachRow("""
            SELECT \(columns("c", "connections", connectionFields))
            FROM \(d.table("connections")) c\(orgCondition("c", "connections", parameter: 1, prefix: " WHERE ")) ORDER BY \(d.sortKey(d.value("c", "connections", "name")))
            """, binds: orgBinds) { row in
            let id = rowID(row, 0, "connections", "id") ?? ""
            func t(_ i: Int32) -> String? { text(row, i, "connections", connectionFields[Int(i)], id) }
            guard let name = t(1), !name.isEmpty else {
                note("connections", "name", id, "empty name")
                return
            }
            var connection = ConnectionConfig(
                id: id, name: name, type: t(2) ?? "", subtype: t(3) ?? "",
                tags: stringArray(t(4), "connections", "_tags", id),
                reviewerGroups: (reviewers[id] ?? []).sorted(), redactTypes: (redact[id] ?? []).sorted(),
                forceApproveGroups: stringArray(t(5), "connections", "force_approve_groups", id),
                minReviewApprovals: integer(row, 6, "connections", "min_review_approvals", id, StoreLimits.approvals),
                accessMaxDurationSec: integer(row, 7, "connections", "access_max_duration", id, StoreLimits.durationSeconds))
            connection.reviewPluginSince = reviewSince[id]
            for (i, mode) in ["runbooks", "exec", "connect"].enumerated() {
                if let value = t(Int32(8 + i)) { connection.accessModes[mode] = String(value.prefix(16)) }
            }
            connections[name] = connection
        }
        return StoreDirectory(users: users, connections: connections)
    }

    // MARK: sessions

    /// Rows of one session id and `created_at` text: consecutive in the query's order. The join with
    /// `reviews` repeats a session row once per review; a session id held by several rows repeats too.
    private struct SessionGroup {
        let id: String
        let createdText: String?
        var rows = 1
        var reviewIDs: Set<String> = []
        let counted: Bool
        let outcome: SessionTally.Outcome
    }

    public func forEachSession(in period: Period, _ body: (consuming SessionRecord) throws -> Void) throws {
        let bounds = d.bounds(period)
        let grants = try jitGrants(bounds: bounds, period: period)
        var duplicated: [String: Int] = [:]
        try source.forEachRow(duplicateSessionQuery, binds: bounds + orgBinds) { row in
            if let id = rowID(row, 0, "sessions", "id"), let n = row.int(1) { duplicated[id] = n }
        }
        var tally = SessionTally()
        var testedDuplicates = Set<String>()
        var group: SessionGroup?
        func close(_ g: SessionGroup) {
            // rows = session rows × max(reviews, 1): the join's arithmetic, undone.
            let sessionRows = max(1, g.rows / max(g.reviewIDs.count, 1))
            tally.add(g.outcome, counted: g.counted)
            tally.add(.duplicateRow, counted: g.counted, sessionRows - 1)
            if g.reviewIDs.count > 1, g.outcome == .tested {
                tally.severalReviews += 1
                note("reviews", "session_id", g.id, "\(g.reviewIDs.count) reviews for the session; the first (by id) is used")
            }
        }
        try source.forEachRow(sessionQuery, binds: bounds + orgBinds) { row in
            let createdText = row.isBlob(18) ? nil : row.text(18)
            let id = sessionID(row, createdText)
            let reviewID = row.isNull(23) ? nil : (rowID(row, 23, "reviews", "id") ?? "")
            if var g = group, g.id == id, g.createdText == createdText {
                g.rows += 1
                if let reviewID { g.reviewIDs.insert(reviewID) }
                group = g
                return
            }
            if let g = group { close(g) }
            let parsed = sessionCreatedAt(createdText, id)
            // The count sees the stored instant, plausible or not.
            let counted = d.countsSession(createdAt: createdText, parsed: createdText.flatMap(Timestamp.parse), in: period)
            var outcome = SessionTally.Outcome.tested
            if let parsed {
                if !period.contains(parsed) {
                    outcome = .outsidePeriod
                } else if let n = duplicated[id] {
                    if testedDuplicates.contains(id) {
                        outcome = .duplicateRow
                    } else {
                        testedDuplicates.insert(id)
                        note("sessions", "id", id, "the session id is held by \(n) rows of sessions; the first in the period (by created_at) is tested, the others are skipped")
                    }
                }
            } else {
                outcome = .unreadableCreatedAt
            }
            group = SessionGroup(id: id, createdText: createdText, reviewIDs: reviewID.map { [$0] } ?? [], counted: counted, outcome: outcome)
            if outcome == .tested, let parsed {
                try body(try sessionRecord(row, id: id, createdAt: parsed, grants: grants))
            }
        }
        if let g = group { close(g) }
        sessionTally = tally
    }

    /// The session's id as shown in the report. A BLOB id is shown as hex, a missing one by its row's
    /// `created_at`; both are recorded, and the session is still tested, so no value can hide it.
    func sessionID(_ row: any StoreRow, _ createdText: String?) -> String {
        if let id = rowID(row, 0, "sessions", "id"), !id.isEmpty { return id }
        let shown = "(no id, created_at \(createdText ?? "NULL"))"
        note("sessions", "id", shown, "the session has no id; it is tested under this name")
        return shown
    }

    /// `created_at` of a session row in the period's range, or nil (noted) when the session must be skipped.
    func sessionCreatedAt(_ text: String?, _ id: String) -> Date? {
        guard let text else {
            note("sessions", "created_at", id, "a BLOB where a timestamp is expected; session skipped")
            return nil
        }
        switch Self.storeTime(text) {
        case .success(let date): return date
        case .failure(let problem):
            note("sessions", "created_at", id, "\(problem.description); session skipped")
            return nil
        }
    }

    func sessionRecord(_ row: any StoreRow, id: String, createdAt: Date, grants: JITGrantWindow) throws -> SessionRecord {
        func t(_ i: Int32) -> String? { text(row, i, "sessions", Self.sessionFields[Int(i)], id) }
        let connection = t(1) ?? ""
        let type = t(2) ?? "", subtype = t(3) ?? ""
        let proto = ConnectionProtocol(type: type, subtype: subtype)
        let tags = stringMap(t(4), "sessions", "connection_tags", id)
        let actor = Actor(subject: t(6) ?? "", email: t(8) ?? "", name: t(7) ?? "",
                          identityType: t(16) ?? "user", machineIdentityID: t(15))
        let endedAt = row.isNull(19) ? nil : timestamp(t(19), "sessions", "ended_at", id)
        let metadata = stringMap(t(11), "sessions", "metadata", id)
        let metricsJSON = jsonObject(t(12), "sessions", "metrics", id)
        let truncated = metricsJSON?["truncated"]?.bool ?? false

        var masking = MaskingCounters()
        if let types = metricsJSON?["data_masking"]?.object?["info_types"]?.object {
            // Sorted: the order problems are met in decides which are listed, and must not vary between runs.
            for member in types.sortedMembers {
                if let n = bounded(member.value, StoreLimits.count, "sessions", "metrics", id, "data_masking.info_types.\(member.key)") {
                    masking.merge(masked: member.key, n)
                }
            }
        }
        if let analyzer = metricsJSON?["data_analyzer"]?.object {
            for member in analyzer.sortedMembers {
                if let n = bounded(member.value, StoreLimits.count, "sessions", "metrics", id, "data_analyzer.\(member.key)") {
                    masking.merge(detected: member.key, n)
                }
            }
        }
        for metric in jsonRows(text(row, 39, "session_metrics", "session_id", id), "session_metrics", "session_id", id) where metric.count == Self.metricFields.count {
            let metricID = jsonText(metric[3], "session_metrics", "id", "of session \(id)") ?? "of session \(id)"
            guard let infoType = jsonText(metric[0], "session_metrics", "info_type", metricID) else { continue }
            if let n = bounded(metric[1], StoreLimits.count, "session_metrics", "count_masked", metricID) { masking.merge(masked: infoType, n) }
            if let n = bounded(metric[2], StoreLimits.count, "session_metrics", "count_analyzed", metricID) { masking.merge(detected: infoType, n) }
        }

        var hits: [GuardrailHit] = []
        if let raw = t(14), !raw.isEmpty, raw != "null" {
            let value = jsonValue(raw, "sessions", "guardrails_info", id)
            if let array = value?.array {
                for case .object(let entry) in array {
                    hits.append(GuardrailHit(ruleName: entry["rule_name"]?.string ?? "",
                                             ruleType: entry["rule"]?.object?["type"]?.string ?? "",
                                             direction: entry["direction"]?.string ?? "",
                                             matchedWords: entry["matched_words"]?.strings ?? [],
                                             message: entry["message"]?.string ?? ""))
                }
            } else if let value, value != .null {
                note("sessions", "guardrails_info", id, "expected a JSON array")
            }
        }
        var verdict: AIVerdict?
        if let ai = jsonObject(t(13), "sessions", "ai_analysis", id) {
            verdict = AIVerdict(riskLevel: ai["risk_level"]?.string ?? "", action: ai["action"]?.string ?? "",
                                title: ai["title"]?.string ?? "")
        }

        var script: [UInt8]?
        // Column 40 and 41: where a blob too large to come inline is fetched from, on its own.
        if let input = try row.bytes(20) ?? row.text(40).flatMap({ try source.largeBlob($0) }) {
            do { script = try HoopRecording.decodeInput(input) } catch {
                note("blobs", "blob_stream", "session-input of \(id)", "malformed input: \(error)")
            }
        }
        var events: [HoopRecording.Event]?
        if let stream = try row.bytes(22) ?? row.text(41).flatMap({ try source.largeBlob($0) }) {
            do { events = try HoopRecording.decode(stream) } catch {
                note("blobs", "blob_stream", "session-stream of \(id)", "malformed recording: \(error)")
            }
        }
        let verb = t(5) ?? ""
        let transcript = TranscriptBuilder.build(protocol: proto, verb: verb, createdAt: createdAt,
                                                 script: script, scriptFormat: text(row, 21, "blobs", "format", "session-input of \(id)"),
                                                 events: events, truncated: truncated)
        let approval = row.isNull(23) ? nil : review(row, offset: 23, sessionID: id)
        let jit = try grants.overlapping(subject: actor.subject, connection: connection, from: createdAt,
                                         to: max(endedAt ?? createdAt, createdAt), excluding: approval?.id)
        var record = SessionRecord(
            id: id, connectionName: connection, connectionType: type, connectionSubtype: subtype, connectionTags: tags,
            verb: verb, actor: actor, status: t(9) ?? "",
            exitCode: integer(row, 10, "sessions", "exit_code", id, StoreLimits.exitCode),
            createdAt: createdAt, endedAt: endedAt, origin: t(17), transcript: transcript, masking: masking,
            guardrailHits: hits, aiVerdict: verdict, approval: approval, jitGrants: jit, metadata: metadata)
        if jit.isEmpty { record.lapsedGrant = grants.lastEnded(subject: actor.subject, connection: connection, before: createdAt) }
        return record
    }

    /// A review from the 16 columns of `reviewBlock` starting at `offset`.
    func review(_ row: any StoreRow, offset o: Int32, sessionID: String) -> Approval? {
        let id = rowID(row, o, "reviews", "id") ?? ""
        func t(_ i: Int32) -> String? { text(row, o + i, "reviews", Self.reviewFields[Int(i)], id) }
        guard let kind = Approval.Kind(rawValue: (t(1) ?? "").lowercased()) else {
            note("reviews", "type", id, "unknown review type '\(row.isBlob(o + 1) ? "BLOB" : row.text(o + 1) ?? "NULL")'")
            return nil
        }
        guard let requestedAt = timestamp(t(7), "reviews", "created_at", id) else { return nil }
        var decisions: [Decision] = []
        for (k, group) in jsonRows(text(row, o + 15, "review_groups", "review_id", id), "review_groups", "review_id", id).enumerated() where group.count == Self.decisionFields.count {
            let gid = jsonText(group[0], "review_groups", "id", "\(k + 1) of review \(id)") ?? "\(k + 1) of review \(id)"
            func g(_ i: Int) -> String? { jsonText(group[i], "review_groups", Self.decisionFields[i], gid) }
            let owner = [g(3), g(4), g(5)]
            let reviewer: Actor? = owner[0] == nil && owner[1] == nil
                ? nil : Actor(subject: owner[0] ?? "", email: owner[1] ?? "", name: owner[2] ?? "")
            let decided = timestamp(g(6), "review_groups", "reviewed_at", gid)
            let forced = bounded(group[7], StoreLimits.flag, "review_groups", "forced_review", gid) ?? 0
            decisions.append(Decision(id: gid, group: g(1) ?? "", status: (g(2) ?? "").uppercased(),
                                      reviewer: reviewer, decidedAt: decided, forced: forced != 0))
        }
        decisions.sort { $0.id < $1.id }
        var approval = Approval(
            id: id, sessionID: sessionID, kind: kind, status: (t(2) ?? "").uppercased(),
            requester: Actor(subject: t(3) ?? "", email: t(4) ?? "", name: t(5) ?? ""),
            connectionName: t(6) ?? "", requestedAt: requestedAt,
            expiresAt: row.isNull(o + 8) ? nil : timestamp(t(8), "reviews", "revoked_at", id),
            accessDurationSec: integer(row, o + 9, "reviews", "access_duration_sec", id, StoreLimits.durationSeconds) ?? 0,
            ruleName: t(10), minApprovals: integer(row, o + 11, "reviews", "min_approvals", id, StoreLimits.approvals),
            rejectionReason: t(12), decisions: decisions)
        if let window = jsonObject(t(13), "reviews", "time_window", id), let config = window["configuration"]?.object {
            let start = config["start_time"]?.string ?? "", end = config["end_time"]?.string ?? ""
            approval.timeWindow = TimeWindow(start: start, end: end)
            if approval.timeWindow == nil { note("reviews", "time_window", id, "unreadable window '\(start)'-'\(end)'") }
        }
        approval.forceApprovalGroups = stringArray(t(14), "reviews", "force_approval_groups", id)
        return approval
    }

    /// Approved JIT grants whose window may touch the period, read beside the sessions in request order.
    func jitGrants(bounds: [String], period: Period) throws -> JITGrantWindow {
        JITGrantWindow(read: try grantCursor(bounds: bounds, period: period))
    }

    /// The grants of `jitGrants` one at a time in request order: `.some(nil)` for a row to skip, nil at the end.
    func grantCursor(bounds: [String], period: Period) throws -> () throws -> Approval?? {
        let cursor = try source.cursor(grantQuery, binds: [bounds[1], bounds[0]] + orgBinds)
        return { [unowned self] in
            guard let row = try cursor.next() else { return nil }
            // SQLite's bounds are whole days around the period; the exact ones apply here, as in SQL on PostgreSQL.
            let sessionID = rowID(row, 16, "reviews", "session_id") ?? ""
            guard let grant = review(row, offset: 0, sessionID: sessionID), grant.requestedAt < period.end,
                  (grant.expiresAt ?? period.start) >= period.start else { return .some(nil) }
            return .some(grant)
        }
    }

    /// Every grant the sessions of `period` are matched against, in request order.
    public func forEachGrant(in period: Period, _ body: (Approval) throws -> Void) throws {
        let next = try grantCursor(bounds: d.bounds(period), period: period)
        while let grant = try next() {
            if let grant { try body(grant) }
        }
    }

    // MARK: configuration changes

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        try source.forEachRow(changeQuery, binds: d.bounds(period) + orgBinds) { row in
            let id = rowID(row, 0, "security_audit_log", "id") ?? ""
            func t(_ i: Int32) -> String? { text(row, i, "security_audit_log", Self.changeFields[Int(i)], id) }
            guard let at = timestamp(t(4), "security_audit_log", "created_at", id), period.contains(at) else { return }
            try body(ConfigChange(
                id: id, actor: Actor(subject: t(1) ?? "", email: t(2) ?? "", name: t(3) ?? ""), at: at,
                resourceType: t(5) ?? "", action: (t(6) ?? "").lowercased(), httpPath: t(7) ?? "",
                payload: canonicalJSON(t(8) ?? ""),
                succeeded: (integer(row, 9, "security_audit_log", "outcome", id, StoreLimits.flag) ?? 1) != 0,
                errorMessage: t(10)))
        }
    }

    // MARK: field decoding that records what it cannot use

    /// JSON text with sorted keys and no insignificant space: jsonb re-spaces and reorders what it
    /// stores, so evidence quoting a payload reads the same from every source. Text that is not
    /// JSON is kept as it is.
    func canonicalJSON(_ text: String) -> String {
        guard !text.isEmpty, let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return text }
        return String(decoding: data, as: UTF8.self)
    }

    /// A BLOB shown as a row id: hex, like an SQL literal, shortened (with a digest) past 64 bytes.
    static func blobID(_ bytes: [UInt8]) -> String {
        if bytes.count <= 64 { return "x'" + Hex.encode(bytes) + "'" }
        return "x'" + Hex.encode(Array(bytes.prefix(24))) + "…' (\(bytes.count) bytes, SHA-256 "
            + Hex.encode(Array(SHA256.hash(data: bytes).prefix(8))) + ")"
    }

    /// A row's id: its text, or, for a BLOB, its hex form (recorded as a problem).
    func rowID(_ row: any StoreRow, _ i: Int32, _ table: String, _ column: String) -> String? {
        guard row.isBlob(i) else { return row.text(i) }
        let shown = Self.blobID(row.bytes(i) ?? [])
        note(table, column, shown, "a BLOB where text is expected; shown in hex")
        return shown
    }

    /// A text column; a BLOB there is recorded and read as NULL.
    func text(_ row: any StoreRow, _ i: Int32, _ table: String, _ column: String, _ id: String) -> String? {
        guard row.isBlob(i) else { return row.text(i) }
        note(table, column, id, "a BLOB (\(row.bytes(i)?.count ?? 0) bytes) where text is expected; ignored")
        return nil
    }

    /// A whole-number column within `range`; anything else is recorded and read as NULL.
    func integer(_ row: any StoreRow, _ i: Int32, _ table: String, _ column: String, _ id: String, _ range: ClosedRange<Int>) -> Int? {
        if row.isNull(i) { return nil }
        if row.isBlob(i) {
            note(table, column, id, "a BLOB (\(row.bytes(i)?.count ?? 0) bytes) where a whole number is expected; ignored")
            return nil
        }
        guard let n = row.int(i), range.contains(n) else {
            note(table, column, id, "'\((row.text(i) ?? "").prefix(40))' is not a whole number in \(range.lowerBound)…\(range.upperBound); ignored")
            return nil
        }
        return n
    }

    /// A JSON value that should be a whole number within `range` (counts, flags). JSON numbers arrive
    /// as doubles when they have a fraction or exponent (`1e300`, `1.5`), and from text-cast sources as
    /// strings; anything not a whole number in range is recorded (`field` names the key) and ignored.
    func bounded(_ value: JSONValue?, _ range: ClosedRange<Int>, _ table: String, _ column: String, _ id: String, _ field: String = "") -> Int? {
        guard let value, value != .null else { return nil }
        let prefix = field.isEmpty ? "" : field + " "
        if let length = Self.blobMarker(value) {
            note(table, column, id, "\(prefix)a BLOB (\(length) bytes) where a whole number is expected; ignored")
            return nil
        }
        var n: Int?
        let shown: String
        switch value {
        case .string(let s):
            shown = "'\(s.prefix(40))'"
            n = Int(s.trimmed(.whitespaces)) ?? (s == "true" ? 1 : s == "false" ? 0 : nil)
        case .number, .bool:
            shown = value.numberText ?? ""
            // Every range here is far inside ±2^53, where a double holds whole numbers exactly.
            if let x = value.doubleValue, x.isFinite, x.rounded() == x, abs(x) <= 9_007_199_254_740_992 { n = Int(x) }
        case .array: shown = "a JSON array"
        case .object: shown = "a JSON object"
        case .null: shown = "a JSON value"
        }
        guard let n, range.contains(n) else {
            note(table, column, id, "\(prefix)\(shown) is not a whole number in \(range.lowerBound)…\(range.upperBound); ignored")
            return nil
        }
        return n
    }

    /// Text inside aggregated JSON rows: a string, or a number written as text; a BLOB (marked by the
    /// SQLite dialect as `{"blob": length}`) is recorded and read as NULL.
    func jsonText(_ value: JSONValue, _ table: String, _ column: String, _ id: String) -> String? {
        if case .string(let s) = value { return s }
        if let length = Self.blobMarker(value) {
            note(table, column, id, "a BLOB (\(length) bytes) where text is expected; ignored")
            return nil
        }
        return value.numberText
    }

    /// The length of a BLOB the SQLite dialect replaced by `{"blob": length}` in aggregated JSON.
    static func blobMarker(_ value: JSONValue) -> Int? {
        guard case .object(let object) = value, object.count == 1, let length = object["blob"]?.doubleValue,
              length.isFinite, abs(length) < 1e15 else { return nil }
        return Int(length)
    }

    enum TimeProblem: Error, CustomStringConvertible {
        case malformed(String)
        case implausible(String)

        var description: String {
            switch self {
            case .malformed(let text): return "not a timestamp: '\(text.prefix(40))'"
            case .implausible(let text): return "'\(text.prefix(40))' is outside the years 2000–2100; treated as unreadable"
            }
        }
    }

    /// A time from the store: ISO 8601 (`Timestamp.parse`) and within the years 2000–2100.
    static func storeTime(_ text: String) -> Result<Date, TimeProblem> {
        switch Timestamp.classify(text) {
        case .malformed: return .failure(.malformed(text))
        case .outOfRange: return .failure(.implausible(text))
        case .date(let date):
            guard date >= StoreLimits.earliestTime, date < StoreLimits.endOfTime else { return .failure(.implausible(text)) }
            return .success(date)
        }
    }

    func timestamp(_ text: String?, _ table: String, _ column: String, _ id: String) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        switch Self.storeTime(text) {
        case .success(let date): return date
        case .failure(let problem):
            note(table, column, id, problem.description)
            return nil
        }
    }

    func jsonValue(_ text: String?, _ table: String, _ column: String, _ id: String) -> JSONValue? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try JSONValue.parse(text)
        } catch {
            note(table, column, id, "malformed JSON")
            return nil
        }
    }

    func jsonObject(_ text: String?, _ table: String, _ column: String, _ id: String) -> JSONObject? {
        guard let value = jsonValue(text, table, column, id) else { return nil }
        if value == .null { return nil }
        guard case .object(let object) = value else {
            note(table, column, id, "expected a JSON object")
            return nil
        }
        return object
    }

    /// Rows aggregated by `SQLDialect.jsonRows`.
    func jsonRows(_ text: String?, _ table: String, _ column: String, _ id: String) -> [[JSONValue]] {
        guard let text, text != "[]" else { return [] }
        return jsonValue(text, table, column, id)?.array?.compactMap(\.array) ?? []
    }

    func stringMap(_ text: String?, _ table: String, _ column: String, _ id: String) -> [String: String] {
        guard let object = jsonObject(text, table, column, id) else { return [:] }
        var out: [String: String] = [:]
        for member in object.members {
            if let s = member.value.string ?? member.value.numberText { out[member.key] = s }
        }
        return out
    }

    /// `text[]` columns are JSON arrays in the SQLite layout; PostgreSQL's `{a,b}` text form is accepted too.
    func stringArray(_ text: String?, _ table: String, _ column: String, _ id: String) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        if text.hasPrefix("{"), text.hasSuffix("}") {
            return text.dropFirst().dropLast().split(separator: ",").map {
                String($0.drop { $0 == "\"" || $0 == " " }.reversed().drop { $0 == "\"" || $0 == " " }.reversed())
            }.filter { !$0.isEmpty }
        }
        guard let value = jsonValue(text, table, column, id) else { return [] }
        if value == .null { return [] }
        guard let array = value.array else {
            note(table, column, id, "expected a JSON array of strings")
            return []
        }
        return array.compactMap(\.string)
    }
}
