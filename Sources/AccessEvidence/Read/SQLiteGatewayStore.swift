import Foundation

/// Reads an SQLite gateway store (hoop's layout without the `private.` schema; hoop-store.md §7).
/// The file is opened read-only; sessions are streamed with one cursor.
public final class SQLiteGatewayStore: GatewayStore {
    public let path: String
    let db: SQLiteDatabase
    public private(set) var dataQuality: [DataQualityIssue] = []

    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.notFound(path: path) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError.unreadable(path: path, reason: "permission denied")
        }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        try? handle.close()
        guard header == Data("SQLite format 3\0".utf8) else { throw StoreError.notSQLite(path: path) }
        db = try SQLiteDatabase(path: path, mode: .readOnly)
        try checkSchema()
    }

    /// Every missing table or column, in one error.
    func checkSchema() throws {
        var missing: [String] = []
        for table in GatewaySchema.tables {
            var present = Set<String>()
            try db.forEachRow("SELECT name FROM pragma_table_info(?)", bind: [.text(table.name)]) { row in
                if let name = row.text(0) { present.insert(name) }
            }
            if present.isEmpty {
                missing.append("table \(table.name)")
                continue
            }
            for column in table.columns.map(\.0) where table.required.contains(column) && !present.contains(column) {
                missing.append("column \(table.name).\(column)")
            }
        }
        if !missing.isEmpty { throw StoreError.missingSchema(path: path, missing: missing) }
    }

    public func describe() throws -> SourceInfo {
        var counts: [String: Int] = [:]
        for table in GatewaySchema.tables {
            counts[table.name] = try db.scalarInt("SELECT COUNT(*) FROM \(table.name)")
        }
        var version: String?
        if try db.scalarInt("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'") > 0 {
            try db.forEachRow("SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1") { version = $0.text(0) }
        }
        var info = SourceInfo(kind: "sqlite", location: path, sha256: try FileHash.sha256(path: path),
                              rowCounts: counts, schemaVersion: version)
        info.queries = [
            "sessions": Self.sessionQuery.replacingOccurrences(of: "\n", with: " ")
                + " -- bound to the days around the period; exact [start, end) applied to the parsed created_at",
            "configuration_changes": Self.changeQuery.replacingOccurrences(of: "\n", with: " ")
                + " -- exact [start, end) applied to the parsed created_at",
            "jit_grants": Self.grantQuery.replacingOccurrences(of: "\n", with: " "),
        ]
        return info
    }

    public func countSessions(in period: Period) throws -> Int {
        // Text comparison on the canonical form; rows stored in other forms show up in the reconciliation.
        let start = String(Timestamp.format(period.start).prefix(19)), end = String(Timestamp.format(period.end).prefix(19))
        return try db.scalarInt("SELECT COUNT(*) FROM sessions WHERE created_at >= ? AND created_at < ?", bind: [.text(start), .text(end)])
    }

    func note(_ table: String, _ column: String, _ rowID: String, _ problem: String) {
        dataQuality.append(DataQualityIssue(table: table, column: column, rowID: rowID, problem: problem))
    }

    public func loadDirectory() throws -> StoreDirectory {
        var groupsByUserID: [String: [String]] = [:]
        try db.forEachRow("SELECT user_id, name FROM user_groups WHERE user_id IS NOT NULL ORDER BY user_id, name") { row in
            if let uid = row.text(0), let name = row.text(1) { groupsByUserID[uid, default: []].append(name) }
        }
        var users: [String: DirectoryUser] = [:]
        try db.forEachRow("SELECT id, subject, email, name, status, created_at, updated_at FROM users ORDER BY id") { row in
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
        try db.forEachRow("SELECT id, name FROM plugins") { row in
            if let id = row.text(0), let name = row.text(1) { pluginNames[id] = name }
        }
        var reviewers: [String: [String]] = [:]
        var redact: [String: [String]] = [:]
        try db.forEachRow("SELECT id, plugin_id, connection_id, enabled, config FROM plugin_connections ORDER BY connection_id, id") { row in
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
        try db.forEachRow("""
            SELECT id, name, type, subtype, _tags, force_approve_groups, min_review_approvals, access_max_duration
            FROM connections ORDER BY name
            """) { row in
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

    static let sessionColumns = """
        s.id, s.connection, s.connection_type, s.connection_subtype, s.connection_tags, s.verb, s.user_id,
        s.user_name, s.user_email, s.status, s.exit_code, s.metadata, s.metrics, s.ai_analysis, s.guardrails_info,
        s.machine_identity_id, s.identity_type, s.origin, s.created_at, s.ended_at,
        bi.blob_stream, bi.format, bs.blob_stream,
        r.id, r.type, r.status, r.owner_id, r.owner_email, r.owner_name, r.connection_name, r.created_at,
        r.revoked_at, r.access_duration_sec, r.access_request_rule_name, r.min_approvals, r.rejection_reason,
        r.time_window, r.force_approval_groups
        """
    static let sessionQuery = """
        SELECT \(sessionColumns)
        FROM sessions s
        LEFT JOIN blobs bi ON bi.id = s.blob_input_id
        LEFT JOIN blobs bs ON bs.id = s.blob_stream_id
        LEFT JOIN reviews r ON r.session_id = s.id
        WHERE s.created_at >= ? AND s.created_at < ?
        ORDER BY s.created_at, s.id
        """
    static let changeQuery = """
        SELECT id, actor_subject, actor_email, actor_name, created_at, resource_type, action, http_path,
               request_payload_redacted, outcome, error_message
        FROM security_audit_log WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id
        """
    static let grantQuery = """
        SELECT \(reviewColumns) FROM reviews r
        WHERE lower(r.type) = 'jit' AND upper(r.status) IN ('APPROVED', 'PROCESSING', 'EXECUTED')
          AND r.created_at < ? AND (r.revoked_at IS NULL OR r.revoked_at >= ?)
        ORDER BY r.created_at, r.id
        """
    static let reviewColumns = """
        r.id, r.type, r.status, r.owner_id, r.owner_email, r.owner_name, r.connection_name, r.created_at,
        r.revoked_at, r.access_duration_sec, r.access_request_rule_name, r.min_approvals, r.rejection_reason,
        r.time_window, r.force_approval_groups, r.session_id
        """

    public func forEachSession(in period: Period, _ body: (SessionRecord) throws -> Void) throws {
        // Stored timestamps differ in separator, precision and offset, so text comparison is only
        // safe on whole days: SQL narrows to the surrounding days, Swift applies the exact bounds.
        let lower = Timestamp.formatDay(period.start.addingTimeInterval(-86_400))
        let upper = Timestamp.formatDay(period.end.addingTimeInterval(2 * 86_400))
        let grants = try loadJITGrants(lower: lower, upper: upper)
        let groups = try db.prepare("""
            SELECT id, group_name, status, owner_id, owner_email, owner_name, reviewed_at, forced_review
            FROM review_groups WHERE review_id = ? ORDER BY id
            """)
        let metrics = try db.prepare("""
            SELECT id, info_type, count_masked, count_analyzed FROM session_metrics WHERE session_id = ? ORDER BY info_type
            """)
        let cursor = try db.prepare(Self.sessionQuery)
        try cursor.bind([.text(lower), .text(upper)])
        var previousID = ""
        while try cursor.step() {
            let id = cursor.text(0) ?? ""
            if id == previousID {
                note("reviews", "session_id", id, "more than one review for the session; the first is used")
                continue
            }
            previousID = id
            guard let createdText = cursor.text(18), let createdAt = Timestamp.parse(createdText) else {
                note("sessions", "created_at", id, "not a timestamp: '\(cursor.text(18) ?? "NULL")'; session skipped")
                continue
            }
            guard period.contains(createdAt) else { continue }
            if let record = try sessionRecord(cursor, id: id, createdAt: createdAt, groups: groups, metrics: metrics, grants: grants) {
                try body(record)
            }
        }
    }

    func sessionRecord(_ row: SQLiteStatement, id: String, createdAt: Date, groups: SQLiteStatement,
                       metrics: SQLiteStatement, grants: JITGrantIndex) throws -> SessionRecord? {
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
            for (t, v) in types { if let n = (v as? NSNumber)?.intValue { masking.merge(masked: t, n) } }
        }
        if let analyzer = metricsJSON?["data_analyzer"] as? [String: Any] {
            for (t, v) in analyzer { if let n = (v as? NSNumber)?.intValue { masking.merge(detected: t, n) } }
        }
        try metrics.bind([.text(id)])
        while try metrics.step() {
            guard let infoType = metrics.text(1) else { continue }
            masking.merge(masked: infoType, metrics.int(2) ?? 0)
            masking.merge(detected: infoType, metrics.int(3) ?? 0)
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
        var approval: Approval?
        if !row.isNull(23) {
            approval = try review(row, offset: 23, sessionID: id, groups: groups)
        }
        let jit = grants.overlapping(subject: actor.subject, connection: connection, from: createdAt, to: endedAt ?? createdAt)
            .filter { $0.id != approval?.id }
        return SessionRecord(
            id: id, connectionName: connection, connectionType: type, connectionSubtype: subtype, connectionTags: tags,
            verb: row.text(5) ?? "", actor: actor, status: row.text(9) ?? "", exitCode: row.int(10),
            createdAt: createdAt, endedAt: endedAt, origin: row.text(17), transcript: transcript, masking: masking,
            guardrailHits: hits, aiVerdict: verdict, approval: approval, jitGrants: jit, metadata: metadata)
    }

    /// A review from 15 columns starting at `offset` (the order of `reviewColumns`).
    func review(_ row: SQLiteStatement, offset o: Int32, sessionID: String, groups: SQLiteStatement) throws -> Approval? {
        let id = row.text(o) ?? ""
        guard let kind = Approval.Kind(rawValue: (row.text(o + 1) ?? "").lowercased()) else {
            note("reviews", "type", id, "unknown review type '\(row.text(o + 1) ?? "NULL")'")
            return nil
        }
        guard let requestedAt = timestamp(row.text(o + 7), "reviews", "created_at", id) else { return nil }
        var decisions: [Decision] = []
        try groups.bind([.text(id)])
        while try groups.step() {
            let gid = groups.text(0) ?? ""
            let reviewer: Actor? = groups.isNull(3) && groups.isNull(4)
                ? nil : Actor(subject: groups.text(3) ?? "", email: groups.text(4) ?? "", name: groups.text(5) ?? "")
            let decided = groups.isNull(6) ? nil : timestamp(groups.text(6), "review_groups", "reviewed_at", gid)
            decisions.append(Decision(id: gid, group: groups.text(1) ?? "", status: (groups.text(2) ?? "").uppercased(),
                                      reviewer: reviewer, decidedAt: decided, forced: (groups.int(7) ?? 0) != 0))
        }
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

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        let lower = Timestamp.formatDay(period.start.addingTimeInterval(-86_400))
        let upper = Timestamp.formatDay(period.end.addingTimeInterval(2 * 86_400))
        try db.forEachRow(Self.changeQuery, bind: [.text(lower), .text(upper)]) { row in
            let id = row.text(0) ?? ""
            guard let at = timestamp(row.text(4), "security_audit_log", "created_at", id), period.contains(at) else { return }
            try body(ConfigChange(
                id: id, actor: Actor(subject: row.text(1) ?? "", email: row.text(2) ?? "", name: row.text(3) ?? ""), at: at,
                resourceType: row.text(5) ?? "", action: (row.text(6) ?? "").lowercased(), httpPath: row.text(7) ?? "",
                payload: row.text(8) ?? "", succeeded: (row.int(9) ?? 1) != 0, errorMessage: row.text(10)))
        }
    }

    /// Approved JIT grants whose window may touch the period, indexed by requester and connection.
    func loadJITGrants(lower: String, upper: String) throws -> JITGrantIndex {
        let groups = try db.prepare("""
            SELECT id, group_name, status, owner_id, owner_email, owner_name, reviewed_at, forced_review
            FROM review_groups WHERE review_id = ? ORDER BY id
            """)
        var grants = JITGrantIndex()
        let rows = try db.prepare(Self.grantQuery)
        try rows.bind([.text(upper), .text(lower)])
        while try rows.step() {
            let sessionID = rows.text(15) ?? ""
            guard let grant = try review(rows, offset: 0, sessionID: sessionID, groups: groups) else { continue }
            grants.add(grant)
        }
        grants.seal()
        return grants
    }

    // MARK: field decoding that records what it cannot use

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

/// Approved JIT grants by requester and connection, sorted by window start, so finding the
/// grants around a session is a binary search rather than a scan of every grant.
struct JITGrantIndex {
    struct Window {
        let start: Date
        let end: Date
        let grant: Approval
    }

    private var byKey: [String: [Window]] = [:]
    private var longest: [String: Double] = [:]

    static func key(_ subject: String, _ connection: String) -> String { subject + "\u{1F}" + connection }

    mutating func add(_ grant: Approval) {
        guard let start = grant.approvedAt else { return }
        let end = grant.expiresAt ?? start.addingTimeInterval(Double(max(grant.accessDurationSec, 0)))
        let key = Self.key(grant.requester.subject, grant.connectionName)
        byKey[key, default: []].append(Window(start: start, end: end, grant: grant))
        longest[key] = max(longest[key] ?? 0, end.timeIntervalSince(start))
    }

    mutating func seal() {
        for key in byKey.keys { byKey[key]!.sort { ($0.start, $0.grant.id) < ($1.start, $1.grant.id) } }
    }

    /// Grants whose window `[start, end)` overlaps `[from, to]`, in start order.
    func overlapping(subject: String, connection: String, from: Date, to: Date) -> [Approval] {
        let key = Self.key(subject, connection)
        guard let windows = byKey[key], let span = longest[key] else { return [] }
        // First window starting after `to`: nothing from there on can overlap.
        var lo = 0, hi = windows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if windows[mid].start <= to { lo = mid + 1 } else { hi = mid }
        }
        var out: [Approval] = []
        var i = lo - 1
        let earliest = from.addingTimeInterval(-span)
        while i >= 0, windows[i].start >= earliest {
            if from < windows[i].end { out.append(windows[i].grant) }
            i -= 1
        }
        return out.reversed()
    }
}
