@testable import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The user's files and the store are never replaced, moved or deleted; outputs are replaced only
/// when they are ours; killed or stopped runs leave nothing behind once the next run has passed.
@Suite(.serialized) struct OutputSafetyTests {
    /// A folder holding a copy of the sample store and a file of the user's.
    func userFolder() throws -> (dir: URL, store: String, notes: String) {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("gateway.sqlite").path
        try FileManager.default.copyItem(atPath: sampleStorePath, toPath: store)
        // A real gateway store: the sample's layout without the generator's marker.
        try SQLiteDatabase(path: store, mode: .create).execute("DROP TABLE \(SampleStoreGenerator.markerTable); VACUUM;")
        let notes = dir.appendingPathComponent("notes.txt").path
        try Data("mine\n".utf8).write(to: URL(fileURLWithPath: notes))
        return (dir, store, notes)
    }

    func listing(_ dir: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    func report(_ store: String, out: String, _ extra: [String] = []) throws -> (code: Int32, stdout: String, stderr: String) {
        try runExecutable(["report", "--store", store, "--period", "2026-Q3", "--out", out, "--controls", controlsPath, "--quiet",
                           "--generated-at", "2026-10-01T00:00:00Z"] + extra)
    }

    @Test func reportNeverReplacesAFolderThatIsNotAReport() throws {
        let (dir, store, notes) = try userFolder()
        let before = try FileHash.sha256(path: store)
        let run = try report(store, out: dir.path)
        #expect(run.code == 64)
        #expect(run.stderr.contains("--store \(store) lies inside --out, which the run replaces"))
        // A folder with the user's files and no store in it: refused as not a report.
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: other.appendingPathComponent("keep.txt"))
        let second = try report(store, out: other.path)
        #expect(second.code == 73)
        #expect(second.stderr.contains("holds files that are not an access-evidence report (keep.txt); it is never replaced"))
        #expect(listing(dir) == ["gateway.sqlite", "notes.txt", "other"])
        #expect(listing(other) == ["keep.txt"])
        let after = try FileHash.sha256(path: store)
        #expect(after == before && FileManager.default.contents(atPath: notes) == Data("mine\n".utf8))
    }

    @Test func aReportReplacesOnlyItsOwnFolderAndKeepsForeignFilesInIt() throws {
        let (dir, store, _) = try userFolder()
        let out = dir.appendingPathComponent("report").path
        #expect(try report(store, out: out).code == 0)
        // A second run replaces its own report.
        #expect(try report(store, out: out).code == 0)
        // A file the user dropped into the report folder is not the report's: the folder is kept.
        try Data("auditor notes".utf8).write(to: URL(fileURLWithPath: out + "/auditor.txt"))
        let run = try report(store, out: out)
        #expect(run.code == 73)
        #expect(run.stderr.contains("also holds files the report did not write (auditor.txt)"))
        #expect(FileManager.default.fileExists(atPath: out + "/auditor.txt") && FileManager.default.fileExists(atPath: out + "/report.json"))
        // An empty folder and a file: the first is filled, the second refused.
        let empty = dir.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        #expect(try report(store, out: empty).code == 0)
        let file = dir.appendingPathComponent("notes.txt").path
        let onFile = try report(store, out: file)
        #expect(onFile.code == 73 && onFile.stderr.contains("is a file, not a report folder"))
        // A symbolic link is never followed or replaced.
        let link = dir.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: empty)
        let onLink = try report(store, out: link)
        #expect(onLink.code == 73 && onLink.stderr.contains("is a symbolic link"))
    }

    @Test func inputsInsideTheOutputAreRefusedBeforeAnythingIsRead() throws {
        let (dir, store, _) = try userFolder()
        let out = dir.appendingPathComponent("r").path
        #expect(try report(store, out: out).code == 0)
        let exceptions = out + "/report.json"
        let run = try report(store, out: out, ["--exceptions", exceptions, "--format", "json"])
        #expect(run.code == 64)
        #expect(run.stderr.contains("--exceptions \(exceptions) lies inside --out"))
    }

    @Test func sampleDataReplacesOnlyAStoreItGenerated() throws {
        let (dir, store, _) = try userFolder()
        let before = try FileHash.sha256(path: store)
        let onFolder = try runExecutable(["sample-data", "--out", dir.path, "--sessions", "5"])
        #expect(onFolder.code == 73 && onFolder.stderr.contains("--out is a folder"))
        // The sample store's layout is hoop's: a real gateway store is never mistaken for a generated one.
        let onStore = try runExecutable(["sample-data", "--out", store, "--sessions", "5"])
        #expect(onStore.code == 73 && onStore.stderr.contains("exists and is not a store this tool wrote"))
        #expect(try FileHash.sha256(path: store) == before)
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let onFIFO = try runExecutable(["sample-data", "--out", fifo, "--sessions", "5"])
        #expect(onFIFO.code == 73 && onFIFO.stderr.contains("is a FIFO; only a regular file is replaced"))
        // Its own output is replaced; its ground truth too; a roster of the user's is not.
        let generated = dir.appendingPathComponent("gen.sqlite").path
        #expect(try runExecutable(["sample-data", "--out", generated, "--sessions", "5"]).code == 0)
        #expect(try runExecutable(["sample-data", "--out", generated, "--sessions", "6"]).code == 0)
        let roster = dir.appendingPathComponent("notes.txt").path
        let onRoster = try runExecutable(["sample-data", "--out", generated, "--sessions", "5", "--roster", roster])
        #expect(onRoster.code == 73 && onRoster.stderr.contains("--roster exists and is not the sample roster this tool wrote"))
        #expect(listing(dir) == ["fifo", "gateway.sqlite", "gen.sqlite", "notes.txt"])
    }

    @Test func lookingAtAWALModeFileCreatesNothingBesideIt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("theirs.sqlite").path
        do {
            let db = try SQLiteDatabase(path: path, mode: .create)
            try db.execute("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        }
        #expect(listing(dir) == ["theirs.sqlite"])
        let before = try FileHash.sha256(path: path)
        let run = try runExecutable(["sample-data", "--out", path, "--sessions", "5"])
        #expect(run.code == 73 && run.stderr.contains("exists and is not a store this tool wrote"))
        let state = try runExecutable(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", path, "--controls", controlsPath])
        #expect(state.code == 73)
        #expect(listing(dir) == ["theirs.sqlite"])
        #expect(try FileHash.sha256(path: path) == before)
    }

    @Test func alertStateNeverLandsOnTheStoreOrAForeignFile() throws {
        let (dir, store, notes) = try userFolder()
        let before = try FileHash.sha256(path: store)
        let onStore = try runExecutable(["alert", "--store", store, "--period", "2026-Q3", "--state", store, "--controls", controlsPath])
        #expect(onStore.code == 64 && onStore.stderr.contains("--state names the same file as --store; --store is only ever read"))
        // The same file under another name (a hard link) is the same file.
        let link = dir.appendingPathComponent("hardlink.sqlite").path
        #expect(link.withCString { l in store.withCString { Glibc.link($0, l) } } == 0)
        let onLink = try runExecutable(["alert", "--store", store, "--period", "2026-Q3", "--state", link, "--controls", controlsPath])
        #expect(onLink.code == 64)
        // Another SQLite file of the user's (a copy of a gateway store) is not an alert state.
        let copy = dir.appendingPathComponent("copy.sqlite").path
        try FileManager.default.copyItem(atPath: store, toPath: copy)
        let onCopy = try runExecutable(["alert", "--store", store, "--period", "2026-Q3", "--state", copy, "--controls", controlsPath])
        #expect(onCopy.code == 73 && onCopy.stderr.contains("exists and is not an alert state file this tool wrote"))
        let onNotes = try runExecutable(["alert", "--store", store, "--period", "2026-Q3", "--state", notes, "--controls", controlsPath])
        #expect(onNotes.code == 73)
        let after = try FileHash.sha256(path: store), copied = try FileHash.sha256(path: copy)
        #expect(after == before && copied == before)
    }

    @Test func keygenNeverOverwrites() throws {
        let (_, _, notes) = try userFolder()
        let run = try runExecutable(["keygen", "--out", notes])
        #expect(run.code == 73 && run.stderr.contains("exists; a key is never overwritten"))
        #expect(FileManager.default.contents(atPath: notes) == Data("mine\n".utf8))
    }

    /// A store large enough that a report takes a few seconds in a debug build.
    func largeStore(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("large.sqlite").path
        let made = try runExecutable(["sample-data", "--out", path, "--sessions", "8000"])
        try #require(made.code == 0, "\(made.stderr)")
        return path
    }

    /// The executable with `arguments`; with `shellPrelude`, through `sh -c 'PRELUDE; exec …'`.
    func start(_ arguments: [String], shellPrelude: String? = nil) throws -> Process {
        let process = Process()
        if let shellPrelude {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", shellPrelude + "; exec " + ([executablePath] + arguments).map { "'\($0)'" }.joined(separator: " ")]
        } else {
            process.executableURL = URL(fileURLWithPath: executablePath)
            process.arguments = arguments
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until the run has made its staging folder (it is then mid-run).
    func waitForStaging(in dir: URL, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if listing(dir).contains(where: { $0.contains(".partial-") }) { return true }
            usleep(50_000)
        }
        return false
    }

    /// A report run over a store large enough to be stopped mid-way, into `dir/r`.
    struct StoppableRun {
        let scratch: URL, dir: URL, out: String, arguments: [String]
        func remove() {
            try? FileManager.default.removeItem(at: scratch)
            try? FileManager.default.removeItem(at: dir)
        }
    }

    func stoppableRun() throws -> StoppableRun {
        let scratch = try temporaryDirectory()
        let store = try largeStore(in: scratch)
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("r").path
        return StoppableRun(scratch: scratch, dir: dir, out: out,
                            arguments: ["report", "--store", store, "--period", "2026-Q3", "--out", out, "--controls", controlsPath,
                                        "--format", "json", "--quiet"])
    }

    @Test func killedAndStoppedRunsLeaveNothingOnceTheNextRunHasPassed() throws {
        let run = try stoppableRun()
        defer { run.remove() }
        let (dir, out, arguments) = (run.dir, run.out, run.arguments)
        let first = try start(arguments)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        let verified = try runExecutable(["verify", out])
        #expect(verified.code == 0)
        // kill -9 mid-run: the staging stays (nothing can remove it) but the previous report is intact.
        let killed = try start(arguments)
        try #require(waitForStaging(in: dir))
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(killed.terminationReason == .uncaughtSignal)
        #expect(listing(dir).contains { $0.contains(".partial-") })
        #expect(try runExecutable(["verify", out]).code == 0)
        // SIGTERM mid-run: the run removes its own staging and ends by the signal; the next run
        // removes what the killed one left. The run is frozen while the signal is sent, so it
        // arrives mid-run however fast the run is (a dispatch signal source lost it at such moments).
        let stopped = try start(arguments)
        try #require(waitForStaging(in: dir))
        kill(stopped.processIdentifier, SIGSTOP)
        kill(stopped.processIdentifier, SIGTERM)
        kill(stopped.processIdentifier, SIGCONT)
        stopped.waitUntilExit()
        #expect(stopped.terminationReason == .uncaughtSignal && stopped.terminationStatus == SIGTERM)
        #expect(!listing(dir).contains { $0.contains(".partial-\(stopped.processIdentifier)") })
        #expect(try runExecutable(["verify", out]).code == 0)
        let next = try start(arguments)
        next.waitUntilExit()
        #expect(next.terminationStatus == 0)
        #expect(listing(dir) == ["r"])
    }

    /// A run started with SIGHUP ignored (`nohup`, a shell's `trap '' HUP`) keeps it ignored: the
    /// quarter's report outlives the terminal it was started from.
    @Test func aSignalIgnoredAtStartStaysIgnored() throws {
        let run = try stoppableRun()
        defer { run.remove() }
        let hangup = try start(run.arguments, shellPrelude: "trap '' HUP")
        try #require(waitForStaging(in: run.dir))
        kill(hangup.processIdentifier, SIGSTOP)
        kill(hangup.processIdentifier, SIGHUP)
        kill(hangup.processIdentifier, SIGCONT)
        hangup.waitUntilExit()
        #expect(hangup.terminationReason == .exit && hangup.terminationStatus == 0)
        #expect(listing(run.dir) == ["r"])
        #expect(try runExecutable(["verify", run.out]).code == 0)
    }

    /// Runs `script` with `sh` in a private mount namespace (root only, as CI runs); nil elsewhere.
    func inMountNamespace(_ script: String) throws -> (code: Int32, stderr: String)? {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return nil }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "--propagation", "private", "sh", "-c", script]
        let err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: err, encoding: .utf8))
    }

    @Test func aFullDiskIsOneLineAndExit73() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A 1 MiB file system for the report.
        let script = "mount -t tmpfs -o size=1m tmpfs \(dir.path) && exec \(executablePath) report --store \(sampleStorePath) --period 2026-Q3 --out \(dir.path)/r --controls \(controlsPath) --format json,xlsx --quiet"
        guard let run = try inMountNamespace(script) else { return }
        #expect(run.code == 73)
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.contains("No space left on device") || run.stderr.contains("database or disk is full"))
        #expect(!run.stderr.contains("UserInfo") && !run.stderr.contains("NSError"))
    }

    @Test func aFullTemporaryFolderDoesNotMatter() throws {
        let tmp = try temporaryDirectory(), outDir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp); try? FileManager.default.removeItem(at: outDir) }
        // TMPDIR is a full 64 KiB file system: nothing of a report run goes there.
        let script = "mount -t tmpfs -o size=64k tmpfs \(tmp.path) && (dd if=/dev/zero of=\(tmp.path)/fill bs=4k 2>/dev/null; true) && TMPDIR=\(tmp.path) exec \(executablePath) report --store \(sampleStorePath) --period 2026-Q3 --out \(outDir.path)/r --controls \(controlsPath) --format json,xlsx --quiet"
        guard let run = try inMountNamespace(script) else { return }
        #expect(run.code == 0, "\(run.stderr)")
        #expect(try runExecutable(["verify", outDir.path + "/r"]).code == 0)
    }

    @Test func verifyReadsOnlyRegularFilesInsideTheFolder() throws {
        let (dir, store, _) = try userFolder()
        let out = dir.appendingPathComponent("r").path
        #expect(try report(store, out: out, ["--format", "json"]).code == 0)
        let manifestPath = out + "/manifest.json"
        let original = try #require(FileManager.default.contents(atPath: manifestPath))
        var manifest = try JSONDecoder().decode(Manifest.self, from: original)
        // A manifest naming a file outside, with that file's true hash.
        let outside = dir.appendingPathComponent("notes.txt").path
        let hash = try FileHash.sha256(path: outside)
        manifest.files.append(Manifest.File(name: "../notes.txt", sha256: hash, size: 5))
        manifest.files.append(Manifest.File(name: outside, sha256: hash, size: 5))
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: manifestPath))
        let escaped = try runExecutable(["verify", out])
        #expect(escaped.code == 1)
        #expect(escaped.stderr.contains("../notes.txt: not a path inside the folder; not read"))
        #expect(escaped.stderr.contains("\(outside): not a path inside the folder; not read"))
        // A symbolic link inside the folder pointing outside, listed with the target's hash.
        try original.write(to: URL(fileURLWithPath: manifestPath))
        try FileManager.default.createSymbolicLink(atPath: out + "/link.txt", withDestinationPath: outside)
        manifest = try JSONDecoder().decode(Manifest.self, from: original)
        manifest.files.append(Manifest.File(name: "link.txt", sha256: hash, size: 5))
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: manifestPath))
        let linked = try runExecutable(["verify", out])
        #expect(linked.code == 1)
        #expect(linked.stderr.contains("link.txt: is a symbolic link; not followed"))
    }

    @Test func webhookRedirectsAreFailedDeliveries() throws {
        let target = try LoopbackServer(statuses: [200])
        defer { target.stop() }
        let redirecting = try LoopbackServer(statuses: [307, 307], location: target.url.absoluteString)
        defer { redirecting.stop() }
        let dir = try temporaryDirectory()
        let state = dir.appendingPathComponent("state.sqlite").path
        let run = try runExecutable(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", state, "--controls", controlsPath,
                                     "--webhook", redirecting.url.absoluteString, "--attempts", "2", "--timeout", "5",
                                     "--generated-at", "2026-10-01T00:00:00Z", "--format", "json"])
        #expect(run.code == 75)
        #expect(run.stderr.contains("HTTP 307: redirects are not followed"))
        #expect(redirecting.received().count == 2 && target.received().isEmpty)
        // The state did not advance: a later delivery to a URL that answers 200 still carries all 36 as new.
        let good = try LoopbackServer(statuses: [200])
        defer { good.stop() }
        let retry = try runExecutable(["alert", "--store", sampleStorePath, "--period", "2026-Q3", "--state", state, "--controls", controlsPath,
                                       "--webhook", good.url.absoluteString, "--generated-at", "2026-10-01T01:00:00Z", "--format", "json"])
        #expect(retry.code == 0)
        let body = try #require(good.received().first)
        let counts = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["counts"] as? [String: Int]
        #expect(counts?["new"] == 44)
    }

    @Test func commandLineValuesAreCheckedWithClearErrors() throws {
        let common = ["--store", sampleStorePath, "--controls", controlsPath]
        let dir = try temporaryDirectory()
        let state = dir.appendingPathComponent("s.sqlite").path
        let cases: [([String], String)] = [
            (["report", "--period", "2026-Q3", "--out", dir.path + "/r", "--format", ""] + common, "--format names no format"),
            (["report", "--period", "2026-Q3", "--out", dir.path + "/r", "--format", ",,,"] + common, "--format names no format"),
            (["report", "--period", "2026-Q3", "--out", dir.path + "/a", "--out", dir.path + "/b"] + common, "--out is given more than once"),
            (["alert", "--period", "2026-Q3", "--state", state, "--timeout", "-5"] + common, "--timeout takes a value from 0.001 to 3600.0, not -5.0"),
            (["alert", "--period", "2026-Q3", "--state", state, "--timeout", "1e300"] + common, "--timeout takes a value from 0.001 to 3600.0"),
            (["alert", "--period", "2026-Q3", "--state", state, "--attempts", "-1"] + common, "--attempts takes a value from 1 to 10, not -1"),
            (["alert", "--period", "2026-Q3", "--state", state, "--attempts", "99999999999999999999"] + common, "99999999999999999999"),
            (["alert", "--period", "2026-Q3", "--state", state, "--lock-timeout", "-3"] + common, "--lock-timeout takes a value from 0.0 to 86400.0"),
            (["alert", "--since", "-7d", "--state", state] + common, "--since '-7d' is not a positive duration"),
            (["alert", "--since", "7d", "--state", state, "--webhook", "http://"] + common, "--webhook is not an http(s) URL with a host"),
            (["sample-data", "--out", dir.path + "/s.sqlite", "--sessions", "-3"], "--sessions takes a value from 0 to 50000000, not -3"),
        ]
        for (arguments, message) in cases {
            let run = try runExecutable(arguments)
            #expect(run.code == 64, "\(arguments)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        #expect(listing(dir).isEmpty)
    }
}
