import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Paths a run is still making, removed when the run is stopped by SIGINT, SIGTERM or SIGHUP.
/// (A run killed outright cannot clean up; `Staging` lets the next run do it.)
public final class Cleanup: @unchecked Sendable {
    public static let shared = Cleanup()
    private let lock = NSLock()
    private var paths: [String] = []
    private var installed = false
    /// Held while an output is swapped into place: a signal then waits for the swap to finish
    /// instead of removing a report that is between its old and its new place.
    private let swap = NSLock()
    private var stopping = false

    /// Set once a stop signal has arrived: the run's errors from then on are the signal's doing
    /// (its files were removed under it), and the process is about to end by that signal.
    public var isStopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping
    }

    func withoutInterruption<T>(_ body: () throws -> T) rethrows -> T {
        swap.lock(); defer { swap.unlock() }
        return try body()
    }

    public func register(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.append(path)
    }

    public func unregister(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.removeAll { $0 == path }
    }

    /// Removes every registered path, newest first.
    func removeAll() {
        lock.lock()
        let pending = paths.reversed()
        paths.removeAll()
        lock.unlock()
        for path in pending { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Catches the signals a user or service manager stops a run with: the run's own unfinished
    /// files are removed, then the process ends by that signal, so the exit status still tells it.
    ///
    /// A plain `sigaction` handler, not a dispatch signal source: on Linux the latter reads a
    /// `signalfd`, which sees a signal only while every thread blocks it, and the threads already
    /// running (the main one among them) do not, so the kernel discarded a SIGTERM as ignored at
    /// some moments and the run finished as if never stopped. The handler itself only writes the
    /// signal's number to a pipe (all it may safely do); a thread of our own reads it and cleans up.
    /// A signal ignored when the run started stays ignored, as shells and `nohup` intend: a run
    /// started with `nohup` outlives the terminal, a background job is not stopped by Ctrl-C.
    public func installSignalHandlers() {
        lock.lock(); defer { lock.unlock() }
        guard !installed else { return }
        installed = true
        // A signal blocked by whoever started the run would stay pending for good: unblock ours in
        // this thread (the main one), which is always there to take them.
        var handled = sigset_t()
        sigemptyset(&handled)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&handled, sig) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        // No thread spawns children yet, so setting close-on-exec after the pipe is made leaks nothing.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        // A full pipe must never block the handler; one byte per signal cannot fill it anyway.
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        stopSignalPipe = ends[1]
        let readEnd = ends[0]
        let thread = Thread { [unowned self] in
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count == 1 { self.stop(by: Int32(byte)) }
                if count == 0 || (count < 0 && errno != EINTR) { return }
            }
        }
        thread.name = "access-evidence stop signals"
        thread.start()
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var previous = sigaction()
            guard sigaction(sig, nil, &previous) == 0 else { continue }
            let ignored = unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
            if ignored { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = forwardStopSignal
            sigemptyset(&action.sa_mask)
            // Interrupted reads and writes elsewhere resume instead of failing with EINTR.
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
    }

    /// Runs on the signal thread: removes the run's unfinished files once, then ends the process
    /// by `sig`. A second signal while the first is being handled changes nothing.
    private func stop(by sig: Int32) {
        lock.lock()
        let second = stopping
        stopping = true
        lock.unlock()
        guard !second else { return }
        swap.lock()
        removeAll()
        signal(sig, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, sig)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(sig)
        _exit(128 + sig)
    }
}

/// The write end of the pipe `forwardStopSignal` reports on; set once, before any handler is installed.
nonisolated(unsafe) private var stopSignalPipe: Int32 = -1

/// The signal handler: async-signal-safe, so it only writes the signal's number and keeps `errno`.
private func forwardStopSignal(_ sig: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: sig)
    _ = write(stopSignalPipe, &byte, 1)
    errno = saved
}

/// The unfinished form of an output (a report folder, a snapshot, a generated store), made beside
/// its final place as `.NAME.partial-PID` and renamed into place only when complete. A lock file
/// `.NAME.partial-PID.lock`, held (flock) while the run lives, tells a later run whether the
/// maker is gone: staging left by a killed run is removed by the next run that writes `NAME`.
public final class Staging {
    public let target: URL
    public let path: String
    let lockPath: String
    let lockFD: Int32
    let isFolder: Bool

    public init(target: String, folder: Bool) throws {
        let destination = URL(fileURLWithPath: target).standardizedFileURL
        self.target = destination
        isFolder = folder
        let parent = destination.deletingLastPathComponent().path
        let name = destination.lastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw OutputError(path: target, reason: "cannot create the folder it goes in (\(OutputError.describe(error)))")
        }
        Self.removeStale(parent: parent, name: name)
        let stem = (parent as NSString).appendingPathComponent(".\(name).partial-\(getpid())")
        path = stem
        lockPath = stem + ".lock"
        lockFD = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else {
            throw OutputError(path: target, reason: "cannot create \(lockPath) (\(String(cString: strerror(errno))))")
        }
        _ = flock(lockFD, LOCK_EX)
        Cleanup.shared.register(lockPath)
        Cleanup.shared.register(path)
        try? FileManager.default.removeItem(atPath: path)
        if folder {
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) } catch {
                discard()
                throw OutputError(path: target, reason: OutputError.describe(error))
            }
        }
    }

    /// Dropped without a commit (an error path that forgot to discard): the unfinished output goes
    /// too, so no staging is ever left without the lock file that lets a later run remove it.
    deinit { if !released { discard() } }

    /// Removes the unfinished output.
    public func discard() {
        try? FileManager.default.removeItem(atPath: path)
        release()
    }

    /// Puts the finished output in place of the target, which must be absent or replaceable
    /// (checked by the caller). A folder target is moved aside first and restored if the rename fails.
    public func commit() throws {
        let fm = FileManager.default
        let destination = target.path
        let previous = (target.deletingLastPathComponent().path as NSString).appendingPathComponent(".\(target.lastPathComponent).previous-\(getpid())")
        do {
            try Cleanup.shared.withoutInterruption {
            switch OutputGuard.entry(destination) {
            case .absent:
                try fm.moveItem(atPath: path, toPath: destination)
            case .folder where isFolder:
                try fm.moveItem(atPath: destination, toPath: previous)
                do { try fm.moveItem(atPath: path, toPath: destination) } catch {
                    try? fm.moveItem(atPath: previous, toPath: destination)
                    throw error
                }
                try? fm.removeItem(atPath: previous)
            case .file where !isFolder:
                // rename(2) replaces a file atomically: there is never a moment without one.
                guard rename(path, destination) == 0 else {
                    throw OutputError(path: destination, reason: String(cString: strerror(errno)))
                }
            default:
                throw OutputError(path: destination, reason: "changed while the run was writing; nothing was replaced", refused: true)
            }
            }
        } catch let error as OutputError {
            discard()
            throw error
        } catch {
            discard()
            throw OutputError(path: destination, reason: OutputError.describe(error))
        }
        Cleanup.shared.unregister(path)
        release()
    }

    private var released = false
    private func release() {
        guard !released else { return }
        released = true
        Cleanup.shared.unregister(path)
        Cleanup.shared.unregister(lockPath)
        unlink(lockPath)
        close(lockFD)
    }

    /// Staging of runs that no longer hold their lock (killed): removed. A report folder moved
    /// aside by a run killed mid-swap is put back when nothing took its place.
    static func removeStale(parent: String, name: String) {
        let prefix = ".\(name).partial-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(".lock") {
            let pid = entry.dropFirst(prefix.count).dropLast(".lock".count)
            guard !pid.isEmpty, pid.allSatisfy(\.isNumber) else { continue }
            let lock = (parent as NSString).appendingPathComponent(entry)
            let fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // Held by a live run: leave it alone.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            let staging = (parent as NSString).appendingPathComponent(prefix + pid)
            let previous = (parent as NSString).appendingPathComponent(".\(name).previous-\(pid)")
            let destination = (parent as NSString).appendingPathComponent(name)
            if OutputGuard.entry(previous) == .folder {
                if OutputGuard.entry(destination) == .absent { try? FileManager.default.moveItem(atPath: previous, toPath: destination) }
                else { try? FileManager.default.removeItem(atPath: previous) }
            }
            try? FileManager.default.removeItem(atPath: staging)
            unlink(lock)
        }
    }
}

/// Small outputs written whole: staged beside the target and renamed into place, so a reader never
/// sees half a file and a failure leaves the old one.
public enum SafeWrite {
    /// Replaces (or creates) `path`; the caller has checked that it may (`OutputGuard`).
    public static func file(_ data: Data, to path: String, what: String = "the file") throws {
        let staging = try Staging(target: path, folder: false)
        do {
            try data.write(to: URL(fileURLWithPath: staging.path))
            try staging.commit()
        } catch let error as OutputError {
            staging.discard()
            throw error
        } catch {
            staging.discard()
            throw OutputError(path: path, reason: OutputError.describe(error), what: what)
        }
    }

    /// Creates `path`, which must not exist (`O_EXCL`: not even as a link), with `mode`.
    public static func newFile(_ data: Data, to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw OutputError(path: path, reason: String(cString: strerror(errno)), what: "the file") }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { ok = false; return }
                offset += n
            }
        }
        let problem = String(cString: strerror(errno))
        close(fd)
        guard ok else {
            unlink(path)
            throw OutputError(path: path, reason: problem, what: "the file")
        }
    }
}
