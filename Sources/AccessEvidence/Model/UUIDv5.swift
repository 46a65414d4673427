import Crypto

/// Name-based UUIDs: the same name gives the same id on every run.
enum UUIDv5 {
    /// UUIDv5 (SHA-1, URL namespace) of `name`: hoop's blob ids (`blobinput:<session>`), and the
    /// stable ids of OCSF events and OSCAL objects, which a rerun must give again.
    static func make(_ name: String) -> String {
        var sha = Insecure.SHA1()
        sha.update(data: namespace)
        sha.update(data: Array(name.utf8))
        var bytes = Array(sha.finalize().prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    private static let namespace: [UInt8] = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8]

    static func format(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in b.prefix(16).enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(Hex.digits[Int(byte >> 4)])
            out.append(Hex.digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
