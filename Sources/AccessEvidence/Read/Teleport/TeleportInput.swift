import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files a `teleport:PATH` store reads, in time order, each marked with what it is read for.
///
/// PATH is a `dir` audit-log folder (`<auth-server-id>/<YYYY-MM-DD>.00:00:00.log`, or such files in the
/// folder itself), one file of events (JSON lines, optionally gzip), or `-` for standard input, which
/// is copied once to an unnamed temporary file (nothing to clean up, also when killed) because the
/// reader passes over the events twice.
struct TeleportInput {
    struct File: Equatable {
        let path: String
        /// The day the file's name gives (`dir` backend), nil for a file named on the command line.
        let day: String?
    }

    let location: String
    let files: [File]
    /// Keeps standard input's copy alive: its path is `/proc/self/fd/N`.
    private let spool: Spool?

    final class Spool {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }

    static let what = "a Teleport audit log (a dir-backend folder, or a file of JSON lines, optionally gzip)"

    init(location: String) throws {
        self.location = location
        if location == "-" {
            let spool = try Self.copyStandardInput()
            self.spool = spool
            files = [File(path: "/proc/self/fd/\(spool.fd)", day: nil)]
            return
        }
        spool = nil
        switch try StoreFiles.status(location).map({ StoreFiles.Kind(mode: $0.st_mode) }) {
        case nil: throw StoreError.notFound(path: location)
        case .directory?: files = try Self.dayFiles(in: location)
        case .regular?: files = [File(path: location, day: nil)]
        case let other?:
            throw StoreError.unreadable(path: location, reason: "not a regular file or folder (\(other.name)); a store is \(Self.what)")
        }
    }

    /// The days a file's name can give: `YYYY-MM-DD.00:00:00.log`, optionally `.gz`.
    static func day(of name: String) -> String? {
        let bytes = Array(name.utf8)
        let shape = Array("0000-00-00.00:00:00.log".utf8)
        guard bytes.count == shape.count || (bytes.count == shape.count + 3 && name.hasSuffix(".gz")) else { return nil }
        for (i, s) in shape.enumerated() {
            let b = bytes[i]
            if s == UInt8(ascii: "0") ? !(48...57).contains(b) : b != s { return nil }
        }
        return String(name.prefix(10))
    }

    /// Dated files in `folder` and in its sub-folders (one per auth server), by day, then folder, then name.
    static func dayFiles(in folder: String) throws -> [File] {
        let fm = FileManager.default
        var found: [(day: String, dir: String, name: String)] = []
        let top: [String]
        do { top = try fm.contentsOfDirectory(atPath: folder) } catch {
            throw StoreError.unreadable(path: folder, reason: OutputError.describe(error))
        }
        for entry in top.sorted() {
            let path = (folder as NSString).appendingPathComponent(entry)
            if let day = day(of: entry) {
                found.append((day, "", entry))
                continue
            }
            // Recordings and upload queues sit beside the auth servers' folders; they are not events.
            guard !["records", "upload", "streaming", "sessions"].contains(entry),
                  try StoreFiles.status(path).map({ StoreFiles.Kind(mode: $0.st_mode) }) == .directory else { continue }
            let inner: [String]
            do { inner = try fm.contentsOfDirectory(atPath: path) } catch {
                // An auth server's events it cannot read would be missing from the report without a word.
                throw StoreError.unreadable(path: path, reason: OutputError.describe(error))
            }
            for name in inner.sorted() {
                if let day = day(of: name) { found.append((day, entry, name)) }
            }
        }
        guard !found.isEmpty else {
            throw StoreError.refused(path: folder, reason: "no audit-log files (YYYY-MM-DD.00:00:00.log) in the folder or its sub-folders; name the file itself for another name")
        }
        return found.sorted { ($0.day, $0.dir, $0.name) < ($1.day, $1.dir, $1.name) }.map {
            File(path: (folder as NSString).appendingPathComponent($0.dir.isEmpty ? $0.name : "\($0.dir)/\($0.name)"), day: $0.day)
        }
    }

    /// The files a pass over `period` reads. A file of a day more than two before the period holds no
    /// session of it, only what came before (users, access requests, locks), so `history` says whether
    /// those are read; files of days after the day following the period are not read.
    func files(for period: Period, history: Bool) -> [File] {
        // Two days back: a login up to a certificate's longest life before the period tells its sessions' MFA.
        let first = Timestamp.formatDay(period.start.addingTimeInterval(-2 * 86_400))
        // The UTC day after the one the period ends in (its last UTC day when it ends at midnight UTC): its sessions' ends and uploads.
        let last = Timestamp.formatDay(period.end.addingTimeInterval(86_399))
        return files.filter { file in
            guard let day = file.day else { return true }
            return day <= last && (history || day >= first)
        }
    }

    static func copyStandardInput() throws -> Spool {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        // Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY, which Glibc's module does not export): a file with
        // no name, gone when its descriptor closes.
        let fd = open(directory, 0o20000000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError.unreadable(path: "-", reason: "cannot make a temporary copy of standard input in \(directory) (\(String(cString: strerror(errno))))")
        }
        let spool = Spool(fd: fd)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw StoreError.unreadable(path: "-", reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + written, n - written) }
                guard w > 0 else {
                    throw StoreError.unreadable(path: "-", reason: "cannot copy standard input (\(String(cString: strerror(errno))))")
                }
                written += w
            }
        }
        return spool
    }
}
