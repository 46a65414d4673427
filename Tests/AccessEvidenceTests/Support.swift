@testable import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The package root, found from this file: tests read the shipped Controls/ and SampleData/.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let controlsPath = packageRoot.appendingPathComponent("Controls").path
let sampleStorePath = packageRoot.appendingPathComponent("SampleData/gateway-store.sqlite").path

/// A new folder for one test, inside the test process's own folder in `$TMPDIR`.
func temporaryDirectory() throws -> URL {
    let url = try testFilesRoot.get().appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The folder every test folder of this process goes in, removed when the process exits: a run of
/// the suite used to leave some 200 folders (over 400 MB) in `$TMPDIR`. Kept when a fuzz case failed
/// (its message names the case folder to reproduce from) or when ACCESS_EVIDENCE_KEEP_TEST_FILES is set.
private let testFilesRoot = Result<URL, any Error> {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("access-evidence-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testFilesToRemove.withLock { $0 = url.path }
    atexit {
        guard ProcessInfo.processInfo.environment["ACCESS_EVIDENCE_KEEP_TEST_FILES"] == nil,
              let path = testFilesToRemove.withLock({ $0 }) else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
    return url
}

/// The test files' folder while it is to be removed at exit; nil once something asked to keep it.
/// (Foundation's lock: `Synchronization.Mutex` needs a newer macOS than the package supports.)
private let testFilesToRemove = LockedPath()

private final class LockedPath: @unchecked Sendable {
    private let lock = NSLock()
    private var path: String?
    func withLock<T>(_ body: (inout String?) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&path)
    }
}

/// Keeps this process's test folder after it exits (a failure's files, for a look).
func keepTestFiles() { testFilesToRemove.withLock { $0 = nil } }

func date(_ text: String) -> Date { Timestamp.parse(text)! }

func shippedCatalog() throws -> Catalog { try CatalogLoader.load(directory: controlsPath) }

let q3 = try! Period.parse("2026-Q3")

/// A small store built row by row, for reader and bad-input tests.
final class StoreFixture {
    let directory: URL
    let path: String
    let writer: StoreWriter

    init() throws {
        directory = try temporaryDirectory()
        path = directory.appendingPathComponent("store.sqlite").path
        writer = try StoreWriter(path: path)
    }

    func finish() throws { try writer.finish() }

    func session(_ id: String, connection: String = "pg-prod", type: String = "database", subtype: String = "postgres",
                 verb: String = "exec", user: String = "okta|u1", email: String = "u1@acme.example", created: String,
                 ended: String? = nil, exitCode: Int? = 0, script: String? = nil, stream: String? = nil,
                 metrics: String = "{}", guardrails: String? = nil, tags: String = "{\"env\":\"prod\"}") throws {
        var inputID: SQLiteValue = .null
        if let script {
            inputID = .text("in-\(id)")
            try writer.insert("blobs", ["id": inputID, "type": .text("session-input"), "blob_stream": .text(StoreWriter.json([script]))])
        }
        var streamID: SQLiteValue = .null
        if let stream {
            streamID = .text("st-\(id)")
            try writer.insert("blobs", ["id": streamID, "type": .text("session-stream"), "blob_stream": .text(stream)])
        }
        try writer.insert("sessions", [
            "id": .text(id), "connection": .text(connection), "connection_type": .text(type), "connection_subtype": .text(subtype),
            "connection_tags": .text(tags), "verb": .text(verb), "user_id": .text(user), "user_email": .text(email),
            "user_name": .text(email), "status": .text("done"), "exit_code": exitCode.map { .int($0) } ?? .null,
            "blob_input_id": inputID, "blob_stream_id": streamID, "metrics": .text(metrics),
            "guardrails_info": guardrails.map { .text($0) } ?? .null, "identity_type": .text("user"),
            "created_at": .text(created), "ended_at": ended.map { .text($0) } ?? .null,
        ])
    }

    func user(_ subject: String, email: String, status: String = "active", updated: String = "2026-01-01T00:00:00Z") throws {
        try writer.insert("users", ["id": .text("id-" + subject), "subject": .text(subject), "email": .text(email), "name": .text(email),
                                    "status": .text(status), "created_at": .text("2025-01-01T00:00:00Z"), "updated_at": .text(updated)])
    }

    func review(_ id: String, session: String, type: String = "onetime", status: String = "EXECUTED", owner: String = "okta|u1",
                connection: String = "pg-prod", created: String, expires: String? = nil, duration: Int = 0,
                decisions: [(group: String, status: String, reviewer: String, at: String)]) throws {
        try writer.insert("reviews", [
            "id": .text(id), "session_id": .text(session), "connection_name": .text(connection), "type": .text(type),
            "status": .text(status), "owner_id": .text(owner), "owner_email": .text(owner + "@mail"), "owner_name": .text(owner),
            "created_at": .text(created), "revoked_at": expires.map { .text($0) } ?? .null, "access_duration_sec": .int(duration),
        ])
        for (i, d) in decisions.enumerated() {
            try writer.insert("review_groups", [
                "id": .text("\(id)-g\(i)"), "review_id": .text(id), "group_name": .text(d.group), "status": .text(d.status),
                "owner_id": .text(d.reviewer), "owner_email": .text(d.reviewer + "@mail"), "owner_name": .text(d.reviewer),
                "reviewed_at": .text(d.at), "forced_review": .int(0),
            ])
        }
    }
}

func readAll(_ path: String, period: Period = q3) throws -> (sessions: [SessionRecord], store: SQLiteGatewayStore) {
    let store = try SQLiteGatewayStore(path: path)
    var out: [SessionRecord] = []
    try store.forEachSession(in: period) { out.append($0) }
    return (out, store)
}

/// `[elapsed, kind, base64]` triples as hoop stores them.
func recording(_ events: [(Double, String, String)]) -> String {
    "[" + events.map { "[\($0.0),\"\($0.1)\",\"\(Data($0.2.utf8).base64EncodedString())\"]" }.joined(separator: ",") + "]"
}

/// The executable `make test` builds before the tests run.
let executablePath = packageRoot.appendingPathComponent(".build/debug/access-evidence").path

/// Runs the built executable; stdout and stderr go to files, so a long output can never fill a pipe
/// and block the child. `environment` sets (or, with nil, removes) variables. Its configuration files
/// come only from `--config`: the user's and the machine's (`~/.config`, `/etc`) are hidden, so a
/// developer's own settings cannot change a test.
///
/// Spawned with posix_spawn, every descriptor above 2 closed in the child, and waited for with
/// waitpid: Foundation's Process, with tests running side by side, let one test's child inherit the
/// descriptor another Process watched for its own child's exit, so that wait lasted until an
/// unrelated process ended (a one-second run once took 215 s).
func runExecutable(_ arguments: [String], environment: [String: String?] = [:], directory: URL? = nil) throws -> (code: Int32, stdout: String, stderr: String) {
    try #require(FileManager.default.isExecutableFile(atPath: executablePath), "build the executable first (make test does): \(executablePath)")
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
    var env = ProcessInfo.processInfo.environment
    env["ACCESS_EVIDENCE_SYSTEM_CONFIG"] = "/nonexistent/access-evidence.yaml"
    env["XDG_CONFIG_HOME"] = "/nonexistent"
    for (key, value) in environment { env[key] = value }
    let code = try spawnAndWait(executablePath, arguments, environment: env, stdout: out.path, stderr: err.path, directory: directory?.path)
    return (code, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
}

/// posix_spawn with stdin from /dev/null, stdout and stderr to files, nothing else inherited; the exit
/// code, or 128 + the signal that ended the child.
func spawnAndWait(_ executable: String, _ arguments: [String], environment: [String: String], stdout: String, stderr: String,
                  directory: String? = nil) throws -> Int32 {
    let pid = try spawnChild(executable, arguments, environment: environment, stdout: stdout, stderr: stderr, directory: directory)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        try #require(errno == EINTR, "waitpid: \(String(cString: strerror(errno)))")
    }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

/// Starts `executable` with stdin from /dev/null, stdout and stderr to files and every descriptor above
/// 2 closed, in `directory` when given; with `blockedSignals`, the child starts with exactly those
/// signals blocked and every signal's action at its default. Returns its pid, for the caller to wait on.
func spawnChild(_ executable: String, _ arguments: [String], environment: [String: String], stdout: String, stderr: String,
                directory: String? = nil, blockedSignals: [Int32]? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    // glibc's (2.34 and 2.29) extensions, which its Swift module does not declare: looked up by name.
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    let closeFrom = try #require(dlsym(nil, "posix_spawn_file_actions_addclosefrom_np"), "glibc 2.34 or later is needed")
    _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
    if let directory {
        let chdir = try #require(dlsym(nil, "posix_spawn_file_actions_addchdir_np"), "glibc 2.29 or later is needed")
        _ = unsafeBitCast(chdir, to: ChangeDirectory.self)(&actions, directory)
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    if let blockedSignals {
        var mask = sigset_t(), all = sigset_t()
        sigemptyset(&mask)
        for sig in blockedSignals { sigaddset(&mask, sig) }
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0)=\($1)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    try #require(rc == 0, "cannot run \(executable): \(String(cString: strerror(rc)))")
    return pid
}
