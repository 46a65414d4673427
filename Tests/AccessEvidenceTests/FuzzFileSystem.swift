@testable import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

// Hostile file-system situations around the store and the outputs: each with the exact exit code
// and a fragment of the one-line error, and the case folder checked unchanged (the user's files,
// the store, a symlink's target) when the run is refused.

/// A case with the base store in place.
func storeCase(_ name: String) throws -> FuzzCase {
    let fc = try FuzzCase(name)
    try copyFile(try fuzzBaseStore(), fc.storePath)
    return fc
}

/// Runs `arguments`, which must end in `code` (or one of `codes`) with `fragment` in the error,
/// changing nothing in the case folder.
func expectRefusal(_ fc: FuzzCase, _ arguments: [String], code: Int32? = nil, codes: Set<Int32> = [], fragment: String,
                   timeout: Double = 20, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let allowed = codes.union(code.map { [$0] } ?? [])
    let result = try fc.checkedRun(arguments, allowed: allowed, outFolder: false, timeout: timeout, sourceLocation: sourceLocation)
    if result.exited, allowed.contains(result.status), !result.stderrText.contains(fragment) {
        fc.fail("expected \(fragment.debugDescription) in the error", result, sourceLocation: sourceLocation)
    }
}

/// A report folder the tool wrote (of the base store, JSON only), made once and copied to `fc.out`.
func writePreviousReport(_ fc: FuzzCase) throws {
    let base = try fuzzBaseStore()  // outside: the cache's lock is held while a fixture is made
    let pristine = try FixtureCache.shared.path("fuzz-report", name: "report") { path in
        var run = ReportRun(storePath: base, period: q3, catalog: try shippedCatalog(), generatedAt: date(fuzzGeneratedAt))
        run.formats = [.json]
        try run.write(to: path)
    }
    try FileManager.default.copyItem(atPath: pristine, toPath: fc.out)
    try #require(try ManifestVerifier.verify(directory: fc.out, publicKey: nil).ok)
}

/// Staging, lock and moved-aside entries beside `path` (what a stopped run leaves).
func debris(beside path: String) -> [String] {
    let parent = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
    return ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter {
        $0.hasPrefix(".\(name).partial-") || $0.hasPrefix(".\(name).previous-") || $0.hasSuffix(".lock")
    }.sorted()
}

/// Waits until a staging entry for `path` exists (the run is past its checks and writing).
func waitForStaging(_ path: String, timeout: Double) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if debris(beside: path).contains(where: { $0.contains(".partial-") && !$0.hasSuffix(".lock") }) { return true }
        usleep(10_000)
    }
    return false
}

@Suite struct FuzzFileSystem {
    // MARK: report --out

    @Test func outIsAFolderOfTheUsersFiles() throws {
        let fc = try storeCase("out-users-folder")
        defer { fc.finish() }
        try FileManager.default.createDirectory(atPath: fc.out + "/sub", withIntermediateDirectories: true)
        try Data("my notes\n".utf8).write(to: URL(fileURLWithPath: fc.out + "/notes.txt"))
        try Data("a,b\n".utf8).write(to: URL(fileURLWithPath: fc.out + "/sub/data.csv"))
        try expectRefusal(fc, fc.reportArguments(), code: 73, fragment: "holds files that are not an access-evidence report")
    }

    @Test func outIsAReportFolderWithAForeignFile() throws {
        let fc = try storeCase("out-report-plus-foreign-file")
        defer { fc.finish() }
        try writePreviousReport(fc)
        try Data("mine\n".utf8).write(to: URL(fileURLWithPath: fc.out + "/notes.txt"))
        try expectRefusal(fc, fc.reportArguments(), code: 73, fragment: "also holds files the report did not write")
    }

    @Test func outIsAFile() throws {
        let fc = try storeCase("out-file")
        defer { fc.finish() }
        try Data("user data\n".utf8).write(to: URL(fileURLWithPath: fc.out))
        try expectRefusal(fc, fc.reportArguments(), code: 73, fragment: "is a file, not a report folder")
    }

    @Test func outIsASymlinkToAReportFolder() throws {
        let fc = try storeCase("out-symlink-to-report")
        defer { fc.finish() }
        let real = fc.out
        try writePreviousReport(fc)
        fc.out = fc.dir.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: fc.out, withDestinationPath: real)
        try expectRefusal(fc, fc.reportArguments(), code: 73, fragment: "is a symbolic link")
    }

    @Test func outIsADanglingSymlink() throws {
        let fc = try storeCase("out-dangling-symlink")
        defer { fc.finish() }
        try FileManager.default.createSymbolicLink(atPath: fc.out, withDestinationPath: fc.dir.appendingPathComponent("nowhere").path)
        try expectRefusal(fc, fc.reportArguments(), code: 73, fragment: "is a symbolic link")
    }

    @Test func outIsAFIFO() throws {
        let fc = try storeCase("out-fifo")
        defer { fc.finish() }
        try mkfifo(fc.out)
        try expectRefusal(fc, fc.reportArguments(), code: 73, fragment: "is a FIFO")
    }

    @Test func outHoldsTheStore() throws {
        let fc = try FuzzCase("out-holds-store")
        defer { fc.finish() }
        try FileManager.default.createDirectory(atPath: fc.out, withIntermediateDirectories: true)
        fc.storePath = fc.out + "/store.sqlite"
        try copyFile(try fuzzBaseStore(), fc.storePath)
        try expectRefusal(fc, fc.reportArguments(), code: 64, fragment: "lies inside --out")
    }

    @Test func outIsTheWorkingDirectoryHoldingTheStore() throws {
        let fc = try storeCase("out-dot")
        defer { fc.finish() }
        fc.out = "."
        try expectRefusal(fc, fc.reportArguments(), code: 64, fragment: "lies inside --out")
    }

    @Test func outIsTheStore() throws {
        let fc = try storeCase("out-is-store")
        defer { fc.finish() }
        fc.out = fc.storePath
        try expectRefusal(fc, fc.reportArguments(), code: 64, fragment: "names the same file as --store")
    }

    @Test func outHoldsTheCatalog() throws {
        let fc = try storeCase("out-holds-controls")
        defer { fc.finish() }
        try FileManager.default.copyItem(atPath: controlsPath, toPath: fc.out + "-ctl")
        try FileManager.default.createDirectory(atPath: fc.out, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: fc.out + "-ctl", toPath: fc.out + "/ctl")
        var args = fc.reportArguments()
        args[args.firstIndex(of: "--controls")! + 1] = fc.out + "/ctl"
        try expectRefusal(fc, args, code: 64, fragment: "lies inside --out")
    }

    @Test func outUnderAFile() throws {
        let fc = try storeCase("out-under-file")
        defer { fc.finish() }
        try Data("x".utf8).write(to: fc.dir.appendingPathComponent("file.txt"))
        fc.out = fc.dir.appendingPathComponent("file.txt/out").path
        try expectRefusal(fc, fc.reportArguments(), code: 73, fragment: "file.txt")
    }

    /// Control: an absent, an empty and a previous report folder are written (the refusals above are not blanket).
    @Test func outAbsentEmptyOrPreviousReportIsWritten() throws {
        let fc = try storeCase("out-writable")
        defer { fc.finish() }
        try fc.checkedRun(fc.reportArguments(), allowed: [0])
        try fc.checkedRun(fc.reportArguments(), allowed: [0])
        fc.out = fc.dir.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: fc.out, withIntermediateDirectories: true)
        try fc.checkedRun(fc.reportArguments(formats: "json"), allowed: [0])
    }

    // MARK: sample-data --out

    func sampleData(_ fc: FuzzCase, out: String, sessions: Int = 0) -> [String] {
        ["sample-data", "--out", out, "--sessions", String(sessions)]
    }

    @Test func sampleDataOverAFolder() throws {
        let fc = try FuzzCase("sample-data-over-folder")
        defer { fc.finish() }
        try FileManager.default.createDirectory(atPath: fc.out, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: fc.out + "/keep.txt"))
        try expectRefusal(fc, sampleData(fc, out: fc.out), code: 73, fragment: "is a folder")
    }

    @Test func sampleDataOverARealGatewayStore() throws {
        let fc = try storeCase("sample-data-over-real-store")
        defer { fc.finish() }
        do {
            let db = try SQLiteDatabase(path: fc.storePath, mode: .create)
            try db.execute("DROP TABLE \(SampleStoreGenerator.markerTable)")
        }
        try expectRefusal(fc, sampleData(fc, out: fc.storePath), code: 73, fragment: "is not a store this tool wrote")
    }

    @Test func sampleDataOverAnotherSQLiteFile() throws {
        let fc = try FuzzCase("sample-data-over-sqlite")
        defer { fc.finish() }
        let path = fc.dir.appendingPathComponent("app.db").path
        do {
            let db = try SQLiteDatabase(path: path, mode: .create)
            try db.execute("CREATE TABLE accounts (id INTEGER, balance REAL); INSERT INTO accounts VALUES (1, 100.0)")
        }
        try expectRefusal(fc, sampleData(fc, out: path), code: 73, fragment: "is not a store this tool wrote")
    }

    @Test func sampleDataOverAFIFO() throws {
        let fc = try FuzzCase("sample-data-over-fifo")
        defer { fc.finish() }
        try mkfifo(fc.out)
        try expectRefusal(fc, sampleData(fc, out: fc.out), code: 73, fragment: "is a FIFO")
    }

    @Test func sampleDataOverASymlinkToASampleStore() throws {
        let fc = try storeCase("sample-data-over-symlink")
        defer { fc.finish() }
        let link = fc.dir.appendingPathComponent("link.sqlite").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fc.storePath)
        try expectRefusal(fc, sampleData(fc, out: link), code: 73, fragment: "is a symbolic link")
    }

    @Test func sampleDataGroundTruthOnItsOwnStore() throws {
        let fc = try FuzzCase("sample-data-same-outputs")
        defer { fc.finish() }
        try expectRefusal(fc, sampleData(fc, out: fc.out) + ["--ground-truth", fc.out], code: 64, fragment: "name the same place")
    }

    /// Control: a store sample-data wrote is replaced.
    @Test func sampleDataReplacesItsOwnStore() throws {
        let fc = try storeCase("sample-data-own-store")
        defer { fc.finish() }
        let before = tree(fc.dir.path)
        let r = try fc.run(sampleData(fc, out: fc.storePath))
        fc.checkExit(r, allowed: [0])
        let changes = treeChanges(before, tree(fc.dir.path), except: [fc.relative(fc.storePath)])
        if !changes.isEmpty { fc.fail("debris: \(changes)", r) }
    }

    // MARK: alert --state, keygen --out

    @Test func alertStateIsTheStore() throws {
        let fc = try storeCase("alert-state-is-store")
        defer { fc.finish() }
        try expectRefusal(fc, ["alert", "--store", fc.storePath, "--since", "7d", "--state", fc.storePath,
                               "--generated-at", fuzzGeneratedAt, "--controls", controlsPath], code: 64, fragment: "names the same file as --store")
    }

    @Test func alertStateIsASymlinkOrHardLinkToTheStore() throws {
        let fc = try storeCase("alert-state-links-to-store")
        defer { fc.finish() }
        let soft = fc.dir.appendingPathComponent("state-soft.sqlite").path, hard = fc.dir.appendingPathComponent("state-hard.sqlite").path
        try FileManager.default.createSymbolicLink(atPath: soft, withDestinationPath: fc.storePath)
        try FileManager.default.linkItem(atPath: fc.storePath, toPath: hard)
        for state in [soft, hard] {
            try expectRefusal(fc, ["alert", "--store", fc.storePath, "--since", "7d", "--state", state,
                                   "--generated-at", fuzzGeneratedAt, "--controls", controlsPath], code: 64, fragment: "names the same file as --store")
        }
    }

    @Test func keygenOverAnExistingFile() throws {
        let fc = try FuzzCase("keygen-existing")
        defer { fc.finish() }
        let key = fc.dir.appendingPathComponent("key.pem").path
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: key))
        try expectRefusal(fc, ["keygen", "--out", key], code: 73, fragment: "is never overwritten")
        // The public half taken: the private key is not written either.
        let key2 = fc.dir.appendingPathComponent("key2.pem").path
        try Data("precious public\n".utf8).write(to: URL(fileURLWithPath: key2 + ".pub"))
        try expectRefusal(fc, ["keygen", "--out", key2], code: 73, fragment: "is never overwritten")
        // A dangling symbolic link: its target is never created.
        let key3 = fc.dir.appendingPathComponent("key3.pem").path
        try FileManager.default.createSymbolicLink(atPath: key3, withDestinationPath: fc.dir.appendingPathComponent("target.pem").path)
        try expectRefusal(fc, ["keygen", "--out", key3], code: 73, fragment: "is never overwritten")
    }

    // MARK: the store itself

    @Test func storeIsAFIFO() throws {
        let fc = try FuzzCase("store-fifo")
        defer { fc.finish() }
        try mkfifo(fc.storePath)
        // Nothing writes to the FIFO: opening it for reading would wait forever. Not a regular file:
        // "cannot be opened" (66) or "not an SQLite file" (65), both documented.
        try expectRefusal(fc, fc.reportArguments(), codes: [65, 66], fragment: fc.storePath, timeout: 5)
    }

    @Test func storeIsAFolder() throws {
        let fc = try FuzzCase("store-folder")
        defer { fc.finish() }
        try FileManager.default.createDirectory(atPath: fc.storePath, withIntermediateDirectories: true)
        try expectRefusal(fc, fc.reportArguments(), codes: [65, 66], fragment: fc.storePath)
    }

    @Test func storeIsASymlinkToAStore() throws {
        let fc = try storeCase("store-symlink")
        defer { fc.finish() }
        let link = fc.dir.appendingPathComponent("link.sqlite").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fc.storePath)
        fc.storePath = link
        try fc.checkedRun(fc.reportArguments(formats: "json"), allowed: [0])
    }

    @Test func storeIsEmpty() throws {
        let fc = try FuzzCase("store-empty")
        defer { fc.finish() }
        _ = FileManager.default.createFile(atPath: fc.storePath, contents: Data())
        try expectRefusal(fc, fc.reportArguments(), code: 65, fragment: "not an SQLite database")
    }

    @Test(arguments: [100, 4096, 8192, 50_000, -4096])
    func storeIsTruncated(_ length: Int) throws {
        let fc = try FuzzCase("store-truncated-\(length)")
        defer { fc.finish() }
        let whole = try Data(contentsOf: URL(fileURLWithPath: try fuzzBaseStore()))
        let keep = length < 0 ? whole.count + length : length
        try whole.prefix(keep).write(to: URL(fileURLWithPath: fc.storePath))
        try expectRefusal(fc, fc.reportArguments(), code: 65, fragment: fc.storePath)
    }

    @Test func storeIsRandomBytesAfterAValidHeader() throws {
        let fc = try FuzzCase("store-random-after-header")
        defer { fc.finish() }
        var rng = SplitMix64(seed: 0xC0FFEE)
        var bytes = Array("SQLite format 3\0".utf8)
        bytes += (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try Data(bytes).write(to: URL(fileURLWithPath: fc.storePath))
        try expectRefusal(fc, fc.reportArguments(), code: 65, fragment: fc.storePath)
    }

    @Test func storeWithCorruptedPages() throws {
        let fc = try storeCase("store-corrupted-pages")
        defer { fc.finish() }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fc.storePath)))
        var rng = SplitMix64(seed: 42)
        // Page 1 (the schema) stays; bytes of every later page are flipped.
        for page in stride(from: 4096, to: bytes.count, by: 4096) {
            for _ in 0..<8 { bytes[page + Int.random(in: 0..<4096, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: fc.storePath))
        // A damaged file (not damaged rows) may be refused as bad input.
        try fc.checkedRun(fc.reportArguments(), allowed: [0, 65])
    }

    // MARK: other inputs that would block a reader

    /// Options naming a file the run reads (or a folder whose file is read), given a FIFO nobody writes to.
    @Test(arguments: ["--roster", "--exceptions", "--sign-key", "--templates", "--controls"])
    func inputIsAFIFO(_ option: String) throws {
        let fc = try storeCase("input-fifo\(option)")
        defer { fc.finish() }
        let fifo = fc.dir.appendingPathComponent("input.fifo").path
        var args = fc.reportArguments()
        switch option {
        case "--templates", "--controls":
            // A folder whose main file is a FIFO.
            let folder = fc.dir.appendingPathComponent("folder").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if option == "--controls" {
                for name in try FileManager.default.contentsOfDirectory(atPath: controlsPath) where name != "gateway-controls.yaml" {
                    try FileManager.default.copyItem(atPath: controlsPath + "/" + name, toPath: folder + "/" + name)
                }
                try mkfifo(folder + "/gateway-controls.yaml")
            } else {
                try mkfifo(folder + "/report.mustache")
            }
            args[args.firstIndex(of: option)! + 1] = folder
        default:
            try mkfifo(fifo)
            args += [option, fifo]
        }
        try fc.checkedRun(args, allowed: [65, 66], outFolder: true, timeout: 5)
    }

    @Test func verifyPublicKeyIsAFIFO() throws {
        let fc = try storeCase("verify-public-key-fifo")
        defer { fc.finish() }
        try writePreviousReport(fc)
        let fifo = fc.dir.appendingPathComponent("key.pub").path
        try mkfifo(fifo)
        try fc.checkedRun(["verify", fc.out, "--public-key", fifo], allowed: [65, 66], outFolder: false, timeout: 5)
    }

    // MARK: stopped runs

    /// kill -9 mid-run: the previous report still verifies; the next run removes the debris.
    @Test func killedRunLeavesThePreviousReportAndTheNextRunCleansUp() throws {
        let fc = try storeCase("kill-9")
        defer { fc.finish() }
        try writePreviousReport(fc)
        let previous = tree(fc.out)
        var big = fc.reportArguments()
        big[big.firstIndex(of: "--store")! + 1] = try fuzzLargeStore()
        let child = try fc.start(big)
        let staged = waitForStaging(fc.out, timeout: 15)
        usleep(300_000)
        kill(child.pid, SIGKILL)
        let killed = child.wait(timeout: 10)
        if !staged { fc.fail("the run never staged its output (finished before the kill?)", killed) }
        if tree(fc.out) != previous { fc.fail("the previous report changed under a killed run", killed) }
        let v = try fc.verify(fc.out)
        if v.status != 0 { fc.fail("the previous report no longer verifies after kill -9: \(v)", killed) }
        print("fuzz note [kill-9]: debris after kill -9: \(debris(beside: fc.out)); TMPDIR: \(tree(fc.tmp.path).keys.sorted())")
        // The next run (the small store: quick) removes what the killed one left.
        let again = try fc.run(fc.reportArguments(formats: "json"))
        fc.checkExit(again, allowed: [0])
        let left = debris(beside: fc.out)
        if !left.isEmpty { fc.fail("debris still beside --out after the next run: \(left)", again) }
        let tmp = tree(fc.tmp.path)
        if !tmp.isEmpty { fc.fail("TMPDIR not empty after the next run: \(tmp.keys.sorted())", again) }
        if (try fc.verify(fc.out)).status != 0 { fc.fail("the next run's report does not verify", again) }
    }

    /// SIGTERM, SIGINT, SIGHUP mid-run: the process ends by that signal, having removed its own
    /// unfinished files; the previous report is intact.
    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func stoppedRunRemovesItsFilesAndEndsBySignal(_ sig: Int32) throws {
        let fc = try storeCase("signal-\(sig)")
        defer { fc.finish() }
        try writePreviousReport(fc)
        let before = tree(fc.dir.path)
        var big = fc.reportArguments()
        big[big.firstIndex(of: "--store")! + 1] = try fuzzLargeStore()
        let child = try fc.start(big)
        let staged = waitForStaging(fc.out, timeout: 15)
        usleep(300_000)
        kill(child.pid, sig)
        let result = child.wait(timeout: 8)
        if !staged { fc.fail("the run never staged its output (finished before the signal?)", result) }
        if result.timedOut { fc.fail("did not stop within 8 s of signal \(sig)", result) }
        else if !(result.signal == sig || (result.signal == nil && result.status == 128 + sig)) {
            fc.fail("expected to end by signal \(sig) (status \(128 + sig)), got \(result)", result)
        }
        let changes = treeChanges(before, tree(fc.dir.path))
        if !changes.isEmpty { fc.fail("files changed or left after signal \(sig): \(changes.prefix(8))", result) }
        if (try fc.verify(fc.out)).status != 0 { fc.fail("the previous report no longer verifies", result) }
    }

    /// The same stop signal to a run started with the stop signals blocked, as a child of Foundation's
    /// `Process` started from a dispatch thread inherits them (and as some supervisors start
    /// services): libdispatch's signalfd still delivers the signal to the handler, which removes the
    /// run's files. Whatever it then does, it must end: by the signal, or by finishing the report.
    @Test func stopSignalWithTheStopSignalsBlockedAtStart() throws {
        let sig = SIGTERM
        let fc = try storeCase("signal-\(sig)-blocked-at-start")
        defer { fc.finish() }
        try writePreviousReport(fc)
        var big = fc.reportArguments(formats: "json")
        big[big.firstIndex(of: "--store")! + 1] = try fuzzLargeStore()
        let child = try fc.start(big, blockedSignals: [SIGTERM, SIGINT, SIGHUP])
        let staged = waitForStaging(fc.out, timeout: 15)
        usleep(300_000)
        kill(child.pid, sig)
        let result = child.wait(timeout: 12)
        if !staged { fc.fail("the run never staged its output (finished before the signal?)", result) }
        if result.timedOut { fc.fail("neither ended by signal \(sig) nor finished its report within 12 s of it (hang)", result) }
        if (try fc.verify(fc.out)).status != 0 { fc.fail("the report at --out does not verify", result) }
    }

    /// kill -9 of sample-data: its staging and lock are removed by the next sample-data to the same file.
    @Test func killedSampleDataIsCleanedUpByTheNextRun() throws {
        let fc = try FuzzCase("kill-9-sample-data")
        defer { fc.finish() }
        let child = try fc.start(["sample-data", "--out", fc.storePath, "--sessions", "20000"])
        let staged = waitForStaging(fc.storePath, timeout: 15)
        usleep(300_000)
        kill(child.pid, SIGKILL)
        let killed = child.wait(timeout: 10)
        if !staged { fc.fail("sample-data never staged its output", killed) }
        let again = try fc.run(["sample-data", "--out", fc.storePath, "--sessions", "0"])
        fc.checkExit(again, allowed: [0])
        let left = debris(beside: fc.storePath)
        if !left.isEmpty { fc.fail("debris still beside the store after the next run: \(left)", again) }
    }
}
