import Foundation

/// The ground truth a generated store carries: every gap planted in it, by the item a test
/// reports it on, and the near misses that must not be flagged.
public struct PlantedGaps: Codable, Sendable, Equatable {
    public struct Gap: Codable, Sendable, Equatable, Hashable {
        public var control: String
        public var test: String
        public var criteria: [String]
        public var session: String
        public var item: String
        public var reasonCode: String
        public var description: String
    }

    public struct NearMiss: Codable, Sendable, Equatable {
        public var session: String
        public var description: String
    }

    public var seed: UInt64
    public var gaps: [Gap]
    public var nearMisses: [NearMiss]

    public func encoded() throws -> Data { try CanonicalJSON.encode(self) }

    /// Whether `path` holds a ground-truth file (`sample-data --ground-truth` replaces only those).
    public static func isGroundTruth(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        return (try? JSONDecoder().decode(PlantedGaps.self, from: data)) != nil
    }
}

/// SplitMix64: small, fast and the same on every platform, which `SystemRandomNumberGenerator` is not.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
