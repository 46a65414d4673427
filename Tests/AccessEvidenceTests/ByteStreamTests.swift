@testable import AccessEvidence
import Crypto
import Foundation
import Testing

/// `ByteStream`, the writer of every population file: the bytes on disk are the bytes written, in
/// every mode (direct I/O, the page cache, gzip), across the buffer's and the blocks' edges, and its
/// digest is the file's.
@Suite struct ByteStreamTests {
    /// Records of `lengths` bytes each, every byte depending on its position so a lost or doubled
    /// block shows.
    static func records(_ lengths: [Int]) -> [[UInt8]] {
        var position = 0
        return lengths.map { length in
            defer { position += length }
            return (0..<length).map { UInt8(truncatingIfNeeded: ($0 + position) &* 31 &+ ($0 + position) >> 9) }
        }
    }

    static let buffer = ByteStream.bufferSize
    /// Totals around the block (4096) and buffer (1 MiB) edges, and a record larger than the buffer.
    static let cases: [[Int]] = [
        [], [1], [4095], [4096], [4097], [100, 3996, 1],
        [buffer - 1], [buffer], [buffer + 1], [buffer - 10, 20],
        Array(repeating: 187, count: 30_000), [3 * buffer + 12_345], [5, 2 * buffer + 4096, 7],
    ]

    func check(directory: URL, direct: Bool) throws {
        for (n, lengths) in Self.cases.enumerated() {
            let path = directory.appendingPathComponent("plain-\(direct)-\(n).csv").path
            let stream = try ByteStream(path: path, direct: direct)
            let parts = Self.records(lengths)
            for part in parts { try stream.write(part) }
            try stream.close()
            let expected = parts.flatMap { $0 }
            let onDisk = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(onDisk == Data(expected), "case \(n) \(lengths.prefix(3)), direct \(direct)")
            #expect(stream.written == expected.count)
            let digest = try #require(stream.digest)
            #expect(digest.size == expected.count)
            #expect(digest.sha256 == Hex.encode(SHA256.hash(data: expected)))
        }
    }

    @Test func directAndCachedWritesLeaveTheSameBytes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try check(directory: dir, direct: true)
        try check(directory: dir, direct: false)
    }

    /// tmpfs refuses direct I/O on older kernels and takes it on newer ones: either way the file is whole.
    @Test func aFileSystemWithoutDirectIOGetsTheSameBytes() throws {
        guard FileManager.default.isWritableFile(atPath: "/dev/shm") else { return }
        let dir = URL(fileURLWithPath: "/dev/shm/access-evidence-bytestream-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        try check(directory: dir, direct: true)
    }

    /// gzip output, also larger than the buffer once compressed (random bytes do not shrink), is
    /// what `gzip -dc` gives back, and the digest is the compressed file's.
    @Test func gzipStreamsDecompressToWhatWasWritten() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var generator = SystemRandomNumberGenerator()
        let random = (0..<(ByteStream.bufferSize * 2 + 777)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for (n, parts) in [[], Self.records([10]), Self.records(Array(repeating: 187, count: 30_000)), [random]].enumerated() {
            let path = dir.appendingPathComponent("g\(n).csv.gz").path
            let stream = try ByteStream(path: path, gzip: true)
            for part in parts { try stream.write(part) }
            try stream.close()
            let file = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(try #require(stream.digest).sha256 == Hex.encode(SHA256.hash(data: file)))
            #expect(try #require(stream.digest).size == file.count)
            let decompressed = try Self.gunzip(path)
            #expect(decompressed == Data(parts.flatMap { $0 }), "case \(n)")
        }
    }

    /// The file decompressed by the system's gzip, as bytes.
    static func gunzip(_ path: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return data
    }

    /// An existing file is never written over, direct or not.
    @Test func anExistingFileIsRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("taken.csv").path
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: OutputError.self) { _ = try ByteStream(path: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "theirs")
    }
}
