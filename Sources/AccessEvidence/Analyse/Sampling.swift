import Crypto
import Foundation

/// A population's provenance and the auditor's sample from it.
public struct PopulationSummary: Sendable {
    public var count: Int
    /// SHA-256 over the population's rows in canonical order (`PopulationRow.canonicalLine`).
    public var sha256: String
    public var sampleSize: Int
    public var samples: [SampleItem]
}

public struct SampleItem: Sendable, Equatable, Codable {
    public var number: Int
    public var row: PopulationRow
    /// SHA-256 of the seed and the item key: the rank that chose it.
    public var rank: String
}

/// Reproducible selection: items ranked by SHA-256 of seed and item key, spread across the months
/// of the period, so the same population and seed give the same sample whatever the row order.
public enum Sampler {
    static func rank(seed: String, item: String) -> String {
        Hex.encode(SHA256.hash(data: Data("\(seed)\u{1F}\(item)".utf8)))
    }

    /// Keeps the `size` best-ranked rows of each month while rows stream past, then takes them
    /// month by month in turn until the sample is full.
    struct Selector {
        let seed: String
        let size: Int
        var months: [String: [(rank: String, row: PopulationRow)]] = [:]

        mutating func offer(_ row: PopulationRow) {
            guard size > 0 else { return }
            let r = Sampler.rank(seed: seed, item: row.item)
            let month = String(Timestamp.format(row.time).prefix(7))
            var best = months[month, default: []]
            if best.count == size, let worst = best.last, worst.rank <= r { return }
            let at = best.firstIndex { $0.rank > r } ?? best.count
            best.insert((r, row), at: at)
            if best.count > size { best.removeLast() }
            months[month] = best
        }

        func selection() -> [SampleItem] {
            var picked: [(rank: String, row: PopulationRow)] = []
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
                .enumerated().map { SampleItem(number: $0.offset + 1, row: $0.element.row, rank: $0.element.rank) }
        }
    }

    /// Hashes the population and draws the sample in one pass over the spool.
    static func summarize(spool: PopulationSpool, test: Int, sampleSize: Int, seed: String) throws -> PopulationSummary {
        var hasher = SHA256()
        var selector = Selector(seed: seed, size: sampleSize)
        var count = 0
        try spool.forEachRow(test: test) { row in
            hasher.update(data: Data(row.canonicalLine.utf8))
            selector.offer(row)
            count += 1
        }
        let digest = Hex.encode(hasher.finalize())
        return PopulationSummary(count: count, sha256: digest, sampleSize: min(sampleSize, count), samples: selector.selection())
    }
}
