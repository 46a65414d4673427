/// Remembered results of a pure function for short keys. Commands, statuses, identities and
/// connection names recur on item after item (a million sessions run a few thousand distinct
/// commands), so classifying or gating each text once saves most of the work; the function being
/// pure, what is remembered never changes an output. Long keys are not remembered (they rarely
/// recur, and keeping them would let memory follow the data).
///
/// Two generations keep memory bounded without forgetting what recurs: when the current one
/// fills it becomes the previous one, and a key found there moves back into the current one. So
/// values met once (a session's id) age out, and values met on every item (a connection's name)
/// stay, at most `2 × capacity` entries.
final class Memo<Key: Hashable, Value> {
    private var current: [Key: Value] = [:]
    private var previous: [Key: Value] = [:]
    private let capacity: Int

    init(capacity: Int = 16_384) {
        self.capacity = capacity
    }

    /// `make()`, remembered under `key` when `remember` (the caller judges the key short enough).
    func value(_ key: Key, remember: Bool = true, _ make: () -> Value) -> Value {
        guard remember else { return make() }
        if let known = known(key) { return known }
        let value = make()
        store(value, for: key)
        return value
    }

    /// The value remembered under `key`, if any (one met in the previous generation moves back
    /// into the current one). With `remember(_:for:)`, for callers whose `make` would capture
    /// large values: a closure's context copies what it captures.
    func known(_ key: Key) -> Value? {
        if let known = current[key] { return known }
        guard let value = previous[key] else { return nil }
        store(value, for: key)
        return value
    }

    func store(_ value: Value, for key: Key) {
        if current.count >= capacity {
            previous = current
            current = [:]
            current.reserveCapacity(capacity)
        }
        current[key] = value
    }
}
