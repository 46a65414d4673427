import Foundation

/// Approved JIT grants by requester and connection, sorted by window start, so finding the
/// grants around a session is a binary search rather than a scan of every grant.
struct JITGrantIndex {
    struct Window {
        let start: Date
        let end: Date
        let grant: Approval
    }

    private var byKey: [String: [Window]] = [:]
    private var longest: [String: Double] = [:]

    static func key(_ subject: String, _ connection: String) -> String { subject + "\u{1F}" + connection }

    mutating func add(_ grant: Approval) {
        guard let start = grant.approvedAt else { return }
        let end = grant.expiresAt ?? start.addingTimeInterval(Double(max(grant.accessDurationSec, 0)))
        let key = Self.key(grant.requester.subject, grant.connectionName)
        byKey[key, default: []].append(Window(start: start, end: end, grant: grant))
        longest[key] = max(longest[key] ?? 0, end.timeIntervalSince(start))
    }

    mutating func seal() {
        for key in byKey.keys { byKey[key]!.sort { ($0.start, $0.grant.id) < ($1.start, $1.grant.id) } }
    }

    /// Grants whose window `[start, end)` overlaps `[from, to]`, in start order.
    func overlapping(subject: String, connection: String, from: Date, to: Date) -> [Approval] {
        let key = Self.key(subject, connection)
        guard let windows = byKey[key], let span = longest[key] else { return [] }
        // First window starting after `to`: nothing from there on can overlap.
        var lo = 0, hi = windows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if windows[mid].start <= to { lo = mid + 1 } else { hi = mid }
        }
        var out: [Approval] = []
        var i = lo - 1
        let earliest = from.addingTimeInterval(-span)
        while i >= 0, windows[i].start >= earliest {
            if from < windows[i].end { out.append(windows[i].grant) }
            i -= 1
        }
        return out.reversed()
    }
}
