@testable import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

// The property-based layer: seeded random mutations of a small generated store, each run through
// the library in-process (a process per case would not fit the time budget) with a watchdog.
// Each case is named by one 64-bit seed, printed with any failure:
//   FUZZ_CASE_SEED=0x… swift test --filter FuzzProperties     (that case alone)
//   FUZZ_SEED=n FUZZ_CASES=k swift test --filter FuzzProperties (another run of k cases)
// Without FUZZ_SEED the run seed is fixed, so CI sees the same cases every time. A trap kills the
// test process (a loud failure); a signal handler first writes the case's seed to stderr.

enum PropertyFuzz {
    static let defaultRunSeed: UInt64 = 0x5EED_2026
    static let defaultCases = 128
    /// Per case; generous for a debug build on two busy cores.
    static let watchdogSeconds = 20.0

    static func environment(_ name: String) -> UInt64? {
        guard let text = ProcessInfo.processInfo.environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if text.lowercased().hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    static func caseSeed(run: UInt64, index: Int) -> UInt64 {
        var g = SplitMix64(seed: run ^ (UInt64(index) &* 0xA24B_AED4_963E_E407))
        return g.next()
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// The store the mutations start from: the generator's planted sessions, every kind of session,
    /// review, masking record, guardrail block and change with no routine filler (what `sample-data
    /// --sessions 0` writes, plus a few optional columns filled), so that a random row is an
    /// interesting one and a case costs a fraction of a second.
    static func baseStore() throws -> String { try fuzzBaseStore() }

    // MARK: hostile values by column role (SQL literals)

    static let numbers = ["9223372036854775807", "-9223372036854775808", "-1", "0", "2147483648", "1e300", "-1e300", "1.5",
                          "-0.0", "5e-324", "'NaN'", "'Infinity'", "'12abc'", "18446744073709551615"]
    static let times = HostileStores.timeValues.map(\.1) + ["'2026-07-15T12:00:00Z'", "'2026-07-15T12:00:00+14:00'", "'2026-02-29'",
                                                            "'2026-07-15T12:00:00.' || \(SQL.repeated("5", 40)) || 'Z'"]
    static let enumerations = ["'JIT'", "'jit '", "'EXEC'", "'connect'", "'APPROVED'", "'approved'", "'PENDING'", "'REJECTED'",
                               "'session-stream'", "'session-input'", "'wire-proto'", "'review'", "'dlp'", "'postgres'", "'mysql'",
                               "'application'", "'httpproxy'", "'inactive'", "'delete'", "'guardrails'", "''"]

    struct Mutation: CustomStringConvertible {
        var description: String
    }

    /// Applies one random mutation to `db`; what it did.
    static func mutate(_ db: SQLiteDatabase, _ rng: inout SplitMix64) throws -> Mutation {
        // Sessions and blobs carry most of what is analysed: they are picked more often.
        let weighted = ["sessions", "sessions", "sessions", "blobs", "blobs", "reviews", "review_groups", "session_metrics", "users",
                        "user_groups", "connections", "plugins", "plugin_connections", "security_audit_log", "events"]
        let tableName = weighted[Int(rng.next() % UInt64(weighted.count))]
        let table = GatewaySchema.table(named: tableName)!
        let ids = try Mutate.rowids(db, tableName)
        guard !ids.isEmpty else { return Mutation(description: "\(tableName): empty, nothing changed") }
        let rowid = ids[Int(rng.next() % UInt64(ids.count))]

        // A recording: flip bytes of the raw blob, or of the decoded payloads, or set hostile elapsed times.
        if tableName == "blobs", rng.next() % 2 == 0 {
            var raw: [UInt8] = []
            var type = ""
            try db.forEachRow("SELECT blob_stream, type FROM blobs WHERE rowid = \(rowid)") { raw = $0.bytes(0) ?? []; type = $0.text(1) ?? "" }
            let choice = rng.next() % 3
            if type == "session-stream", choice > 0, let events = try? HoopRecording.decode(raw), !events.isEmpty {
                if choice == 1 {
                    var flipped = events
                    let k = Int(rng.next() % UInt64(flipped.count))
                    var positions: [Int] = []
                    if !flipped[k].payload.isEmpty {
                        for _ in 0..<(1 + Int(rng.next() % 8)) {
                            let p = Int(rng.next() % UInt64(flipped[k].payload.count))
                            flipped[k].payload[p] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                            positions.append(p)
                        }
                    } else {
                        flipped[k].payload = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    }
                    try db.execute("UPDATE blobs SET blob_stream = \(SQL.text(Mutate.recording(flipped))) WHERE rowid = \(rowid)")
                    return Mutation(description: "blobs[rowid \(rowid)] recording event \(k): payload bytes flipped at \(positions)")
                }
                let value = HostileStores.elapsedValues[Int(rng.next() % UInt64(HostileStores.elapsedValues.count))]
                let k = Int(rng.next() % UInt64(events.count))
                var n = -1
                let recording = Mutate.recording(events) { e in n += 1; return n == k ? value : String(e) }
                try db.execute("UPDATE blobs SET blob_stream = \(SQL.text(recording)) WHERE rowid = \(rowid)")
                return Mutation(description: "blobs[rowid \(rowid)] recording event \(k): elapsed = \(value)")
            }
            guard !raw.isEmpty else { return Mutation(description: "blobs[rowid \(rowid)]: empty blob, nothing changed") }
            var positions: [Int] = []
            for _ in 0..<(1 + Int(rng.next() % 8)) {
                let p = Int(rng.next() % UInt64(raw.count))
                raw[p] = UInt8(truncatingIfNeeded: rng.next())
                positions.append(p)
            }
            try db.execute("UPDATE blobs SET blob_stream = \(SQL.text(raw)) WHERE rowid = \(rowid)")
            return Mutation(description: "blobs[rowid \(rowid)].blob_stream: raw bytes replaced at \(positions)")
        }

        let (column, type) = table.columns[Int(rng.next() % UInt64(table.columns.count))]
        let role = StoreShape.role(tableName, column, type)
        let target = "\(tableName)[rowid \(rowid)].\(column)"
        // One time in four, any value whatever the column holds; otherwise one that fits its role.
        let anyRole = rng.next() % 4 == 0
        let roles: [ColumnRole] = [.number, .time, .json, .enumeration, .text]
        let pickRole = anyRole ? roles[Int(rng.next() % UInt64(roles.count))] : role
        var current: [UInt8]?
        try db.forEachRow("SELECT \(column) FROM \(tableName) WHERE rowid = \(rowid)") { current = $0.bytes(0) }

        func set(_ literal: String, _ what: String) throws -> Mutation {
            do {
                try db.execute("UPDATE \(tableName) SET \(column) = \(literal) WHERE rowid = \(rowid)")
            } catch {
                // A constraint (NOT NULL created_at, a unique id): relax the table and try again.
                try Mutate.relax(db, tableName)
                try db.execute("UPDATE \(tableName) SET \(column) = \(literal) WHERE rowid = \(rowid)")
            }
            return Mutation(description: "\(target) = \(what)")
        }
        func pick<T>(_ list: [T]) -> T { list[Int(rng.next() % UInt64(list.count))] }

        switch rng.next() % 10 {
        case 0: return try set("NULL", "NULL")
        case 1:
            let bytes = (0..<Int(rng.next() % 48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            return try set(SQL.blob(bytes), "BLOB \(SQL.hex(bytes))")
        default: break
        }
        switch pickRole {
        case .number:
            let v = pick(numbers)
            return try set(v, v)
        case .time:
            let v = pick(times)
            return try set(v, String(v.prefix(80)))
        case .json:
            switch rng.next() % 5 {
            case 0:
                let depth = 10_000
                return try set(SQL.text(rng.next() % 2 == 0 ? HostileStores.deepArrays(depth) : HostileStores.deepObjects(depth)), "deep JSON (\(depth))")
            case 1:
                guard let current, current.count > 1 else { return try set("'{'", "'{'") }
                let cut = Int(rng.next() % UInt64(current.count))
                return try set(SQL.text(Array(current.prefix(cut))), "its first \(cut) bytes (truncated JSON)")
            case 2:
                let (name, bytes) = pick(HostileStores.textClasses)
                guard let current else { return try set(SQL.text("[\"" + String(decoding: Mutate.jsonEscaped(bytes), as: UTF8.self) + "\"]"), "JSON array of \(name)") }
                return try set(SQL.text(Mutate.wrapJSONStrings(current, prefix: [], suffix: Mutate.jsonEscaped(bytes))), "its strings + \(name)")
            case 3:
                guard let current else { return try set(SQL.text("{\"k\":\"" + HostileStores.secretsFirst + "\"}"), "object with secrets") }
                return try set(SQL.text(Mutate.wrapJSONStrings(current, prefix: Mutate.jsonEscaped(Array(HostileStores.secretPayload.utf8)), suffix: [])), "its strings prefixed with secrets")
            default:
                let n = pick(HostileStores.extremeNumberValues).json
                let json = "{\"data_masking\":{\"info_types\":{\"A\":\(n),\"B\":\(n)}},\"data_analyzer\":{\"A\":\(n),\"B\":\(n)},\"truncated\":\(n),\"risk_level\":\(n),\"rule_name\":\(n)}"
                return try set(SQL.text(json), json)
            }
        case .enumeration:
            let v = pick(enumerations)
            return try set(v, v)
        case .text:
            switch rng.next() % 5 {
            case 0:
                return try set(SQL.text(HostileStores.secretPayload) + " || coalesce(\(column), '')", "secrets payload + its value")
            case 1:
                // Up to 64 KB: a case must fit the watchdog. (Megabytes go through the fixed huge-value
                // cases; an id of 300 KB of "4111 " already costs seconds in a debug build.)
                let count = 1 << (10 + Int(rng.next() % 7))
                return try set(SQL.repeated(pick(["A", "4111 ", "\u{202E}", "a@b.", "[U+", "postgres://u:p@h/ "]), count / 4), "\(count / 4) repetitions")
            case 2:
                let v = pick(numbers)
                return try set(v, v)
            default:
                let (name, bytes) = pick(HostileStores.textClasses)
                let replace = rng.next() % 3 == 0
                return try set(replace ? SQL.text(bytes) : "coalesce(\(column), '') || \(SQL.text(bytes))", (replace ? "" : "its value + ") + name)
            }
        }
    }

    // MARK: running one case

    enum Outcome {
        case report
        case failure(String)
    }

    /// The exit code the command line gives an error (mirrors `exitCode(for:)` in Sources/access-evidence/Exit.swift).
    static func exitCode(for error: Error) -> Int32 {
        switch error {
        case let e as StoreError:
            switch e {
            case .notFound, .unreadable: return 66
            case .unavailable: return 69
            case .permissionDenied: return 77
            default: return 65
            }
        case is CatalogError, is RosterError, is SigningError, is TemplateError: return 65
        case is XLSXError: return 73
        case let e as AlertError:
            switch e {
            case .state: return 65
            case .locked, .delivery: return 75
            }
        case is PeriodError: return 64
        case let e as OutputError: return e.usage ? 64 : 73
        case is CocoaError, is POSIXError: return 73
        default: return 70
        }
    }

    /// One case: mutate a copy of the base store, write the report in-process, check it.
    static func run(seed: UInt64, base: String, catalog: Catalog, root: URL, note: (String) -> Void) throws -> (mutations: [Mutation], outcome: Outcome, seconds: [Double]) {
        var clock = Date()
        var seconds: [Double] = []
        func lap() { seconds.append(Date().timeIntervalSince(clock)); clock = Date() }
        let dir = root.appendingPathComponent(hex(seed))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = dir.appendingPathComponent("store.sqlite").path
        try copyFile(base, store)
        var rng = SplitMix64(seed: seed)
        var mutations: [Mutation] = []
        do {
            let db = try SQLiteDatabase(path: store, mode: .create)
            for _ in 0..<(1 + Int(rng.next() % 3)) { mutations.append(try mutate(db, &rng)) }
        }
        note(mutations.map(\.description).joined(separator: "; "))
        let storeDigest = sha256(file: store)
        lap()
        let out = dir.appendingPathComponent("out").path
        var run = ReportRun(storePath: store, period: q3, catalog: catalog, generatedAt: date(fuzzGeneratedAt))
        run.formats = [.json, .html, .xlsx]
        run.templates = packageRoot.appendingPathComponent("Templates").path
        run.inputs = [OutputGuard.Use("--store", store)]
        var outcome: Outcome
        do {
            try run.write(to: out)
            lap()
            var problems = reportFolderProblems(out, scratch: dir.appendingPathComponent("scratch"))
            let verified = try ManifestVerifier.verify(directory: out, publicKey: nil)
            if !verified.ok { problems.append("the report does not verify: \(verified.problems.prefix(3))") }
            outcome = problems.isEmpty ? .report : .failure("report output problems: " + problems.prefix(6).joined(separator: " | "))
        } catch {
            // Without --strict no store data may stop the run (README: unusable rows are listed
            // under dataQuality); 70 would be the command line's "internal error".
            let code = exitCode(for: error)
            let text = "\(type(of: error)): \(error)".prefix(300)
            outcome = .failure(code == 70 ? "internal error (would exit 70): \(text)" : "exit \(code) for store data without --strict: \(text)")
            if lstatKind(out) != nil { outcome = .failure("a failed run left --out behind; " + "\(outcome)") }
            lap()
        }
        lap()
        if sha256(file: store) != storeDigest { outcome = .failure("the run changed the store") }
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { !["store.sqlite", "out", "scratch"].contains($0) }
        if !left.isEmpty { outcome = .failure("debris beside the store or --out: \(left)") }
        try? FileManager.default.removeItem(at: dir)
        return (mutations, outcome, seconds)
    }
}

// MARK: watchdog and crash breadcrumb

/// What the current case is, written to stderr by a fatal-signal handler before the process dies.
nonisolated(unsafe) private var breadcrumb: UnsafeMutablePointer<CChar>? = nil
nonisolated(unsafe) private var breadcrumbLength = 0
nonisolated(unsafe) private var previousActions: UnsafeMutablePointer<sigaction>? = nil
private let crashSignals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

private func setBreadcrumb(_ text: String) {
    guard let breadcrumb else { return }
    let bytes = Array(text.utf8.prefix(4000))
    breadcrumbLength = 0
    for (i, b) in bytes.enumerated() { breadcrumb[i] = CChar(bitPattern: b) }
    breadcrumbLength = bytes.count
}

/// Writes the breadcrumb, puts the previous handler back and returns: the faulting instruction runs
/// again and the runtime's own handler (or the default action) takes it from there.
nonisolated(unsafe) private let crashHandler: @convention(c) (Int32) -> Void = { sig in
    if let breadcrumb { _ = write(2, breadcrumb, breadcrumbLength) }
    if let previousActions { sigaction(sig, previousActions + Int(sig), nil) }
}

private func installCrashBreadcrumb() {
    if breadcrumb == nil {
        breadcrumb = UnsafeMutablePointer<CChar>.allocate(capacity: 4096)
        previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: 64)
        previousActions!.initialize(repeating: sigaction(), count: 64)
    }
    for sig in crashSignals {
        var action = sigaction()
        action.__sigaction_handler = unsafeBitCast(crashHandler, to: type(of: action.__sigaction_handler))
        action.sa_flags = Int32(SA_ONSTACK)
        sigemptyset(&action.sa_mask)
        sigaction(sig, &action, previousActions! + Int(sig))
    }
}

private func removeCrashBreadcrumb() {
    guard let previousActions else { return }
    for sig in crashSignals { sigaction(sig, previousActions + Int(sig), nil) }
    breadcrumbLength = 0
}

/// Runs `body` on a thread with the main thread's stack size (8 MiB, as the executable has) and an
/// alternate signal stack (so a stack overflow still reaches the breadcrumb); false when it did not
/// finish within `seconds` (the thread is then abandoned).
func withWatchdog(seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        let size = 1 << 16
        var alt = stack_t()
        alt.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        alt.ss_size = size
        alt.ss_flags = 0
        sigaltstack(&alt, nil)
        body()
        var off = stack_t()
        off.ss_flags = Int32(SS_DISABLE)
        sigaltstack(&off, nil)
        alt.ss_sp.deallocate()
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    return done.wait(timeout: .now() + seconds) == .success
}

/// Every thread's stack of this process, for a case the watchdog gave up on: whether it hung in the
/// reader, the pipeline or a writer is what the next run needs to know. Uses gdb when the machine has
/// it and may attach (root, or Yama's ptrace_scope 0); otherwise says why not.
func threadStacks() -> String {
    guard let gdb = ["/usr/bin/gdb", "/usr/local/bin/gdb"].first(where: FileManager.default.isExecutableFile) else {
        return "(no thread stacks: gdb is not installed)"
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gdb)
    process.arguments = ["-p", String(getpid()), "-batch", "-nx", "-ex", "thread apply all bt 30"]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    do { try process.run() } catch { return "(no thread stacks: \(error))" }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    // Only the stacks: gdb's banner and symbol-loading chatter are noise.
    return "thread stacks:\n" + text.split(separator: "\n").filter { $0.hasPrefix("Thread ") || $0.hasPrefix("#") }.prefix(400).joined(separator: "\n")
}

/// Runs `body` on a thread of its own and awaits it: the property loop blocks on its watchdog, and
/// blocking a thread of the cooperative pool (two on this machine) would stall the other fuzz tests.
func onOwnThread(_ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread {
            body()
            continuation.resume()
        }.start()
    }
}

/// What the property loop found, handed back to the test's task (issues are recorded there: the
/// loop's thread has no test context).
final class PropertyResults: @unchecked Sendable {
    var issues: [String] = []
    var summary = ""
}

/// Carries a case's result from the watchdog's thread.
final class CaseBox: @unchecked Sendable {
    var outcome: PropertyFuzz.Outcome?
    var seconds: [Double] = []
    var error: Error?
    var description = ""
}

@Suite struct FuzzProperties {
    @Test func seededMutationsOfAGeneratedStore() async throws {
        let runSeed = PropertyFuzz.environment("FUZZ_SEED") ?? PropertyFuzz.defaultRunSeed
        let count = ProcessInfo.processInfo.environment["FUZZ_SEED"] == nil ? PropertyFuzz.defaultCases
            : Int(PropertyFuzz.environment("FUZZ_CASES") ?? UInt64(PropertyFuzz.defaultCases))
        let seeds: [UInt64] = PropertyFuzz.environment("FUZZ_CASE_SEED").map { [$0] }
            ?? (0..<count).map { PropertyFuzz.caseSeed(run: runSeed, index: $0) }
        let base = try PropertyFuzz.baseStore()
        let catalog = try shippedCatalog()
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        installCrashBreadcrumb()
        defer { removeCrashBreadcrumb() }
        let results = PropertyResults()
        await onOwnThread {
            var reports = 0
            var failures = 0
            var phases = [0.0, 0.0, 0.0]
            let started = Date()
            for (index, seed) in seeds.enumerated() {
                let label = "FUZZ_CASE_SEED=\(PropertyFuzz.hex(seed)) (run seed \(PropertyFuzz.hex(runSeed)), case \(index))"
                setBreadcrumb("\nfuzz property case crashed the test process: \(label)\n")
                let box = CaseBox()
                let finished = withWatchdog(seconds: PropertyFuzz.watchdogSeconds) {
                    do {
                        let result = try PropertyFuzz.run(seed: seed, base: base, catalog: catalog, root: root) { mutations in
                            box.description = mutations
                            setBreadcrumb("\nfuzz property case crashed the test process: \(label): \(mutations)\n")
                        }
                        box.outcome = result.outcome
                        box.seconds = result.seconds
                    } catch { box.error = error }
                }
                guard finished else {
                    results.issues.append("hang (or pathological slowness): no result after \(PropertyFuzz.watchdogSeconds) s; the run stops here; \(label): \(box.description)"
                                          + "\n" + threadStacks())
                    break
                }
                for (k, v) in box.seconds.prefix(3).enumerated() { phases[k] += v }
                if let error = box.error { results.issues.append("could not set up the case: \(error); \(label)"); failures += 1; continue }
                switch box.outcome {
                case .report?: reports += 1
                case .failure(let text)?:
                    failures += 1
                    results.issues.append("\(text)\n  \(label)\n  mutations: \(box.description)")
                case nil: break
                }
            }
            results.summary = "fuzz properties: \(seeds.count) cases (run seed \(PropertyFuzz.hex(runSeed))) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(reports) reports, \(failures) failures; seconds mutating \(String(format: "%.1f", phases[0])), writing \(String(format: "%.1f", phases[1])), checking \(String(format: "%.1f", phases[2]))"
        }
        print(results.summary)
        for issue in results.issues { Issue.record(Comment(rawValue: issue)) }
    }
}
