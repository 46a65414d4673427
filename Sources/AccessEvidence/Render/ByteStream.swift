import Crypto
import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file written through a 1 MiB buffer with `write(2)`, optionally gzip-compressed (zlib, level 6):
/// listings write millions of short records, and a `FileHandle` call or a `Data` per record costs
/// more than the record. Created exclusively (`O_EXCL`): it only ever writes a new file of the run's.
///
/// Whole blocks go to the disk with direct I/O (`O_DIRECT`) where the file system allows it. A
/// million-session report writes gigabytes of populations that nothing reads back during the run:
/// through the page cache they would evict the store being read, and copying them into freshly
/// allocated cache pages was the largest single cost of such a run (a fifth of its CPU time on the
/// benchmark machine, against almost none direct). The last partial block is written through the
/// cache. Where direct I/O is refused (tmpfs on older kernels, some network file systems, a device
/// with blocks larger than `alignment`), the stream falls back to ordinary writes, same bytes.
final class ByteStream {
    let path: String
    private var fd: Int32
    /// Bytes on their way to the file: `alignment`-aligned memory, as direct I/O requires.
    private let buffer: UnsafeMutableRawPointer
    private var buffered = 0
    private var direct: Bool
    /// Compressed output: records are gathered in `input` and deflated into `buffer`.
    /// On the heap: zlib keeps a pointer to the stream in its state and refuses one that has moved.
    private var zstream: UnsafeMutablePointer<z_stream>?
    private var input: [UInt8] = []
    /// Bytes handed to `write` before compression.
    private(set) var written = 0
    /// SHA-256 of the bytes that reached the file, taken as they are written, so the manifest need
    /// not read gigabytes of populations back; `digest` once closed.
    private var hasher = SHA256()
    private var fileBytes = 0
    private(set) var digest: (sha256: String, size: Int)?

    static let bufferSize = 1 << 20
    /// Memory address, file offset and length of every direct write are multiples of this: 4096
    /// covers the logical block size of disks and the page size.
    static let alignment = 4096

    /// `direct: false` keeps every write in the page cache (the fallback, chosen to test it).
    init(path: String, gzip: Bool = false, mode: mode_t = 0o644, direct: Bool = true) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw OutputError(path: path, reason: String(cString: strerror(errno)), what: "the file") }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferSize, alignment: Self.alignment)
        // Asked for after the file exists: `open` with O_DIRECT on a file system without it fails
        // only once the file has been created, while `fcntl` refuses without side effects.
        self.direct = direct && Self.setDirect(fd, true)
        if gzip {
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            // windowBits 15 + 16: a gzip header and trailer, so `gunzip` and pandas read the file.
            let rc = deflateInit2_(z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else {
                z.deallocate()
                buffer.deallocate()
                Glibc.close(fd)
                throw OutputError(path: path, reason: "cannot start gzip compression (zlib \(rc))", what: "the file")
            }
            zstream = z
            input.reserveCapacity(Self.bufferSize)
        }
    }

    deinit {
        endCompression()
        if fd >= 0 { Glibc.close(fd) }
        buffer.deallocate()
    }

    /// Glibc declares O_DIRECT only under _GNU_SOURCE, which Swift's import does not set; its value
    /// differs between architectures (asm-generic's on arm64, x86's own on x86_64).
    #if arch(x86_64)
    static let directFlag: Int32 = 0o40000
    #elseif arch(arm64)
    static let directFlag: Int32 = 0o200000
    #else
    static let directFlag: Int32 = 0
    #endif

    static func setDirect(_ fd: Int32, _ on: Bool) -> Bool {
        let O_DIRECT = directFlag
        guard O_DIRECT != 0 else { return !on }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return false }
        return fcntl(fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT) == 0
    }

    func write(_ bytes: [UInt8]) throws {
        written += bytes.count
        if zstream != nil {
            input.append(contentsOf: bytes)
            if input.count >= Self.bufferSize { try deflateInput(final: false) }
        } else {
            try bytes.withUnsafeBytes { try emit($0) }
        }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Flushes, finishes the gzip stream and closes the file; an error names the file.
    func close() throws {
        guard fd >= 0 else { return }
        if zstream != nil { try deflateInput(final: true) }
        endCompression()
        try writeBuffer(final: true)
        let rc = Glibc.close(fd)
        fd = -1
        guard rc == 0 else { throw OutputError(path: path, reason: String(cString: strerror(errno)), what: "the file") }
        digest = (Hex.encode(hasher.finalize()), fileBytes)
    }

    private func endCompression() {
        guard let z = zstream else { return }
        deflateEnd(z)
        z.deallocate()
        zstream = nil
    }

    /// Copies file bytes into the buffer, writing it out each time it fills.
    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Self.bufferSize - buffered)
            (buffer + buffered).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            buffered += n
            offset += n
            if buffered == Self.bufferSize { try writeBuffer(final: false) }
        }
    }

    /// Deflates `input` straight into the buffer's free space.
    private func deflateInput(final: Bool) throws {
        guard let z = zstream else { return }
        try input.withUnsafeMutableBufferPointer { source in
            z.pointee.next_in = source.baseAddress
            z.pointee.avail_in = UInt32(source.count)
            while true {
                let room = Self.bufferSize - buffered, pending = z.pointee.avail_in
                z.pointee.next_out = (buffer + buffered).assumingMemoryBound(to: UInt8.self)
                z.pointee.avail_out = UInt32(room)
                let rc = deflate(z, final ? Z_FINISH : Z_NO_FLUSH)
                let produced = room - Int(z.pointee.avail_out)
                // Z_BUF_ERROR is only "no progress possible": fine once, a failure when finishing stalls.
                guard rc == Z_OK || rc == Z_STREAM_END || (rc == Z_BUF_ERROR && !(final && produced == 0 && pending == z.pointee.avail_in)) else {
                    throw OutputError(path: path, reason: "gzip compression failed (zlib \(rc))", what: "the file")
                }
                buffered += produced
                if buffered == Self.bufferSize { try writeBuffer(final: false) }
                // Done once zlib has taken all the input and, finishing, has room left over.
                if z.pointee.avail_in == 0 && (!final || rc == Z_STREAM_END) && z.pointee.avail_out > 0 { break }
            }
        }
        input.removeAll(keepingCapacity: true)
    }

    /// Writes the buffer: whole blocks directly, and at the end the partial last block through the cache.
    private func writeBuffer(final: Bool) throws {
        guard buffered > 0 else { return }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: buffered))
        fileBytes += buffered
        let blocks = direct ? buffered / Self.alignment * Self.alignment : buffered
        try writeAll(from: 0, to: blocks)
        if blocks < buffered {
            precondition(final, "only the last write may leave a partial block")
            if direct { _ = Self.setDirect(fd, false); direct = false }
            try writeAll(from: blocks, to: buffered)
        }
        buffered = 0
    }

    private func writeAll(from start: Int, to end: Int) throws {
        var offset = start
        while offset < end {
            let n = Glibc.write(fd, buffer + offset, end - offset)
            if n < 0 {
                if errno == EINTR { continue }
                // Direct I/O refused at the first write (alignment the device does not accept):
                // the same bytes go through the page cache instead.
                if errno == EINVAL && direct && Self.setDirect(fd, false) {
                    direct = false
                    continue
                }
                throw OutputError(path: path, reason: String(cString: strerror(errno)), what: "the file")
            }
            offset += n
        }
    }
}
