import Foundation

/// One row of a reader's query. Every source hands its values over in the SQLite store's layout
/// (JSON text for json columns and arrays, ISO-8601 UTC for timestamps, 0/1 for booleans), so one
/// decoder turns rows from any source into the same canonical records.
public protocol StoreRow {
    func isNull(_ column: Int32) -> Bool
    func text(_ column: Int32) -> String?
    func bytes(_ column: Int32) -> [UInt8]?
    func int(_ column: Int32) -> Int?
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
    /// The lower and upper bound bound to a period query; the exact `[start, end)` is applied in Swift too.
    func bounds(_ period: Period) -> [String]
    /// A text expression as a sort key in binary (code point) order, so sources sort alike.
    func sortKey(_ expression: String) -> String
}

/// A source that runs the canonical queries: streams the rows of `sql` with `binds` to `body`.
public protocol RowSource: AnyObject {
    var dialect: any SQLDialect { get }
    func forEachRow(_ sql: String, binds: [String], _ body: (any StoreRow) throws -> Void) throws
}

/// A store whose records come from the shared reader: it supplies the connection, schema check and
/// provenance; the reader does the rest.
public protocol ReaderBackedStore: GatewayStore {
    var reader: GatewayRecordReader { get }
}

extension ReaderBackedStore {
    public var dataQuality: [DataQualityIssue] { reader.dataQuality }

    public func loadDirectory() throws -> StoreDirectory { try reader.loadDirectory() }

    public func forEachSession(in period: Period, _ body: (SessionRecord) throws -> Void) throws {
        try reader.forEachSession(in: period, body)
    }

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        try reader.forEachConfigChange(in: period, body)
    }
}

/// The canonical queries and the decoding of their rows into records, shared by every reader so
/// that the same data gives the same records whatever holds it.
public final class GatewayRecordReader {
    /// Unowned: the store owns its reader, and releasing the store must close its file or connection.
    unowned let source: any RowSource
    let d: any SQLDialect
    public private(set) var dataQuality: [DataQualityIssue] = []

    public init(source: any RowSource) {
        self.source = source
        d = source.dialect
    }

    func note(_ table: String, _ column: String, _ rowID: String, _ problem: String) {
        dataQuality.append(DataQualityIssue(table: table, column: column, rowID: rowID, problem: problem))
    }

    func columns(_ alias: String, _ table: String, _ names: [String]) -> String {
        names.map { d.value(alias, table, $0) }.joined(separator: ", ")
    }

    // MARK: queries

    static let reviewFields = ["id", "type", "status", "owner_id", "owner_email", "owner_name", "connection_name", "created_at",
                               "revoked_at", "access_duration_sec", "access_request_rule_name", "min_approvals",
                               "rejection_reason", "time_window", "force_approval_groups"]
    static let decisionFields = ["id", "group_name", "status", "owner_id", "owner_email", "owner_name", "reviewed_at", "forced_review"]
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
        let metrics = d.jsonRows(["info_type", "count_masked", "count_analyzed"].map { d.value("m", "session_metrics", $0) },
                                 table: "session_metrics", alias: "m", where: "m.session_id = s.id",
                                 orderBy: d.sortKey(d.value("m", "session_metrics", "info_type")))
        return """
            SELECT \(columns("s", "sessions", Self.sessionFields)),
                   \(d.value("bi", "blobs", "blob_stream")), \(d.value("bi", "blobs", "format")), \(d.value("bs", "blobs", "blob_stream")),
                   \(reviewBlock), \(metrics)
            FROM \(d.table("sessions")) s
            LEFT JOIN \(d.table("blobs")) bi ON bi.id = s.blob_input_id
            LEFT JOIN \(d.table("blobs")) bs ON bs.id = s.blob_stream_id
            LEFT JOIN \(d.table("reviews")) r ON r.session_id = s.id
            WHERE s.created_at >= \(d.timestampParameter(1)) AND s.created_at < \(d.timestampParameter(2))
            ORDER BY s.created_at, \(d.sortKey(d.value("s", "sessions", "id"))), \(d.sortKey(d.value("r", "reviews", "id")))
            """
    }

    public var changeQuery: String {
        """
        SELECT \(columns("a", "security_audit_log", Self.changeFields))
        FROM \(d.table("security_audit_log")) a
        WHERE a.created_at >= \(d.timestampParameter(1)) AND a.created_at < \(d.timestampParameter(2))
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
        WHERE \(grantCondition(end: d.timestampParameter(1), start: d.timestampParameter(2)))
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
            SELECT \(groupUser), \(groupName) FROM \(d.table("user_groups")) ug WHERE ug.user_id IS NOT NULL
            ORDER BY \(d.sortKey(groupUser)), \(d.sortKey(groupName))
            """, binds: []) { row in
            if let uid = row.text(0), let name = row.text(1) { groupsByUserID[uid, default: []].append(name) }
        }
        var users: [String: DirectoryUser] = [:]
        try source.forEachRow("""
            SELECT \(columns("u", "users", ["id", "subject", "email", "name", "status", "created_at", "updated_at"]))
            FROM \(d.table("users")) u ORDER BY \(d.sortKey(d.value("u", "users", "id")))
            """, binds: []) { row in
            let id = row.text(0) ?? ""
            guard let subject = row.text(1), !subject.isEmpty else {
                note("users", "subject", id, "empty subject; the user cannot be matched to sessions")
                return
            }
            let created = timestamp(row.text(5), "users", "created_at", id)
            let updated = timestamp(row.text(6), "users", "updated_at", id)
            users[subject] = DirectoryUser(id: id, subject: subject, email: row.text(2) ?? "", name: row.text(3) ?? "",
                                           status: row.text(4) ?? "", createdAt: created, updatedAt: updated,
                                           groups: groupsByUserID[id] ?? [])
        }
        var pluginNames: [String: String] = [:]
        try source.forEachRow("SELECT \(columns("p", "plugins", ["id", "name"])) FROM \(d.table("plugins")) p", binds: []) { row in
            if let id = row.text(0), let name = row.text(1) { pluginNames[id] = name }
        }
        var reviewers: [String: [String]] = [:]
        var redact: [String: [String]] = [:]
        try source.forEachRow("""
            SELECT \(columns("pc", "plugin_connections", ["id", "plugin_id", "connection_id", "enabled", "config"]))
            FROM \(d.table("plugin_connections")) pc
            ORDER BY \(d.sortKey(d.value("pc", "plugin_connections", "connection_id"))), \(d.sortKey(d.value("pc", "plugin_connections", "id")))
            """, binds: []) { row in
            let id = row.text(0) ?? ""
            guard let connectionID = row.text(2), row.int(3) ?? 1 != 0 else { return }
            let config = stringArray(row.text(4), "plugin_connections", "config", id)
            switch pluginNames[row.text(1) ?? ""] {
            case "review": reviewers[connectionID, default: []] += config
            case "dlp": redact[connectionID, default: []] += config
            default: break
            }
        }
        var connections: [String: ConnectionConfig] = [:]
        try source.forEachRow("""
            SELECT \(columns("c", "connections", ["id", "name", "type", "subtype", "_tags", "force_approve_groups",
                                                   "min_review_approvals", "access_max_duration"]))
            FROM \(d.table("connections")) c ORDER BY \(d.sortKey(d.value("c", "connections", "name")))
            """, binds: []) { row in
            let id = row.text(0) ?? ""
            guard let name = row.text(1), !name.isEmpty else {
                note("connections", "name", id, "empty name")
                return
            }
            connections[name] = ConnectionConfig(
                id: id, name: name, type: row.text(2) ?? "", subtype: row.text(3) ?? "",
                tags: stringArray(row.text(4), "connections", "_tags", id),
                reviewerGroups: (reviewers[id] ?? []).sorted(), redactTypes: (redact[id] ?? []).sorted(),
                forceApproveGroups: stringArray(row.text(5), "connections", "force_approve_groups", id),
                minReviewApprovals: row.int(6), accessMaxDurationSec: row.int(7))
        }
        return StoreDirectory(users: users, connections: connections)
    }

    // MARK: sessions

    public func forEachSession(in period: Period, _ body: (SessionRecord) throws -> Void) throws {
        let bounds = d.bounds(period)
        let grants = try loadJITGrants(bounds: bounds, period: period)
        var previousID: String?
        try source.forEachRow(sessionQuery, binds: bounds) { row in
            let id = row.text(0) ?? ""
            if id == previousID {
                note("reviews", "session_id", id, "more than one review for the session; the first is used")
                return
            }
            previousID = id
            guard let createdText = row.text(18), let createdAt = Timestamp.parse(createdText) else {
                note("sessions", "created_at", id, "not a timestamp: '\(row.text(18) ?? "NULL")'; session skipped")
                return
            }
            guard period.contains(createdAt) else { return }
            try body(sessionRecord(row, id: id, createdAt: createdAt, grants: grants))
        }
    }

    func sessionRecord(_ row: any StoreRow, id: String, createdAt: Date, grants: JITGrantIndex) -> SessionRecord {
        let connection = row.text(1) ?? ""
        let type = row.text(2) ?? "", subtype = row.text(3) ?? ""
        let proto = ConnectionProtocol(type: type, subtype: subtype)
        let tags = stringMap(row.text(4), "sessions", "connection_tags", id)
        let actor = Actor(subject: row.text(6) ?? "", email: row.text(8) ?? "", name: row.text(7) ?? "",
                          identityType: row.text(16) ?? "user", machineIdentityID: row.text(15))
        let endedAt = row.isNull(19) ? nil : timestamp(row.text(19), "sessions", "ended_at", id)
        let metadata = stringMap(row.text(11), "sessions", "metadata", id)
        let metricsJSON = jsonObject(row.text(12), "sessions", "metrics", id)
        let truncated = (metricsJSON?["truncated"] as? Bool) ?? false

        var masking = MaskingCounters()
        if let dm = metricsJSON?["data_masking"] as? [String: Any], let types = dm["info_types"] as? [String: Any] {
            for (t, v) in types { if let n = Self.integer(v) { masking.merge(masked: t, n) } }
        }
        if let analyzer = metricsJSON?["data_analyzer"] as? [String: Any] {
            for (t, v) in analyzer { if let n = Self.integer(v) { masking.merge(detected: t, n) } }
        }
        for metric in jsonRows(row.text(39), "session_metrics", "session_id", id) where metric.count == 3 {
            guard let infoType = metric[0] as? String else { continue }
            masking.merge(masked: infoType, Self.integer(metric[1]) ?? 0)
            masking.merge(detected: infoType, Self.integer(metric[2]) ?? 0)
        }

        var hits: [GuardrailHit] = []
        if let raw = row.text(14), !raw.isEmpty, raw != "null" {
            let value = jsonValue(raw, "sessions", "guardrails_info", id)
            if let array = value as? [Any] {
                for case let entry as [String: Any] in array {
                    let rule = entry["rule"] as? [String: Any]
                    hits.append(GuardrailHit(ruleName: entry["rule_name"] as? String ?? "",
                                             ruleType: rule?["type"] as? String ?? "",
                                             direction: entry["direction"] as? String ?? "",
                                             matchedWords: entry["matched_words"] as? [String] ?? [],
                                             message: entry["message"] as? String ?? ""))
                }
            } else if let value, !(value is NSNull) {
                note("sessions", "guardrails_info", id, "expected a JSON array")
            }
        }
        var verdict: AIVerdict?
        if let ai = jsonObject(row.text(13), "sessions", "ai_analysis", id) {
            verdict = AIVerdict(riskLevel: ai["risk_level"] as? String ?? "", action: ai["action"] as? String ?? "",
                                title: ai["title"] as? String ?? "")
        }

        var script: [UInt8]?
        if let input = row.bytes(20) {
            do { script = try HoopRecording.decodeInput(input) } catch {
                note("blobs", "blob_stream", "session-input of \(id)", "malformed input: \(error)")
            }
        }
        var events: [HoopRecording.Event]?
        if let stream = row.bytes(22) {
            do { events = try HoopRecording.decode(stream) } catch {
                note("blobs", "blob_stream", "session-stream of \(id)", "malformed recording: \(error)")
            }
        }
        let transcript = TranscriptBuilder.build(protocol: proto, verb: row.text(5) ?? "", createdAt: createdAt,
                                                 script: script, scriptFormat: row.text(21), events: events,
                                                 truncated: truncated)
        let approval = row.isNull(23) ? nil : review(row, offset: 23, sessionID: id)
        let jit = grants.overlapping(subject: actor.subject, connection: connection, from: createdAt, to: endedAt ?? createdAt)
            .filter { $0.id != approval?.id }
        return SessionRecord(
            id: id, connectionName: connection, connectionType: type, connectionSubtype: subtype, connectionTags: tags,
            verb: row.text(5) ?? "", actor: actor, status: row.text(9) ?? "", exitCode: row.int(10),
            createdAt: createdAt, endedAt: endedAt, origin: row.text(17), transcript: transcript, masking: masking,
            guardrailHits: hits, aiVerdict: verdict, approval: approval, jitGrants: jit, metadata: metadata)
    }

    /// A review from the 16 columns of `reviewBlock` starting at `offset`.
    func review(_ row: any StoreRow, offset o: Int32, sessionID: String) -> Approval? {
        let id = row.text(o) ?? ""
        guard let kind = Approval.Kind(rawValue: (row.text(o + 1) ?? "").lowercased()) else {
            note("reviews", "type", id, "unknown review type '\(row.text(o + 1) ?? "NULL")'")
            return nil
        }
        guard let requestedAt = timestamp(row.text(o + 7), "reviews", "created_at", id) else { return nil }
        var decisions: [Decision] = []
        for group in jsonRows(row.text(o + 15), "review_groups", "review_id", id) where group.count == 8 {
            let gid = group[0] as? String ?? ""
            let owner = group[3...5].map { $0 as? String }
            let reviewer: Actor? = owner[0] == nil && owner[1] == nil
                ? nil : Actor(subject: owner[0] ?? "", email: owner[1] ?? "", name: owner[2] ?? "")
            let decided = timestamp(group[6] as? String, "review_groups", "reviewed_at", gid)
            decisions.append(Decision(id: gid, group: group[1] as? String ?? "", status: (group[2] as? String ?? "").uppercased(),
                                      reviewer: reviewer, decidedAt: decided, forced: (Self.integer(group[7]) ?? 0) != 0))
        }
        decisions.sort { $0.id < $1.id }
        var approval = Approval(
            id: id, sessionID: sessionID, kind: kind, status: (row.text(o + 2) ?? "").uppercased(),
            requester: Actor(subject: row.text(o + 3) ?? "", email: row.text(o + 4) ?? "", name: row.text(o + 5) ?? ""),
            connectionName: row.text(o + 6) ?? "", requestedAt: requestedAt,
            expiresAt: row.isNull(o + 8) ? nil : timestamp(row.text(o + 8), "reviews", "revoked_at", id),
            accessDurationSec: row.int(o + 9) ?? 0, ruleName: row.text(o + 10), minApprovals: row.int(o + 11),
            rejectionReason: row.text(o + 12), decisions: decisions)
        if let window = jsonObject(row.text(o + 13), "reviews", "time_window", id),
           let config = window["configuration"] as? [String: Any] {
            let start = config["start_time"] as? String ?? "", end = config["end_time"] as? String ?? ""
            approval.timeWindow = TimeWindow(start: start, end: end)
            if approval.timeWindow == nil { note("reviews", "time_window", id, "unreadable window '\(start)'-'\(end)'") }
        }
        approval.forceApprovalGroups = stringArray(row.text(o + 14), "reviews", "force_approval_groups", id)
        return approval
    }

    /// Approved JIT grants whose window may touch the period, indexed by requester and connection.
    func loadJITGrants(bounds: [String], period: Period) throws -> JITGrantIndex {
        var grants = JITGrantIndex()
        try source.forEachRow(grantQuery, binds: [bounds[1], bounds[0]]) { row in
            // SQLite's bounds are whole days around the period; the exact ones apply here, as in SQL on PostgreSQL.
            guard let grant = review(row, offset: 0, sessionID: row.text(16) ?? ""), grant.requestedAt < period.end,
                  (grant.expiresAt ?? period.start) >= period.start else { return }
            grants.add(grant)
        }
        grants.seal()
        return grants
    }

    // MARK: configuration changes

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        try source.forEachRow(changeQuery, binds: d.bounds(period)) { row in
            let id = row.text(0) ?? ""
            guard let at = timestamp(row.text(4), "security_audit_log", "created_at", id), period.contains(at) else { return }
            try body(ConfigChange(
                id: id, actor: Actor(subject: row.text(1) ?? "", email: row.text(2) ?? "", name: row.text(3) ?? ""), at: at,
                resourceType: row.text(5) ?? "", action: (row.text(6) ?? "").lowercased(), httpPath: row.text(7) ?? "",
                payload: canonicalJSON(row.text(8) ?? ""), succeeded: (row.int(9) ?? 1) != 0, errorMessage: row.text(10)))
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

    /// Booleans and counts arrive as JSON numbers, booleans or (from text-cast sources) strings.
    static func integer(_ value: Any) -> Int? {
        if let n = value as? NSNumber { return n.intValue }
        if let s = value as? String { return Int(s) ?? (s == "true" ? 1 : s == "false" ? 0 : nil) }
        return nil
    }

    func timestamp(_ text: String?, _ table: String, _ column: String, _ id: String) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        guard let date = Timestamp.parse(text) else {
            note(table, column, id, "not a timestamp: '\(text.prefix(40))'")
            return nil
        }
        return date
    }

    func jsonValue(_ text: String?, _ table: String, _ column: String, _ id: String) -> Any? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            note(table, column, id, "malformed JSON")
            return nil
        }
    }

    func jsonObject(_ text: String?, _ table: String, _ column: String, _ id: String) -> [String: Any]? {
        guard let value = jsonValue(text, table, column, id) else { return nil }
        if value is NSNull { return nil }
        guard let object = value as? [String: Any] else {
            note(table, column, id, "expected a JSON object")
            return nil
        }
        return object
    }

    /// Rows aggregated by `SQLDialect.jsonRows`.
    func jsonRows(_ text: String?, _ table: String, _ column: String, _ id: String) -> [[Any]] {
        guard let text, text != "[]" else { return [] }
        return (jsonValue(text, table, column, id) as? [Any])?.compactMap { $0 as? [Any] } ?? []
    }

    func stringMap(_ text: String?, _ table: String, _ column: String, _ id: String) -> [String: String] {
        guard let object = jsonObject(text, table, column, id) else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in object {
            if let s = v as? String { out[k] = s } else if let n = v as? NSNumber { out[k] = n.stringValue }
        }
        return out
    }

    /// `text[]` columns are JSON arrays in the SQLite layout; PostgreSQL's `{a,b}` text form is accepted too.
    func stringArray(_ text: String?, _ table: String, _ column: String, _ id: String) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        if text.hasPrefix("{"), text.hasSuffix("}") {
            return text.dropFirst().dropLast().split(separator: ",").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            }.filter { !$0.isEmpty }
        }
        guard let value = jsonValue(text, table, column, id) else { return [] }
        if value is NSNull { return [] }
        guard let array = value as? [Any] else {
            note(table, column, id, "expected a JSON array of strings")
            return []
        }
        return array.compactMap { $0 as? String }
    }
}
