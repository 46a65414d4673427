@testable import AccessEvidence
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
#if canImport(Glibc)
import Glibc
#endif
import Testing

// The fuzz harness: runs the executable on hostile input with a time limit and checks, after every
// case, the promises the README makes for any input: a documented exit code (70 is a bug), no
// signal, no hang, a one-line error, the output folder either verifiably new or exactly as before,
// nothing written beside it, in $TMPDIR or to the store, and nothing planted in the store leaking
// into any output.

/// The exit codes README documents. 70 ("internal error") is deliberately not among them.
let documentedExitCodes: Set<Int32> = [0, 1, 64, 65, 66, 69, 73, 75, 77]

/// What a report run on hostile store data may end in, with a fresh writable `--out` and without
/// `--strict`: a report. README: rows the reader cannot fully use are listed under `dataQuality`;
/// only `--strict` turns them into exit 65. (64, 66, 69, 73, 75 and 77 describe the command line,
/// the file system or a server, none of which the data can change.)
let dataOutcomes: Set<Int32> = [0]

/// The period every fuzz report covers and the fixed run time, so reruns give the same bytes.
let fuzzPeriod = "2026-Q3"
let fuzzGeneratedAt = "2026-10-01T00:00:00Z"

/// Values planted in stores (or in the shipped sample data) that no output may repeat.
let plantedSecrets: [String] = [
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5500-0000-0000-0004", "5500000000000004",
    "AKIAIOSFODNN7EXAMPLE", "hunter2",
]

/// How one run of the executable ended.
struct ChildResult: CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    /// The signal that ended the process, if one did.
    var signal: Int32?
    var timedOut: Bool
    var stdout: Data
    var stderr: Data
    var seconds: Double

    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    var exited: Bool { signal == nil && !timedOut }

    var description: String {
        let how = timedOut ? "HANG (killed after \(String(format: "%.1f", seconds)) s)"
            : signal.map { "killed by signal \($0)" } ?? "exit \(status)"
        let line = stderrText.split(separator: "\n").first.map { String($0.prefix(300)) } ?? ""
        return "\(how) in \(String(format: "%.2f", seconds)) s; stderr: \(line)"
    }

    /// The command line, shell-quoted, for a reproduction.
    var commandLine: String {
        ([".build/debug/access-evidence"] + arguments).map(shellQuoted).joined(separator: " ")
    }
}

func shellQuoted(_ s: String) -> String {
    s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// A running child; `wait` enforces the time limit. Started with posix_spawn, as a shell or cron
/// would start it: every signal at its default action and none blocked (a child of Foundation's
/// `Process` inherits the mask of whichever test thread spawned it), stdin from /dev/null, stdout
/// and stderr to files (a long output never fills a pipe), no other descriptor inherited, in `cwd`
/// (`spawnChild`).
final class Child {
    let pid: pid_t
    let arguments: [String]
    let outPath: String, errPath: String
    let started = Date()

    init(_ arguments: [String], cwd: URL, tmpdir: URL, home: URL, harness: URL, environment: [String: String] = [:],
         blockedSignals: [Int32] = []) throws {
        try #require(FileManager.default.isExecutableFile(atPath: executablePath), "build the executable first: \(executablePath)")
        self.arguments = arguments
        let n = UUID().uuidString.prefix(8)
        outPath = harness.appendingPathComponent("stdout-\(n)").path
        errPath = harness.appendingPathComponent("stderr-\(n)").path
        var env = ProcessInfo.processInfo.environment
        // Each child gets its own TMPDIR and HOME inside the case folder, so anything it leaves
        // there shows up in the case folder's listing.
        env["TMPDIR"] = tmpdir.path
        env["HOME"] = home.path
        env["ACCESS_EVIDENCE_SYSTEM_CONFIG"] = "/nonexistent/access-evidence.yaml"
        // A crash still prints its one "Fatal error" line; the runtime's symbolicated backtrace
        // after it would cost seconds per crashing case.
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in environment { env[k] = v }

        pid = try spawnChild(executablePath, arguments, environment: env, stdout: outPath, stderr: errPath,
                             directory: cwd.path, blockedSignals: blockedSignals)
    }

    /// Waits at most `timeout` seconds; a child still running then is killed (SIGKILL) and reported as a hang.
    func wait(timeout: Double) -> ChildResult {
        let deadline = started.addingTimeInterval(timeout)
        var timedOut = false
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0, errno != EINTR {
                // Reaped by someone else: no status to judge (shows as exit 255 and fails the case).
                status = 255 << 8
                break
            }
            if !timedOut, Date() > deadline {
                timedOut = true
                kill(pid, SIGKILL)
            }
            usleep(5_000)
        }
        let signalNumber = status & 0x7F
        let result = ChildResult(arguments: arguments, status: signalNumber == 0 ? (status >> 8) & 0xFF : signalNumber,
                                 signal: signalNumber != 0 && !timedOut ? signalNumber : nil, timedOut: timedOut,
                                 stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
                                 stderr: FileManager.default.contents(atPath: errPath) ?? Data(),
                                 seconds: Date().timeIntervalSince(started))
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return result
    }
}

// MARK: file-system listings

/// One entry of a listing made without following symbolic links or opening anything but regular files.
struct TreeEntry: Equatable, CustomStringConvertible {
    var kind: String
    var size: Int64
    var digest: String?
    var link: String?
    var description: String { kind + (digest.map { " sha256 \($0.prefix(12))" } ?? "") + (link.map { " -> \($0)" } ?? "") }
}

func lstatKind(_ path: String) -> (String, Int64)? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    switch st.st_mode & S_IFMT {
    case S_IFREG: return ("file", Int64(st.st_size))
    case S_IFDIR: return ("folder", 0)
    case S_IFLNK: return ("symlink", 0)
    case S_IFIFO: return ("fifo", 0)
    default: return ("other", 0)
    }
}

/// Every entry below `root` (relative paths), regular files hashed.
func tree(_ root: String, hashing: Bool = true) -> [String: TreeEntry] {
    var out: [String: TreeEntry] = [:]
    func walk(_ dir: String, _ prefix: String) {
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
            let full = (dir as NSString).appendingPathComponent(name)
            let rel = prefix + name
            guard let (kind, size) = lstatKind(full) else { continue }
            var entry = TreeEntry(kind: kind, size: size)
            switch kind {
            case "file": if hashing { entry.digest = try? FileHash.sha256(path: full) }
            case "symlink": entry.link = try? FileManager.default.destinationOfSymbolicLink(atPath: full)
            case "folder": walk(full, rel + "/")
            default: break
            }
            out[rel] = entry
        }
    }
    walk(root, "")
    return out
}

/// Paths added, removed or changed between two listings, outside `except` (relative paths and everything below them).
func treeChanges(_ before: [String: TreeEntry], _ after: [String: TreeEntry], except: [String] = []) -> [String] {
    func excluded(_ p: String) -> Bool { except.contains { p == $0 || p.hasPrefix($0 + "/") } }
    var changes: [String] = []
    for (p, e) in after.sorted(by: { $0.key < $1.key }) where !excluded(p) {
        if let old = before[p] { if old != e { changes.append("changed \(p) (\(old) → \(e))") } } else { changes.append("new \(p) (\(e.kind))") }
    }
    for p in before.keys.sorted() where after[p] == nil && !excluded(p) { changes.append("removed \(p)") }
    return changes
}

// MARK: what outputs may not contain

// The scanners below run over every output of every case in a debug build: they lean on libc's
// memmem and memchr rather than byte loops in Swift, which -Onone makes slow.

/// Where `needle` first occurs in `hay` at or after `from` (memchr for its first byte, memcmp for the rest).
func firstOccurrence(_ needle: [UInt8], in hay: [UInt8], from: Int = 0) -> Int? {
    guard !needle.isEmpty, from >= 0, from < hay.count, hay.count - from >= needle.count else { return nil }
    return hay.withUnsafeBytes { h -> Int? in
        needle.withUnsafeBytes { n -> Int? in
            let base = h.baseAddress!
            var at = from
            while h.count - at >= n.count {
                guard let found = memchr(base + at, Int32(n[0]), h.count - at) else { return nil }
                let i = base.distance(to: UnsafeRawPointer(found))
                if h.count - i < n.count { return nil }
                if memcmp(base + i, n.baseAddress!, n.count) == 0 { return i }
                at = i + 1
            }
            return nil
        }
    }
}

/// Every place `needle` occurs.
func occurrences(_ needle: [UInt8], in hay: [UInt8]) -> [Int] {
    var out: [Int] = []
    var from = 0
    while let i = firstOccurrence(needle, in: hay, from: from) {
        out.append(i)
        from = i + 1
    }
    return out
}

func context(_ hay: [UInt8], at i: Int, length: Int = 0) -> String {
    let start = max(0, i - 40), end = min(hay.count, i + length + 40)
    return String(decoding: hay[start..<end], as: UTF8.self).debugDescription
}

/// Planted secrets in `bytes`; card numbers also when written with other separators (`4111.1111…`).
func secretLeaks(_ bytes: [UInt8]) -> [String] {
    var found: [String] = []
    for secret in plantedSecrets {
        if let i = firstOccurrence(Array(secret.utf8), in: bytes) {
            found.append("secret \(secret.debugDescription) at byte \(i): \(context(bytes, at: i, length: secret.utf8.count))")
        }
    }
    guard found.isEmpty else { return found }
    for card in ["4111111111111111", "5500000000000004"] {
        let digits = Array(card.utf8)
        for start in occurrences(Array(digits.prefix(4)), in: bytes) {
            var k = 0, i = start
            while i < bytes.count, i < start + 40, k < digits.count {
                let b = bytes[i]
                if b == digits[k] { k += 1 } else if ![0x20, 0x2D, 0x2E, 0x09, 0x2F, 0x5F].contains(b) { break }
                i += 1
            }
            if k == digits.count { found.append("card number \(card) with separators at byte \(start): \(context(bytes, at: start, length: i - start))"); break }
        }
    }
    return found
}

/// Raw control and invisible characters: C0 but tab, newline and carriage return; DEL; C1 (as
/// UTF-8); U+200B, U+202E, U+2028/9, U+FEFF, U+FFFE/FFFF; and bytes that are not UTF-8.
func rawControlProblems(_ bytes: [UInt8]) -> [String] {
    guard !bytes.isEmpty else { return [] }
    var problems: [String] = []
    var first: (Int, UInt8)?
    bytes.withUnsafeBytes { raw in
        for b in Array(0x00...0x1F as ClosedRange<UInt8>) + [0x7F] where b != 0x09 && b != 0x0A && b != 0x0D {
            if let p = memchr(raw.baseAddress!, Int32(b), raw.count) {
                let i = raw.baseAddress!.distance(to: UnsafeRawPointer(p))
                if first == nil || i < first!.0 { first = (i, b) }
            }
        }
    }
    if let (i, b) = first { problems.append("raw control byte 0x\(String(b, radix: 16)) at \(i): " + context(bytes, at: i)) }
    let sequences: [([UInt8], String)] = [
        ([0xE2, 0x80, 0x8B], "U+200B"), ([0xE2, 0x80, 0xAE], "U+202E"), ([0xE2, 0x80, 0xA8], "U+2028"),
        ([0xE2, 0x80, 0xA9], "U+2029"), ([0xEF, 0xBB, 0xBF], "U+FEFF"), ([0xEF, 0xBF, 0xBE], "U+FFFE"), ([0xEF, 0xBF, 0xBF], "U+FFFF"),
    ]
    for (seq, name) in sequences {
        if let i = firstOccurrence(seq, in: bytes) { problems.append("raw \(name) at \(i): " + context(bytes, at: i, length: 3)) }
    }
    for i in occurrences([0xC2], in: bytes) where i + 1 < bytes.count && (0x80...0x9F).contains(bytes[i + 1]) {
        problems.append("raw C1 control U+00\(String(bytes[i + 1], radix: 16, uppercase: true)) at \(i): " + context(bytes, at: i, length: 2))
        break
    }
    if String(validating: bytes, as: UTF8.self) == nil {
        problems.append("not valid UTF-8")
    }
    return problems
}

/// Control characters a JSON text carries as escapes (`\u001b`, `\b`, `\f`): still the character for
/// whoever reads the value. A backslash escaped itself (`\\u001b` is text) does not count.
func jsonEscapedControlProblems(_ bytes: [UInt8]) -> [String] {
    func escaped(_ i: Int) -> Bool {
        var n = 0, k = i - 1
        while k >= 0, bytes[k] == 0x5C { n += 1; k -= 1 }
        return n % 2 == 0
    }
    for i in occurrences(Array("\\u".utf8), in: bytes) where i + 6 <= bytes.count && escaped(i) {
        guard let v = Int(String(decoding: bytes[(i + 2)..<(i + 6)], as: UTF8.self), radix: 16) else { continue }
        if (v < 0x20 && v != 9 && v != 10 && v != 13) || (0x7F...0x9F).contains(v) || [0x200B, 0x202E, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF].contains(v) {
            return ["escaped control character \\u\(String(v, radix: 16)) at \(i): " + context(bytes, at: i, length: 6)]
        }
    }
    for esc in ["\\b", "\\f"] {
        for i in occurrences(Array(esc.utf8), in: bytes) where escaped(i) {
            return ["escaped control character \(esc) at \(i): " + context(bytes, at: i, length: 2)]
        }
    }
    return []
}

/// Whether `data` is well-formed XML 1.0 (libxml2 through Foundation's parser); the parser's error if not.
func xmlProblem(_ data: Data) -> String? {
    let parser = XMLParser(data: data)
    if parser.parse() { return nil }
    return "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error") at line \(parser.lineNumber)"
}

/// Unzips a workbook into `into`; the names of its parts.
func unzipParts(_ xlsx: String, into dir: URL) throws -> [String] {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let unzip = Process()
    unzip.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
    unzip.arguments = ["-q", "-o", xlsx, "-d", dir.path]
    unzip.standardOutput = FileHandle.nullDevice
    unzip.standardError = FileHandle.nullDevice
    try unzip.run()
    unzip.waitUntilExit()
    guard unzip.terminationStatus == 0 else { throw FuzzError("unzip failed on \(xlsx) (status \(unzip.terminationStatus))") }
    return tree(dir.path, hashing: false).filter { $0.value.kind == "file" }.keys.sorted()
}

struct FuzzError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Everything wrong with the files of a report folder: planted secrets, raw control characters,
/// markup where data belongs, formulas in the workbook, XML that is not well-formed.
func reportFolderProblems(_ folder: String, scratch: URL) -> [String] {
    var problems: [String] = []
    let files = tree(folder, hashing: false)
    for (name, entry) in files.sorted(by: { $0.key < $1.key }) {
        let path = (folder as NSString).appendingPathComponent(name)
        guard entry.kind == "file" else {
            if entry.kind != "folder" { problems.append("\(name): a \(entry.kind) in the report folder") }
            continue
        }
        guard let data = FileManager.default.contents(atPath: path) else { problems.append("\(name): unreadable"); continue }
        if name.hasSuffix(".xlsx") {
            problems += workbookProblems(path, name: name, scratch: scratch)
            continue
        }
        var bytes = [UInt8](data)
        // A population CSV opens with a byte-order mark on purpose (Excel reads UTF-8 only with one);
        // anywhere else it would be a raw invisible character.
        if name.hasSuffix(".csv"), bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        problems += secretLeaks(bytes).map { "\(name): \($0)" }
        problems += rawControlProblems(bytes).map { "\(name): \($0)" }
        if name.hasSuffix(".json") || name.hasSuffix(".jsonl") {
            problems += jsonEscapedControlProblems(bytes).map { "\(name): \($0)" }
            let documents = name.hasSuffix(".jsonl") ? data.split(separator: UInt8(ascii: "\n")).map { Data($0) } : [data]
            for (n, document) in documents.enumerated() where (try? JSONSerialization.jsonObject(with: document, options: [.fragmentsAllowed])) == nil {
                problems.append("\(name): \(name.hasSuffix(".jsonl") ? "line \(n + 1) " : "")not JSON")
                break
            }
        }
        if name.hasSuffix(".html") {
            let lowered = String(decoding: bytes, as: UTF8.self).lowercased()
            if let r = lowered.range(of: "<script") {
                let i = lowered.utf8.distance(from: lowered.utf8.startIndex, to: r.lowerBound)
                problems.append("\(name): unescaped <script at byte \(i): \(context(Array(lowered.utf8), at: i, length: 7))")
            }
            let errors = htmlParseErrors(String(decoding: bytes, as: UTF8.self))
            if !errors.isEmpty { problems.append("\(name): libxml2 HTML parser: \(errors.prefix(3).joined(separator: " | "))") }
        }
    }
    return problems
}

/// Every part of the workbook: secrets, control characters, well-formed XML, and no formula cells.
func workbookProblems(_ path: String, name: String, scratch: URL) -> [String] {
    let dir = scratch.appendingPathComponent("xlsx-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: dir) }
    let parts: [String]
    do { parts = try unzipParts(path, into: dir) } catch { return ["\(name): \(error)"] }
    var problems: [String] = []
    for part in parts {
        guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(part).path) else { continue }
        let bytes = [UInt8](data)
        let label = "\(name)!\(part)"
        problems += secretLeaks(bytes).map { "\(label): \($0)" }
        problems += rawControlProblems(bytes).map { "\(label): \($0)" }
        if part.hasSuffix(".xml") || part.hasSuffix(".rels") {
            if let p = xmlProblem(data) { problems.append("\(label): \(p)") }
        }
        if part.hasPrefix("xl/worksheets/") {
            for tag in ["<f>", "<f ", "<f/>"] {
                if let i = firstOccurrence(Array(tag.utf8), in: bytes) { problems.append("\(label): formula cell at byte \(i): \(context(bytes, at: i, length: 3))") }
            }
        }
        // A character reference to a control character is as bad as the raw byte (and not XML 1.0).
        for i in occurrences(Array("&#".utf8), in: bytes) {
            let tail = String(decoding: bytes[(i + 2)..<min(bytes.count, i + 10)], as: UTF8.self)
            let digits = tail.prefix { $0 != ";" }
            let value = digits.hasPrefix("x") || digits.hasPrefix("X") ? Int(digits.dropFirst(), radix: 16) : Int(digits)
            if let v = value, (v < 0x20 && v != 9 && v != 10 && v != 13) || (0x7F...0x9F).contains(v) || v == 0x202E || v == 0x200B || v == 0xFFFE {
                problems.append("\(label): character reference &#\(digits); at byte \(i)")
                break
            }
        }
    }
    return problems
}

// MARK: a case: its own folders, a guarded run, and the checks after it

/// One fuzz case's folders. `dir` is the child's working directory and holds everything the run
/// may see (store, TMPDIR, HOME, `out`); the harness keeps its own files (stdout, stderr, scratch)
/// outside it, so any file the run creates beside its output shows up in `dir`'s listing.
final class FuzzCase {
    let name: String
    let root: URL
    let dir: URL
    let harness: URL
    let tmp: URL
    let home: URL
    let storeDir: URL
    var storePath: String
    var out: String
    private(set) var failed = false
    let created = Date()

    init(_ name: String) throws {
        self.name = name
        root = try temporaryDirectory()
        dir = root.appendingPathComponent("case")
        harness = root.appendingPathComponent("harness")
        tmp = dir.appendingPathComponent("tmp")
        home = dir.appendingPathComponent("home")
        storeDir = dir.appendingPathComponent("store")
        for d in [dir, harness, tmp, home, storeDir] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        storePath = storeDir.appendingPathComponent("store.sqlite").path
        out = dir.appendingPathComponent("out").path
    }

    /// Relative path of `path` inside `dir`.
    func relative(_ path: String) -> String {
        path.hasPrefix(dir.path + "/") ? String(path.dropFirst(dir.path.count + 1)) : path
    }

    func start(_ arguments: [String], environment: [String: String] = [:], blockedSignals: [Int32] = []) throws -> Child {
        try Child(arguments, cwd: dir, tmpdir: tmp, home: home, harness: harness, environment: environment, blockedSignals: blockedSignals)
    }

    func run(_ arguments: [String], timeout: Double = 20, environment: [String: String] = [:]) throws -> ChildResult {
        try start(arguments, environment: environment).wait(timeout: timeout)
    }

    /// The report arguments for this case's store and folder.
    func reportArguments(formats: String = "html,xlsx,json", extra: [String] = []) -> [String] {
        ["report", "--store", storePath, "--period", fuzzPeriod, "--out", out, "--format", formats,
         "--generated-at", fuzzGeneratedAt, "--controls", controlsPath, "--templates", packageRoot.appendingPathComponent("Templates").path,
         "--quiet"] + extra
    }

    /// Records a failure of this case, with what reproduces it.
    func fail(_ message: String, _ result: ChildResult? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        failed = true
        keepTestFiles()
        var text = "[\(name)] \(message)"
        if let result { text += "\n  run: \(result)\n  command: \(result.commandLine)" }
        text += "\n  case folder kept: \(root.path)"
        Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
    }

    /// Removes the case's folders unless it failed (then they are kept for reproduction).
    /// With FUZZ_VERBOSE set, prints how long the case took (for keeping the suite within its budget).
    func finish() {
        if !failed { try? FileManager.default.removeItem(at: root) }
        if ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil {
            print("fuzz timing [\(name)]: \(String(format: "%.2f", Date().timeIntervalSince(created))) s")
        }
    }

    /// `access-evidence verify` on a folder (the harness's own guarded run).
    func verify(_ folder: String) throws -> ChildResult {
        try Child(["verify", folder], cwd: harness, tmpdir: harness, home: harness, harness: harness).wait(timeout: 20)
    }

    /// Runs `arguments` and checks every promise: exit code in `allowed` (and documented, never
    /// 70), no signal, no hang, one-line error; `--out` (when `outFolder`) verifiably new on
    /// success and untouched on failure; nothing else in the case folder changed (store, its
    /// folder, TMPDIR, HOME, the working directory); no planted secret or control character in
    /// the outputs, stdout or stderr. Returns the result for further checks.
    @discardableResult
    func checkedRun(_ arguments: [String], allowed: Set<Int32>, outFolder: Bool = true, mayChange: [String] = [],
                    timeout: Double = 20, sourceLocation: SourceLocation = #_sourceLocation) throws -> ChildResult {
        let before = tree(dir.path)
        let outBefore = outFolder ? tree(out) : [:]
        let outExisted = lstatKind(out) != nil
        let result = try run(arguments, timeout: timeout)
        checkExit(result, allowed: allowed, sourceLocation: sourceLocation)
        let after = tree(dir.path)
        let outRel = relative(out)
        var changes = treeChanges(before, after, except: (outFolder ? [outRel] : []) + mayChange.map { self.relative($0) })
        if !result.exited {
            // A run that crashed or was killed for hanging could not clean up; that is reported
            // already, and the next run's removal of such debris is a test of its own.
            let stem = "." + (out as NSString).lastPathComponent
            changes.removeAll { $0.hasPrefix("new \(stem).partial-") || $0.hasPrefix("new \(stem).previous-") }
        }
        if !changes.isEmpty {
            fail("the run changed files outside --out (debris, store, TMPDIR or working directory): \(changes.prefix(8).joined(separator: "; "))", result, sourceLocation: sourceLocation)
        }
        if outFolder, result.exited {
            if result.status == 0 || result.status == 1, arguments.first == "report" {
                checkReport(result, sourceLocation: sourceLocation)
            } else if result.status != 0 && result.status != 1 {
                let outAfter = tree(out)
                if !outExisted, lstatKind(out) != nil {
                    fail("a failed run left \(outRel) behind (\(outAfter.count) entries)", result, sourceLocation: sourceLocation)
                } else if outExisted, outAfter != outBefore {
                    fail("a failed run changed the previous \(outRel): \(treeChanges(outBefore, outAfter).prefix(5).joined(separator: "; "))", result, sourceLocation: sourceLocation)
                }
            }
        }
        return result
    }

    /// Exit code, signal, hang and stderr checks.
    func checkExit(_ result: ChildResult, allowed: Set<Int32>, sourceLocation: SourceLocation = #_sourceLocation) {
        if result.timedOut { fail("hang", result, sourceLocation: sourceLocation); return }
        if let s = result.signal { fail("crashed: killed by signal \(s)", result, sourceLocation: sourceLocation); return }
        if result.status == 70 { fail("internal error (exit 70)", result, sourceLocation: sourceLocation) }
        else if !documentedExitCodes.contains(result.status) { fail("undocumented exit code \(result.status)", result, sourceLocation: sourceLocation) }
        else if !allowed.contains(result.status) { fail("exit \(result.status), expected one of \(allowed.sorted())", result, sourceLocation: sourceLocation) }
        if result.status != 0 && result.status != 1 {
            let lines = result.stderrText.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.count != 2 || lines[0].isEmpty || !lines[1].isEmpty {
                fail("the error is not one line on stderr (\(lines.count - 1) lines): \(result.stderrText.prefix(400).debugDescription)", result, sourceLocation: sourceLocation)
            }
        }
        for (stream, data) in [("stderr", result.stderr), ("stdout", result.stdout)] {
            let problems = secretLeaks([UInt8](data)) + rawControlProblems([UInt8](data))
            if !problems.isEmpty { fail("\(stream): \(problems.prefix(3).joined(separator: "; "))", result, sourceLocation: sourceLocation) }
        }
    }

    /// A report the run says it wrote: it verifies, and no file in it leaks or breaks.
    func checkReport(_ result: ChildResult, sourceLocation: SourceLocation = #_sourceLocation) {
        guard lstatKind(out)?.0 == "folder" else { fail("the run succeeded but \(relative(out)) is not a folder", result, sourceLocation: sourceLocation); return }
        // The library's verifier (the command is exercised by the manifest tests): one process less per case.
        do {
            let v = try ManifestVerifier.verify(directory: out, publicKey: nil)
            if !v.ok { fail("the written report does not verify: \(v.problems.prefix(5))", result, sourceLocation: sourceLocation) }
        } catch { fail("the written report does not verify: \(error)", result, sourceLocation: sourceLocation) }
        let problems = reportFolderProblems(out, scratch: harness)
        if !problems.isEmpty {
            fail("report output problems:\n    " + problems.prefix(12).joined(separator: "\n    "), result, sourceLocation: sourceLocation)
        }
    }
}

/// Lazily built, shared fixtures (one per process): tests run in parallel, so behind a lock.
final class FixtureCache: @unchecked Sendable {
    static let shared = FixtureCache()
    private let lock = NSLock()
    private var paths: [String: String] = [:]

    func path(_ key: String, name: String? = nil, _ make: (String) throws -> Void) throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let p = paths[key] { return p }
        let dir = try temporaryDirectory()
        let p = dir.appendingPathComponent(name ?? "\(key).sqlite").path
        try make(p)
        paths[key] = p
        return p
    }
}

/// Copies `source` to `destination`, replacing it.
func copyFile(_ source: String, _ destination: String) throws {
    try? FileManager.default.removeItem(atPath: destination)
    try FileManager.default.copyItem(atPath: source, toPath: destination)
}

func sha256(file: String) -> String { (try? FileHash.sha256(path: file)) ?? "unreadable" }

func mkfifo(_ path: String) throws {
    guard Glibc.mkfifo(path, 0o600) == 0 else { throw FuzzError("mkfifo \(path): \(String(cString: strerror(errno)))") }
}

/// The checks themselves, on inputs built to fail them: a checker that never fires would let every
/// fuzz case pass.
@Suite struct FuzzHarness {
    @Test func checkersFindWhatTheyLookFor() throws {
        #expect(!secretLeaks(Array("x 4111 1111 1111 1111 y".utf8)).isEmpty)
        #expect(!secretLeaks(Array("x 4111.1111.1111.1111 y".utf8)).isEmpty)
        #expect(!secretLeaks(Array("postgres://u:hunter2@db".utf8)).isEmpty)
        #expect(secretLeaks(Array("card 4111 **** **** 1111, ref 4111 1111 1111 1112, postgres://u:****@db".utf8)).isEmpty)
        #expect(!rawControlProblems(Array("a\u{1B}[2Jb".utf8)).isEmpty)
        #expect(!rawControlProblems(Array("a\u{85}b".utf8)).isEmpty)
        #expect(!rawControlProblems(Array("a\u{202E}b".utf8)).isEmpty)
        #expect(!rawControlProblems(Array(scalars(0x61, 0xFFFE).utf8)).isEmpty)
        #expect(!rawControlProblems([0x61, 0xFF, 0x62]).isEmpty)
        #expect(rawControlProblems(Array("tab\tnewline\ncr\r ✓ é [U+001B]".utf8)).isEmpty)
        #expect(!jsonEscapedControlProblems(Array(#"{"a":"x\u001by"}"#.utf8)).isEmpty)
        #expect(!jsonEscapedControlProblems(Array(#"{"a":"x\by"}"#.utf8)).isEmpty)
        #expect(jsonEscapedControlProblems(Array(#"{"a":"x\\u001by \\b \n"}"#.utf8)).isEmpty)
        #expect(xmlProblem(Data("<a>&#1;</a>".utf8)) != nil)
        #expect(xmlProblem(Data("<a>\u{1}</a>".utf8)) != nil)
        #expect(xmlProblem(Data("<a>ok &amp; fine</a>".utf8)) == nil)
        #expect(firstOccurrence(Array("cd".utf8), in: Array("abcde".utf8)) == 2)
        #expect(firstOccurrence(Array("ce".utf8), in: Array("abcde".utf8)) == nil)
        #expect(occurrences([0x61], in: Array("banana".utf8)) == [1, 3, 5])
    }

    @Test func reportFolderCheckFindsMarkupFormulasAndLeaks() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("r")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("<!DOCTYPE html><html><head><title>t</title></head><body><SCRIPT>alert(1)</SCRIPT></body></html>".utf8)
            .write(to: folder.appendingPathComponent("report.html"))
        try Data(#"{"k":"AKIAIOSFODNN7EXAMPLE"}"#.utf8).write(to: folder.appendingPathComponent("report.json"))
        try Data("{\"k\":1}\nnot json\n".utf8).write(to: folder.appendingPathComponent("populations.jsonl"))
        let problems = reportFolderProblems(folder.path, scratch: dir).joined(separator: "\n")
        #expect(problems.contains("<script"))
        #expect(problems.contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(problems.contains("line 2 not JSON"))
    }

    @Test func childResultsTellExitSignalAndHang() throws {
        let fc = try FuzzCase("harness-self-check")
        defer { fc.finish() }
        let exited = try Child(["--version"], cwd: fc.dir, tmpdir: fc.tmp, home: fc.home, harness: fc.harness).wait(timeout: 20)
        #expect(exited.exited && exited.status == 0)
        let usage = try fc.run(["report", "--no-such-option"])
        #expect(usage.exited && usage.status == 64)
        // `benchmark` runs for many seconds in a debug build: long enough to stand for a hang, and
        // for a crash when it is sent SIGSEGV.
        let hung = try fc.start(["benchmark"]).wait(timeout: 1)
        #expect(hung.timedOut && hung.signal == nil)
        let crashing = try fc.start(["benchmark"])
        usleep(300_000)
        kill(crashing.pid, SIGSEGV)
        let crashed = crashing.wait(timeout: 20)
        #expect(crashed.signal == SIGSEGV && !crashed.timedOut)
        // Whatever the benchmark left in the case's TMPDIR goes with the case folder.
    }
}
