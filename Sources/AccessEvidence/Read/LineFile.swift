import Crypto
import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A text file read one line at a time, plain or gzip-compressed (zlib reads either, and a gzip of
/// several members as one stream), through a 1 MiB buffer: line-oriented logs run to gigabytes and
/// are read front to back, never whole. Only read: the descriptor is opened read-only, refused
/// unless it is a regular file (a FIFO cannot block the run).
final class LineFile {
    enum Line {
        /// A line without its `\n` (and a `\r` before it). `terminated` is false for a last line
        /// with no newline after it: the file may still be being written.
        case text([UInt8], terminated: Bool)
        /// Longer than `maximumBytes`: skipped to its end without being held.
        case tooLong(bytes: Int)
    }

    /// No canonical record or audit event comes near this; a longer line is damage (or an attempt to
    /// make the reader hold a gigabyte), skipped and reported.
    static let maximumBytes = 64 << 20
    static let chunk = 1 << 20

    let path: String
    private var file: gzFile?
    private var buffer: [UInt8] = []
    /// What each read fills, before its bytes join `buffer`.
    private var scratch = [UInt8](repeating: 0, count: LineFile.chunk)
    private var head = 0
    private var atEnd = false
    /// The number of the line `next` returned last (1-based).
    private(set) var lineNumber = 0
    /// Bytes read so far (after decompression), and the most this file is read to: a log still being
    /// written is read on a later pass only as far as the first pass read it.
    private(set) var consumed = 0
    private let limit: Int?
    /// SHA-256 of the bytes read, when asked for (`hashing`).
    private var hasher: SHA256?

    init(path: String, what: String, limit: Int? = nil, hashing: Bool = false) throws {
        self.path = path
        self.limit = limit
        hasher = hashing ? SHA256() : nil
        let fd = try StoreFiles.openRegularFile(path, what: what)
        // The descriptor was opened non-blocking (so a FIFO swapped in could not block the open); a
        // regular file reads the same either way.
        guard let file = gzdopen(fd, "rb") else {
            close(fd)
            throw StoreError.unreadable(path: path, reason: "cannot start reading (zlib)")
        }
        _ = gzbuffer(file, UInt32(Self.chunk))
        self.file = file
        buffer.reserveCapacity(2 * Self.chunk)
    }

    deinit {
        if let file { gzclose_r(file) }
    }

    /// The next line, or nil at the end of the file.
    func next() throws -> Line? {
        var skipped = 0
        while true {
            if let newline = newlineIndex() {
                lineNumber += 1
                if skipped > 0 {
                    skipped += newline - head
                    head = newline + 1
                    return .tooLong(bytes: skipped)
                }
                var end = newline
                if end > head, buffer[end - 1] == 13 { end -= 1 }
                let line = Array(buffer[head..<end])
                head = newline + 1
                return .text(line, terminated: true)
            }
            if atEnd {
                guard head < buffer.count || skipped > 0 else { return nil }
                lineNumber += 1
                if skipped > 0 {
                    skipped += buffer.count - head
                    head = buffer.count
                    return .tooLong(bytes: skipped)
                }
                let line = Array(buffer[head...])
                head = buffer.count
                return .text(line, terminated: false)
            }
            if buffer.count - head > Self.maximumBytes {
                skipped += buffer.count - head
                head = buffer.count
            }
            try fill()
        }
    }

    private func newlineIndex() -> Int? {
        guard head < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { b -> Int? in
            guard let found = memchr(b.baseAddress! + head, 10, b.count - head) else { return nil }
            return b.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    private func fill() throws {
        if head > 0 {
            buffer.removeSubrange(0..<head)
            head = 0
        }
        let room = limit.map { max(0, min(scratch.count, $0 - consumed)) } ?? scratch.count
        if room == 0 {
            atEnd = true
            return
        }
        let n = scratch.withUnsafeMutableBufferPointer { gzread(file, $0.baseAddress!, UInt32(room)) }
        guard n >= 0 else {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
            throw StoreError.unreadable(path: path, reason: code == Z_ERRNO ? String(cString: strerror(errno)) : "damaged gzip data (\(message))")
        }
        if n == 0 {
            // zlib reports a gzip cut short (or damaged at its end) only through gzerror once reads stop.
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
            if code != Z_OK, code != Z_STREAM_END {
                throw StoreError.unreadable(path: path, reason: "damaged gzip data at its end (\(message)): the file was cut short")
            }
            atEnd = true
        }
        // A slice of an array of bytes: copied whole, not element by element.
        buffer.append(contentsOf: scratch[0..<Int(n)])
        consumed += Int(n)
        if hasher != nil { scratch.withUnsafeBytes { hasher!.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)])) } }
    }

    /// The SHA-256 of the bytes read (with `hashing`), once the file has been read to its end.
    func sha256() -> SHA256.Digest? { hasher?.finalize() }
}
