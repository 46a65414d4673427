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
        var hasher = SHA256()
        hasher.update(data: Data(seed.utf8))
        hasher.update(data: Data([0x1F]))
        hasher.update(data: Data(item.utf8))
        return hasher.finalize()
    }

    /// Keeps the `size` lowest-ranked rows of each month while rows stream past (bounded: `size`
    /// rows per month), then takes them month by month in turn until the sample is full. The result
    /// equals ranking the whole population.
    struct Selector {
        let seed: String
        let size: Int
        /// Per month, the best rows so far, lowest rank first.
        var months: [Int: [(rank: [UInt8], row: PopulationRow)]] = [:]

        init(seed: String, size: Int) {
            self.seed = seed
            self.size = size
        }

        static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

        mutating func offer(_ row: PopulationRow) {
            guard size > 0 else { return }
            let r = Array(Sampler.digest(seed: seed, item: row.item))
            let month = Timestamp.utcMonth(row.time)
            var best = months[month, default: []]
            if best.count == size, let worst = best.last, !Self.less(r, worst.rank) { return }
            let at = best.firstIndex { Self.less(r, $0.rank) } ?? best.count
            best.insert((r, row), at: at)
            if best.count > size { best.removeLast() }
            months[month] = best
        }

        func selection() -> [SampleItem] {
            var picked: [(rank: [UInt8], row: PopulationRow)] = []
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
                .enumerated().map { SampleItem(number: $0.offset + 1, row: $0.element.row, rank: Hex.encode($0.element.rank)) }
        }
    }
}
