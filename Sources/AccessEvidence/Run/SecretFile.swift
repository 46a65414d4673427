import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A secret kept in a file (a database password, an API token): opened once and checked through
/// that descriptor, so the file read is the file checked (a symbolic link is followed, as a mounted
/// secret often is) and a FIFO cannot block the run. Like libpq with `~/.pgpass`, a file its group
/// or others may read is refused: a secret others can read is no secret.
enum SecretFile {
    /// At most this many bytes: a secret is a line, not a file to stream.
    static let limit = 65_536

    enum Problem: Error, Equatable {
        case cannotRead(String)
        case notARegularFile
        case exposed(mode: UInt32)
        case tooLarge
    }

    /// The file's text, whitespace around it trimmed.
    static func read(_ path: String) -> Result<String, Problem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(.cannotRead(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return .failure(.notARegularFile) }
        guard st.st_mode & 0o077 == 0 else { return .failure(.exposed(mode: UInt32(st.st_mode & 0o777))) }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return .failure(.cannotRead(String(cString: strerror(errno)))) }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { return .failure(.tooLarge) }
        return .success(String(decoding: bytes.prefix(count), as: UTF8.self).trimmed(.whitespacesAndNewlines))
    }
}
