import Foundation

/// The canonical record format (`--store jsonl:PATH`, `snapshot --format jsonl`): one JSON object per
/// line, `type` naming the record. It is the tool's own model written out, so any gateway's log can be
/// converted to it with a short script, and every reader's records round-trip through it. Published
/// as `Schemas/canonical-records.schema.json`; the README's "Canonical records" section is its guide.
///
/// Encoding and decoding sit side by side here so the two cannot drift apart.
public enum CanonicalRecords {
    public static let format = "access-evidence-records"
    public static let version = 1

    /// Record types, in the order an export writes them.
    public enum Kind: String, CaseIterable, Sendable {
        case header, identity, connection, accessRule = "access_rule", rule, policyChange = "policy_change"
        case lock, approval, session, command, output, change
        case dataQuality = "data_quality", digest
    }

    // MARK: writing

    static func actor(_ a: Actor, _ w: inout JSONObjectWriter) {
        w.string("subject", a.subject)
        if !a.email.isEmpty { w.string("email", a.email) }
        if !a.name.isEmpty { w.string("name", a.name) }
        if a.identityType != "user" { w.string("identity_type", a.identityType) }
        w.string("machine_identity_id", a.machineIdentityID)
    }

    static func header(_ h: Header) -> [UInt8] {
        var w = JSONObjectWriter(type: .header)
        w.string("format", format)
        w.int("version", version)
        w.time("exported_at", h.exportedAt)
        w.string("tool", h.tool)
        w.object("period") {
            $0.string("label", h.period.label)
            $0.time("start", h.period.start)
            $0.time("end", h.period.end)
            $0.string("time_zone", h.period.timeZone)
        }
        w.object("source") {
            $0.string("kind", h.source.kind)
            $0.string("location", redactedStoreLocation(h.source.location))
            $0.string("sha256", h.source.sha256)
            $0.string("schema_version", h.source.schemaVersion)
            if let org = h.source.organization {
                $0.object("organization") { $0.string("id", org.id); $0.string("name", org.name) }
            }
        }
        w.stringMap("unsupported", h.unsupported)
        if !h.source.absentColumns.isEmpty {
            w.array("absent_columns", h.source.absentColumns) { w, a in
                w.string("column", a.column)
                w.int("added_in", a.addedIn)
                w.string("limits", a.limits)
            }
        }
        return w.finish()
    }

    static func identity(_ u: DirectoryUser) -> [UInt8] {
        var w = JSONObjectWriter(type: .identity)
        w.string("id", u.id)
        w.string("subject", u.subject)
        w.string("email", u.email)
        w.string("name", u.name)
        w.string("status", u.status)
        w.time("created_at", u.createdAt)
        w.time("updated_at", u.updatedAt)
        w.strings("groups", u.groups)
        return w.finish()
    }

    static func connection(_ c: ConnectionConfig) -> [UInt8] {
        var w = JSONObjectWriter(type: .connection)
        w.string("id", c.id)
        w.string("name", c.name)
        w.string("connection_type", c.type)
        w.string("connection_subtype", c.subtype)
        w.strings("tags", c.tags)
        w.strings("reviewer_groups", c.reviewerGroups)
        w.strings("redact_types", c.redactTypes)
        w.strings("force_approve_groups", c.forceApproveGroups)
        w.int("min_review_approvals", c.minReviewApprovals)
        w.int("access_max_duration_sec", c.accessMaxDurationSec)
        w.time("review_plugin_since", c.reviewPluginSince)
        w.strings("attributes", c.attributes)
        w.strings("guardrail_rules", c.guardrailRules)
        w.strings("masking_rules", c.maskingRules)
        w.stringMap("access_modes", c.accessModes)
        return w.finish()
    }

    static func accessRule(_ r: AccessRule) -> [UInt8] {
        var w = JSONObjectWriter(type: .accessRule)
        w.string("id", r.id)
        w.string("name", r.name)
        w.strings("connections", r.connectionNames)
        w.strings("attributes", r.attributes)
        w.string("access_type", r.accessType)
        w.strings("approval_required_groups", r.approvalRequiredGroups)
        w.bool("all_groups_must_approve", r.allGroupsMustApprove)
        w.strings("reviewers_groups", r.reviewersGroups)
        w.strings("force_approval_groups", r.forceApprovalGroups)
        w.strings("skip_review_groups", r.skipReviewGroups)
        w.int("min_approvals", r.minApprovals)
        w.int("access_max_duration_sec", r.accessMaxDurationSec)
        w.time("created_at", r.createdAt)
        w.time("updated_at", r.updatedAt)
        return w.finish()
    }

    static func rule(id: String, name: String) -> [UInt8] {
        var w = JSONObjectWriter(type: .rule)
        w.string("id", id)
        w.string("name", name)
        return w.finish()
    }

    static func policyChange(_ p: PolicyChange) -> [UInt8] {
        var w = JSONObjectWriter(type: .policyChange)
        w.string("id", p.id)
        w.time("at", p.at)
        w.object("actor") { actor(p.actor, &$0) }
        w.string("resource_type", p.resourceType)
        w.string("action", p.action)
        w.string("target", p.target)
        if let reviewers = p.reviewers { w.strings("reviewers", reviewers, always: true) }
        w.strings("fields", p.fields)
        w.bool("succeeded", p.succeeded)
        return w.finish()
    }

    static func lock(_ l: AccessLock) -> [UInt8] {
        var w = JSONObjectWriter(type: .lock)
        w.string("id", l.id)
        w.string("user", l.user)
        w.time("from", l.from)
        w.time("until", l.until)
        w.string("by", l.by)
        w.string("message", l.message)
        return w.finish()
    }

    static func approvalFields(_ a: Approval, _ w: inout JSONObjectWriter) {
        w.string("id", a.id)
        if !a.sessionID.isEmpty { w.string("session", a.sessionID) }
        w.string("kind", a.kind.rawValue)
        w.string("status", a.status)
        w.object("requester") { actor(a.requester, &$0) }
        w.string("connection", a.connectionName)
        w.time("requested_at", a.requestedAt)
        w.time("expires_at", a.expiresAt)
        w.int("access_duration_sec", a.accessDurationSec)
        w.string("rule_name", a.ruleName)
        w.int("min_approvals", a.minApprovals)
        w.string("rejection_reason", a.rejectionReason)
        if let window = a.timeWindow {
            w.object("time_window") {
                $0.string("start", String(window.description.prefix(5)))
                $0.string("end", String(window.description.suffix(5)))
            }
        }
        w.strings("force_approval_groups", a.forceApprovalGroups)
        w.array("decisions", a.decisions, always: true) { w, d in
            w.string("id", d.id)
            w.string("group", d.group)
            w.string("status", d.status)
            if let reviewer = d.reviewer { w.object("reviewer") { actor(reviewer, &$0) } }
            w.time("decided_at", d.decidedAt)
            if d.forced { w.bool("forced", true) }
        }
    }

    static func approval(_ a: Approval) -> [UInt8] {
        var w = JSONObjectWriter(type: .approval)
        approvalFields(a, &w)
        return w.finish()
    }

    static func session(_ s: SessionRecord) -> [UInt8] {
        var w = JSONObjectWriter(type: .session)
        w.string("id", s.id)
        w.time("created_at", s.createdAt)
        w.time("ended_at", s.endedAt)
        w.string("connection", s.connectionName)
        w.string("connection_type", s.connectionType)
        w.string("connection_subtype", s.connectionSubtype)
        w.stringMap("connection_tags", s.connectionTags)
        w.string("verb", s.verb)
        w.object("actor") { actor(s.actor, &$0) }
        w.string("status", s.status)
        w.int("exit_code", s.exitCode)
        w.string("origin", s.origin)
        w.stringMap("metadata", s.metadata)
        if !s.masking.detected.isEmpty || !s.masking.masked.isEmpty {
            w.object("masking") {
                $0.intMap("detected", s.masking.detected)
                $0.intMap("masked", s.masking.masked)
            }
        }
        w.array("guardrail_hits", s.guardrailHits) { w, h in
            w.string("rule_name", h.ruleName)
            w.string("rule_type", h.ruleType)
            w.string("direction", h.direction)
            w.strings("matched_words", h.matchedWords)
            w.string("message", h.message)
        }
        if let ai = s.aiVerdict {
            w.object("ai_verdict") {
                $0.string("risk_level", ai.riskLevel)
                $0.string("action", ai.action)
                $0.string("title", ai.title)
            }
        }
        if let approval = s.approval { w.object("approval") { approvalFields(approval, &$0) } }
        if s.transcript.truncated { w.bool("truncated", true) }
        if s.transcript.recordingMissing { w.bool("recording_missing", true) }
        w.time("first_event_at", s.transcript.firstEventAt)
        if let a = s.assurance {
            w.object("assurance") {
                if let mfa = a.mfa { $0.bool("mfa", mfa) }
                $0.string("recording_mode", a.recordingMode)
                if let uploaded = a.recordingUploaded { $0.bool("recording_uploaded", uploaded) }
                if let interactive = a.interactive { $0.bool("interactive", interactive) }
                $0.strings("access_requests", a.accessRequests)
            }
            // A source that records assurance (Teleport) names each session's grants itself (its access
            // requests): they are part of the record, not matched by requester, connection and time as hoop's are.
            w.array("grants", s.jitGrants, always: true) { w, g in approvalFields(g, &w) }
        }
        return w.finish()
    }

    static func command(_ c: Command, session: String) -> [UInt8] {
        var w = JSONObjectWriter(type: .command)
        w.string("session", session)
        w.int("index", c.index)
        w.string("text", c.text)
        w.string("source", c.source == .script ? "script" : "recorded_input")
        w.time("at", c.recordedAt)
        return w.finish()
    }

    static func output(_ o: OutputChunk, session: String) -> [UInt8] {
        var w = JSONObjectWriter(type: .output)
        w.string("session", session)
        w.time("at", o.at)
        w.string("stream", o.stream == UInt8(ascii: "e") ? "e" : "o")
        if let text = String(validating: o.bytes, as: UTF8.self) {
            w.string("text", text)
        } else {
            w.string("base64", Data(o.bytes).base64EncodedString())
        }
        return w.finish()
    }

    static func change(_ c: ConfigChange) -> [UInt8] {
        var w = JSONObjectWriter(type: .change)
        w.string("id", c.id)
        w.time("at", c.at)
        w.object("actor") { actor(c.actor, &$0) }
        w.string("resource_type", c.resourceType)
        w.string("action", c.action)
        w.string("http_path", c.httpPath)
        w.string("payload", c.payload)
        w.bool("succeeded", c.succeeded)
        w.string("error_message", c.errorMessage)
        return w.finish()
    }

    static func dataQuality(_ d: DataQualityIssue) -> [UInt8] {
        var w = JSONObjectWriter(type: .dataQuality)
        w.string("table", d.table)
        w.string("column", d.column)
        w.string("row_id", d.rowID)
        w.string("problem", d.problem)
        return w.finish()
    }

    static func digest(_ tables: [String: SnapshotProvenance.TableDigest]) -> [UInt8] {
        var w = JSONObjectWriter(type: .digest)
        w.object("records") { o in
            for (kind, digest) in tables.sorted(by: { $0.key < $1.key }) {
                o.object(kind) { $0.int("rows", digest.rows); $0.string("sha256", digest.sha256) }
            }
        }
        return w.finish()
    }

    /// What an export's first line says about where its records came from.
    struct Header {
        var exportedAt: Date
        var tool: String
        var period: Period
        var source: SourceInfo
        /// Evidence the source does not record (`StoreDirectory.unsupported`).
        var unsupported: [String: String] = [:]
    }
}

/// One JSON object written byte by byte, members in the order given, absent values left out: an
/// export writes millions of lines, and an encoder per line costs more than the line.
struct JSONObjectWriter {
    private(set) var out: [UInt8] = [123]
    private var first = true

    init() {}

    init(type: CanonicalRecords.Kind) {
        string("type", type.rawValue)
    }

    private mutating func key(_ k: String) {
        if !first { out.append(44) }
        first = false
        JSONBytes.string(k, to: &out)
        out.append(58)
    }

    mutating func string(_ k: String, _ v: String?) {
        guard let v else { return }
        key(k)
        JSONBytes.string(v, to: &out)
    }

    mutating func int(_ k: String, _ v: Int?) {
        guard let v else { return }
        key(k)
        out.append(contentsOf: String(v).utf8)
    }

    mutating func bool(_ k: String, _ v: Bool) {
        key(k)
        out.append(contentsOf: (v ? "true" : "false").utf8)
    }

    mutating func time(_ k: String, _ v: Date?) {
        guard let v else { return }
        key(k)
        out.append(34)
        Timestamp.append(v, to: &out)
        out.append(34)
    }

    /// Left out when empty, unless `always` (where an empty list says something: no reviewers).
    mutating func strings(_ k: String, _ v: [String], always: Bool = false) {
        guard always || !v.isEmpty else { return }
        key(k)
        out.append(91)
        for (i, s) in v.enumerated() {
            if i > 0 { out.append(44) }
            JSONBytes.string(s, to: &out)
        }
        out.append(93)
    }

    /// Keys in code-point order, so the same map is always the same bytes.
    mutating func stringMap(_ k: String, _ v: [String: String]) {
        guard !v.isEmpty else { return }
        object(k) { o in for (key, value) in v.sorted(by: { $0.key < $1.key }) { o.string(key, value) } }
    }

    mutating func intMap(_ k: String, _ v: [String: Int]) {
        guard !v.isEmpty else { return }
        object(k) { o in for (key, value) in v.sorted(by: { $0.key < $1.key }) { o.int(key, value) } }
    }

    mutating func object(_ k: String, _ body: (inout JSONObjectWriter) -> Void) {
        key(k)
        var inner = JSONObjectWriter()
        body(&inner)
        out.append(contentsOf: inner.finish())
    }

    mutating func array<T>(_ k: String, _ items: [T], always: Bool = false, _ body: (inout JSONObjectWriter, T) -> Void) {
        guard always || !items.isEmpty else { return }
        key(k)
        out.append(91)
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(44) }
            var inner = JSONObjectWriter()
            body(&inner, item)
            out.append(contentsOf: inner.finish())
        }
        out.append(93)
    }

    func finish() -> [UInt8] { out + [125] }
}
