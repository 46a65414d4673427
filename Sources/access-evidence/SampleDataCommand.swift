import AccessEvidence
import ArgumentParser
import Foundation

struct SampleDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-data",
        abstract: "Generate a realistic gateway store with planted gaps, deterministically: hoop's SQLite store, or a Teleport audit log (--gateway teleport).")

    @Option(help: "hoop (default: an SQLite gateway store) or teleport (a Teleport dir-backend audit-log folder).") var gateway: SampleGateway = .hoop
    @Option(help: "The SQLite file to write, or with --gateway teleport the log folder (replaced only when it is one sample-data wrote).") var out: String
    @Option(parsing: .unconditional, help: "Routine sessions to generate besides the planted ones (0 to 50,000,000).") var sessions: Int = 1200
    @Option(help: "Random seed.") var seed: UInt64 = 2026
    @Option(parsing: .unconditional, help: "Extra variants of each content-based gap and near miss (a labelled corpus; 0 to 1000).") var variations: Int = 0
    @Option(help: "Quarter the sessions fall in.") var period: String = "2026-Q3"
    @Option(help: "Also write the planted gaps as JSON to this file.") var groundTruth: String?
    @Option(help: "Also write the matching HR roster (CSV) to this file.") var roster: String?

    func run() throws {
        if gateway == .teleport { return try teleport() }
        try checkRange(sessions, 0...50_000_000, "--sessions")
        try checkRange(variations, 0...1000, "--variations")
        let p = try Period.parse(period)
        var outputs = [OutputGuard.Use("--out", out)]
        if let groundTruth { outputs.append(OutputGuard.Use("--ground-truth", groundTruth)) }
        if let roster { outputs.append(OutputGuard.Use("--roster", roster)) }
        try OutputGuard.checkDistinct(inputs: [], outputs: outputs)
        // Every output is checked before anything is written, so a refusal leaves no half set.
        try OutputGuard.checkReplaceableFile(out, option: "--out", what: "a store", isOurs: SampleStoreGenerator.wrote)
        if let groundTruth {
            try OutputGuard.checkReplaceableFile(groundTruth, option: "--ground-truth", what: "a ground-truth file", isOurs: PlantedGaps.isGroundTruth)
        }
        let rosterBytes = Data(SampleStoreGenerator.roster.utf8)
        if let roster {
            // The roster format is the one users keep their real rosters in: only a byte-identical copy is ours.
            try OutputGuard.checkReplaceableFile(roster, option: "--roster", what: "the sample roster", isOurs: { FileManager.default.contents(atPath: $0) == rosterBytes })
        }
        let planted = try SampleStoreGenerator(seed: seed, sessions: sessions, period: p, variations: variations).write(to: out)
        if let roster { try SafeWrite.file(rosterBytes, to: roster) }
        if let groundTruth { try SafeWrite.file(try planted.encoded(), to: groundTruth) }
        stderrWrite("wrote \(out): \(sessions) routine sessions and \(planted.gaps.count) planted gaps\n")
    }

    /// The Teleport log: `--sessions` is the routine sessions per day (default 6); no roster or variations.
    func teleport() throws {
        guard roster == nil, variations == 0 else { throw ValidationError("--roster and --variations apply to the hoop store only") }
        let perDay = sessions == 1200 ? 6 : sessions
        try checkRange(perDay, 0...100_000, "--sessions (per day, with --gateway teleport)")
        let p = try Period.parse(period)
        var outputs = [OutputGuard.Use("--out", out, folder: true)]
        if let groundTruth { outputs.append(OutputGuard.Use("--ground-truth", groundTruth)) }
        try OutputGuard.checkDistinct(inputs: [], outputs: outputs)
        try OutputGuard.checkReplaceableFolder(out, option: "--out", what: "a Teleport sample log", isOurs: TeleportSampleGenerator.wrote)
        if let groundTruth {
            try OutputGuard.checkReplaceableFile(groundTruth, option: "--ground-truth", what: "a ground-truth file", isOurs: PlantedGaps.isGroundTruth)
        }
        let planted = try TeleportSampleGenerator(seed: seed, period: p, perDay: perDay).write(to: out)
        if let groundTruth { try SafeWrite.file(try planted.encoded(), to: groundTruth) }
        stderrWrite("wrote \(out): a Teleport audit log of \(p.label), \(perDay) routine sessions a day and \(planted.gaps.count) planted gaps\n")
    }
}

enum SampleGateway: String, ExpressibleByArgument, CaseIterable {
    case hoop, teleport
}
