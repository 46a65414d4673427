/// How the reader met the session rows of a period's range, each row once (the join with `reviews`
/// undone), split by whether the store's plain count (`countSessions`) counts it. The reconciliation
/// explains the difference between that count and the sessions tested with these figures, cause by cause.
public struct SessionTally: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// Handed to the analysis.
        case tested
        /// `created_at` not a timestamp, or outside the years 2000–2100: skipped.
        case unreadableCreatedAt
        /// A further row of a session id already tested: skipped.
        case duplicateRow
        /// In the SQL range (whole days around the period, compared as text) but outside the period.
        case outsidePeriod
    }

    public struct Rows: Sendable, Equatable {
        /// Rows the plain count counts.
        public var counted = 0
        /// Rows it does not count.
        public var notCounted = 0

        public var total: Int { counted + notCounted }
    }

    public var tested = Rows()
    public var unreadableCreatedAt = Rows()
    public var duplicateRows = Rows()
    public var outsidePeriod = Rows()
    /// Sessions tested that have more than one review (each tested once, with its first review).
    public var severalReviews = 0

    public init() {}

    mutating func add(_ outcome: Outcome, counted: Bool, _ n: Int = 1) {
        guard n > 0 else { return }
        switch outcome {
        case .tested: Self.add(&tested, counted, n)
        case .unreadableCreatedAt: Self.add(&unreadableCreatedAt, counted, n)
        case .duplicateRow: Self.add(&duplicateRows, counted, n)
        case .outsidePeriod: Self.add(&outsidePeriod, counted, n)
        }
    }

    private static func add(_ rows: inout Rows, _ counted: Bool, _ n: Int) {
        if counted { rows.counted += n } else { rows.notCounted += n }
    }
}
