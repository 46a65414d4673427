import Foundation

/// Pulls one period of a hoop organization through its HTTP API into an SQLite gateway store (the
/// layout of a snapshot), so that the SQLite reader, the tests and the snapshot format are the same
/// for the API as for the database.
///
/// What is read, and how the API's limits are met (hoop-openapi.README.md):
/// - Sessions: `GET /sessions` lists 100 at a time, newest first, by offset up to 10000. The
///   period is cut into time windows whose exact count (`count=exact`) is at most 10000, so no
///   window needs an offset past the cap. The date filter includes both ends, in whole seconds, and
///   ignores time-zone offsets: windows are asked for in whole `Z` seconds around their exact bounds,
///   and each listed session is kept only when its start lies in `[start, end)` of its window, so
///   neighbouring windows never both keep one. After paging, the window is counted again: a count
///   that moved is a finding, and a window read short is paged once more (shifted rows are found
///   again; ids already read are skipped).
/// - Each kept session's details once (`expand=event_stream,session_input`), several in flight: its
///   row, input and recording blobs, review and review groups. A session listed but gone by its
///   detail request (404) is a finding, not a failure.
/// - Approved JIT grants of earlier sessions that cover the period, from `GET /reviews` (the
///   requester and connection from their session), masking counters from `GET /metrics/sessions`,
///   the security audit log from `GET /audit/logs`, then users, connections (`GET /connections/{name}`
///   for the review settings the list leaves out), guardrail, masking and access request rules.
final class HoopAPIPull {
    static let offsetCap = 10_000
    static let pageSize = 100

    let api: any HoopAPITransport
    let period: Period
    let writer: StoreWriter
    /// Sessions whose details are asked for at once (the transport bounds what is in flight).
    let batch: Int

    private(set) var findings: [DataQualityIssue] = []
    /// The requests each table's rows came from, for the manifest (`query` rows) and the report.
    private(set) var requests: [String: [String]] = [:]
    private(set) var organization: (id: String, name: String?)?
    /// The token's user, as `/userinfo` names them.
    private(set) var reader: (email: String, role: String)?
    private(set) var sessionsListed = 0
    private(set) var windows = 0

    /// The IdP subject of each e-mail seen on sessions, reviews and the audit log: `GET /users`
    /// gives no subject, and sessions name their user by subject.
    private var subjects: [String: String] = [:]
    private var connectionIDs: [String: String] = [:]
    /// The audit log's user deactivations (`PUT /users/{id}` with status inactive), by path.
    private var deactivations: [(at: String, path: String)] = []

    init(api: any HoopAPITransport, period: Period, writer: StoreWriter, batch: Int = 8) {
        self.api = api
        self.period = period
        self.writer = writer
        self.batch = max(1, batch)
    }

    func run() throws {
        try readUserInfo()
        try pullConnections()
        try pullSessions()
        try pullGrants()
        try pullAuditLog()
        try pullUsers()
        try pullRules()
    }

    // MARK: - Requests

    func shown(_ request: HoopAPIRequest) -> String { request.shown(basePath: api.basePath) }

    func record(_ table: String, _ request: HoopAPIRequest) {
        let text = shown(request)
        if requests[table]?.contains(text) != true { requests[table, default: []].append(text) }
    }

    /// The JSON of a 200 answer; any other status stops the pull with the endpoint and status
    /// (401/403 as a refusal of the token or its role).
    func json(_ request: HoopAPIRequest, _ response: HoopAPIResponse) throws -> JSONValue {
        guard response.status == 200 else { throw failure(request, response) }
        do {
            return try JSONValue.parse(String(decoding: response.body, as: UTF8.self))
        } catch {
            throw StoreError.unavailable(source: api.display, reason: "\(shown(request)): the answer is not JSON (\(error.reason) at byte \(error.offset))")
        }
    }

    func fetch(_ request: HoopAPIRequest) throws -> JSONValue {
        try json(request, try api.get(request))
    }

    func failure(_ request: HoopAPIRequest, _ response: HoopAPIResponse) -> StoreError {
        var message = ""
        if let text = (try? JSONValue.parse(String(decoding: response.body.prefix(4096), as: UTF8.self)))?.object?["message"]?.string {
            // One line, whatever the server wrote.
            message = ": " + String(text.prefix(200).map { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } == true ? " " : $0 })
        }
        let tries = response.attempts > 1 ? " after \(response.attempts) attempts" : ""
        let endpoint = "GET \(api.basePath)\(request.path)"
        switch response.status {
        case 401:
            return .permissionDenied(source: api.display, reason: "\(endpoint) answered HTTP 401: the token was refused (expired, revoked or not hoop's)\(message)")
        case 403:
            return .permissionDenied(source: api.display, reason: "\(endpoint) answered HTTP 403: the token's user may not read it; hoop shows every session and the audit log only to admins and auditors\(message)")
        default:
            return .unavailable(source: api.display, reason: "\(endpoint) answered HTTP \(response.status)\(tries)\(message); no report was written")
        }
    }

    func note(_ endpoint: String, _ id: String, _ problem: String) {
        findings.append(DataQualityIssue(table: "api", column: endpoint, rowID: id, problem: problem))
    }

    /// Inserts a row the API gave. A row whose key is there already (the API listed an id twice: an
    /// inconsistent or hostile server) keeps the first copy and becomes a data-quality finding naming
    /// the endpoint, not SQLite's constraint error on the pull's temporary file. False then: the
    /// caller skips the rows that hang off it.
    @discardableResult
    func insert(_ table: String, _ row: [SQLiteValue], endpoint: String, id: String) throws -> Bool {
        if try writer.insertIfNew(table, row: row) { return true }
        note("GET \(api.basePath)\(endpoint)", id, "listed more than once (\(table)); the first copy is kept")
        return false
    }

    static func wholeSecond(_ seconds: Double) -> String {
        Timestamp.format(Date(timeIntervalSince1970: seconds))
    }

    func subject(email: String?, id: String?) {
        guard let email, let id, !email.isEmpty, !id.isEmpty else { return }
        if subjects[email.lowercased()] == nil { subjects[email.lowercased()] = id }
    }

    // MARK: - Who reads

    /// The token's user must see the whole organization: hoop lists every session and the audit log
    /// only to admins and auditors, and a narrower view would pass for a quiet quarter.
    func readUserInfo() throws {
        let request = HoopAPIRequest("/userinfo")
        guard let info = APIObject(try fetch(request)) else {
            throw StoreError.unavailable(source: api.display, reason: "\(shown(request)): not an object")
        }
        let groups = info["groups"]?.strings ?? []
        let role = info.string("role") ?? ""
        let admin = info["is_admin"]?.bool == true || role == "admin" || groups.contains("admin")
        let auditor = role == "auditor" || groups.contains("auditor")
        let email = info.string("email") ?? "(no e-mail)"
        guard admin || auditor else {
            throw StoreError.permissionDenied(source: api.display, reason: "the token's user \(email) is neither admin nor auditor (role \(role.isEmpty ? "none" : role)); hoop shows them only their own sessions: use a user or API key in the auditor group")
        }
        reader = (email, admin ? "admin" : "auditor")
        if let id = info.string("org_id") { organization = (id, info.string("org_name")) }
    }

    // MARK: - Sessions

    func pullSessions() throws {
        try window(from: period.start, to: period.end)
    }

    func listQuery(_ from: Date, _ to: Date) -> [(String, String)] {
        [("start_date", Self.wholeSecond(floor(from.timeIntervalSince1970))),
         ("end_date", Self.wholeSecond(ceil(to.timeIntervalSince1970)))]
    }

    /// The sessions hoop counts in a window: `count=capped` to decide whether to cut it (exact up to
    /// 10000, and cheap for hoop, whose exact count over a long period is its costliest query),
    /// `count=exact` to reconcile a window that fits.
    func count(_ from: Date, _ to: Date, exact: Bool = true) throws -> (total: Int, capped: Bool) {
        let request = HoopAPIRequest("/sessions", listQuery(from, to) + [("limit", "1"), ("offset", "0"), ("count", exact ? "exact" : "capped")])
        // The period's own count, then the same for each window it was cut into.
        record("sessions", from == period.start && to == period.end && !exact ? request
               : HoopAPIRequest("/sessions", [("start_date", "{window start}"), ("end_date", "{window end}")] + request.query.dropFirst(2)))
        let answer = try fetch(request)
        guard let total = answer.object?["total"]?.numberText.flatMap({ Int($0) }), total >= 0 else {
            throw StoreError.unavailable(source: api.display, reason: "\(shown(request)): no total in the answer")
        }
        return (total, answer.object?["total_is_capped"]?.bool == true)
    }

    /// Sessions created in `[from, to)`: halves the window until its count fits under the offset cap.
    func window(from: Date, to: Date) throws {
        let probe = try count(from, to, exact: false)
        if probe.capped || probe.total > Self.offsetCap {
            let middle = Date(timeIntervalSince1970: floor((from.timeIntervalSince1970 + to.timeIntervalSince1970) / 2))
            guard middle > from, middle < to else {
                throw StoreError.unavailable(source: api.display, reason: "GET \(api.basePath)/sessions: more than \(Self.offsetCap) sessions within one second (\(Timestamp.format(from))); the API cannot page past offset \(Self.offsetCap)")
            }
            try window(from: from, to: middle)
            try window(from: middle, to: to)
            return
        }
        windows += 1
        let count = try self.count(from, to).total
        var seen = Set<String>()
        try page(from, to, seen: &seen)
        let after = try self.count(from, to).total
        let label = "[\(Timestamp.format(from)), \(Timestamp.format(to)))"
        if after != count {
            note("GET \(api.basePath)/sessions", label, "the session count moved from \(count) to \(after) during the pull (sessions created or deleted meanwhile)")
        }
        if after != count || seen.count < after {
            // Rows inserted or deleted meanwhile shift offset pages (a deletion can hide an insertion
            // from the counts alone): page once more for what slid past.
            try page(from, to, seen: &seen)
            if seen.count < after {
                note("GET \(api.basePath)/sessions", label, "listed \(seen.count) of the \(after) sessions the API counts; the missing ones are not tested")
            }
        }
    }

    /// Pages one window (newest first) and pulls the details of the sessions not seen yet.
    func page(_ from: Date, _ to: Date, seen: inout Set<String>) throws {
        var offset = 0
        while offset <= Self.offsetCap {
            let request = HoopAPIRequest("/sessions", listQuery(from, to) + [("limit", String(Self.pageSize)), ("offset", String(offset)), ("count", "none")])
            if offset == 0 {
                record("sessions", HoopAPIRequest("/sessions", [("start_date", "{window start}"), ("end_date", "{window end}"), ("limit", String(Self.pageSize)),
                                                               ("offset", "{0, 100, … up to \(Self.offsetCap)}"), ("count", "none")]))
            }
            let answer = try fetch(request)
            let items = answer.object?["data"]?.array ?? []
            var wanted: [String] = []
            for item in items {
                guard let session = APIObject(item), let id = session.string("id"), !id.isEmpty else {
                    note(shown(request), "(no id)", "a listed session without an id is skipped")
                    continue
                }
                guard seen.insert(id).inserted else { continue }
                sessionsListed += 1
                // Kept by its exact start; one the API dates unreadably is fetched and judged by the reader.
                if let start = session.string("start_date").flatMap(Timestamp.parse), start < from || start >= to { continue }
                wanted.append(id)
            }
            for chunk in stride(from: 0, to: wanted.count, by: batch) {
                try pullDetails(Array(wanted[chunk..<min(chunk + batch, wanted.count)]))
            }
            if items.count < Self.pageSize || answer.object?["has_next_page"]?.bool == false { return }
            offset += Self.pageSize
        }
    }

    static func detailRequest(_ id: String, expand: Bool = true) -> HoopAPIRequest {
        // `expand=event_stream` alone returns an empty script; the default (raw) stream keeps input
        // events and timing, which `event_stream=utf8` drops.
        HoopAPIRequest("/sessions/\(Self.pathSegment(id))", expand ? [("expand", "event_stream,session_input")] : [])
    }

    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#%"))) ?? text
    }

    func pullDetails(_ ids: [String]) throws {
        let requests = ids.map { Self.detailRequest($0) }
        if let first = requests.first { record("sessions", HoopAPIRequest("/sessions/{id}", first.query)) }
        let responses = try api.get(requests)
        var read: [String] = []
        for (i, response) in responses.enumerated() {
            if response.status == 404 {
                note("GET \(api.basePath)/sessions/{id}", ids[i], "listed by GET \(api.basePath)/sessions but answered 404 on its own (deleted during the pull); not tested")
                continue
            }
            guard let session = APIObject(try json(requests[i], response)) else {
                note("GET \(api.basePath)/sessions/{id}", ids[i], "the answer is not an object; not tested")
                continue
            }
            try insertSession(session, id: ids[i])
            read.append(ids[i])
        }
        try pullMetrics(read)
    }

    /// Rows the API gives no id for get hoop's kind of name-based id (UUIDv5, as its blob ids
    /// `blobinput:<session id>` are), so a pull taken twice writes the same rows.
    func insertSession(_ s: APIObject, id: String) throws {
        let org = s.text("org_id")
        let connection = s.string("connection") ?? s.string("role_name")
        subject(email: s.string("user"), id: s.string("user_id"))
        var inputID: SQLiteValue = .null, streamID: SQLiteValue = .null
        if let script = APIObject(s["script"])?.string("data"), !script.isEmpty {
            let blob = UUIDv5.make("blobinput:\(id)")
            inputID = .text(blob)
            try insert("blobs", [.text(blob), org, .text("session-input"), .text(JSONValue.stringArrayText([script])), .null, s.text("start_date")],
                       endpoint: "/sessions/{id}", id: id)
        }
        if let stream = s["event_stream"], stream.array.map({ !$0.isEmpty }) ?? true {
            let blob = UUIDv5.make("blobstream:\(id)")
            streamID = .text(blob)
            try insert("blobs", [.text(blob), org, .text("session-stream"), .text(stream.jsonText), .null, s.text("start_date")],
                       endpoint: "/sessions/{id}", id: id)
        }
        // The gateway layout's column order (GatewaySchema); `origin` has no API field.
        let new = try insert("sessions", [
            .text(id), org, connection.map { .text($0) } ?? .null, s.text("type"), s.text("connection_subtype"), s.json("connection_tags"),
            s.text("verb"), s.json("labels"), s.text("user_id"), s.text("user_name"), s.text("user"), s.text("status"),
            s.integer("exit_code"), inputID, streamID, s.json("metadata"), s.json("metrics"), s.json("integrations_metadata"),
            s.json("ai_analysis"), s.json("guardrails_info"), s.text("session_batch_id"), s.text("correlation_id"),
            s.text("machine_identity_id"), s.text("identity_type"), .null, s.text("start_date"), s.text("end_date"),
        ], endpoint: "/sessions/{id}", id: id)
        if new, let review = APIObject(s["review"]) { try insertReview(review, session: s, sessionID: id) }
    }

    /// A review as a session's detail gives it: the requester is the session's user (the review
    /// routes leave the requester and connection out).
    func insertReview(_ r: APIObject, session s: APIObject, sessionID: String) throws {
        guard let id = r.string("id"), !id.isEmpty else {
            note("GET \(api.basePath)/sessions/{id}", sessionID, "a review without an id is skipped")
            return
        }
        let connection = s.string("connection") ?? s.string("role_name")
        // hoop shows the duration in nanoseconds; its column holds seconds.
        var seconds: SQLiteValue = r.integer("access_duration")
        if case .int(let ns) = seconds { seconds = .int(ns / 1_000_000_000) }
        let groups = r["force_approval_groups"]?.strings
        guard try insert("reviews", [
            .text(id), s.text("org_id"), .text(sessionID), connection.flatMap { connectionIDs[$0] }.map { .text($0) } ?? .null,
            connection.map { .text($0) } ?? .null, r.text("type"), .null, .null, .null, seconds, r.text("status"),
            s.text("user_id"), s.text("user"), s.text("user_name"), .null, r.text("created_at"), r.text("revoke_at"),
            r.json("time_window"), r.text("access_request_rule_name"), r.integer("min_approvals"),
            groups.map { .text(JSONValue.stringArrayText($0)) } ?? r.json("force_approval_groups"), r.text("rejection_reason"),
        ], endpoint: "/sessions/{id}", id: id) else { return }
        for group in r["review_groups_data"]?.array ?? [] {
            guard let g = APIObject(group) else { continue }
            let by = APIObject(g["reviewed_by"])
            subject(email: by?.string("email"), id: by?.string("id"))
            try insert("review_groups", [
                g.text("id"), s.text("org_id"), .text(id), g.text("group"), g.text("status"),
                by?.text("id") ?? .null, by?.text("email") ?? .null, by?.text("name") ?? .null, by?.text("slack_id") ?? .null,
                g.text("review_date"), g.flag("forced_review"),
            ], endpoint: "/sessions/{id}", id: g.string("id") ?? id)
        }
    }

    func exists(_ table: String, _ id: String) throws -> Bool {
        try writer.db.scalarInt("SELECT COUNT(*) FROM \(table) WHERE id = ?", bind: [.text(id)]) > 0
    }

    // MARK: - Grants, metrics, audit log

    /// Approved JIT grants requested before the period that still cover part of it: sessions inside
    /// a grant carry no review of their own (hoop-store.md §5), so the reader matches them to these.
    func pullGrants() throws {
        let request = HoopAPIRequest("/reviews")
        record("reviews", request)
        let reviews = try fetch(request).array ?? []
        let start = period.start.addingTimeInterval(-86_400)
        var sessions: [String] = []
        for review in reviews {
            guard let r = APIObject(review), let id = r.string("id"), let session = r.string("session"),
                  r.string("type")?.lowercased() == "jit",
                  ["APPROVED", "PROCESSING", "EXECUTED"].contains(r.string("status")?.uppercased() ?? ""),
                  let created = r.string("created_at").flatMap(Timestamp.parse), created < period.end else { continue }
            if let until = r.string("revoke_at").flatMap(Timestamp.parse), until < start { continue }
            if try exists("reviews", id) { continue }
            sessions.append(session)
        }
        for chunk in stride(from: 0, to: sessions.count, by: batch) {
            let ids = Array(sessions[chunk..<min(chunk + batch, sessions.count)])
            let requests = ids.map { Self.detailRequest($0, expand: false) }
            record("reviews", HoopAPIRequest("/sessions/{id}"))
            for (i, response) in try api.get(requests).enumerated() {
                if response.status == 404 {
                    note("GET \(api.basePath)/sessions/{id}", ids[i], "the session of an approved JIT grant answered 404; the grant is not matched")
                    continue
                }
                guard let s = APIObject(try json(requests[i], response)), let review = APIObject(s["review"]) else { continue }
                subject(email: s.string("user"), id: s.string("user_id"))
                try insertReview(review, session: s, sessionID: ids[i])
            }
        }
    }

    /// Masking counters per session and info type, for sessions just read: asked for by their ids
    /// (`session_id`, a csv list), because the endpoint's date filters are whole days and its end date
    /// is on the session's end, not its start.
    func pullMetrics(_ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        var page = 1
        var pages = 1
        repeat {
            // One `session_id` per id: hoop's document says csv, but its query binding takes repeated
            // parameters; repeated ones read the same either way.
            let request = HoopAPIRequest("/metrics/sessions", ids.map { ("session_id", $0) } + [
                ("include_open_sessions", "true"), ("limit", "1000"), ("page", String(page)),
            ])
            record("session_metrics", HoopAPIRequest("/metrics/sessions", [("session_id", "{each id of a batch of sessions read}"),
                                                                           ("include_open_sessions", "true"), ("limit", "1000"), ("page", "{1, 2, …}")]))
            let answer = APIObject(try fetch(request))
            // `pages.total` counts pages here (rows on /audit/logs).
            pages = APIObject(answer?["pages"])?["total"]?.numberText.flatMap { Int($0) } ?? 1
            // An empty page ends the listing whatever `total` claims: a wrong total must not cost
            // thousands of empty requests.
            let items = answer?["data"]?.array ?? []
            if items.isEmpty { break }
            for item in items {
                guard let m = APIObject(item), let session = m.string("session_id"), let type = m.string("info_type"),
                      ids.contains(session) else { continue }
                try insert("session_metrics", [
                    .text(UUIDv5.make("sessionmetric:\(session):\(type)")), m.text("org_id"), .text(session), .text(type),
                    m.integer("count_masked"), m.integer("count_analyzed"), m.text("connection_type"), m.text("connection_subtype"),
                    m.text("session_created_at"), m.text("session_ended_at"),
                ], endpoint: "/metrics/sessions", id: "\(session) \(type)")
            }
            page += 1
        } while page <= min(pages, 10_000)
    }

    /// The period's changes, and earlier changes to connections, guardrails and masking (the
    /// review gate as of a session), as the database snapshot takes them; user deactivations for
    /// the users' deactivation times, which `GET /users` does not give.
    func pullAuditLog() throws {
        var seen = Set<String>()
        var total = 0
        for pass in 0..<2 {
            var page = 1
            while true {
                let request = HoopAPIRequest("/audit/logs", [
                    ("created_before", Self.wholeSecond(ceil(period.end.timeIntervalSince1970))), ("page_size", "100"), ("page", String(page)),
                ])
                record("security_audit_log", HoopAPIRequest("/audit/logs", request.query.dropLast() + [("page", "{1, 2, …}")]))
                let answer = APIObject(try fetch(request))
                total = APIObject(answer?["pages"])?["total"]?.numberText.flatMap { Int($0) } ?? 0
                let items = answer?["data"]?.array ?? []
                var new = 0
                for item in items {
                    guard let a = APIObject(item), let id = a.string("id"), seen.insert(id).inserted else { continue }
                    new += 1
                    try insertAudit(a, id: id)
                }
                // A page of nothing new past the first pass's end, or a server that ignores `page`, ends it.
                if items.count < 100 || page * 100 >= total || page >= 100_000 || (new == 0 && pass == 0 && page > 1 && seen.count >= total) { break }
                page += 1
            }
            // Equal timestamps have no tie-break order, so rows can slip between pages: page again once.
            if seen.count >= total || pass == 1 { break }
        }
        if seen.count < total {
            note("GET \(api.basePath)/audit/logs", "(all pages)", "read \(seen.count) of the \(total) audit log entries the API counts (entries with equal times moved between pages)")
        }
    }

    func insertAudit(_ a: APIObject, id: String) throws {
        subject(email: a.string("actor_email"), id: a.string("actor_subject"))
        let resource = a.string("resource_type")?.lowercased() ?? ""
        guard let created = a.string("created_at").flatMap(Timestamp.parse) else {
            note("GET \(api.basePath)/audit/logs", id, "an entry without a readable created_at is skipped")
            return
        }
        if resource == "users", a["outcome"]?.bool != false, let payload = APIObject(a["request_payload_redacted"]),
           payload.string("status")?.lowercased() == "inactive", let path = a.string("http_path"), let at = a.string("created_at") {
            deactivations.append((at, path))
        }
        let inPeriod = created >= period.start && created < period.end
        guard inPeriod || (created < period.end && ["connections", "guardrails", "data_masking"].contains(resource)) else { return }
        try insert("security_audit_log", [
            .text(id), a.text("org_id"), a.text("actor_subject"), a.text("actor_email"), a.text("actor_name"), a.text("created_at"),
            a.text("resource_type"), a.text("action"), a.text("http_method"), a.integer("http_status"), a.text("http_path"),
            a.text("client_ip"), a.json("request_payload_redacted"), a.flag("outcome"), a.text("error_message"),
        ], endpoint: "/audit/logs", id: id)
    }

    // MARK: - Directory

    /// Users and their groups. The API gives neither subject nor times: the subject comes from the
    /// user's e-mail on sessions, reviews and the audit log (else the user's id stands in), and an
    /// inactive user's deactivation time from the audit log's last update setting them inactive.
    func pullUsers() throws {
        let request = HoopAPIRequest("/users")
        record("users", request)
        record("user_groups", request)
        let org = organization.map { SQLiteValue.text($0.id) } ?? .null
        for item in try fetch(request).array ?? [] {
            guard let u = APIObject(item), let id = u.string("id"), !id.isEmpty else { continue }
            let email = u.string("email") ?? ""
            let subject = subjects[email.lowercased()] ?? id
            var deactivated: SQLiteValue = .null
            if u.string("status")?.lowercased() == "inactive" {
                let keys = [id, subject, email].filter { !$0.isEmpty }
                let matches = deactivations.filter { d in keys.contains { d.path.hasSuffix("/" + $0) } }
                if let last = matches.max(by: { (Timestamp.parse($0.at) ?? .distantPast) < (Timestamp.parse($1.at) ?? .distantPast) }) {
                    deactivated = .text(last.at)
                }
            }
            guard try insert("users", [
                .text(id), org, .text(subject), .text(email), u.text("name"), u.flag("verified"), u.text("status"), u.text("slack_id"),
                .null, deactivated,
            ], endpoint: "/users", id: id) else { continue }
            for group in (u["groups"]?.strings ?? []).sorted() {
                try writer.insert("user_groups", row: [org, .text(id), .null, .null, .null, .text(group)])
            }
        }
    }

    /// Connections with the review and masking settings only `GET /connections/{name}` gives; the
    /// reviewers and redaction types the API computes from hoop's plugins become plugin rows again.
    func pullConnections() throws {
        let list = HoopAPIRequest("/connections")
        record("connections", list)
        let names = (try fetch(list).array ?? []).compactMap { APIObject($0)?.string("name") }
        let org = organization.map { SQLiteValue.text($0.id) } ?? .null
        let plugins = ["review": UUIDv5.make("plugin:review"), "dlp": UUIDv5.make("plugin:dlp")]
        for (name, id) in plugins.sorted(by: { $0.key < $1.key }) {
            try writer.insert("plugins", row: [.text(id), org, .text(name), .null, .null, .null, .null])
        }
        record("plugins", HoopAPIRequest("/connections/{name}"))
        var tagIDs = Set<String>()
        for chunk in stride(from: 0, to: names.count, by: batch) {
            let batchNames = Array(names[chunk..<min(chunk + batch, names.count)])
            let requests = batchNames.map { HoopAPIRequest("/connections/\(Self.pathSegment($0))") }
            record("connections", HoopAPIRequest("/connections/{name}"))
            for (i, response) in try api.get(requests).enumerated() {
                if response.status == 404 {
                    note("GET \(api.basePath)/connections/{name}", batchNames[i], "listed but answered 404 on its own (deleted during the pull)")
                    continue
                }
                guard let c = APIObject(try json(requests[i], response)), let id = c.string("id"), let name = c.string("name") else { continue }
                connectionIDs[name] = id
                func array(_ key: String) -> SQLiteValue { c[key].map { .text($0.jsonText) } ?? .text("[]") }
                guard try insert("connections", [
                    .text(id), org, c.text("agent_id"), .text(name), c.text("resource_name"), c.json("command"), c.text("type"),
                    c.text("subtype"), c.text("status"), array("tags"), c.text("access_mode_runbooks"), c.text("access_mode_exec"),
                    c.text("access_mode_connect"), c.text("access_schema"), array("force_approve_groups"), c.integer("access_max_duration"),
                    c.integer("min_review_approvals"), array("mandatory_metadata_fields"), .null, .null,
                ], endpoint: "/connections/{name}", id: id) else { continue }
                for (plugin, key) in [("review", "reviewers"), ("dlp", "redact_types")] {
                    guard let config = c[key]?.strings, !config.isEmpty else { continue }
                    try writer.insert("plugin_connections", row: [
                        .text(UUIDv5.make("pluginconnection:\(plugin):\(id)")), org, .text(plugins[plugin]!), .text(id), .int(1),
                        .text(JSONValue.stringArrayText(config)), .null, .null,
                    ])
                }
                for member in APIObject(c["connection_tags"])?.object.sortedMembers ?? [] {
                    guard let value = member.value.string else { continue }
                    let tag = UUIDv5.make("connectiontag:\(member.key)=\(value)")
                    if tagIDs.insert(tag).inserted {
                        try writer.insert("connection_tags", row: [.text(tag), org, .text(member.key), .text(value), .null, .null])
                    }
                    try insert("connection_tags_association", [
                        .text(UUIDv5.make("connectiontagassociation:\(tag):\(id)")), org, .text(tag), .text(id), .null,
                    ], endpoint: "/connections/{name}", id: "\(id) \(member.key)")
                }
                for attribute in (c["attributes"]?.strings ?? []).sorted() {
                    try writer.insert("connections_attributes", row: [org, .text(name), .text(attribute)])
                }
            }
        }
        for table in ["connection_tags", "connection_tags_association", "connections_attributes", "plugin_connections"] {
            record(table, HoopAPIRequest("/connections/{name}"))
        }
    }

    /// Guardrail, masking and access request rules, with the connections and attributes they bind to.
    func pullRules() throws {
        let org = organization.map { SQLiteValue.text($0.id) } ?? .null
        let guardrails = HoopAPIRequest("/guardrails")
        for table in ["guardrail_rules", "guardrail_rules_connections", "guardrail_rules_attributes"] { record(table, guardrails) }
        for item in try fetch(guardrails).array ?? [] {
            guard let g = APIObject(item), let id = g.string("id") else { continue }
            guard try insert("guardrail_rules", [.text(id), org, g.text("name"), g.text("description"), g.json("input"), g.json("output"),
                                                 g.text("created_at"), g.text("updated_at")], endpoint: "/guardrails", id: id) else { continue }
            for connection in (g["connection_ids"]?.strings ?? []).sorted() {
                try insert("guardrail_rules_connections", [.text(UUIDv5.make("guardrailconnection:\(id):\(connection)")), org,
                                                           .text(id), .text(connection), .null], endpoint: "/guardrails", id: "\(id) \(connection)")
            }
            if let name = g.string("name") {
                for attribute in (g["attributes"]?.strings ?? []).sorted() {
                    try writer.insert("guardrail_rules_attributes", row: [org, .text(name), .text(attribute)])
                }
            }
        }
        let masking = HoopAPIRequest("/datamasking-rules")
        for table in ["datamasking_rules", "datamasking_rules_connections", "datamasking_rules_attributes"] { record(table, masking) }
        for item in try fetch(masking).array ?? [] {
            guard let m = APIObject(item), let id = m.string("id") else { continue }
            let threshold: SQLiteValue = m["score_threshold"]?.doubleValue.map { .double($0) } ?? .null
            guard try insert("datamasking_rules", [.text(id), org, m.text("name"), m.text("description"), m.json("supported_entity_types"),
                                                   m.json("custom_entity_types"), threshold, m.text("created_at"), m.text("updated_at")],
                             endpoint: "/datamasking-rules", id: id) else { continue }
            for connection in (m["connection_ids"]?.strings ?? []).sorted() {
                try insert("datamasking_rules_connections", [.text(UUIDv5.make("datamaskingconnection:\(id):\(connection)")), org,
                                                             .text(id), .text(connection), .text("active"), .null],
                           endpoint: "/datamasking-rules", id: "\(id) \(connection)")
            }
            if let name = m.string("name") {
                for attribute in (m["attributes"]?.strings ?? []).sorted() {
                    try writer.insert("datamasking_rules_attributes", row: [org, .text(name), .text(attribute)])
                }
            }
        }
        var page = 1
        while true {
            let request = HoopAPIRequest("/access-requests/rules", [("page", String(page)), ("page_size", "100")])
            let shownRequest = HoopAPIRequest("/access-requests/rules", [("page", "{1, 2, …}"), ("page_size", "100")])
            record("access_request_rules", shownRequest)
            record("access_request_rules_attributes", shownRequest)
            let answer = APIObject(try fetch(request))
            let items = answer?["data"]?.array ?? []
            for item in items {
                guard let r = APIObject(item), let id = r.string("id") else { continue }
                func array(_ key: String) -> SQLiteValue { r[key].map { .text($0.jsonText) } ?? .null }
                guard try insert("access_request_rules", [
                    .text(id), org, r.text("name"), r.text("description"), array("connection_names"), r.text("access_type"),
                    array("approval_required_groups"), r.flag("all_groups_must_approve"), array("reviewers_groups"),
                    array("force_approval_groups"), array("skip_review_groups"), r.integer("access_max_duration"), r.integer("min_approvals"),
                    r.text("created_at"), r.text("updated_at"),
                ], endpoint: "/access-requests/rules", id: id) else { continue }
                if let name = r.string("name") {
                    for attribute in (r["attributes"]?.strings ?? []).sorted() {
                        try writer.insert("access_request_rules_attributes", row: [org, .text(name), .text(attribute)])
                    }
                }
            }
            let total = APIObject(answer?["pages"])?["total"]?.numberText.flatMap { Int($0) } ?? 0
            if items.count < 100 || page * 100 >= total || page >= 10_000 { break }
            page += 1
        }
    }
}
