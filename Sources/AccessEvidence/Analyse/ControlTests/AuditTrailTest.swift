import Foundation

/// CC7.2, CC2.1: the audit trail is complete: sessions are recorded in full, closed, with
/// possible timestamps, and there is no stretch of expected activity with nothing recorded.
final class AuditTrailTest: SessionTest {
    static let definition = TestDefinition(
        id: "audit.trail-completeness",
        title: "The audit trail is complete and consistent",
        population: "Sessions started in the period, and each expected-activity day (or hour) of the period",
        attributes: [
            AttributeDefinition("A", "A recording exists for a session that ran"),
            AttributeDefinition("B", "The recording is complete (not truncated)"),
            AttributeDefinition("C", "The session was closed"),
            AttributeDefinition("D", "Timestamps are possible (end after start, nothing after the run)"),
            AttributeDefinition("E", "Activity was recorded in the expected day or hour"),
        ],
        parameters: [
            ParameterDefinition("gap_granularity", .string, default: .string("day"), "day or hour: the unit checked for missing activity", allowed: ["day", "hour"]),
            ParameterDefinition("expected_weekdays", .strings, default: .strings(["mon", "tue", "wed", "thu", "fri"]),
                                "Days of the week on which activity is expected", allowed: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            ParameterDefinition("expected_hours", .string, default: .string("00-24"), "Hours of the period's time zone in which activity is expected (HH-HH), for hour granularity"),
            ParameterDefinition("max_open", .duration, default: .duration(86_400), "How long a session may stay open before it counts as never closed"),
            ParameterDefinition("recorded_protocols", .strings,
                                default: .strings(["postgres", "mysql", "mssql", "mongodb", "oracledb", "ssh", "kubernetes", "http", "shell", "tcp", "aws-ssm"]),
                                "Protocols whose sessions must have a recording", allowed: ConnectionProtocol.allCases.map(\.rawValue)),
        ],
        facts: [
            FactDefinition("recording", "Recording"),
            FactDefinition("session_status", "Session status"),
            FactDefinition("exit_code", "Exit code"),
            FactDefinition("ended_at", "Ended at"),
            FactDefinition("unit", "Day or hour (period's time zone)"),
            FactDefinition("sessions_started", "Sessions started in it"),
        ],
        walk: ["Sessions in the period (one item each)", "Expected-activity days or hours up to the run (one item each)"],
        make: { AuditTrailTest($0) })

    let hourly: Bool
    let weekdays: Set<Int>
    let hours: Range<Int>
    let maxOpen: Double
    let recorded: Set<ConnectionProtocol>
    /// Sessions started per local day or hour (in the period's time zone): a few thousand keys at most.
    var active: [String: Int] = [:]
    var sessions = 0, units = 0
    var walkCounts: [Int] { [sessions, units] }
    var calendar: Calendar?
    var unit: Calendar.Component { hourly ? .hour : .day }

    init(_ p: TestParameters) {
        hourly = p.string("gap_granularity").lowercased() == "hour"
        let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        weekdays = Set(p.strings("expected_weekdays").compactMap { names.firstIndex(of: $0.lowercased()) })
        let parts = p.string("expected_hours").split(separator: "-").compactMap { Int($0) }
        hours = parts.count == 2 && parts[0] < parts[1] && parts[1] <= 24 ? parts[0]..<parts[1] : 0..<24
        maxOpen = p.duration("max_open")
        recorded = Set(p.strings("recorded_protocols").compactMap(ConnectionProtocol.init(rawValue:)))
    }

    /// The local day or hour `date` falls in, and that unit's bounds: sessions come in time order, so
    /// nearly all fall in the unit of the one before and skip the calendar arithmetic.
    var lastUnit: (start: Date, end: Date, label: String)?

    func unitLabel(_ date: Date) -> String {
        if let last = lastUnit, date >= last.start, date < last.end { return last.label }
        let label = Period.localLabel(date, unit, in: calendar!)
        // Every date inside one calendar unit has the unit's year, month, day (and hour): the same label.
        if let interval = calendar!.dateInterval(of: unit, for: date) { lastUnit = (interval.start, interval.end, label) }
        return label
    }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        if calendar == nil { calendar = context.period.calendar }
        active[unitLabel(session.createdAt), default: 0] += 1
        sessions += 1

        var attributes: AttributeOutcomes = ["A": .pass, "B": .pass, "C": .pass, "D": .pass]
        var exceptions: [ItemException] = []
        func raise(_ a: String, _ code: String, _ reason: String, _ severity: Severity) {
            attributes[a] = .fail
            exceptions.append(ItemException(code, reason, severity: severity, failed: [a]))
        }
        let mustRecord = recorded.contains(session.protocol) && session.ran && !session.wasBlocked
        let recording: String
        if session.transcript.recordingMissing {
            recording = "missing (no recording, or the gateway's no-log marker)"
        } else {
            recording = (session.transcript.truncated ? "truncated: " : "recorded: ") + FactText.recording(session.transcript)
        }
        let why = !recorded.contains(session.protocol) ? "not required (protocol \(session.protocol.rawValue)); "
            : !session.ran ? "not required (did not run); " : session.wasBlocked ? "not required (blocked); " : ""
        let facts = [why + recording, FactText.name(session.status, limit: 40), FactText.exitCode(session.exitCode), FactText.time(session.endedAt)]
        if !mustRecord { attributes["A"] = .notApplicable; attributes["B"] = .notApplicable }
        else if session.assurance?.recordingMode?.lowercased() == "off" {
            raise("A", "recording-off", "Recording was turned off for the session (recording mode off)", .high)
            attributes["B"] = .notApplicable
        } else if session.assurance?.recordingUploaded == false {
            raise("A", "recording-not-uploaded", "The session ended\(session.endedAt.map { " at \(Timestamp.format($0))" } ?? "") but its recording was never uploaded to the audit store", .medium)
            attributes["B"] = .notApplicable
        } else if session.transcript.recordingMissing {
            raise("A", "recording-missing", "The session ran (exit code \(session.exitCode.map(String.init) ?? "none")) but has no recording", .medium)
            attributes["B"] = .notApplicable
        } else if session.transcript.truncated {
            raise("B", "recording-truncated", "The gateway truncated the session's recording", .medium)
        }
        // A session still waiting for its approval has not started, so it cannot have been left open.
        if session.endedAt == nil, session.approval?.status != "PENDING", context.asOf.timeIntervalSince(session.createdAt) > maxOpen {
            raise("C", "never-closed", "The session started \(Timestamp.format(session.createdAt)) and was never closed", .medium)
        }
        if let ended = session.endedAt, ended < session.createdAt {
            raise("D", "impossible-timestamp", "The session ended (\(Timestamp.format(ended))) before it started", .medium)
        } else if session.createdAt > context.generatedAt || (session.endedAt.map { $0 > context.generatedAt } ?? false) {
            raise("D", "impossible-timestamp", "The session carries a time after this report was generated (\(Timestamp.format(context.generatedAt)))", .medium)
        }
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions, facts: facts)]
    }

    func finish(_ context: AnalysisContext) -> [ItemResult] {
        var out: [ItemResult] = []
        let calendar = context.period.calendar
        for (start, label) in context.period.units(unit, until: min(context.period.end, context.generatedAt)) {
            let weekday = calendar.component(.weekday, from: start) - 1
            guard weekdays.contains(weekday) else { continue }
            if hourly, !hours.contains(calendar.component(.hour, from: start)) { continue }
            units += 1
            let subject = ItemSubject(sessionID: "period:" + label, identity: "", resource: "", time: start)
            let started = active[label] ?? 0
            let facts = ["", "", "", "", label, String(started)]
            if started > 0 {
                out.append(ItemResult(itemID: "period:" + label, subject: subject, attributes: ["E": .pass], facts: facts))
            } else {
                let e = ItemException("no-activity", "No session was recorded on \(label), when activity is expected", severity: .medium, failed: ["E"])
                out.append(ItemResult(itemID: "period:" + label, subject: subject, attributes: ["E": .fail], exceptions: [e], facts: facts))
            }
        }
        return out
    }
}

/// CC7.2, CC7.3: a burst of guardrail blocks by one identity is an event someone must look at.
/// A burst the gateway blocked in full (no session in it ran) is an observation; one in which a
/// session ran is an exception.
final class GuardrailBurstTest: SessionTest {
    static let definition = TestDefinition(
        id: "detection.guardrail-bursts",
        title: "Bursts of blocked commands by one identity are detected",
        population: "Identities with guardrail blocks in the period",
        attributes: [AttributeDefinition("A", "Fewer blocks than the burst threshold within any window")],
        parameters: [
            ParameterDefinition("burst_count", .integer, default: .integer(3), "Blocks that make a burst"),
            ParameterDefinition("burst_window", .duration, default: .duration(3600), "Window the blocks fall in"),
        ],
        facts: [
            FactDefinition("blocks", "Blocks by the identity in the period"),
            FactDefinition("most_in_window", "Most blocks within one window"),
            FactDefinition("burst_from", "Burst from (first block)"),
            FactDefinition("burst_to", "Burst to (last block)"),
            FactDefinition("burst_sessions", "Sessions in the burst"),
            FactDefinition("burst_sessions_ran", "Sessions in the burst that ran"),
        ],
        walk: ["Sessions in the period", "Sessions with guardrail matches", "Identities with guardrail matches"],
        needs: ["guardrails"],
        make: { GuardrailBurstTest(count: max($0.integer("burst_count"), 2), window: $0.duration("burst_window")) })

    struct Block {
        var at: Date
        var session: String
        var connection: String
        /// The session ran through: not blocked (`SessionRecord.wasBlocked`) and with evidence of execution.
        var ran: Bool

        static func ordered(_ a: Block, _ b: Block) -> Bool { (a.at, a.session) < (b.at, b.session) }
    }

    /// Per identity: the blocks inside the sliding window (fewer than `count`: at `count` they are
    /// a burst), the first block, and the burst once found. Sessions arrive in `created_at`
    /// order, so blocks before the window can never join a burst again: memory is bounded by the
    /// identities with blocks times the burst size, not by the blocks of the period.
    struct Track {
        var blocks = 0
        var first: Block
        var window: [Block] = []
        var most = 0
        var burst: [Block]?
    }

    let count: Int
    let window: Double
    var tracks: [String: Track] = [:]
    var sessions = 0, matched = 0

    var walkCounts: [Int] { [sessions, matched, tracks.count] }

    init(count: Int, window: Double) {
        self.count = count
        self.window = window
    }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        guard !session.guardrailHits.isEmpty else { return [] }
        matched += 1
        let block = Block(at: session.createdAt, session: session.id, connection: session.connectionName,
                          ran: session.ran && !session.wasBlocked)
        let identity = session.actor.display
        guard var track = tracks[identity] else {
            tracks[identity] = Track(blocks: 1, first: block, window: [block], most: 1, burst: count <= 1 ? [block] : nil)
            return []
        }
        track.blocks += 1
        if Block.ordered(block, track.first) { track.first = block }
        if track.burst == nil { add(block, to: &track) }
        tracks[identity] = track
        return []
    }

    /// Adds a block to the window, in order (ties and a store's slightly unordered rows land where a
    /// sort puts them), drops blocks the window has passed, and keeps the first burst.
    func add(_ block: Block, to track: inout Track) {
        let at = track.window.lastIndex { !Block.ordered(block, $0) }.map { $0 + 1 } ?? 0
        track.window.insert(block, at: at)
        guard let newest = track.window.last else { return }
        var start = 0
        while newest.at.timeIntervalSince(track.window[start].at) > window { start += 1 }
        track.window.removeFirst(start)
        // In order (the usual case) only the window ending at the new block is new; a block that
        // arrived late may complete an earlier window, so then every window is looked at. Either
        // way the burst is the first window, in time order, to reach the threshold: what a sort
        // of all the identity's blocks would find first.
        var from = 0
        for end in (at >= track.window.count + start - 1 ? track.window.count - 1 : 0)..<track.window.count {
            while track.window[end].at.timeIntervalSince(track.window[from].at) > window { from += 1 }
            track.most = max(track.most, end - from + 1)
            if end - from + 1 >= count {
                track.burst = Array(track.window[from...end])
                track.window = []
                return
            }
        }
    }

    func finish(_ context: AnalysisContext) -> [ItemResult] {
        tracks.keys.sorted().map { identity in
            let track = tracks[identity]!
            guard let burst = track.burst, let first = burst.first, let last = burst.last else {
                let f = track.first
                let facts = [String(track.blocks), String(track.most), "", "", "", ""]
                return ItemResult(itemID: "identity:" + identity, subject: ItemSubject(sessionID: f.session, identity: identity, resource: f.connection, time: f.at),
                                  attributes: ["A": .pass], facts: facts)
            }
            let subject = ItemSubject(sessionID: first.session, identity: identity, resource: first.connection, time: first.at)
            let ran = burst.filter(\.ran).map(\.session)
            let facts = [String(track.blocks), String(max(track.most, burst.count)), Timestamp.format(first.at), Timestamp.format(last.at),
                         FactText.list(burst.map(\.session), limit: 20, separator: ", "),
                         ran.isEmpty ? "none (all blocked)" : FactText.list(ran, limit: 20, separator: ", ")]
            let between = "\(burst.count) commands by \(identity) were blocked between \(Timestamp.format(first.at)) and \(Timestamp.format(last.at))"
            let evidence = "sessions " + burst.map(\.session).joined(separator: ", ")
            let e = ran.isEmpty
                ? ItemException("guardrail-burst-blocked", between + "; the gateway stopped every one (listed for review)",
                                severity: .medium, failed: ["A"], evidence: evidence)
                : ItemException("guardrail-burst", between, severity: .high, failed: ["A"], evidence: evidence)
            return ItemResult(itemID: "identity:" + identity, subject: subject, attributes: ["A": .fail], exceptions: [e], facts: facts)
        }
    }
}

/// CC7.3, CC6.8: what the AI analyzer judged high-risk did not run without an approval.
final class HighRiskVerdictTest: SessionTest {
    static let definition = TestDefinition(
        id: "detection.ai-high-risk",
        title: "Sessions the AI analyzer rates high-risk run only with approval",
        population: "Sessions with an AI risk verdict of high",
        attributes: [AttributeDefinition("A", "Blocked, or run under an approval")],
        parameters: [],
        facts: [
            FactDefinition("verdict_title", "AI verdict (masked)"),
            FactDefinition("risk_level", "Risk level"),
            FactDefinition("ai_action", "AI action"),
            FactDefinition("approval", "Approval"),
            FactDefinition("outcome", "Session outcome"),
        ],
        walk: ["Sessions in the period", "Sessions with an AI verdict", "Sessions rated high-risk"],
        needs: ["ai-analysis"],
        make: { _ in HighRiskVerdictTest() })

    var sessions = 0, judged = 0, high = 0
    var walkCounts: [Int] { [sessions, judged, high] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        guard let verdict = session.aiVerdict else { return [] }
        judged += 1
        guard verdict.riskLevel.lowercased() == "high" else { return [] }
        high += 1
        let approved = session.approval?.isGranted == true || !session.jitGrants.isEmpty
        var approvals: [String] = []
        if let own = session.approval { approvals.append("\(FactText.name(own.id)) (\(FactText.name(own.status, limit: 40)))") }
        approvals += session.jitGrants.map { "JIT grant \(FactText.name($0.id))" }
        let outcome = session.wasBlocked ? "blocked" + (session.exitCode.map { " (exit code \($0))" } ?? "")
            : !session.ran ? "did not run" : "ran" + (session.exitCode.map { " (exit code \($0))" } ?? "")
        let facts = [Evidence.excerpt(verdict.title, limit: 200), FactText.name(verdict.riskLevel, limit: 40), FactText.name(verdict.action, limit: 60),
                     approvals.isEmpty ? "none" : FactText.list(approvals, limit: 5), outcome]
        if session.wasBlocked || !session.ran || approved {
            return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass], facts: facts)]
        }
        let e = ItemException("high-risk-unapproved", "The AI analyzer rated the session high-risk ('\(verdict.title)', action \(verdict.action)) and it ran without approval",
                              severity: .high, failed: ["A"], evidence: Evidence.excerpt(session.transcript.commands.first?.text ?? ""))
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .fail], exceptions: [e], facts: facts)]
    }
}
