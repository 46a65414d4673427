import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The SQLite store file and the files SQLite keeps next to it (`-journal`, `-wal`, `-shm`), looked
/// at before SQLite opens anything, so that opening the store can neither block, nor make SQLite
/// write, roll back or create a file next to the store.
///
/// - Only a regular file is a store: `open` on a FIFO blocks until a writer appears, and devices and
///   folders are not databases. `stat` decides before any `open`, and the header is then read through
///   a non-blocking descriptor whose identity is checked against that `stat`.
/// - A hot rollback journal (non-empty, first byte set: SQLite's own test) means an interrupted
///   write that SQLite would roll back on open, which needs write access: refused.
/// - A non-empty `-wal` is read by SQLite whatever the header says, so it is part of what the
///   report reads: it is hashed after the main file. SQLite needs its `-shm` index to read it and
///   creates one when it is missing, so a `-wal` without `-shm` is refused.
/// - A WAL-mode file without a (non-empty) `-wal` is opened `immutable=1`: otherwise SQLite creates
///   `-wal` and `-shm` to open it, even read-only.
struct StoreFiles: Sendable {
    enum Kind: Sendable, Equatable {
        case regular, directory, fifo, characterDevice, blockDevice, socket, symbolicLink, other

        init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regular
            case S_IFDIR: self = .directory
            case S_IFIFO: self = .fifo
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            case S_IFSOCK: self = .socket
            case S_IFLNK: self = .symbolicLink
            default: self = .other
            }
        }

        var name: String {
            switch self {
            case .regular: return "a regular file"
            case .directory: return "a directory"
            case .fifo: return "a FIFO"
            case .characterDevice: return "a character device"
            case .blockDevice: return "a block device"
            case .socket: return "a socket"
            case .symbolicLink: return "a symbolic link"
            case .other: return "not a regular file"
            }
        }
    }

    let path: String
    /// The `-wal` file SQLite reads with the store, hashed after it; nil when there is none.
    let wal: String?
    /// Open with `immutable=1`: a WAL-mode file with no log to read, which SQLite would otherwise
    /// give a new `-wal` and `-shm`.
    let immutable: Bool

    static let header = Array("SQLite format 3\0".utf8)

    static func inspect(_ path: String) throws -> StoreFiles {
        let main = try status(path)
        guard let main else { throw StoreError.notFound(path: path) }
        guard Kind(mode: main.st_mode) == .regular else {
            throw StoreError.unreadable(path: path, reason: "not a regular file (\(Kind(mode: main.st_mode).name)); a store is an SQLite file")
        }
        let head = try readStart(path, count: 100, expected: main)
        guard head.count >= 16, Array(head.prefix(16)) == header else { throw StoreError.notSQLite(path: path) }
        // Bytes 18 and 19 are the write and read format versions: 2 is WAL mode.
        let walMode = head.count >= 20 && (head[18] == 2 || head[19] == 2)

        var sidecars: [String: stat] = [:]
        for suffix in ["-journal", "-wal", "-shm"] {
            let sidecar = path + suffix
            guard let info = try status(sidecar) else { continue }
            guard Kind(mode: info.st_mode) == .regular else {
                throw StoreError.refused(path: sidecar, reason: "not a regular file (\(Kind(mode: info.st_mode).name)), yet SQLite would open it with the store; remove it or report from a copy of the store alone")
            }
            sidecars[suffix] = info
        }
        if let journal = sidecars["-journal"], journal.st_size > 0,
           try readStart(path + "-journal", count: 1, expected: journal).first.map({ $0 != 0 }) ?? false {
            throw StoreError.refused(path: path + "-journal", reason: """
                a rollback journal is present: a write to the store was interrupted, and SQLite would have to roll \
                it back, which this tool never does (it only reads); open the store once with the gateway or sqlite3 \
                to recover it, or report from a copy made after that
                """)
        }
        if let wal = sidecars["-wal"], wal.st_size > 0 {
            guard sidecars["-shm"] != nil else {
                throw StoreError.refused(path: path + "-wal", reason: """
                    a write-ahead log is present without its -shm index: SQLite would create \(path)-shm next to \
                    the store to read it, and this tool never writes there; run `sqlite3 STORE 'PRAGMA wal_checkpoint'` \
                    to fold the log into the store, or report from a copy holding both files
                    """)
            }
            return StoreFiles(path: path, wal: path + "-wal", immutable: false)
        }
        // An empty -wal would still make SQLite open (and index) it: nothing in it to read.
        return StoreFiles(path: path, wal: nil, immutable: walMode || sidecars["-wal"] != nil)
    }

    /// `stat` of a path, following symbolic links; nil when nothing is there.
    static func status(_ path: String) throws -> stat? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw StoreError.unreadable(path: path, reason: String(cString: strerror(code)))
        }
        return info
    }

    /// The first `count` bytes of a regular file, read through a descriptor opened without blocking
    /// and checked to be the file `expected` described (not something swapped in since).
    static func readStart(_ path: String, count: Int, expected: stat) throws -> [UInt8] {
        try withRegularFile(path, expected: expected) { fd in
            var buffer = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw StoreError.unreadable(path: path, reason: String(cString: strerror(errno))) }
                if n == 0 { break }
                got += n
            }
            return Array(buffer.prefix(got))
        }
    }

    /// Runs `body` with a read-only descriptor of `path`, opened with `O_NONBLOCK` (a FIFO swapped in
    /// cannot block the open) and refused unless it is a regular file, the one `expected` describes if given.
    static func withRegularFile<T>(_ path: String, expected: stat? = nil, _ body: (Int32) throws -> T) throws -> T {
        let fd = try openRegularFile(path, expected: expected)
        defer { close(fd) }
        return try body(fd)
    }

    /// `withRegularFile`'s descriptor, for a caller that keeps it open (and closes it); `what` is what
    /// a store of this kind is, for the error when the path is something else.
    static func openRegularFile(_ path: String, expected: stat? = nil, what: String = "an SQLite file") throws -> Int32 {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw StoreError.notFound(path: path) }
            throw StoreError.unreadable(path: path, reason: code == EACCES ? "permission denied" : String(cString: strerror(code)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw StoreError.unreadable(path: path, reason: reason)
        }
        guard Kind(mode: info.st_mode) == .regular else {
            close(fd)
            throw StoreError.unreadable(path: path, reason: "not a regular file (\(Kind(mode: info.st_mode).name)); a store is \(what)")
        }
        if let expected, expected.st_dev != info.st_dev || expected.st_ino != info.st_ino {
            close(fd)
            throw StoreError.unreadable(path: path, reason: "the file changed while it was being opened")
        }
        return fd
    }
}
