import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Raw DEFLATE (RFC 1951, as zip stores it) written as it is produced into an unlinked temporary
/// file: a worksheet's rows are compressed while the run goes on, on whichever thread writes them,
/// instead of all at once when the workbook closes. The file has no name from the moment it is made,
/// so a run that is killed leaves nothing behind.
///
/// A part is one piece of a zip entry: `finish(final: false)` ends it on a byte boundary with an
/// empty stored block (a sync flush) and no final-block bit, so another piece, compressed on its own,
/// can follow it in the same entry; a compressor never refers back past its own start, so the
/// pieces decompress as one stream. The CRC-32 of the whole entry comes from the pieces' CRCs
/// (`crc32_combine`).
final class DeflatedPart {
    /// The file the part belongs to, for messages.
    let label: String
    private let z: UnsafeMutablePointer<z_stream>
    private var fd: Int32
    private let output: UnsafeMutablePointer<UInt8>
    private var pending = 0
    private(set) var crc: UInt = crc32(0, nil, 0)
    /// Bytes before compression.
    private(set) var size: UInt64 = 0
    /// Bytes in the file.
    private(set) var compressedSize: UInt64 = 0
    private var ended = false

    static let outputSize = 64 << 10

    init(directory: String, level: Int32, label: String) throws {
        self.label = label
        var template = Array((directory as NSString).appendingPathComponent("access-evidence-part-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw XLSXError(description: "\(label): cannot make a temporary file in \(directory): \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        self.fd = fd
        z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        z.initialize(to: z_stream())
        // windowBits -15: raw deflate, no zlib header or trailer (zip has its own).
        let rc = deflateInit2_(z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        output = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.outputSize)
        guard rc == Z_OK else {
            z.deallocate()
            output.deallocate()
            Glibc.close(fd)
            self.fd = -1
            throw XLSXError(description: "\(label): cannot start compression (zlib \(rc))")
        }
    }

    deinit {
        if !ended { deflateEnd(z) }
        z.deallocate()
        output.deallocate()
        if fd >= 0 { Glibc.close(fd) }
    }

    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBufferPointer { try compress($0, flush: Z_NO_FLUSH) }
    }

    /// Ends the part: `final` closes the DEFLATE stream; otherwise it stops on a byte boundary for a
    /// following piece. The compressor's memory is freed either way.
    func finish(final: Bool) throws {
        guard !ended else { return }
        try compress(UnsafeBufferPointer(start: nil, count: 0), flush: final ? Z_FINISH : Z_SYNC_FLUSH)
        try writeOutput()
        deflateEnd(z)
        ended = true
    }

    private func compress(_ source: UnsafeBufferPointer<UInt8>, flush: Int32) throws {
        precondition(!ended, "write after finish")
        if let base = source.baseAddress, source.count > 0 {
            crc = crc32(crc, base, UInt32(source.count))
            size += UInt64(source.count)
        }
        z.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
        z.pointee.avail_in = UInt32(source.count)
        while true {
            let room = Self.outputSize - pending, waiting = z.pointee.avail_in
            z.pointee.next_out = output + pending
            z.pointee.avail_out = UInt32(room)
            let rc = deflate(z, flush)
            let produced = room - Int(z.pointee.avail_out)
            pending += produced
            // Z_BUF_ERROR is "no progress possible": done when all input was taken already and nothing
            // is being flushed (the buffer had filled exactly), a failure otherwise.
            if rc == Z_BUF_ERROR && produced == 0 && z.pointee.avail_in == waiting {
                if waiting == 0 && flush == Z_NO_FLUSH { break }
                throw XLSXError(description: "\(label): compression made no progress (zlib \(rc))")
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw XLSXError(description: "\(label): compression failed (zlib \(rc))")
            }
            if pending == Self.outputSize { try writeOutput() }
            // Done when all input is taken and zlib left room in the buffer (so nothing waits inside it).
            if z.pointee.avail_in == 0 && z.pointee.avail_out > 0 && (flush != Z_FINISH || rc == Z_STREAM_END) { break }
        }
    }

    private func writeOutput() throws {
        var offset = 0
        while offset < pending {
            let n = Glibc.write(fd, output + offset, pending - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw XLSXError(description: "\(label): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        compressedSize += UInt64(pending)
        pending = 0
    }

    /// Hands the compressed bytes, in order, to `body` (1 MiB at a time).
    func read(_ body: ([UInt8]) throws -> Void) throws {
        precondition(ended, "read before finish")
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset: UInt64 = 0
        while offset < compressedSize {
            let want = Int(min(UInt64(chunk.count), compressedSize - offset))
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw XLSXError(description: "\(label): \(String(cString: strerror(errno)))")
            }
            guard n > 0 else { throw XLSXError(description: "\(label): a temporary file ended early") }
            try body(n == chunk.count ? chunk : Array(chunk[0..<n]))
            offset += UInt64(n)
        }
    }

    /// `bytes` as one finished piece held in memory (small parts: the workbook's own files, a sheet's head).
    static func deflated(_ bytes: [UInt8], level: Int32, final: Bool, label: String) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw XLSXError(description: "\(label): cannot start compression")
        }
        defer { deflateEnd(&stream) }
        // deflateBound covers a finished stream; a sync flush adds at most its 5-byte empty block.
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 16)
        let rc = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = UInt32(output.count)
                return deflate(&stream, final ? Z_FINISH : Z_SYNC_FLUSH)
            }
        }
        // A sync flush is complete only when zlib had room to spare.
        guard rc == (final ? Z_STREAM_END : Z_OK), stream.avail_in == 0, final || stream.avail_out > 0 else {
            throw XLSXError(description: "\(label): compression failed (zlib \(rc))")
        }
        out.removeLast(Int(stream.avail_out))
        return out
    }
}

/// A zip archive (PKWARE APPNOTE 6.3) written front to back: each entry's sizes and CRC are known
/// when it is added, so local headers carry them and no data descriptors are needed. Entries,
/// offsets or sizes past zip's 32-bit fields get ZIP64 records, only where needed. Times are the
/// zip epoch (1980-01-01 00:00), so the same content gives the same bytes.
final class ZipArchive {
    enum Piece {
        case bytes([UInt8])
        case part(DeflatedPart)
    }

    private struct Entry {
        let name: [UInt8]
        let crc: UInt32
        let size: UInt64
        let compressedSize: UInt64
        let offset: UInt64
    }

    let path: String
    private let file: ByteStream
    private var entries: [Entry] = []
    private var offset: UInt64 = 0
    /// Every ZIP64 record even where the sizes fit: how a test reads that branch without writing 4 GiB.
    let alwaysZip64: Bool

    init(path: String, alwaysZip64: Bool = false) throws {
        self.path = path
        self.alwaysZip64 = alwaysZip64
        do { file = try ByteStream(path: path) } catch let error as OutputError {
            throw XLSXError(description: "\(path): \(error.reason)")
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        do { try file.write(bytes) } catch let error as OutputError { throw XLSXError(description: "\(path): \(error.reason)") }
        offset += UInt64(bytes.count)
    }

    /// A small file, compressed here.
    func add(_ name: String, _ data: [UInt8], level: Int32 = 6) throws {
        let compressed = try DeflatedPart.deflated(data, level: level, final: true, label: path)
        let crc = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        try add(name, crc: crc, size: UInt64(data.count), pieces: [.bytes(compressed)])
    }

    /// An entry made of DEFLATE pieces (all but the last ended by a sync flush) whose uncompressed
    /// bytes have CRC-32 `crc` and length `size`.
    func add(_ name: String, crc: UInt32, size: UInt64, pieces: [Piece]) throws {
        let compressedSize = pieces.reduce(UInt64(0)) { total, piece in
            switch piece {
            case .bytes(let b): return total + UInt64(b.count)
            case .part(let p): return total + p.compressedSize
            }
        }
        let entry = Entry(name: Array(name.utf8), crc: crc, size: size, compressedSize: compressedSize, offset: offset)
        let sizesOverflow = alwaysZip64 || size >= 0xFFFF_FFFF || compressedSize >= 0xFFFF_FFFF
        var header = Bytes()
        header.u32(0x0403_4B50)
        header.u16(sizesOverflow ? 45 : 20)   // version needed: 4.5 for ZIP64, 2.0 for deflate
        header.u16(0)                         // flags
        header.u16(8)                         // deflate
        header.u16(0)                         // 00:00
        header.u16(0x21)                      // 1980-01-01
        header.u32(entry.crc)
        header.u32(sizesOverflow ? 0xFFFF_FFFF : UInt32(compressedSize))
        header.u32(sizesOverflow ? 0xFFFF_FFFF : UInt32(size))
        header.u16(UInt16(entry.name.count))
        header.u16(sizesOverflow ? 20 : 0)
        header.bytes += entry.name
        if sizesOverflow {
            // The local ZIP64 field holds both sizes, uncompressed first.
            header.u16(1)
            header.u16(16)
            header.u64(size)
            header.u64(compressedSize)
        }
        try write(header.bytes)
        for piece in pieces {
            switch piece {
            case .bytes(let b): try write(b)
            case .part(let p): try p.read { try write($0) }
            }
        }
        entries.append(entry)
    }

    /// Writes the central directory and closes the file.
    func close() throws {
        let directoryStart = offset
        for e in entries {
            var wide: [UInt64] = []
            let size32: UInt32, compressed32: UInt32, offset32: UInt32
            if alwaysZip64 || e.size >= 0xFFFF_FFFF { size32 = 0xFFFF_FFFF; wide.append(e.size) } else { size32 = UInt32(e.size) }
            if alwaysZip64 || e.compressedSize >= 0xFFFF_FFFF { compressed32 = 0xFFFF_FFFF; wide.append(e.compressedSize) } else { compressed32 = UInt32(e.compressedSize) }
            if alwaysZip64 || e.offset >= 0xFFFF_FFFF { offset32 = 0xFFFF_FFFF; wide.append(e.offset) } else { offset32 = UInt32(e.offset) }
            var record = Bytes()
            record.u32(0x0201_4B50)
            record.u16(45)                                // made by: 4.5, MS-DOS attributes
            record.u16(wide.isEmpty ? 20 : 45)
            record.u16(0)
            record.u16(8)
            record.u16(0)
            record.u16(0x21)
            record.u32(e.crc)
            record.u32(compressed32)
            record.u32(size32)
            record.u16(UInt16(e.name.count))
            record.u16(wide.isEmpty ? 0 : UInt16(4 + 8 * wide.count))
            record.u16(0)                                 // comment
            record.u16(0)                                 // disk
            record.u16(0)                                 // internal attributes
            record.u32(0)                                 // external attributes
            record.u32(offset32)
            record.bytes += e.name
            if !wide.isEmpty {
                record.u16(1)
                record.u16(UInt16(8 * wide.count))
                for v in wide { record.u64(v) }
            }
            try write(record.bytes)
        }
        let directorySize = offset - directoryStart
        let count = UInt64(entries.count)
        var end = Bytes()
        if alwaysZip64 || count >= 0xFFFF || directorySize >= 0xFFFF_FFFF || directoryStart >= 0xFFFF_FFFF {
            let zip64End = offset
            end.u32(0x0606_4B50)
            end.u64(44)                                   // the record's size after this field
            end.u16(45)
            end.u16(45)
            end.u32(0)
            end.u32(0)
            end.u64(count)
            end.u64(count)
            end.u64(directorySize)
            end.u64(directoryStart)
            end.u32(0x0706_4B50)                          // locator
            end.u32(0)
            end.u64(zip64End)
            end.u32(1)
            end.u32(0x0605_4B50)
            end.u16(0)
            end.u16(0)
            end.u16(0xFFFF)
            end.u16(0xFFFF)
            end.u32(0xFFFF_FFFF)
            end.u32(0xFFFF_FFFF)
        } else {
            end.u32(0x0605_4B50)
            end.u16(0)
            end.u16(0)
            end.u16(UInt16(count))
            end.u16(UInt16(count))
            end.u32(UInt32(directorySize))
            end.u32(UInt32(directoryStart))
        }
        end.u16(0)                                        // comment
        try write(end.bytes)
        do { try file.close() } catch let error as OutputError { throw XLSXError(description: "\(path): \(error.reason)") }
    }

    /// Little-endian fields.
    private struct Bytes {
        var bytes: [UInt8] = []
        mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
    }
}
