@testable import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// A one-thread HTTP server on 127.0.0.1 that records request bodies and answers with the
/// next status from a script (then 200). It stops after `limit` requests or when closed.
final class LoopbackServer: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var statuses: [Int]
    private(set) var bodies: [String] = []
    private var thread: Thread?

    struct SetupError: Error {}

    /// Sent as `Location` with 3xx answers, so a client that follows redirects would go there.
    let location: String?

    init(statuses: [Int], limit: Int = 20, location: String? = nil) throws {
        self.statuses = statuses
        self.location = location
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
        guard bound == 0, listen(sock, 8) == 0 else { close(sock); throw SetupError() }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        fd = sock
        port = UInt16(bigEndian: addr.sin_port)
        let t = Thread { [self] in serve(limit: limit) }
        thread = t
        t.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/hook")! }

    func received() -> [String] { lock.lock(); defer { lock.unlock() }; return bodies }

    private func serve(limit: Int) {
        for _ in 0..<limit {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65_536)
            // Read headers, then the body by Content-Length.
            while true {
                let n = recv(client, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data += buffer[0..<n]
                let text = String(decoding: data, as: UTF8.self)
                if let headerEnd = text.range(of: "\r\n\r\n") {
                    let headers = text[..<headerEnd.lowerBound].lowercased()
                    let length = headers.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                    let bodyStart = text.utf8.distance(from: text.startIndex, to: headerEnd.upperBound)
                    if data.count - bodyStart >= length {
                        lock.lock()
                        bodies.append(String(decoding: data[bodyStart..<(bodyStart + length)], as: UTF8.self))
                        let status = statuses.isEmpty ? 200 : statuses.removeFirst()
                        lock.unlock()
                        let redirect = (300..<400).contains(status) ? location.map { "Location: \($0)\r\n" } ?? "" : ""
                        let reply = "HTTP/1.1 \(status) X\r\n\(redirect)Content-Length: 0\r\nConnection: close\r\n\r\n"
                        _ = reply.withCString { send(client, $0, strlen($0), 0) }
                        break
                    }
                }
            }
            close(client)
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

@Suite(.serialized) struct AlertTests {
    func alert(store: String, state: String, at: String, webhook: URL? = nil, format: AlertRun.Format = .json) throws -> AlertRun {
        var report = ReportRun(storePath: store, period: q3, catalog: try shippedCatalog(), generatedAt: date(at))
        report.roster = try Roster.load(path: packageRoot.appendingPathComponent("SampleData/roster.csv").path)
        var run = AlertRun(report: report, statePath: state)
        run.format = format
        run.webhook = webhook
        run.timeout = 5
        run.attempts = 1
        run.print = { _ in }
        return run
    }

    func items(_ d: AlertDocument, _ kind: KeyPath<AlertDocument.Group, [AlertDocument.Item]>) -> [String] {
        d.groups.flatMap { $0[keyPath: kind] }.map { "\($0.control) \($0.item) \($0.reasonCode)" }.sorted()
    }

    @Test func newResolvedAndStillOpen() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("store.sqlite").path
        let state = dir.appendingPathComponent("state.sqlite").path
        try FileManager.default.copyItem(atPath: sampleStorePath, toPath: store)
        let first = try alert(store: store, state: state, at: "2026-10-01T00:00:00Z").run().document
        #expect(first.newCount == 44 && first.openCount == 0)
        // Between runs: the no-identity session is fixed (removed), a new unregistered identity appears.
        let db = try SQLiteDatabase(path: store, mode: .create)
        try db.execute("DELETE FROM sessions WHERE id = 'aaaaaaaa-0000-4000-8000-000000000001'")
        try db.execute("UPDATE sessions SET user_id = 'okta|newcomer', user_email = 'newcomer@partner.example' WHERE id = 'aaaaaaaa-0000-4000-8000-000000000005'")
        let second = try alert(store: store, state: state, at: "2026-10-08T00:00:00Z").run().document
        #expect(items(second, \.new) == ["GW-IAM-01 aaaaaaaa-0000-4000-8000-000000000005 unregistered-identity"])
        #expect(items(second, \.resolved) == ["GW-IAM-01 aaaaaaaa-0000-4000-8000-000000000001 no-identity"])
        #expect(second.openCount == 43)
        #expect(second.groups.flatMap(\.open).allSatisfy { $0.ageDays == 7 })
        // Grouped by the control owner from the catalog.
        #expect(second.groups.first { $0.owner == "Security Engineering" }?.new.count == 1)
        // A third run with no change: nothing new, nothing resolved.
        let third = try alert(store: store, state: state, at: "2026-10-15T00:00:00Z").run().document
        #expect(third.newCount == 0 && items(third, \.resolved).isEmpty && third.openCount == 44)
    }

    @Test func webhookReceivesThePayload() throws {
        let server = try LoopbackServer(statuses: [200])
        defer { server.stop() }
        let dir = try temporaryDirectory()
        let run = try alert(store: sampleStorePath, state: dir.appendingPathComponent("s.sqlite").path, at: "2026-10-01T00:00:00Z",
                            webhook: server.url, format: .slack)
        _ = try run.run()
        let bodies = server.received()
        #expect(bodies.count == 1)
        let body = try #require(bodies.first)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let text = try #require(payload["text"] as? String)
        #expect(text.hasPrefix("## Access gateway gaps: 2026-Q3"))
        #expect(text.contains("44 new, 0 still open"))
        #expect(text.contains("### Platform Engineering"))
    }

    @Test func failedDeliveryIsRepeatedAndNeverDuplicated() throws {
        let server = try LoopbackServer(statuses: [500])
        defer { server.stop() }
        let dir = try temporaryDirectory()
        let state = dir.appendingPathComponent("s.sqlite").path
        #expect(throws: AlertError.self) {
            try alert(store: sampleStorePath, state: state, at: "2026-10-01T00:00:00Z", webhook: server.url).run()
        }
        // The state did not advance: the next run delivers the same 36 as new.
        let retry = try alert(store: sampleStorePath, state: state, at: "2026-10-01T01:00:00Z", webhook: server.url).run().document
        #expect(retry.newCount == 44)
        let again = try alert(store: sampleStorePath, state: state, at: "2026-10-01T02:00:00Z", webhook: server.url).run().document
        #expect(again.newCount == 0 && again.openCount == 44)
        let bodies = server.received().map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(bodies.count == 3)
        #expect(bodies.map { ($0?["counts"] as? [String: Int])?["new"] } == [44, 44, 0])
    }

    @Test func concurrentRunsLeaveAConsistentState() throws {
        let dir = try temporaryDirectory()
        let state = dir.appendingPathComponent("s.sqlite").path
        // Each thread gets its own run (and its own connection to the state file).
        final class Runs: @unchecked Sendable { let runs: [AlertRun]; init(_ r: [AlertRun]) { runs = r } }
        let runs = Runs([try alert(store: sampleStorePath, state: state, at: "2026-10-01T00:00:00Z"),
                         try alert(store: sampleStorePath, state: state, at: "2026-10-01T00:00:00Z")]).runs
        final class Results: @unchecked Sendable { let lock = NSLock(); var new: [Int] = []; var errors: [String] = [] }
        let box = Runs(runs)
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do {
                let n = try box.runs[i].run().document.newCount
                results.lock.lock(); results.new.append(n); results.lock.unlock()
            } catch {
                results.lock.lock(); results.errors.append("\(error)"); results.lock.unlock()
            }
        }
        #expect(results.errors.isEmpty)
        // One run alerted on everything, the other waited for the lock and found nothing new.
        #expect(results.new.sorted() == [0, 44])
        let check = try AlertState(path: state, store: sampleStorePath, catalogSHA256: try shippedCatalog().sha256, lockTimeout: 1)
        #expect(try check.openEntries().count == 44)
        check.rollback()
    }

    @Test func lockedStateFailsClearlyAndForeignStateIsRefused() throws {
        let dir = try temporaryDirectory()
        let state = dir.appendingPathComponent("s.sqlite").path
        let holder = try AlertState(path: state, store: sampleStorePath, catalogSHA256: "c", lockTimeout: 1)
        #expect { try AlertState(path: state, store: sampleStorePath, catalogSHA256: "c", lockTimeout: 0.2) } throws: {
            "\($0)".contains("locked by another run")
        }
        try holder.commit()
        #expect { try AlertState(path: state, store: "/other/store.sqlite", catalogSHA256: "c", lockTimeout: 1) } throws: {
            "\($0)".contains("belongs to store \(sampleStorePath)")
        }
        #expect { try AlertState(path: state, store: sampleStorePath, catalogSHA256: "d", lockTimeout: 1) } throws: {
            "\($0)".contains("another control catalog")
        }
    }

    @Test func aStateFileThatIsNotOneIsRefused() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("s.sqlite").path
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        #expect { try AlertState(path: path, store: sampleStorePath, catalogSHA256: "c", lockTimeout: 1) } throws: {
            guard case AlertError.state(let message) = $0 else { return false }
            return message.contains("not an alert state file")
        }
    }

    @Test func anyLockTimeoutIsTaken() throws {
        let dir = try temporaryDirectory()
        for timeout in [Double.infinity, 1e12, -3, .nan] {
            let state = try AlertState(path: dir.appendingPathComponent("s\(timeout).sqlite").path, store: sampleStorePath, catalogSHA256: "c", lockTimeout: timeout)
            #expect(try state.openEntries().isEmpty)
        }
    }

    @Test func markdownKeepsDataInert() {
        #expect(AlertDocument.markdownEscape("<@U123> *bold* [x](http://y)") == "\\<\\@U123\\> \\*bold\\* \\[x\\](http://y)")
        #expect(AlertDocument.slackEscape("<https://evil|Click> & <!channel>") == "&lt;https://evil|Click&gt; &amp; &lt;!channel&gt;")
        #expect(AlertRun.shown(URL(string: "https://hooks.slack.com/services/T000/B000/XXXX")!) == "https://hooks.slack.com/…")
    }
}
