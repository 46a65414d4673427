import Foundation

/// CC6.1: interactive access to production was authenticated with more than one factor — a
/// per-session MFA check, or a login with an MFA device that issued the session's certificate. Only
/// a source that records it (Teleport's `with_mfa` and `user.login`'s `mfa_device`) can feed the test.
final class SessionMFATest: SessionTest {
    static let definition = TestDefinition(
        id: "access.session-mfa",
        title: "Interactive sessions on production are authenticated with multi-factor authentication",
        population: "Interactive sessions started in the period on in-scope connections whose source records how they were authenticated",
        attributes: [AttributeDefinition("A", "The session passed a per-session MFA check, or its certificate came from a login with an MFA device")],
        parameters: [
            ParameterDefinition("scope_tags", .strings, default: .strings(["env=prod", "env=production", "prod", "production"]),
                                "Connection tags (key=value or key) that put a connection in scope; an empty list means every connection"),
        ],
        facts: [
            FactDefinition("connection", "Connection"),
            FactDefinition("verb", "Verb"),
            FactDefinition("mfa", "How MFA was shown"),
            FactDefinition("login", "Login"),
        ],
        walk: ["Sessions in the period", "Interactive sessions on in-scope connections", "Sessions whose source records MFA"],
        needs: ["mfa"],
        make: { SessionMFATest(scope: $0.strings("scope_tags")) })

    let scope: ConnectionScope
    var sessions = 0, inScope = 0, recorded = 0
    var walkCounts: [Int] { [sessions, inScope, recorded] }

    init(scope: [String]) { self.scope = ConnectionScope(tags: scope) }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        let interactive = session.assurance?.interactive ?? (session.verb == "connect")
        guard interactive, scope.includes(session, context.directory) else { return [] }
        inScope += 1
        guard let mfa = session.assurance?.mfa else { return [] }
        recorded += 1
        let facts = ["\(FactText.name(session.connectionName)) (\(session.protocol.rawValue))", FactText.name(session.verb, limit: 40),
                     mfa ? FactText.name(session.metadata["mfa"] ?? "yes") : "none recorded", FactText.name(session.metadata["login"] ?? "")]
        guard !mfa else { return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .pass], facts: facts)] }
        let e = ItemException("no-mfa", "Interactive session on \(session.connectionName) by \(session.actor.display) started \(Timestamp.format(session.createdAt)) without a per-session MFA check or a login with an MFA device",
                              severity: .high, failed: ["A"])
        return [ItemResult(itemID: session.id, subject: ItemSubject(session), attributes: ["A": .fail], exceptions: [e], facts: facts)]
    }
}

/// CC6.1, CC6.2, CC6.3: each access request a session ran under was approved before the session
/// started, had not expired by then, and was reviewed by someone other than the requester. The
/// session names its requests (Teleport's `access_requests`), so only a source that records that
/// link can feed the test.
final class AccessRequestUseTest: SessionTest {
    static let definition = TestDefinition(
        id: "approval.access-requests",
        title: "Access requests are approved by someone else before use, and not used after they expire",
        population: "Uses of access requests: each session started in the period with each access request it ran under",
        attributes: [
            AttributeDefinition("A", "The request is in the log and was approved"),
            AttributeDefinition("B", "It was approved before the session started"),
            AttributeDefinition("C", "The session started before the request expired (its expiry or maximum duration)"),
            AttributeDefinition("D", "No approver is the requester, or the session's user"),
        ],
        parameters: [],
        facts: [
            FactDefinition("request", "Access request"),
            FactDefinition("status", "Request status"),
            FactDefinition("requester", "Requester"),
            FactDefinition("requested_for", "Requested (resources or roles)"),
            FactDefinition("reviewers", "Reviewers (decision, time)"),
            FactDefinition("approved_at", "Approved at"),
            FactDefinition("expires_at", "Expires at"),
        ],
        walk: ["Sessions in the period", "Sessions that ran under an access request"],
        needs: ["access-requests"],
        make: { _ in AccessRequestUseTest() })

    var sessions = 0, underRequests = 0
    var walkCounts: [Int] { [sessions, underRequests] }

    func evaluate(_ session: SessionRecord, _ context: AnalysisContext) -> [ItemResult] {
        sessions += 1
        guard let named = session.assurance?.accessRequests, !named.isEmpty else { return [] }
        underRequests += 1
        let grants = Dictionary(session.jitGrants.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return named.map { id in
            let itemID = "\(session.id)#\(id)"
            guard let request = grants[id] else {
                let e = ItemException("request-not-found", "The session ran under access request \(id), which the log does not hold",
                                      severity: .high, failed: ["A"])
                return ItemResult(itemID: itemID, subject: ItemSubject(session),
                                  attributes: ["A": .fail, "B": .notApplicable, "C": .notApplicable, "D": .notApplicable],
                                  exceptions: [e], facts: [FactText.name(id), "not in the log", "", "", "", "", ""])
            }
            var attributes: AttributeOutcomes = ["A": .pass, "B": .pass, "C": .pass, "D": .pass]
            var exceptions: [ItemException] = []
            func raise(_ a: String, _ code: String, _ reason: String, _ severity: Severity = .high) {
                attributes[a] = .fail
                exceptions.append(ItemException(code, reason, severity: severity, failed: [a]))
            }
            let approvedAt = request.approvedAt
            if !request.isGranted {
                raise("A", request.status == "REJECTED" ? "denied-request-used" : "unapproved-request-used",
                      "The session ran under access request \(id), which was \(request.status.lowercased()) (\(request.decisions.map { "\($0.reviewer?.display ?? "unknown") \($0.status.lowercased())" }.joined(separator: ", ")))")
                attributes["B"] = .notApplicable
            } else if let approvedAt, approvedAt > session.createdAt {
                raise("B", "approved-after-use", "Access request \(id) was approved at \(Timestamp.format(approvedAt)), after the session started at \(Timestamp.format(session.createdAt))")
            } else if approvedAt == nil {
                attributes["B"] = .notApplicable
            }
            if let expires = request.expiresAt, session.createdAt >= expires {
                raise("C", "used-after-expiry", "The session started at \(Timestamp.format(session.createdAt)), after access request \(id) expired at \(Timestamp.format(expires))")
            } else if request.expiresAt == nil {
                attributes["C"] = .notApplicable
            }
            let requesters = Set([request.requester.subject, session.actor.subject].filter { !$0.isEmpty })
            for decision in request.approvingDecisions {
                if let reviewer = decision.reviewer, requesters.contains(reviewer.subject) {
                    raise("D", "self-approval", "Access request \(id) was approved by \(reviewer.display), who \(reviewer.subject == request.requester.subject ? "requested it" : "ran the session")")
                }
            }
            let reviewers = request.decisions.map { "\($0.reviewer?.display ?? "unknown") \($0.status.lowercased()) \(FactText.time($0.decidedAt))" }
                .joined(separator: "; ")
            let facts = [FactText.name(id), FactText.name(request.status, limit: 40), FactText.name(request.requester.display),
                         FactText.name(request.connectionName), FactText.name(reviewers), FactText.time(approvedAt), FactText.time(request.expiresAt)]
            return ItemResult(itemID: itemID, subject: ItemSubject(session), attributes: attributes, exceptions: exceptions, facts: facts)
        }
    }
}
