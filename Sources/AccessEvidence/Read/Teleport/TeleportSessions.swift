import Foundation

/// Assembles Teleport events into sessions by `sid` (teleport-audit.md §2). Holds only the sessions
/// open at the current log time (and those waiting for their recording's upload), so memory follows
/// how many sessions run at once, not how many the log has. Events may arrive a little out of order:
/// a command before its session's start opens the session, and the start then fills it in.
struct TeleportSessions {
    final class Partial {
        let id: String
        var createdAt: Date
        var endedAt: Date?
        var started = false
        var connection = ""
        var type = ""
        var subtype = ""
        var tags: [String: String] = [:]
        var verb = "connect"
        var actor = Actor(subject: "", email: "", name: "")
        var exitCode: Int?
        var commands: [Command] = []
        var assurance = SessionAssurance()
        var metadata: [String: String] = [:]
        /// Session events after the end (uploads) wait this long.
        var uploadDeadline: Date?

        init(id: String, createdAt: Date) {
            self.id = id
            self.createdAt = createdAt
        }
    }

    let period: Period
    let requests: [String: Approval]
    let note: (DataQualityIssue) -> Void
    /// Sessions started in the period and not yet handed over, by sid.
    private var open: [String: Partial] = [:]
    /// Ended sessions waiting for their recording's upload, by sid, and their deadlines in the order
    /// set (log time only moves forward, so that is deadline order; an entry whose session has been
    /// handed over is skipped when reached).
    private var awaiting: [String: Partial] = [:]
    private var deadlines: [(at: Date, sid: String)] = []
    private var nextDeadline = 0
    /// The latest event time seen: what a wait for an upload is measured against.
    private var clock = Date.distantPast
    /// Sessions started outside the period whose later events must not open one (by sid, until they end).
    private var outside: Set<String> = []
    /// Each user's last successful login and the MFA device it used, if any (login MFA covers the
    /// sessions of the certificate it issued).
    private var logins: [String: (at: Date, device: String?)] = [:]
    /// The longest a Teleport certificate lives (`max_session_ttl` is at most 30 hours by default).
    static let certificateLife: TimeInterval = 30 * 3_600
    private(set) var emitted = 0

    init(period: Period, requests: [String: Approval], note: @escaping (DataQualityIssue) -> Void) {
        self.period = period
        self.requests = requests
        self.note = note
    }

    /// Takes one event; returns the sessions it completes.
    mutating func add(_ e: TeleportEvent) -> [SessionRecord] {
        var done: [SessionRecord] = []
        clock = max(clock, e.time)
        // Log time has passed these sessions' wait for an upload.
        while nextDeadline < deadlines.count, clock > deadlines[nextDeadline].at {
            let sid = deadlines[nextDeadline].sid
            nextDeadline += 1
            if let p = awaiting.removeValue(forKey: sid) {
                p.assurance.recordingUploaded = false
                done.append(record(p))
            }
        }
        if nextDeadline > 4_096, nextDeadline * 2 > deadlines.count {
            deadlines.removeFirst(nextDeadline)
            nextDeadline = 0
        }
        switch e.type {
        case "session.start", "db.session.start", "app.session.start":
            guard let sid = e.sid else { break }
            // A start Teleport refused (TDB00W): nothing ran, and nothing follows it.
            guard e.succeeded else { break }
            guard period.contains(e.time) || open[sid] != nil else {
                outside.insert(sid)
                break
            }
            outside.remove(sid)
            let p = open[sid] ?? Partial(id: sid, createdAt: e.time)
            p.createdAt = min(p.createdAt, e.time)
            p.started = true
            start(p, from: e)
            open[sid] = p
        case "exec", "session.command", "db.session.query", "db.session.query.failed", "kube.request", "app.session.request":
            if let p = session(for: e) {
                command(e, into: p)
                if let code = e.int("exitCode", StoreLimits.exitCode) ?? e.int("exit_code", StoreLimits.exitCode) { p.exitCode = code }
            } else if e.sid == nil, ["exec", "kube.request"].contains(e.type), period.contains(e.time) {
                // A command outside any session (a kubectl request, an exec with no session): a session of its own.
                let p = Partial(id: e.uid ?? "\(e.type) \(Timestamp.format(e.time))", createdAt: e.time)
                p.started = true
                p.verb = "exec"
                start(p, from: e)
                command(e, into: p)
                p.exitCode = e.int("exitCode", StoreLimits.exitCode)
                p.endedAt = e.time
                done.append(record(p))
            }
        case "session.end", "db.session.end", "app.session.end":
            guard let sid = e.sid else { break }
            let startedOutside = outside.remove(sid) != nil
            guard let p = open.removeValue(forKey: sid) else {
                if !startedOutside, period.contains(e.time), !awaiting.keys.contains(sid) {
                    note(DataQualityIssue(table: "teleport", column: "sid", rowID: e.location.isEmpty ? sid : e.location,
                                          problem: "\(e.type) of session \(sid), whose start and commands are not in the log; not tested"))
                }
                break
            }
            // `session_stop` no later than the event that reports it: a stop in the future would hold the session forever.
            let stop = TeleportEvent.time(e.object["session_stop"], field: "session_stop", note: { _, _ in }).flatMap { $0 <= e.time ? $0 : nil }
            p.endedAt = max(stop ?? e.time, p.createdAt)
            if let interactive = e.bool("interactive") {
                p.assurance.interactive = interactive
                if !interactive, p.type == "application", !p.commands.isEmpty { p.verb = "exec" }
            }
            if let mode = e.nonEmpty("session_recording") { p.assurance.recordingMode = mode }
            let participants = e.strings("participants")
            if participants.count > 1 { p.metadata["participants"] = participants.joined(separator: ", ") }
            if e.type == "session.end", p.assurance.recordingUploaded != true, p.assurance.recordingMode != "off" {
                let deadline = e.time.addingTimeInterval(TeleportAuditStore.uploadWait)
                p.uploadDeadline = deadline
                awaiting[sid] = p
                deadlines.append((deadline, sid))
            } else {
                done.append(record(p))
            }
        case "session.upload":
            guard let sid = e.sid else { break }
            if let p = awaiting.removeValue(forKey: sid) {
                p.assurance.recordingUploaded = true
                done.append(record(p))
            } else if let p = open[sid] {
                p.assurance.recordingUploaded = true
            }
        case "user.login":
            if e.succeeded, let user = e.user {
                let device = e.nested("mfa_device").flatMap { $0.nonEmpty("mfa_device_name") ?? $0.nonEmpty("mfa_device_uuid") ?? "an MFA device" }
                logins[user] = (e.time, device)
            }
        case "session.join":
            if let sid = e.sid, let p = open[sid], let user = e.user, user != p.actor.subject {
                var joined = p.metadata["joined_by"].map { Set($0.components(separatedBy: ", ")) } ?? []
                joined.insert(user)
                p.metadata["joined_by"] = joined.sorted().joined(separator: ", ")
            }
        default:
            break
        }
        return done
    }

    /// Whatever is still held when the log ends: open sessions (never ended), and those waiting for
    /// an upload: not uploaded if the log went on past their wait, unknown if it ended before.
    mutating func finish() -> [SessionRecord] {
        var done: [SessionRecord] = []
        for (_, sid) in deadlines[nextDeadline...] {
            guard let p = awaiting.removeValue(forKey: sid) else { continue }
            p.assurance.recordingUploaded = clock > (p.uploadDeadline ?? clock) ? false : nil
            done.append(record(p))
        }
        deadlines = []
        for p in open.values.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) { done.append(record(p)) }
        open = [:]
        return done
    }

    /// The open session an event belongs to; a session event of the period whose start was not seen opens one.
    private mutating func session(for e: TeleportEvent) -> Partial? {
        guard let sid = e.sid, !outside.contains(sid) else { return nil }
        if let p = open[sid] { return p }
        guard period.contains(e.time) else { return nil }
        note(DataQualityIssue(table: "teleport", column: "sid", rowID: e.location.isEmpty ? sid : e.location,
                              problem: "\(e.type) of session \(sid), whose session.start is not in the log; the session starts at its first event"))
        let p = Partial(id: sid, createdAt: e.time)
        start(p, from: e)
        open[sid] = p
        return p
    }

    /// Who, where and how, from a start event (or the first event of a session whose start is missing).
    private func start(_ p: Partial, from e: TeleportEvent) {
        if let user = e.user { p.actor = e.actor(user) }
        if let db = e.nonEmpty("db_service") {
            p.connection = db
            p.type = "database"
            p.subtype = Self.databaseProtocol(e.nonEmpty("db_protocol") ?? "")
            p.tags = e.labels("db_labels")
        } else if let app = e.nonEmpty("app_name") {
            p.connection = app
            p.type = "httpproxy"
            p.subtype = "httpproxy"
            p.tags = e.labels("app_labels")
        } else if let cluster = e.nonEmpty("kubernetes_cluster"), e.nonEmpty("server_hostname") == nil || e.type == "kube.request" {
            p.connection = cluster
            p.type = "custom"
            p.subtype = "kubernetes"
            p.tags = e.labels("kubernetes_labels")
        } else {
            p.connection = e.nonEmpty("server_hostname") ?? e.nonEmpty("server_id") ?? e.nonEmpty("server_addr") ?? ""
            p.type = "application"
            p.subtype = "ssh"
            p.tags = e.labels("server_labels")
        }
        let initial = e.strings("initial_command").filter { !$0.isEmpty }
        if !initial.isEmpty {
            p.verb = "exec"
            p.metadata["initial_command"] = initial.joined(separator: " ")
        }
        // `with_mfa` names the MFA device a per-session check used; a login with an MFA device within a
        // certificate's life before the session covers it too.
        if let device = e.nonEmpty("with_mfa") {
            p.assurance.mfa = true
            p.metadata["mfa"] = "per-session MFA (device \(device))"
        } else if let login = logins[p.actor.subject], login.at <= e.time, e.time.timeIntervalSince(login.at) <= Self.certificateLife,
                  let device = login.device {
            p.assurance.mfa = true
            p.metadata["mfa"] = "login with MFA (\(device)) at \(Timestamp.format(login.at))"
        } else if p.assurance.mfa == nil {
            p.assurance.mfa = false
        }
        if let mode = e.nonEmpty("session_recording") { p.assurance.recordingMode = mode }
        let requested = e.strings("access_requests")
        if !requested.isEmpty { p.assurance.accessRequests = requested }
        if let login = e.nonEmpty("login") ?? e.nonEmpty("db_user") { p.metadata["login"] = login }
        if let impersonator = e.nonEmpty("impersonator") { p.metadata["impersonator"] = impersonator }
        if let remote = e.nonEmpty("addr.remote") { p.metadata["remote_address"] = remote }
    }

    static func databaseProtocol(_ teleport: String) -> String {
        switch teleport.lowercased() {
        case "sqlserver": return "mssql"
        case "oracle": return "oracledb"
        default: return teleport.lowercased()
        }
    }

    /// The command an event records, in the form the classifiers read for the session's protocol.
    private func command(_ e: TeleportEvent, into p: Partial) {
        let text: String?
        switch e.type {
        case "exec":
            text = e.nonEmpty("command")
        case "session.command":
            let argv = e.strings("argv")
            let program = e.nonEmpty("path") ?? e.nonEmpty("program")
            text = program.map { ([$0] + argv).joined(separator: " ") }
        case "db.session.query", "db.session.query.failed":
            // A failed or denied query did not run.
            guard e.type == "db.session.query", e.succeeded else {
                p.metadata["queries_not_run", default: "0"] = String((Int(p.metadata["queries_not_run"] ?? "0") ?? 0) + 1)
                return
            }
            text = e.nonEmpty("db_query")
        case "kube.request":
            let verb = (e.nonEmpty("verb") ?? "GET").uppercased()
            text = e.nonEmpty("request_path").map { "\(verb) \($0)" }
        case "app.session.request":
            let method = (e.nonEmpty("method") ?? "GET").uppercased()
            text = e.nonEmpty("path").map { "\(method) \($0)" + (e.nonEmpty("raw_query").map { "?\($0)" } ?? "") }
        default:
            text = nil
        }
        guard let text else {
            note(DataQualityIssue(table: "teleport", column: e.type == "exec" ? "command" : e.type, rowID: e.location.isEmpty ? p.id : e.location,
                                  problem: "\(e.type) of session \(p.id) names no command; not tested"))
            return
        }
        p.commands.append(Command(index: p.commands.count, text: text, source: .recordedInput, recordedAt: e.time))
    }

    /// The finished record; its approvals are the access requests it names.
    private mutating func record(_ p: Partial) -> SessionRecord {
        emitted += 1
        var grants: [Approval] = []
        for id in p.assurance.accessRequests {
            guard var grant = requests[id] else {
                note(DataQualityIssue(table: "teleport", column: "access_requests", rowID: p.id,
                                      problem: "session \(p.id) ran under access request \(id), which is not in the log"))
                continue
            }
            grant.sessionID = p.id
            grants.append(grant)
        }
        let status = p.endedAt == nil ? "open" : "done"
        var record = SessionRecord(
            id: p.id, connectionName: p.connection, connectionType: p.type, connectionSubtype: p.subtype, connectionTags: p.tags,
            verb: p.verb, actor: p.actor, status: status, exitCode: p.exitCode, createdAt: p.createdAt, endedAt: p.endedAt, origin: nil,
            transcript: Transcript(commands: p.commands,
                                   recordingMissing: p.assurance.recordingMode == "off" || p.assurance.recordingUploaded == false),
            masking: MaskingCounters(), guardrailHits: [], aiVerdict: nil, approval: grants.first, jitGrants: grants,
            metadata: p.metadata)
        record.assurance = p.assurance
        return record
    }
}
