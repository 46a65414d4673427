import Foundation

/// C1.1, CC6.7, P4.1: on connections that must mask, no sensitive value reaches the user
/// unmasked in recorded output or errors.
final class SensitiveOutputTest: SessionTest {
    static let definition = TestDefinition(
        id: "masking.sensitive-output",
        title: "No sensitive value appears unmasked in recorded output on connections that must mask",
        population: "Sessions with recorded output on connections configured to mask or tagged as holding sensitive data",
        attributes: [AttributeDefinition("A", "The recorded output and errors hold no unmasked sensitive value")],
        parameters: [
            ParameterDefinition("sensitive_tags", .strings, default: .strings(["pci", "pii", "confidential", "phi"]),
                                "Connection tags that oblige a connection to mask"),
            ParameterDefinition("kinds", .strings, default: .strings(SensitiveData.Kind.allCases.map(\.rawValue)),
                                "Kinds of value to look for", allowed: SensitiveData.Kind.allCases.map(\.rawValue)),
        ],
        facts: [
            FactDefinition("must_mask", "Why the connection must mask"),
            FactDefinition("masking_config", "Connection masking (info types)"),
            FactDefinition("analyzer_counts", "Analyzer detected / masked (per info type)"),
            FactDefinition("output_scanned", "Recorded output scanned"),
            FactDefinition("unmasked_found", "Unmasked values found (masked here)"),
        ],
        walk: ["Sessions in the period", "Sessions with recorded output", "Sessions with recorded output on connections that must mask"],
        needs: ["output"],
        make: { SensitiveOutputTest(tags: $0.strings("sensitive_tags"), kinds: Set($0.strings("kinds").compactMap(SensitiveData.Kind.init(rawValue:)))) })

    let tags: ConnectionScope
    let kinds: Set<SensitiveData.Kind>

    init(tags: [String], kinds: Set<SensitiveData.Kind>) {
        self.tags = ConnectionScope(tags: tags)
        self.kinds = kinds
    }

    func mustMask(_ session: SessionRecord, _ context: AnalysisContext) -> Bool {
        if context.directory.connections[session.connectionName]?.masksData == true { return true }
        return !tags.tags.isEmpty && tags.includes(session, context.directory)
    }

    /// Why a connection that must mask must: its masking configuration, or its tags.
    func mustMaskReason(_ session: SessionRecord, _ context: AnalysisContext) -> String {
        if context.directory.connections[session.connectionName]?.masksData == true { return "masking configured" }
        let matched = tags.tags.intersection(tags.tagSet(of: session, context.directory)).sorted()
        return "tagged " + FactText.list(matched.map { FactText.name($0, limit: 60) }, limit: 10, separator: ", ")
    }

    /// Connections' masking configuration in words, per connection (fixed for the run).
    private let configurations = Memo<String, String>(capacity: 1_024)
    var sessions = 0, withOutput = 0, scanned = 0
    var walkCounts: [Int] { [sessions, withOutput, scanned] }

    /// How many bytes of one output event are carried into the scan of the next. A terminal
    /// writes a value in as many events as it likes (`4111 1111 ` then `1111 1111`), so each event
    /// is scanned after the tail of the ones before it: more than the longest card number, SSN,
    /// IBAN, AWS key or e-mail address even when written in fullwidth digits with invisible
    /// characters between them, and bounded, so memory does not grow with the output.
    static let carried = 256

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        guard !session.transcript.output.isEmpty else { return [] }
        withOutput += 1
        guard mustMask(session, context) else { return [] }
        scanned += 1
        var counts: [SensitiveData.Kind: Int] = [:]
        var samples: [SensitiveData.Kind: [String]] = [:]
        var firstAt: Date?
        // The tail of earlier events after the last value found in them, and where each event's
        // bytes start in it. Its first `leading` bytes are context only: the byte before the tail,
        // so a value does not seem to start at a word boundary where the tail was cut.
        var carry: [UInt8] = []
        var starts: [(offset: Int, at: Date)] = []
        var leading = 0
        for chunk in session.transcript.output {
            let joined = carry + chunk.bytes
            let segments = starts + [(carry.count, chunk.at)]
            let matches = SensitiveData.scan(joined)
            // A value inside the carried tail was judged with the event it is in; one starting in
            // it and running on into this event is new, and dated by the event where it starts.
            for match in matches where match.range.lowerBound >= leading && match.range.upperBound > carry.count && kinds.contains(match.kind) {
                counts[match.kind, default: 0] += 1
                if samples[match.kind, default: []].count < 3 { samples[match.kind, default: []].append(match.masked) }
                firstAt = firstAt ?? segments.last(where: { $0.offset <= match.range.lowerBound })?.at ?? chunk.at
            }
            let from = max(matches.last?.range.upperBound ?? 0, joined.count - Self.carried, leading)
            carry = []
            leading = 0
            if from > 0 {
                // A letter stands in for any word character: it makes no boundary and starts no value.
                carry.append(SensitiveData.isAlnum(joined[from - 1]) ? UInt8(ascii: "a") : joined[from - 1])
                leading = 1
            }
            carry += joined[from...]
            starts = []
            for (k, segment) in segments.enumerated() {
                let end = k + 1 < segments.count ? segments[k + 1].offset : joined.count
                if end > from { starts.append((max(segment.offset, from) - from + leading, segment.at)) }
            }
        }
        let connection = context.directory.connections[session.connectionName]
        var facts = [mustMaskReason(session, context), connection.map { c in configurations.value(c.name, remember: c.name.utf8.count <= 256) { MaskingFacts.configuration(c) } } ?? "connection not in the gateway's list",
                     Self.analyzerCounts(session.masking), FactText.output(session.transcript.output)]
        guard !counts.isEmpty else {
            return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass], facts: facts + ["none"])]
        }
        let found = counts.keys.sorted { $0.rawValue < $1.rawValue }
        let summary = found.map { kind in
            "\(kind.rawValue) ×\(counts[kind]!): \(samples[kind]!.joined(separator: ", "))\(counts[kind]! > 3 ? ", …" : "")"
        }.joined(separator: "; ")
        facts.append(Evidence.excerpt(summary, limit: 300))
        let e = ItemException("sensitive-data-in-output",
                              "Unmasked sensitive values in the recorded output on \(session.connectionName), which must mask (\(found.map(\.rawValue).joined(separator: ", ")))",
                              severity: .high, failed: ["A"], evidence: summary, time: firstAt)
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .fail], exceptions: [e], facts: facts)]
    }

    /// `EMAIL_ADDRESS 3/3, PHONE_NUMBER 1/0`: what the gateway's analyzer detected and masked.
    static func analyzerCounts(_ m: MaskingCounters) -> String {
        let types = Set(m.detected.keys).union(m.masked.keys).sorted()
        guard !types.isEmpty else { return "none" }
        return FactText.list(types.map { "\(FactText.name($0, limit: 60)) \(m.detected[$0] ?? 0)/\(m.masked[$0] ?? 0)" }, limit: 20, separator: ", ")
    }
}

/// CC8.1, CC6.8 (and C1.1 for masking): every change to the gateway's own configuration in the
/// period is listed; removing or disabling a protection is an exception; failed attempts are listed.
final class ConfigurationChangeTest: SessionTest {
    static let definition = TestDefinition(
        id: "changes.gateway-configuration",
        title: "Changes to the gateway's configuration are recorded, and protections stay on",
        population: "Configuration changes recorded in the period for the watched resource types",
        attributes: [
            AttributeDefinition("A", "The change does not delete or disable a protection (guardrail, masking)"),
            AttributeDefinition("B", "The change attempt succeeded (failed attempts are listed for review)"),
        ],
        parameters: [
            ParameterDefinition("resource_types", .strings,
                                default: .strings(["guardrails", "data_masking", "connections", "resources", "users", "user_groups",
                                                   "auth_config", "server_config", "api_keys", "org_keys", "service_accounts",
                                                   "machine_identities", "agents", "feature_flags",
                                                   // Teleport's (`role.*`, `lock.*`, `access_list.*`).
                                                   "roles", "locks", "access_lists"]),
                                "Resource types whose changes are in the population"),
            ParameterDefinition("protected_types", .strings, default: .strings(["guardrails", "data_masking"]),
                                "Resource types whose deletion or disabling is an exception"),
        ],
        facts: [
            FactDefinition("actor", "Actor"),
            FactDefinition("action", "Action"),
            FactDefinition("resource_type", "Resource type"),
            FactDefinition("path", "Path (masked)"),
            FactDefinition("outcome", "Outcome"),
            FactDefinition("payload", "Request body (masked)"),
        ],
        walk: ["Configuration changes in the period", "Changes to watched resource types"],
        make: { ConfigurationChangeTest(watched: Set($0.strings("resource_types")), protected: Set($0.strings("protected_types"))) })

    let watched: Set<String>
    let protected: Set<String>
    var changes = 0, watchedChanges = 0
    var walkCounts: [Int] { [changes, watchedChanges] }

    init(watched: Set<String>, protected: Set<String>) {
        self.watched = watched
        self.protected = protected
    }

    static func disables(_ payload: String) -> Bool {
        let compact = payload.lowercased().replacingOccurrences(of: " ", with: "")
        return ["\"enabled\":false", "\"status\":\"inactive\"", "\"status\":\"disabled\"", "\"active\":false", "\"rules\":[]"]
            .contains { compact.contains($0) }
    }

    func evaluate(_ change: ConfigChange, _ context: AnalysisContext) -> [ItemResult] {
        changes += 1
        guard watched.contains(change.resourceType) else { return [] }
        watchedChanges += 1
        let subject = ItemSubject(sessionID: "audit:" + change.id, identity: change.actor.display, resource: "\(change.resourceType) \(change.httpPath)", time: change.at)
        var attributes: AttributeOutcomes = ["A": .pass, "B": change.succeeded ? .pass : .fail]
        var exceptions: [ItemException] = []
        let evidence = Evidence.excerpt("\(change.action) \(change.httpPath) \(change.payload)")
        if protected.contains(change.resourceType), change.succeeded,
           change.action == "delete" || change.action == "revoke" || Self.disables(change.payload) {
            attributes["A"] = .fail
            let what = change.resourceType == "data_masking" ? "masking" : change.resourceType.replacingOccurrences(of: "_", with: " ")
            exceptions.append(ItemException("protection-removed",
                                            "\(change.actor.display) \(change.action == "delete" ? "deleted" : "disabled") \(what) configuration (\(change.httpPath))",
                                            severity: .high, failed: ["A"], evidence: evidence))
        }
        if !change.succeeded {
            exceptions.append(ItemException("failed-change",
                                            "Failed \(change.action) of \(change.resourceType) by \(change.actor.display)\(change.errorMessage.map { ": \($0)" } ?? "") (listed for review)",
                                            severity: .low, failed: ["B"], evidence: evidence))
        }
        let outcome = change.succeeded ? "succeeded"
            : "failed" + (change.errorMessage.map { ": " + Evidence.excerpt($0, limit: 200) } ?? "")
        let facts = [FactText.name(change.actor.display), FactText.name(change.action, limit: 40), FactText.name(change.resourceType, limit: 60),
                     Evidence.excerpt(change.httpPath, limit: 200), outcome, Evidence.excerpt(change.payload, limit: 200)]
        return [ItemResult(itemID: "audit:" + change.id, subject: subject, attributes: attributes, exceptions: exceptions, facts: facts)]
    }
}
