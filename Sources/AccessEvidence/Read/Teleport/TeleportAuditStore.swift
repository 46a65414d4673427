import Crypto
import Foundation

/// Reads Teleport's audit log (`--store teleport:PATH`; see `TeleportInput`) into the records every
/// other reader gives (teleport-audit.md §2): sessions assembled by `sid` from their start, command,
/// end and upload events; approvals from `access_request.*`, joined through the `access_requests` each
/// session names; identities from `user.*` and logins; configuration changes from `role.*`, `user.*`,
/// `lock.*` and access-list events. The log is only read.
///
/// Two passes over the files in time order: the first takes what sessions are judged against (users,
/// access requests, the period's changes, counts), the second assembles the sessions. A session is
/// handed over when it ends (an interactive one once its recording's upload is seen, or an hour of log
/// time later without it); one still open when the log ends is handed over open. Memory holds the
/// sessions open at one moment, the users and the access requests, not the log.
public final class TeleportAuditStore: GatewayStore {
    public static let scheme = "teleport:"

    let input: TeleportInput
    fileprivate(set) var log = DataQualityLog()
    private var scanned: (period: Period, scan: Scan)?
    private var tally: SessionTally?

    /// How long after an interactive session's end its recording's upload is waited for, in log time.
    static let uploadWait: TimeInterval = 3_600

    struct Scan {
        var users: [String: DirectoryUser] = [:]
        var requests: [String: Approval] = [:]
        var changes: [ConfigChange] = []
        var locks: [AccessLock] = []
        /// Reviews and updates met before their request's creation (an export not in time order), by request id.
        var early: [String: [TeleportEvent]] = [:]
        /// Events read, by type.
        var counts: [String: Int] = [:]
        /// Session starts (and sessionless commands) in the period: the plain count.
        var startsInPeriod = 0
        var hashed: [String] = []
    }

    public static func isTeleport(_ location: String) -> Bool { location.hasPrefix(scheme) }

    /// `location` is what follows `teleport:`.
    public init(location: String) throws {
        input = try TeleportInput(location: location)
        // The first file opened now, so an unreadable one is the first thing said.
        if let first = input.files.first { _ = try LineFile(path: first.path, what: TeleportInput.what) }
    }

    public var dataQuality: [DataQualityIssue] { log.issues }

    var shownLocation: String { input.location == "-" ? "standard input" : input.location }

    /// One file's events, one at a time: lines that are no event are noted (when `noting`) and skipped.
    final class EventCursor {
        let file: LineFile
        let notes: TeleportEvent.Notes?
        unowned let store: TeleportAuditStore

        init(_ entry: TeleportInput.File, store: TeleportAuditStore, noting: Bool) throws {
            // The first pass reads each file to its end as it is then, and hashes it; later passes read
            // no further, so a log still being written is analysed as one state, the one hashed.
            let pinned = store.pinned[entry.path]
            file = try LineFile(path: entry.path, what: TeleportInput.what, limit: pinned, hashing: pinned == nil)
            let shown = store.input.location == "-" ? "-" : entry.path
            notes = noting ? TeleportEvent.Notes(file: shown, sink: { [unowned store] in store.log.note($0) }) : nil
            self.store = store
        }

        /// The latest event time of the file so far: an event well before it is out of order.
        var latest = Date.distantPast
        var saidOutOfOrder = false
        /// Lines whose sniffed type `skip` rejects are only counted (`skipped`), not parsed.
        var skip: ((String) -> Bool)?
        var skipped: [String: Int] = [:]

        func next() throws -> TeleportEvent? {
            while let line = try file.next() {
                let number = file.lineNumber
                let note = { [notes] (field: String, problem: String) -> Void in notes?.note(line: number, field, problem) }
                switch line {
                case .tooLong(let bytes):
                    note("json", "a line of \(bytes) bytes, longer than \(LineFile.maximumBytes) bytes; skipped")
                case .text(let bytes, let terminated):
                    if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                    if terminated, let skip, let type = TeleportEvent.sniffType(bytes), skip(type) {
                        skipped[type, default: 0] += 1
                        continue
                    }
                    if !terminated, (try? JSONValue.parse(String(decoding: bytes, as: UTF8.self))) == nil {
                        note("json", "the last line ends without a newline and is not complete JSON (the log may still be being written); skipped")
                        continue
                    }
                    if let event = TeleportEvent.read(bytes, number: number, notes: notes) {
                        // Sessions and requests are assembled in time order; a file out of it (an unsorted
                        // export) is said, so what depends on order is read with that in mind.
                        if !saidOutOfOrder, event.time < latest.addingTimeInterval(-300) {
                            saidOutOfOrder = true
                            note("time", "\(Timestamp.format(event.time)) is more than five minutes before an earlier line's \(Timestamp.format(latest)): the file is not in time order (sort an export by time first); later lines out of order are not listed")
                        }
                        latest = max(latest, event.time)
                        return event
                    }
                }
            }
            return nil
        }
    }

    /// Every event of `files`, in time order: the files of one day (one per auth server) are merged by
    /// event time, so a session whose events several auth servers wrote is assembled whole; days follow
    /// each other. Within a file, events are taken in the order written.
    /// Bytes of each file the first pass read, by path: how far later passes read.
    var pinned: [String: Int] = [:]
    /// The SHA-256 of each file's bytes as the first pass read them (after decompression), by path.
    var digests: [String: String] = [:]

    func forEachEvent(_ files: [TeleportInput.File], noting: Bool, skip: ((String) -> Bool)? = nil, skipped: ((String, Int) -> Void)? = nil,
                      _ body: (TeleportEvent) throws -> Void) throws {
        var start = 0
        while start < files.count {
            var end = start + 1
            while end < files.count, let day = files[start].day, files[end].day == day { end += 1 }
            let cursors = try files[start..<end].map { try EventCursor($0, store: self, noting: noting) }
            for cursor in cursors { cursor.skip = skip }
            defer {
                for cursor in cursors {
                    for (type, n) in cursor.skipped.sorted(by: { $0.key < $1.key }) { skipped?(type, n) }
                    if pinned[cursor.file.path] == nil, let digest = cursor.file.sha256() {
                        pinned[cursor.file.path] = cursor.file.consumed
                        digests[cursor.file.path] = Hex.encode(digest)
                    }
                }
            }
            var heads = try cursors.map { try $0.next() }
            while true {
                // The earliest head; ties go to the first file, so the order is fixed.
                var pick: Int?
                for (i, head) in heads.enumerated() {
                    guard let head else { continue }
                    if let p = pick, let current = heads[p], current.time <= head.time { continue }
                    pick = i
                }
                guard let i = pick, let event = heads[i] else { break }
                try body(event)
                heads[i] = try cursors[i].next()
            }
            start = end
        }
    }

    // MARK: the first pass

    func scan(_ period: Period) throws -> Scan {
        if let scanned, scanned.period == period { return scanned.scan }
        var s = Scan()
        let files = input.files(for: period, history: true)
        s.hashed = files.map(\.path)
        // A hostile log could name millions of event types: past a thousand, they are counted together.
        func count(_ type: String, _ n: Int) {
            if s.counts[type] != nil || s.counts.count < 1_000 { s.counts[type, default: 0] += n } else { s.counts["(other event types)", default: 0] += n }
        }
        // What this pass does not use is only counted: most of a log is session events, which the next pass reads.
        try forEachEvent(files, noting: true, skip: { !Self.scanned.contains($0) && !Self.scannedPrefixes.contains(where: $0.hasPrefix) }, skipped: count) { e in
            count(e.type, 1)
            let inPeriod = period.contains(e.time)
            if ["user.create", "user.update", "user.delete"].contains(e.type), !e.succeeded {
                // A refused change changed nothing; it is still a change attempt of the period.
                if inPeriod { s.changes.append(change(e, resource: "users", target: e.nonEmpty("name") ?? "")) }
                return
            }
            switch e.type {
            case "session.start", "db.session.start", "app.session.start":
                if inPeriod, e.succeeded { s.startsInPeriod += 1 }
            case "exec", "kube.request":
                if inPeriod, e.sid == nil { s.startsInPeriod += 1 }
            case "user.create", "user.update":
                guard let name = e.nonEmpty("name") else { return e.note("name", "the user's name is missing; skipped") }
                var user = s.users[name] ?? DirectoryUser(id: name, subject: name, email: name.contains("@") ? name : "", name: name,
                                                          status: "active", createdAt: e.time, updatedAt: e.time, groups: [])
                if e.type == "user.create" { user.createdAt = e.time }
                user.status = "active"
                user.updatedAt = e.time
                let roles = e.strings("roles")
                if !roles.isEmpty || e.type == "user.create" { user.groups = roles.sorted() }
                s.users[name] = user
                if inPeriod { s.changes.append(change(e, resource: "users", target: name)) }
            case "user.delete":
                guard let name = e.nonEmpty("name") else { return e.note("name", "the user's name is missing; skipped") }
                var user = s.users[name] ?? DirectoryUser(id: name, subject: name, email: name.contains("@") ? name : "", name: name,
                                                          status: "inactive", createdAt: nil, updatedAt: e.time, groups: [])
                user.status = "inactive"
                user.updatedAt = e.time
                s.users[name] = user
                if inPeriod { s.changes.append(change(e, resource: "users", target: name)) }
            case "user.login":
                // A login makes a user known; it says nothing of their status.
                guard e.succeeded, let name = e.user, s.users[name] == nil else { return }
                s.users[name] = DirectoryUser(id: name, subject: name, email: name.contains("@") ? name : "", name: name,
                                              status: "active", createdAt: nil, updatedAt: nil, groups: e.strings("roles").sorted())
            case "access_request.create", "access_request.review", "access_request.update", "access_request.delete", "access_request.expire":
                request(e, into: &s)
            case "role.created", "role.updated", "role.deleted", "role.create", "role.update", "role.delete":
                if inPeriod { s.changes.append(change(e, resource: "roles", target: e.nonEmpty("name") ?? "")) }
            case "lock.created", "lock.deleted":
                let target = e.nested("lock")?.nested("target")?.nonEmpty("user") ?? e.nested("target")?.nonEmpty("user")
                let name = e.nonEmpty("name") ?? e.uid ?? ""
                if e.type == "lock.created", let target, e.succeeded {
                    // Teleport writes a lock without expiry as the zero time (0001-01-01); a real expiry at or
                    // before the lock's creation means it never held.
                    let expires: Date?
                    switch e.object["expires"] {
                    case .string(let text)? where text.hasPrefix("0001-01-01"): expires = nil
                    case nil, .null?: expires = nil
                    default: expires = TeleportEvent.time(e.object["expires"], field: "expires", note: e.note)
                    }
                    if expires.map({ $0 > e.time }) ?? true {
                        s.locks.append(AccessLock(id: name, user: target, from: e.time, until: expires, by: e.nonEmpty("updated_by") ?? e.user ?? "",
                                                  message: e.nested("lock")?.nonEmpty("message") ?? e.nonEmpty("message") ?? ""))
                    }
                } else if e.type == "lock.deleted", e.succeeded {
                    for i in s.locks.indices where s.locks[i].id == name && s.locks[i].holds(at: e.time) { s.locks[i].until = e.time }
                }
                if inPeriod { s.changes.append(change(e, resource: "locks", target: target ?? name)) }
            default:
                if e.type.hasPrefix("access_list."), inPeriod {
                    s.changes.append(change(e, resource: "access_lists", target: e.nonEmpty("access_list_name") ?? e.nonEmpty("name") ?? ""))
                }
            }
        }
        for (id, events) in s.early.sorted(by: { $0.key < $1.key }) {
            if let first = events.first { first.note("id", "\(events.count) event\(events.count == 1 ? "" : "s") of access request \(id), whose creation is not in the log; not used") }
        }
        s.early = [:]
        s.changes.sort { ($0.at, $0.id) < ($1.at, $1.id) }
        scanned = (period, s)
        return s
    }

    /// The event types the first pass reads (the rest it only counts).
    static let scanned: Set<String> = ["session.start", "db.session.start", "app.session.start", "exec", "kube.request", "user.login"]
    static let scannedPrefixes = ["user.", "access_request.", "role.", "lock.", "access_list."]

    func change(_ e: TeleportEvent, resource: String, target: String) -> ConfigChange {
        let action: String
        switch e.type.split(separator: ".").last.map(String.init) ?? "" {
        case "created", "create", "add": action = "create"
        case "deleted", "delete": action = "delete"
        default: action = "update"
        }
        return ConfigChange(id: e.uid ?? "\(e.type) \(Timestamp.format(e.time))", actor: e.actor(e.user ?? ""), at: e.time,
                            resourceType: resource, action: action, httpPath: e.type, payload: target,
                            succeeded: e.succeeded, errorMessage: e.nonEmpty("error"))
    }

    /// Access requests with their reviews, by id: the grants sessions name in `access_requests`.
    func request(_ e: TeleportEvent, into s: inout Scan) {
        guard let id = e.nonEmpty("id") else { return e.note("id", "the access request's id is missing; skipped") }
        // A review or update before the creation (an export not in time order) waits for it, a bounded few.
        if e.type != "access_request.create", s.requests[id] == nil {
            if s.early.count < 100_000, (s.early[id]?.count ?? 0) < 100 { s.early[id, default: []].append(e) }
            else { e.note("id", "a \(e.type) of access request \(id), whose creation is not in the log; not used") }
            return
        }
        switch e.type {
        case "access_request.create":
            let resources = e.object["resource_ids"]?.array?.compactMap { $0.object?["name"]?.string } ?? []
            let roles = e.strings("roles")
            let target = !resources.isEmpty ? resources.joined(separator: ", ") : roles.isEmpty ? "" : "roles " + roles.joined(separator: ", ")
            let ends = [TeleportEvent.time(e.object["expires"], field: "expires", note: { _, _ in }),
                        TeleportEvent.time(e.object["max_duration"], field: "max_duration", note: { _, _ in })]
                .compactMap { $0 }.filter { $0 > e.time }
            let expires = ends.min()
            var approval = Approval(id: id, sessionID: "", kind: .jit, status: Self.state(e.string("state") ?? "PENDING"),
                                    requester: e.actor(e.user ?? ""), connectionName: target, requestedAt: e.time, expiresAt: expires,
                                    accessDurationSec: expires.map { Int($0.timeIntervalSince(e.time)) } ?? 0, ruleName: nil,
                                    minApprovals: nil, rejectionReason: nil, decisions: s.requests[id]?.decisions ?? [])
            if let earlier = s.requests[id], earlier.status != "PENDING" { approval.status = earlier.status }
            s.requests[id] = approval
            for later in s.early.removeValue(forKey: id) ?? [] { request(later, into: &s) }
        case "access_request.review":
            guard var approval = s.requests[id] else { return }
            let reviewer = e.nonEmpty("reviewer") ?? e.user ?? ""
            let proposed = Self.state(e.string("proposed_state") ?? "")
            let group = s.users[reviewer]?.groups.first ?? ""
            approval.decisions.append(Decision(id: e.uid ?? "\(id) review \(approval.decisions.count + 1)", group: group, status: proposed,
                                               reviewer: e.actor(reviewer), decidedAt: e.time, forced: false))
            if let state = e.nonEmpty("state") { approval.status = Self.state(state) }
            if approval.status == "REJECTED" { approval.rejectionReason = e.nonEmpty("reason") }
            s.requests[id] = approval
        case "access_request.update":
            guard let state = e.nonEmpty("state"), var approval = s.requests[id] else { return }
            approval.status = Self.state(state)
            // Approved or denied directly (`tctl request approve`): a decision by whoever made the update.
            if ["APPROVED", "REJECTED"].contains(approval.status), let by = e.nonEmpty("updated_by") ?? e.user {
                approval.decisions.append(Decision(id: e.uid ?? "\(id) update \(approval.decisions.count + 1)", group: s.users[by]?.groups.first ?? "",
                                                   status: approval.status, reviewer: e.actor(by), decidedAt: e.time, forced: false))
            }
            s.requests[id] = approval
        default:
            // Deleted or expired: a request still pending is withdrawn; one already decided keeps its decision.
            if s.requests[id]?.status == "PENDING" { s.requests[id]?.status = "REVOKED" }
        }
    }

    /// Teleport's request states as the tests read approval statuses.
    static func state(_ teleport: String) -> String {
        switch teleport.uppercased() {
        case "APPROVED", "PROMOTED": return "APPROVED"
        case "DENIED": return "REJECTED"
        case "PENDING", "": return "PENDING"
        case let other: return other
        }
    }

    // MARK: GatewayStore

    public func organizations(in period: Period) throws -> [StoreOrganization] {
        _ = try scan(period)
        return []
    }

    /// A Teleport cluster is one organization; there is nothing to choose.
    public func select(organization: StoreOrganization, filter: Bool) {}

    public func loadDirectory(for period: Period) throws -> StoreDirectory {
        let s = try scan(period)
        var directory = StoreDirectory(users: s.users, connections: [:])
        directory.unsupported = Self.unsupported
        directory.locks = s.locks
        return directory
    }

    /// What Teleport's audit log holds no evidence of, and why.
    static let unsupported: [String: String] = [
        "masking": "Teleport does not mask data in sessions, so its audit log records no masking",
        "output": "Teleport's audit log holds no session output (recordings are stored apart, as protobuf streams)",
        "guardrails": "Teleport has no command guardrails; its audit log records none",
        "ai-analysis": "Teleport's audit log records no AI risk analysis of sessions",
        "connection-policy": "Teleport's audit log does not record which resources need an approval or who reviews them (that is in its roles)",
    ]

    public func countSessions(in period: Period) throws -> (count: Int, query: String) {
        (try scan(period).startsInPeriod,
         "successful session.start, db.session.start and app.session.start events, and exec and kube.request events outside a session, with time in [\(Timestamp.format(period.start)), \(Timestamp.format(period.end)))")
    }

    public func forEachGrant(in period: Period, _ body: (Approval) throws -> Void) throws {
        // Teleport's grants are named by each session (`access_requests`) and travel with it.
    }

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        for change in try scan(period).changes { try body(change) }
    }

    public func forEachSession(in period: Period, _ body: (consuming SessionRecord) throws -> Void) throws {
        let s = try scan(period)
        var assembler = TeleportSessions(period: period, requests: s.requests, note: { [unowned self] in log.note($0) })
        // Noting again: what the first pass met is listed once (`DataQualityLog`), and the session
        // events' own fields are read only here.
        try forEachEvent(input.files(for: period, history: false), noting: true) { e in
            for session in assembler.add(e) { try body(session) }
        }
        for session in assembler.finish() { try body(session) }
        var tally = SessionTally()
        tally.add(.tested, counted: true, assembler.emitted)
        self.tally = tally
    }

    /// One SHA-256 for the log: over the files' own, in the order read (a file's is over its events'
    /// bytes as read, after decompression, as far as the first pass read it).
    static func combined(_ digests: [String]) -> String {
        digests.count == 1 ? digests[0] : Hex.encode(SHA256.hash(data: Data(digests.joined(separator: "\n").utf8)))
    }

    public func describe() throws -> SourceInfo {
        guard let (period, s) = scanned else { throw StoreError.refused(path: shownLocation, reason: "described before it was read") }
        var info = SourceInfo(kind: "teleport", location: input.location == "-" ? "-" : input.location,
                              sha256: Self.combined(s.hashed.map { digests[$0] ?? "" }), rowCounts: s.counts, schemaVersion: nil)
        let days = input.files.contains { $0.day != nil }
            ? "the dir backend's files up to the day after the period (\(s.hashed.count) read); sessions from the files of the day before the period on"
            : "every event of \(shownLocation)"
        info.queries = [
            "sessions": "session.start, db.session.start and app.session.start events with time in [\(Timestamp.format(period.start)), \(Timestamp.format(period.end))), joined by sid with their exec, session.command, db.session.query, kube.request, app.session.request, session.end and session.upload events, and exec and kube.request events outside a session; \(days)",
            "jit_grants": "access_request.create, .review, .update, .delete and .expire events, joined to sessions through their access_requests",
            "configuration_changes": "role.*, user.create, user.update, user.delete, lock.* and access_list.* events with time in the period",
        ]
        info.sessionTally = tally
        return info
    }
}
