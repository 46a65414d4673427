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
        make: { AuditTrailTest($0) })

    let hourly: Bool
    let weekdays: Set<Int>
    let hours: Range<Int>
    let maxOpen: Double
    let recorded: Set<ConnectionProtocol>
    /// Local days or hours (in the period's time zone) that saw a session: a few thousand at most.
    var active = Set<String>()
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

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        if calendar == nil { calendar = context.period.calendar }
        active.insert(Period.localLabel(session.createdAt, unit, in: calendar!))

        var attributes: [String: AttributeOutcome] = ["A": .pass, "B": .pass, "C": .pass, "D": .pass]
        var exceptions: [ItemException] = []
        func raise(_ a: String, _ code: String, _ reason: String, _ severity: Severity) {
            attributes[a] = .fail
            exceptions.append(ItemException(code, reason, severity: severity, failed: [a]))
        }
        let mustRecord = recorded.contains(session.protocol) && session.ran && !session.wasBlocked
        if !mustRecord { attributes["A"] = .notApplicable; attributes["B"] = .notApplicable }
        else if session.transcript.recordingMissing {
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
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions)]
    }

    func finish(_ context: AnalysisContext) -> [ItemResult] {
        var out: [ItemResult] = []
        let calendar = context.period.calendar
        for (start, label) in context.period.units(unit, until: min(context.period.end, context.generatedAt)) {
            let weekday = calendar.component(.weekday, from: start) - 1
            guard weekdays.contains(weekday) else { continue }
            if hourly, !hours.contains(calendar.component(.hour, from: start)) { continue }
            let subject = ItemSubject(sessionID: "period:" + label, identity: "", resource: "", time: start)
            if active.contains(label) {
                out.append(ItemResult(itemID: "period:" + label, subject: subject, attributes: ["E": .pass]))
            } else {
                let e = ItemException("no-activity", "No session was recorded on \(label), when activity is expected", severity: .medium, failed: ["E"])
                out.append(ItemResult(itemID: "period:" + label, subject: subject, attributes: ["E": .fail], exceptions: [e]))
            }
        }
        return out
    }
}

/// CC7.2, CC7.3: a burst of guardrail blocks by one identity is an event someone must look at.
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
        make: { GuardrailBurstTest(count: max($0.integer("burst_count"), 2), window: $0.duration("burst_window")) })

    let count: Int
    let window: Double
    /// Block times per identity: the population is blocks, a small share of sessions.
    var blocks: [String: [(Date, String, String)]] = [:]

    init(count: Int, window: Double) {
        self.count = count
        self.window = window
    }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        if !session.guardrailHits.isEmpty {
            blocks[session.actor.display, default: []].append((session.createdAt, session.id, session.connectionName))
        }
        return []
    }

    func finish(_ context: AnalysisContext) -> [ItemResult] {
        blocks.keys.sorted().map { identity in
            let times = blocks[identity]!.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            var start = 0
            for end in times.indices {
                while times[end].0.timeIntervalSince(times[start].0) > window { start += 1 }
                if end - start + 1 >= count {
                    let first = times[start]
                    let subject = ItemSubject(sessionID: first.1, identity: identity, resource: first.2, time: first.0)
                    let e = ItemException("guardrail-burst",
                                          "\(end - start + 1) commands by \(identity) were blocked between \(Timestamp.format(first.0)) and \(Timestamp.format(times[end].0))",
                                          severity: .high, failed: ["A"],
                                          evidence: "sessions " + times[start...end].map(\.1).joined(separator: ", "))
                    return ItemResult(itemID: "identity:" + identity, subject: subject, attributes: ["A": .fail], exceptions: [e])
                }
            }
            let f = times[0]
            return ItemResult(itemID: "identity:" + identity, subject: ItemSubject(sessionID: f.1, identity: identity, resource: f.2, time: f.0), attributes: ["A": .pass])
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
        make: { _ in HighRiskVerdictTest() })

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        guard let verdict = session.aiVerdict, verdict.riskLevel.lowercased() == "high" else { return [] }
        let approved = session.approval?.isGranted == true || !session.jitGrants.isEmpty
        if session.wasBlocked || !session.ran || approved {
            return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass])]
        }
        let e = ItemException("high-risk-unapproved", "The AI analyzer rated the session high-risk ('\(verdict.title)', action \(verdict.action)) and it ran without approval",
                              severity: .high, failed: ["A"], evidence: Evidence.excerpt(session.transcript.commands.first?.text ?? ""))
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .fail], exceptions: [e])]
    }
}
