import Foundation

/// Approved JIT grants around the session being read, by requester and connection. Sessions come
/// in `created_at` order, and so do grants (their request time) from a second cursor read
/// alongside: a grant is loaded once a session could overlap it and dropped once every later
/// session starts after it ended. So only the grants in force around the current time are held —
/// memory follows how many grants overlap, not how many the period has (137,000 at a million
/// sessions, once the largest thing a run kept).
///
/// A grant's window is `[approved, end)`: approved = the last approving decision, but never before
/// the request itself (an approval cannot cover what ran before it was asked for, and the cursor
/// meets grants in request order); end = `revoked_at`, else approved + the access duration.
final class JITGrantWindow {
    /// A class, so moving windows around while sweeping copies a reference, not an approval.
    final class Window {
        let start: Date
        let end: Date
        let grant: Approval
        init(start: Date, end: Date, grant: Approval) { (self.start, self.end, self.grant) = (start, end, grant) }
    }

    /// Text order and time order may differ by a time zone's offset (timestamps written with an
    /// offset sort by their text, at most 14 hours apart): grants are loaded, and kept, this much
    /// beyond what is needed.
    static let slack: TimeInterval = 15 * 3_600

    /// A requester's grants on one connection. One lookup per session finds the windows, their
    /// longest and the last answer (three dictionaries keyed by a joined string cost four hashes
    /// and an allocation per session).
    final class Slot {
        /// Sorted by start (then id).
        var windows: [Window] = []
        /// The longest of `windows` (at least): no window starting earlier than that before a session can reach it.
        var longest: TimeInterval = 0
        /// The last answer, with the windows it was made of: consecutive sessions of one person on
        /// one connection mostly find the same grants in force, and handing back the same array
        /// costs one reference where copying dozens of approvals (each holding a few dozen) cost a
        /// retain for each, in the reader, the tests and the record's release. Emptied by every sweep.
        var answer: (windows: [Window], grants: [Approval])?
    }

    struct Key: Hashable {
        let subject: String
        let connection: String
    }

    /// By requester and connection; a key goes when its last window is swept.
    private var slots: [Key: Slot] = [:]
    private var held = 0
    private var heldAfterSweep = 0
    /// The most grants held at once (after loading, before sweeping): what the window's memory follows.
    private(set) var mostHeld = 0
    /// Grants read from the cursor, in request order; `next` is the first not yet placed.
    private let read: () throws -> Approval??
    private var next: Approval?
    private var exhausted = false
    /// Everything requested at or before this time has been loaded.
    private var horizon = Date.distantPast
    private var sinceSweep = 0

    /// `read` gives the next grant in request order, `.some(nil)` for a row to skip, nil at the end.
    init(read: @escaping () throws -> Approval??) {
        self.read = read
    }

    /// Grants whose window `[start, end)` overlaps `[from, to]`, in start order (then id), but the one
    /// with id `excluding`. A dense store has dozens in force at once: an answer made of the very
    /// windows of the key's last answer is that answer again, one shared array.
    func overlapping(subject: String, connection: String, from: Date, to: Date, excluding: String? = nil) throws -> [Approval] {
        try load(through: to)
        sweep(before: from)
        guard let slot = slots[Key(subject: subject, connection: connection)] else { return [] }
        let windows = slot.windows, span = slot.longest
        // First window starting after `to`: nothing from there on can overlap.
        var lo = 0, hi = windows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if windows[mid].start <= to { lo = mid + 1 } else { hi = mid }
        }
        // Back to the first window that could still be in force at `from`.
        let earliest = from.addingTimeInterval(-span)
        var first = lo
        while first > 0, windows[first - 1].start >= earliest { first -= 1 }
        var matched: [Window] = []
        for w in windows[first..<lo] where from < w.end && w.grant.id != excluding { matched.append(w) }
        if let known = slot.answer, known.windows.count == matched.count, zip(known.windows, matched).allSatisfy({ $0 === $1 }) {
            return known.grants
        }
        let out = matched.map(\.grant)
        slot.answer = (matched, out)
        return out
    }

    /// How far back `lastEnded` looks: less than `slack`, so a sweep (which keeps every grant that ended
    /// less than `slack` before any session so far) can never have dropped what it looks for, and the
    /// answer does not depend on when sweeps ran.
    static let lapseLookback: TimeInterval = 12 * 3_600

    /// The grant of `subject` on `connection` that ended last at or before `before`, within
    /// `lapseLookback`. Call after `overlapping` for the same session (which loads up to it).
    func lastEnded(subject: String, connection: String, before: Date) -> Approval? {
        guard let windows = slots[Key(subject: subject, connection: connection)]?.windows else { return nil }
        let earliest = before.addingTimeInterval(-Self.lapseLookback)
        var best: Window?
        for w in windows where w.end <= before && w.end >= earliest && w.start <= before {
            if let b = best, (b.end, b.grant.id) >= (w.end, w.grant.id) { continue }
            best = w
        }
        return best?.grant
    }

    /// Reads grants requested up to `to` (plus the slack).
    private func load(through to: Date) throws {
        let limit = to.addingTimeInterval(Self.slack)
        guard limit > horizon else { return }
        horizon = limit
        while true {
            if next == nil {
                guard !exhausted else { return }
                guard let item = try read() else { exhausted = true; return }
                guard let grant = item else { continue }
                next = grant
            }
            guard let grant = next, grant.requestedAt <= limit else { return }
            next = nil
            add(grant)
        }
    }

    private func add(_ grant: Approval) {
        guard let approved = grant.approvedAt else { return }
        let start = max(approved, grant.requestedAt)
        let end = grant.expiresAt ?? approved.addingTimeInterval(Double(max(grant.accessDurationSec, 0)))
        let window = Window(start: start, end: end, grant: grant)
        let key = Key(subject: grant.requester.subject, connection: grant.connectionName)
        let slot: Slot
        if let known = slots[key] { slot = known } else {
            slot = Slot()
            slots[key] = slot
        }
        // Grants arrive in request order, so this is nearly always the end.
        var at = slot.windows.count
        while at > 0, (slot.windows[at - 1].start, slot.windows[at - 1].grant.id) > (start, grant.id) { at -= 1 }
        slot.windows.insert(window, at: at)
        slot.longest = max(slot.longest, end.timeIntervalSince(start))
        held += 1
        mostHeld = max(mostHeld, held)
    }

    /// Drops the grants that ended before `from` (less the slack): no later session can reach them.
    /// Every 256 sessions, or when the grants held have doubled since the last sweep.
    private func sweep(before from: Date) {
        sinceSweep += 1
        guard sinceSweep >= 256 || held > max(1_024, 2 * heldAfterSweep) else { return }
        sinceSweep = 0
        let cutoff = from.addingTimeInterval(-Self.slack)
        held = 0
        var emptied: [Key] = []
        for (key, slot) in slots {
            slot.answer = nil
            slot.windows.removeAll { $0.end < cutoff }
            if slot.windows.isEmpty { emptied.append(key) }
            held += slot.windows.count
        }
        // A key whose windows all went goes too (its longest with them: any later window sets it anew).
        for key in emptied { slots.removeValue(forKey: key) }
        heldAfterSweep = held
    }
}
