import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One scheduled alert run: analyse the window, compare with the state file, tell each control
/// owner what is new, still open and resolved, deliver, and only then advance the state, so a
/// failed delivery is repeated next time and a delivered alert is never sent twice.
public struct AlertRun {
    public enum Format: String, Sendable, CaseIterable { case text, markdown, json, slack, ocsf }

    public var report: ReportRun
    public var statePath: String
    public var format: Format = .text
    public var webhook: URL?
    public var timeout: Double = 10
    public var attempts: Int = 3
    public var lockTimeout: Double = 60
    /// Where a delivery without webhook goes (stdout in the command).
    public var print: (String) -> Void = { Swift.print($0, terminator: "") }

    public init(report: ReportRun, statePath: String) {
        self.report = report
        self.statePath = statePath
    }

    public struct Outcome: Sendable {
        public var document: AlertDocument
        public var delivered: String
    }

    /// Whether `path` is an alert state file this tool made: `--state` never turns anything else
    /// (the gateway store, a report, any SQLite file of the user's) into one.
    public static func isState(_ path: String) -> Bool {
        OutputGuard.sqliteHasTable(path, "findings") && OutputGuard.sqliteHasTable(path, "meta")
    }

    public func run() throws -> Outcome {
        try OutputGuard.checkDistinct(inputs: report.inputs, outputs: [OutputGuard.Use("--state", statePath)])
        try OutputGuard.checkReplaceableFile(statePath, option: "--state", what: "an alert state file", isOurs: Self.isState)
        let state = try AlertState(path: statePath, store: redactedStoreLocation(report.storePath), catalogSHA256: report.catalog.sha256, lockTimeout: lockTimeout)
        var committed = false
        defer { if !committed { state.rollback() } }
        var quick = report
        quick.keepPopulations = false
        let analysis = try quick.analyse().analysis
        let now = report.generatedAt
        let owners = Dictionary(uniqueKeysWithValues: report.catalog.controls.map { ($0.id, $0.owner) })
        let open = try state.openEntries()
        var current: [String: AlertState.Entry] = [:]
        var accepted: [AlertDocument.Item] = []
        for f in analysis.controls.flatMap(\.findings) {
            let entry = AlertState.Entry(fingerprint: f.fingerprint, control: f.controlID, test: f.test, item: f.itemID, reasonCode: f.reasonCode,
                                         reason: f.reason, severity: f.severity.rawValue, owner: owners[f.controlID] ?? "unassigned",
                                         identity: f.identity, resource: f.resource, time: f.time, firstSeen: now, lastSeen: now,
                                         resolvedAt: nil, deliveredAt: nil)
            if let acceptance = f.acceptedBy {
                accepted.append(AlertDocument.Item(entry, now: now, note: "accepted as \(acceptance.id) until \(acceptance.expires) (\(acceptance.ticket))"))
            } else {
                current[f.fingerprint] = entry
            }
        }
        let new = current.values.filter { open[$0.fingerprint] == nil }
        let stillOpen = current.values.compactMap { open[$0.fingerprint] }
        // Only what the window covers can be judged fixed; older findings are left as they are.
        let acceptedPrints = Set(accepted.map(\.fingerprint))
        let resolved = open.values.filter { e in
            current[e.fingerprint] == nil && report.period.contains(e.time) && !acceptedPrints.contains(e.fingerprint)
        }
        let document = AlertDocument(generatedAt: now, period: report.period, store: redactedStoreLocation(report.storePath),
                                      new: new.map { AlertDocument.Item($0, now: now) },
                                      open: stillOpen.map { AlertDocument.Item($0, now: now) },
                                      resolved: resolved.map { AlertDocument.Item($0, now: now) }, accepted: accepted)
        let body = try document.rendered(format, catalog: report.catalog)
        if let webhook {
            try post(body, to: webhook)
        } else {
            print(body)
        }
        try state.advance(new: new, stillOpen: stillOpen, resolved: resolved, at: now)
        try state.commit()
        committed = true
        return Outcome(document: document, delivered: body)
    }

    /// POSTs with a timeout, retrying a bounded number of times; only a 2xx from the URL given is
    /// success. Redirects are not followed: a 3xx is a failed delivery (following one would re-send
    /// the alert somewhere else, or, as URLSession does for some codes, without its body).
    func post(_ body: String, to url: URL) throws {
        var lastProblem = ""
        for attempt in 1...max(attempts, 1) {
            var request = URLRequest(url: url, timeoutInterval: timeout)
            request.httpMethod = "POST"
            request.setValue(format == .json || format == .slack ? "application/json" : format == .ocsf ? "application/x-ndjson" : "text/plain; charset=utf-8",
                             forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
            let result = Self.send(request)
            switch result {
            case .success(let status) where (200..<300).contains(status): return
            case .success(let status) where (300..<400).contains(status): lastProblem = "HTTP \(status): redirects are not followed"
            case .success(let status): lastProblem = "HTTP \(status)"
            case .failure(let message): lastProblem = message
            }
            if attempt < attempts { Thread.sleep(forTimeInterval: min(Double(attempt), 5)) }
        }
        throw AlertError.delivery("\(Self.shown(url)): delivery failed after \(max(attempts, 1)) attempt\(attempts == 1 ? "" : "s") (\(lastProblem)); the state was not advanced")
    }

    /// A webhook's path is its secret (Slack's is): errors and logs show the scheme and host only.
    public static func shown(_ url: URL) -> String { "\(url.scheme ?? "http")://\(url.host ?? "")/…" }

    enum SendResult { case success(Int), failure(String) }

    final class ResultBox: @unchecked Sendable {
        let lock = NSLock()
        var result: SendResult = .failure("no answer")
        func set(_ r: SendResult) { lock.lock(); result = r; lock.unlock() }
        func get() -> SendResult { lock.lock(); defer { lock.unlock() }; return result }
    }

    /// Answers every redirect with "don't": the 3xx itself then comes back as the response.
    final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    static func send(_ request: URLRequest) -> SendResult {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let session = URLSession(configuration: .ephemeral, delegate: RefuseRedirects(), delegateQueue: nil)
        let task = session.dataTask(with: request) { _, response, error in
            if let error { box.set(.failure(error.localizedDescription)) }
            else if let http = response as? HTTPURLResponse { box.set(.success(http.statusCode)) }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + request.timeoutInterval + 5) == .timedOut {
            task.cancel()
            return .failure("timed out")
        }
        session.finishTasksAndInvalidate()
        return box.get()
    }
}

/// What an alert says, grouped by the owner of each finding's control.
public struct AlertDocument: Codable, Sendable {
    public struct Item: Codable, Sendable, Equatable {
        public var fingerprint: String
        public var control: String
        public var owner: String
        public var item: String
        public var reasonCode: String
        public var reason: String
        public var severity: String
        public var identity: String
        public var resource: String
        public var time: String
        public var firstSeen: String
        public var ageDays: Int
        public var note: String?

        init(_ e: AlertState.Entry, now: Date, note: String? = nil) {
            fingerprint = e.fingerprint
            control = e.control
            owner = e.owner
            // Alerts leave the tool like reports do: through the output gate.
            item = OutputGate.text(e.item)
            reasonCode = OutputGate.text(e.reasonCode)
            reason = OutputGate.text(e.reason)
            severity = OutputGate.text(e.severity)
            identity = OutputGate.text(e.identity)
            resource = OutputGate.text(e.resource)
            time = Timestamp.format(e.time)
            firstSeen = Timestamp.format(e.firstSeen)
            let days = (now.timeIntervalSince(e.firstSeen) / 86_400).rounded(.down)
            ageDays = days.isFinite ? Int(min(max(days, 0), 1_000_000)) : 0
            self.note = note.map(OutputGate.text)
        }
    }

    public struct Group: Codable, Sendable {
        public var owner: String
        public var new: [Item]
        public var open: [Item]
        public var resolved: [Item]
        public var accepted: [Item]
    }

    public var generatedAt: String
    public var window: String
    public var store: String
    public var counts: [String: Int]
    public var groups: [Group]

    init(generatedAt: Date, period: Period, store: String, new: [Item], open: [Item], resolved: [Item], accepted: [Item]) {
        self.generatedAt = Timestamp.format(generatedAt)
        window = "\(period.label) [\(Timestamp.format(period.start)), \(Timestamp.format(period.end)))"
        self.store = store
        counts = ["new": new.count, "open": open.count, "resolved": resolved.count, "accepted": accepted.count]
        func sorted(_ items: [Item]) -> [Item] {
            items.sorted { ($0.time, $0.item, $0.reasonCode, $0.fingerprint) < ($1.time, $1.item, $1.reasonCode, $1.fingerprint) }
        }
        let owners = Set((new + open + resolved + accepted).map(\.owner)).sorted()
        groups = owners.map { o in
            Group(owner: o, new: sorted(new.filter { $0.owner == o }), open: sorted(open.filter { $0.owner == o }),
                  resolved: sorted(resolved.filter { $0.owner == o }), accepted: sorted(accepted.filter { $0.owner == o }))
        }
    }

    public var newCount: Int { counts["new"] ?? 0 }
    public var openCount: Int { counts["open"] ?? 0 }

    /// The alert in `format`; OCSF events name each control's criteria, which `catalog` holds.
    func rendered(_ format: AlertRun.Format, catalog: Catalog) throws -> String {
        switch format {
        case .json: return String(decoding: try CanonicalJSON.encode(self), as: UTF8.self)
        case .text: return text(markdown: false)
        case .markdown: return text(markdown: true)
        case .slack:
            return String(decoding: try CanonicalJSON.encode(["text": text(markdown: true, escape: Self.slackEscape)]), as: UTF8.self)
        case .ocsf:
            return try OCSFFindings.alertEvents(self, catalog: catalog)
        }
    }

    func text(markdown: Bool, escape: (String) -> String = markdownEscape) -> String {
        var out = markdown ? "## Access gateway gaps: \(window)\n\n" : "Access gateway gaps: \(window)\n"
        out += "\(counts["new"]!) new, \(counts["open"]!) still open, \(counts["resolved"]!) resolved, \(counts["accepted"]!) accepted (\(store), \(generatedAt))\n"
        if groups.isEmpty { out += "\nNothing to report.\n" }
        for g in groups {
            out += markdown ? "\n### \(g.owner)\n" : "\n\(g.owner)\n"
            for (title, items) in [("New", g.new), ("Still open", g.open), ("Resolved", g.resolved), ("Accepted", g.accepted)] where !items.isEmpty {
                out += markdown ? "\n**\(title)**\n" : "  \(title):\n"
                for i in items {
                    let age = title == "Still open" ? ", open \(i.ageDays) day\(i.ageDays == 1 ? "" : "s")" : ""
                    let line = "\(i.severity) \(i.control) \(i.reasonCode) \(i.item) (\(i.identity), \(i.resource), \(i.time)\(age)): \(i.reason)\(i.note.map { "; \($0)" } ?? "")"
                    out += markdown ? "- \(escape(line))\n" : "    - \(line)\n"
                }
            }
        }
        return out
    }

    /// Slack's mrkdwn knows no backslash escapes; links, mentions and commands start with `<`, so
    /// the three characters Slack asks to encode are encoded.
    static func slackEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Alert text is read in chat tools: keep data from becoming markup or mentions.
    static func markdownEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            if "\\`*_[]<>|#@".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
