import Crypto
import Foundation

/// A population's provenance and the auditor's sample from it.
public struct PopulationSummary: Sendable {
    public var count: Int
    /// SHA-256 over the population's CSV records in stream order (`PopulationCSV.record`, header
    /// excluded): `tail -n +2 populations/<control>-<test>.csv | sha256sum` gives it back.
    public var sha256: String
    public var sampleSize: Int
    public var samples: [SampleItem]
}

public struct SampleItem: Sendable, Equatable {
    public var number: Int
    public var row: PopulationRow
    /// SHA-256 of the seed and the item key: the rank that chose it.
    public var rank: String
}

/// Reproducible selection: items ranked by SHA-256 of seed and item key, spread across the months
/// of the period, so the same population and seed give the same sample whatever the row order.
public enum Sampler {
    /// How the sample is drawn, as the report states it.
    public static let method = "Each item is ranked by SHA-256 of the seed, the byte 0x1F and the item key (hex, lowest first); "
        + "the lowest-ranked items of each calendar month (UTC, by the item's time) are taken month by month in turn, "
        + "earliest month first, until the sample size is reached; the sample is listed by time, then item key"

    static func rank(seed: String, item: String) -> String {
        Hex.encode(digest(seed: seed, item: item))
    }

    static func digest(seed: String, item: String) -> SHA256.Digest {
        var scratch: [UInt8] = []
        return digest(seed: Array(seed.utf8), item: item, scratch: &scratch)
    }

    /// The same, over `seed`'s bytes and a reused buffer: one hash call and no allocation per item
    /// (the selector ranks every item of every population).
    static func digest(seed: [UInt8], item: String, scratch: inout [UInt8]) -> SHA256.Digest {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: seed)
        scratch.append(0x1F)
        scratch.append(contentsOf: item.utf8)
        return SHA256.hash(data: scratch)
    }

    /// A digest as four big-endian words: compared as numbers, they order as the bytes do.
    struct Rank: Comparable {
        var words: (UInt64, UInt64, UInt64, UInt64)

        init(_ digest: SHA256.Digest) {
            words = digest.withUnsafeBytes { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            }
        }

        static func < (a: Rank, b: Rank) -> Bool { a.words < b.words }
        static func == (a: Rank, b: Rank) -> Bool { a.words == b.words }

        var bytes: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(32)
            for word in [words.0, words.1, words.2, words.3] {
                for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
            }
            return out
        }
    }

    /// Keeps the `size` lowest-ranked rows of each month while rows stream past (bounded: `size`
    /// rows per month), then takes them month by month in turn until the sample is full. The result
    /// equals ranking the whole population.
    struct Selector {
        let seed: [UInt8]
        let size: Int
        /// Per month, the best rows so far, lowest rank first.
        var months: [Int: [(rank: Rank, row: PopulationRow)]] = [:]
        /// Per month once it holds `size` rows, the worst rank it keeps: what a new row must beat.
        /// Apart, so the test costs one lookup and no copy of the month's rows.
        private var worst: [Int: Rank] = [:]
        private var scratch: [UInt8] = []

        init(seed: String, size: Int) {
            self.seed = Array(seed.utf8)
            self.size = size
        }

        mutating func offer(_ row: PopulationRow) {
            guard size > 0 else { return }
            let r = Rank(Sampler.digest(seed: seed, item: row.item, scratch: &scratch))
            let month = Timestamp.utcMonth(row.time)
            // Most items rank below a full month's worst: rejected before the month's rows are touched.
            if let worst = worst[month], !(r < worst) { return }
            // Taken out of the dictionary so it is modified in place, not copied.
            var best = months.removeValue(forKey: month) ?? []
            let at = best.firstIndex { r < $0.rank } ?? best.count
            best.insert((r, row), at: at)
            if best.count > size { best.removeLast() }
            if best.count == size { worst[month] = best[size - 1].rank }
            months[month] = best
        }

        func selection() -> [SampleItem] {
            var picked: [(rank: Rank, row: PopulationRow)] = []
            let keys = months.keys.sorted()
            var round = 0
            while picked.count < size {
                var took = false
                for key in keys where round < months[key]!.count && picked.count < size {
                    picked.append(months[key]![round])
                    took = true
                }
                if !took { break }
                round += 1
            }
            return picked.sorted { ($0.row.time, $0.row.item) < ($1.row.time, $1.row.item) }
                .enumerated().map { SampleItem(number: $0.offset + 1, row: $0.element.row, rank: Hex.encode($0.element.rank.bytes)) }
        }
    }
}
