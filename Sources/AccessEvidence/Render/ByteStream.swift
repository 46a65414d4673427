import Crypto
import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file written through a 1 MiB buffer with `write(2)`, optionally gzip-compressed (zlib, level 6):
/// listings write millions of short records, and a `FileHandle` call or a `Data` per record costs
/// more than the record. Created exclusively (`O_EXCL`): it only ever writes a new file of the run's.
final class ByteStream {
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    /// On the heap: zlib keeps a pointer to the stream in its state and refuses one that has moved.
    private var zstream: UnsafeMutablePointer<z_stream>?
    private var zout: [UInt8] = []
    /// Bytes handed to `write` before compression.
    private(set) var written = 0
    /// SHA-256 of the bytes that reached the file, taken as they are written, so the manifest need
    /// not read gigabytes of populations back; `digest` once closed.
    private var hasher = SHA256()
    private var fileBytes = 0
    private(set) var digest: (sha256: String, size: Int)?

    static let bufferSize = 1 << 20

    init(path: String, gzip: Bool = false, mode: mode_t = 0o644) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw OutputError(path: path, reason: String(cString: strerror(errno)), what: "the file") }
        buffer.reserveCapacity(Self.bufferSize)
        if gzip {
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            // windowBits 15 + 16: a gzip header and trailer, so `gunzip` and pandas read the file.
            let rc = deflateInit2_(z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else {
                z.deallocate()
                Glibc.close(fd)
                throw OutputError(path: path, reason: "cannot start gzip compression (zlib \(rc))", what: "the file")
            }
            zstream = z
            zout = [UInt8](repeating: 0, count: Self.bufferSize)
        }
    }

    deinit {
        endCompression()
        if fd >= 0 { Glibc.close(fd) }
    }

    func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        written += bytes.count
        if buffer.count >= Self.bufferSize { try flush(final: false) }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Flushes, finishes the gzip stream and closes the file; an error names the file.
    func close() throws {
        guard fd >= 0 else { return }
        try flush(final: true)
        endCompression()
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

    private func flush(final: Bool) throws {
        if let z = zstream {
            try buffer.withUnsafeMutableBufferPointer { input in
                z.pointee.next_in = input.baseAddress
                z.pointee.avail_in = UInt32(input.count)
                repeat {
                    let produced: Int = try zout.withUnsafeMutableBufferPointer { out in
                        z.pointee.next_out = out.baseAddress
                        z.pointee.avail_out = UInt32(out.count)
                        let rc = deflate(z, final ? Z_FINISH : Z_NO_FLUSH)
                        guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                            throw OutputError(path: path, reason: "gzip compression failed (zlib \(rc))", what: "the file")
                        }
                        return out.count - Int(z.pointee.avail_out)
                    }
                    try writeAll(zout, count: produced)
                } while z.pointee.avail_out == 0 || (final && z.pointee.avail_in > 0)
            }
        } else {
            try writeAll(buffer, count: buffer.count)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: [UInt8], count: Int) throws {
        var offset = 0
        try bytes.withUnsafeBytes { raw in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            fileBytes += count
            while offset < count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputError(path: path, reason: String(cString: strerror(errno)), what: "the file")
                }
                offset += n
            }
        }
    }
}
