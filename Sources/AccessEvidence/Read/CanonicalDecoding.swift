import Foundation

/// Reads one canonical record's fields into the model, checking each: a value of the wrong type, a
/// number out of range or a time that is not one becomes a data-quality issue naming the record's
/// file and line and the field, and the field is read as absent. A record missing what it cannot do
/// without (a session's id or start) is skipped by the caller, also with an issue.
struct CanonicalDecoder {
    let object: JSONObject
    let kind: String
    /// `file:line`, and the record's id once known.
    var location: String
    let note: (DataQualityIssue) -> Void

    func problem(_ field: String, _ text: String) {
        note(DataQualityIssue(table: kind, column: field, rowID: location, problem: text))
    }

    func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return value != .null
    }

    func string(_ key: String) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard case .string(let s) = value else {
            problem(key, "expected a string")
            return nil
        }
        return s
    }

    func required(_ key: String) -> String? {
        guard let s = string(key), !s.isEmpty else {
            if !has(key) { problem(key, "missing; the record is skipped") }
            else if string(key) == "" { problem(key, "empty; the record is skipped") }
            return nil
        }
        return s
    }

    func time(_ key: String) -> Date? {
        guard let text = string(key) else { return nil }
        switch GatewayRecordReader.storeTime(text) {
        case .success(let date): return date
        case .failure(let reason):
            problem(key, reason.description)
            return nil
        }
    }

    func int(_ key: String, _ range: ClosedRange<Int>) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        guard case .number(let literal) = value, let n = Int(literal) else {
            problem(key, "expected a whole number")
            return nil
        }
        guard range.contains(n) else {
            problem(key, "\(n) is outside \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return n
    }

    func bool(_ key: String) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard case .bool(let b) = value else {
            problem(key, "expected true or false")
            return nil
        }
        return b
    }

    func strings(_ key: String) -> [String]? {
        guard let value = object[key], value != .null else { return nil }
        guard let list = value.strings else {
            problem(key, "expected an array of strings")
            return nil
        }
        return list
    }

    func stringMap(_ key: String) -> [String: String] {
        guard let value = object[key], value != .null else { return [:] }
        guard case .object(let o) = value else {
            problem(key, "expected an object of strings")
            return [:]
        }
        var out: [String: String] = [:]
        for member in o.sortedMembers {
            guard case .string(let s) = member.value else {
                problem("\(key).\(member.key)", "expected a string")
                continue
            }
            out[member.key] = s
        }
        return out
    }

    func countMap(_ o: JSONObject?, _ key: String) -> [String: Int] {
        guard let o else { return [:] }
        var out: [String: Int] = [:]
        for member in o.sortedMembers {
            guard case .number(let literal) = member.value, let n = Int(literal), StoreLimits.count.contains(n) else {
                problem(key + "." + member.key, "expected a count from \(StoreLimits.count.lowerBound) to \(StoreLimits.count.upperBound)")
                continue
            }
            out[member.key] = n
        }
        return out
    }

    func nested(_ key: String) -> CanonicalDecoder? {
        guard let value = object[key], value != .null else { return nil }
        guard case .object(let o) = value else {
            problem(key, "expected an object")
            return nil
        }
        return CanonicalDecoder(object: o, kind: kind, location: location, note: note)
    }

    func objects(_ key: String) -> [CanonicalDecoder] {
        guard let value = object[key], value != .null else { return [] }
        guard case .array(let items) = value else {
            problem(key, "expected an array of objects")
            return []
        }
        var out: [CanonicalDecoder] = []
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else {
                problem("\(key)[\(i)]", "expected an object")
                continue
            }
            out.append(CanonicalDecoder(object: o, kind: kind, location: location, note: note))
        }
        return out
    }

    // MARK: records

    func actor(_ key: String) -> Actor {
        guard let a = nested(key) else { return Actor(subject: "", email: "", name: "") }
        return Actor(subject: a.string("subject") ?? "", email: a.string("email") ?? "", name: a.string("name") ?? "",
                     identityType: a.string("identity_type") ?? "user", machineIdentityID: a.string("machine_identity_id"))
    }

    func identity() -> DirectoryUser? {
        guard let subject = required("subject") else { return nil }
        return DirectoryUser(id: string("id") ?? subject, subject: subject, email: string("email") ?? "", name: string("name") ?? "",
                             status: string("status") ?? "active", createdAt: time("created_at"), updatedAt: time("updated_at"),
                             groups: strings("groups") ?? [])
    }

    func connection() -> ConnectionConfig? {
        guard let name = required("name") else { return nil }
        var c = ConnectionConfig(id: string("id") ?? name, name: name, type: string("connection_type") ?? "",
                                 subtype: string("connection_subtype") ?? "", tags: strings("tags") ?? [],
                                 reviewerGroups: strings("reviewer_groups") ?? [], redactTypes: strings("redact_types") ?? [],
                                 forceApproveGroups: strings("force_approve_groups") ?? [],
                                 minReviewApprovals: int("min_review_approvals", StoreLimits.approvals),
                                 accessMaxDurationSec: int("access_max_duration_sec", StoreLimits.durationSeconds))
        c.reviewPluginSince = time("review_plugin_since")
        c.attributes = strings("attributes") ?? []
        c.guardrailRules = strings("guardrail_rules") ?? []
        c.maskingRules = strings("masking_rules") ?? []
        c.accessModes = stringMap("access_modes")
        return c
    }

    func accessRule() -> AccessRule? {
        guard let name = required("name") else { return nil }
        return AccessRule(id: string("id") ?? name, name: name, connectionNames: strings("connections") ?? [],
                          attributes: strings("attributes") ?? [], accessType: string("access_type") ?? "",
                          approvalRequiredGroups: strings("approval_required_groups") ?? [],
                          allGroupsMustApprove: bool("all_groups_must_approve") ?? false,
                          reviewersGroups: strings("reviewers_groups") ?? [], forceApprovalGroups: strings("force_approval_groups") ?? [],
                          skipReviewGroups: strings("skip_review_groups") ?? [], minApprovals: int("min_approvals", StoreLimits.approvals),
                          accessMaxDurationSec: int("access_max_duration_sec", StoreLimits.durationSeconds),
                          createdAt: time("created_at"), updatedAt: time("updated_at"))
    }

    func policyChange() -> PolicyChange? {
        guard let id = required("id"), let at = time("at") else {
            if has("id"), !has("at") { problem("at", "missing; the record is skipped") }
            return nil
        }
        return PolicyChange(id: id, at: at, actor: actor("actor"), resourceType: string("resource_type") ?? "",
                            action: string("action") ?? "", target: string("target") ?? "", reviewers: strings("reviewers"),
                            fields: strings("fields") ?? [], succeeded: bool("succeeded") ?? true)
    }

    func lock() -> AccessLock? {
        guard let id = required("id"), let user = required("user") else { return nil }
        guard let from = time("from") else {
            if !has("from") { problem("from", "missing; the record is skipped") }
            return nil
        }
        return AccessLock(id: id, user: user, from: from, until: time("until"), by: string("by") ?? "", message: string("message") ?? "")
    }

    /// An approval request with its decisions (a record of its own, or a session's `approval`).
    func approval(sessionID: String? = nil) -> Approval? {
        guard let id = required("id") else { return nil }
        let kindText = (string("kind") ?? "").lowercased()
        guard let kind = Approval.Kind(rawValue: kindText) else {
            problem("kind", "'\(kindText)' is neither onetime nor jit; the approval is skipped")
            return nil
        }
        guard let requestedAt = time("requested_at") else {
            if !has("requested_at") { problem("requested_at", "missing; the approval is skipped") }
            return nil
        }
        var decisions: [Decision] = []
        for (k, d) in objects("decisions").enumerated() {
            let reviewer = d.nested("reviewer").map { _ in d.actor("reviewer") }
            decisions.append(Decision(id: d.string("id") ?? "\(k + 1) of \(id)", group: d.string("group") ?? "",
                                      status: (d.string("status") ?? "").uppercased(), reviewer: reviewer,
                                      decidedAt: d.time("decided_at"), forced: d.bool("forced") ?? false))
        }
        var a = Approval(id: id, sessionID: sessionID ?? string("session") ?? "", kind: kind, status: (string("status") ?? "").uppercased(),
                         requester: actor("requester"), connectionName: string("connection") ?? "", requestedAt: requestedAt,
                         expiresAt: time("expires_at"), accessDurationSec: int("access_duration_sec", StoreLimits.durationSeconds) ?? 0,
                         ruleName: string("rule_name"), minApprovals: int("min_approvals", StoreLimits.approvals),
                         rejectionReason: string("rejection_reason"), decisions: decisions)
        if let window = nested("time_window") {
            let start = window.string("start") ?? "", end = window.string("end") ?? ""
            a.timeWindow = TimeWindow(start: start, end: end)
            if a.timeWindow == nil { problem("time_window", "unreadable window '\(start)'-'\(end)'") }
        }
        a.forceApprovalGroups = strings("force_approval_groups") ?? []
        return a
    }

    /// The session line's own fields; its commands and output follow on lines of their own.
    func session() -> (SessionRecord, Transcript)? {
        guard let id = required("id") else { return nil }
        guard let createdAt = time("created_at") else {
            if !has("created_at") { problem("created_at", "missing; the session is skipped") }
            return nil
        }
        var masking = MaskingCounters()
        if let m = nested("masking") {
            masking.detected = countMap(m.nested("detected")?.object, "masking.detected")
            masking.masked = countMap(m.nested("masked")?.object, "masking.masked")
        }
        let hits = objects("guardrail_hits").map {
            GuardrailHit(ruleName: $0.string("rule_name") ?? "", ruleType: $0.string("rule_type") ?? "", direction: $0.string("direction") ?? "",
                         matchedWords: $0.strings("matched_words") ?? [], message: $0.string("message") ?? "")
        }
        let verdict = nested("ai_verdict").map {
            AIVerdict(riskLevel: $0.string("risk_level") ?? "", action: $0.string("action") ?? "", title: $0.string("title") ?? "")
        }
        let transcript = Transcript(truncated: bool("truncated") ?? false, recordingMissing: bool("recording_missing") ?? false,
                                    firstEventAt: time("first_event_at"))
        var record = SessionRecord(
            id: id, connectionName: string("connection") ?? "", connectionType: string("connection_type") ?? "",
            connectionSubtype: string("connection_subtype") ?? "", connectionTags: stringMap("connection_tags"),
            verb: string("verb") ?? "", actor: actor("actor"), status: string("status") ?? "",
            exitCode: int("exit_code", StoreLimits.exitCode), createdAt: createdAt, endedAt: time("ended_at"), origin: string("origin"),
            transcript: transcript, masking: masking, guardrailHits: hits, aiVerdict: verdict,
            approval: nested("approval")?.approval(sessionID: id), jitGrants: [], metadata: stringMap("metadata"))
        if let a = nested("assurance") {
            record.assurance = SessionAssurance(mfa: a.bool("mfa"), recordingMode: a.string("recording_mode"),
                                                recordingUploaded: a.bool("recording_uploaded"), interactive: a.bool("interactive"),
                                                accessRequests: a.strings("access_requests") ?? [])
        }
        if record.assurance != nil { record.jitGrants = objects("grants").compactMap { $0.approval() } }
        return (record, transcript)
    }

    func command() -> Command? {
        guard let text = string("text") else {
            if !has("text") { problem("text", "missing; the command is skipped") }
            return nil
        }
        let source: Command.Source
        switch string("source") ?? "recorded_input" {
        case "script": source = .script
        case "recorded_input": source = .recordedInput
        case let other:
            problem("source", "'\(other)' is neither script nor recorded_input; read as recorded_input")
            source = .recordedInput
        }
        return Command(index: int("index", 0...Int(Int32.max)) ?? 0, text: text, source: source, recordedAt: time("at"))
    }

    func output() -> OutputChunk? {
        guard let at = time("at") else {
            if !has("at") { problem("at", "missing; the output is skipped") }
            return nil
        }
        var bytes: [UInt8]
        if let text = string("text") {
            bytes = Array(text.utf8)
        } else if let encoded = string("base64") {
            guard let data = Data(base64Encoded: encoded) else {
                problem("base64", "not base64; the output is skipped")
                return nil
            }
            bytes = [UInt8](data)
        } else {
            problem("text", "neither text nor base64; the output is skipped")
            return nil
        }
        let stream = string("stream") ?? "o"
        if stream != "o", stream != "e" { problem("stream", "'\(stream)' is neither o nor e; read as o") }
        return OutputChunk(at: at, stream: stream == "e" ? UInt8(ascii: "e") : UInt8(ascii: "o"), bytes: bytes)
    }

    func change() -> ConfigChange? {
        guard let id = required("id") else { return nil }
        guard let at = time("at") else {
            if !has("at") { problem("at", "missing; the change is skipped") }
            return nil
        }
        return ConfigChange(id: id, actor: actor("actor"), at: at, resourceType: string("resource_type") ?? "",
                            action: (string("action") ?? "").lowercased(), httpPath: string("http_path") ?? "",
                            payload: string("payload") ?? "", succeeded: bool("succeeded") ?? true, errorMessage: string("error_message"))
    }
}
