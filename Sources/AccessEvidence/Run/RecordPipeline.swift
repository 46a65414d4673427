import Foundation

/// A record the reader hands to the analysis.
public enum GatewayRecord: Sendable {
    case session(SessionBox)
    case change(ConfigChange)

    /// The bytes the record holds that can be large: recorded output and command text.
    var approximateBytes: Int {
        switch self {
        case .session(let box):
            let s = box.record
            return 1_024 + s.transcript.output.reduce(0) { $0 + $1.bytes.count + 32 } + s.transcript.commands.reduce(0) { $0 + $1.text.utf8.count + 32 }
        case .change(let c):
            return 512 + c.payload.utf8.count
        }
    }
}

/// A session on its way from the reader to the tests, in a box of its own. Matched out of the enum,
/// a session record was copied (a retain of each of its few dozen references, then a release): the
/// box is retained once, and its `let` is lent to the tests in place.
public final class SessionBox: Sendable {
    public let record: SessionRecord
    public init(_ record: SessionRecord) { self.record = record }
}

/// Reading and decoding the store on one thread while the tests and writers run on the calling
/// one: a bounded queue of batches between them, so memory stays bounded whichever side is faster.
/// Records arrive in the reader's order, one consumer takes them in that order: the results are the
/// same bytes as a single-threaded run (`threads: 1` runs both sides on the calling thread).
public enum RecordPipeline {
    /// Batches in flight at most, of `batchSize` records each.
    static let depth = 8
    static let batchSize = 64
    /// Bytes of decoded records (recorded output and commands) in flight at most, besides one batch
    /// however large: a batch closes at a `depth`-th of it. Recordings reach ~110 MiB each, so a count
    /// alone would let memory follow how many of them the queue holds; this keeps it to the largest one
    /// plus a constant.
    static let bytesInFlight = 32 << 20

    public static func run(threads: Int, produce: @escaping (_ emit: (GatewayRecord) throws -> Void) throws -> Void,
                           consume: (GatewayRecord) throws -> Void) throws {
        guard threads > 1 else {
            try produce(consume)
            return
        }
        let queue = BoundedQueue(capacity: depth)
        let producer = UnsafeTransfer(produce)
        let thread = Thread {
            var batch: [GatewayRecord] = []
            var bytes = 0
            batch.reserveCapacity(batchSize)
            do {
                try producer.value { record in
                    batch.append(record)
                    bytes += record.approximateBytes
                    if batch.count == batchSize || bytes >= bytesInFlight / depth {
                        guard queue.put(.records(batch, bytes: bytes)) else { throw PipelineStopped() }
                        batch.removeAll(keepingCapacity: true)
                        bytes = 0
                    }
                }
                if !batch.isEmpty { _ = queue.put(.records(batch, bytes: bytes)) }
                _ = queue.put(.end)
            } catch is PipelineStopped {
                // The consumer gave up: its error is the one reported.
            } catch {
                _ = queue.put(.failed(UnsafeTransfer(error)))
            }
            queue.producerDone()
        }
        thread.name = "access-evidence reader"
        // The reader's recursion (JSON, protocol packets) needs more than a secondary thread's default 512 KiB.
        thread.stackSize = 8 << 20
        thread.start()
        defer {
            queue.stop()
            queue.waitForProducer()
        }
        while true {
            switch queue.take() {
            case .records(let batch, _):
                // By index: each record is lent to `consume` from the batch, not copied out of it
                // (a session record holds a few dozen references, each retained on a copy).
                for i in batch.indices { try consume(batch[i]) }
            case .end:
                return
            case .failed(let error):
                throw error.value
            }
        }
    }

    struct PipelineStopped: Error {}

    enum Item: @unchecked Sendable {
        case records([GatewayRecord], bytes: Int)
        case end
        case failed(UnsafeTransfer<any Error>)
    }

    /// A FIFO of at most `capacity` items and `bytesInFlight` bytes of records (a single item larger than
    /// that still passes, alone): `put` waits while it is full, `take` while it is empty.
    /// `stop` wakes a waiting producer and makes every later `put` return false.
    final class BoundedQueue: @unchecked Sendable {
        private let condition = NSCondition()
        private var items: [Item] = []
        private var head = 0
        private let capacity: Int
        private var stopped = false
        private var producerFinished = false
        private var queuedBytes = 0

        init(capacity: Int) { self.capacity = capacity }

        static func bytes(_ item: Item) -> Int {
            if case .records(_, let bytes) = item { return bytes }
            return 0
        }

        func put(_ item: Item) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            let size = Self.bytes(item)
            while !stopped {
                let queued = items.count - head
                if queued < capacity && (queued == 0 || queuedBytes + size <= RecordPipeline.bytesInFlight) { break }
                condition.wait()
            }
            guard !stopped else { return false }
            items.append(item)
            queuedBytes += size
            condition.broadcast()
            return true
        }

        func take() -> Item {
            condition.lock()
            defer { condition.unlock() }
            while items.count == head { condition.wait() }
            let item = items[head]
            // Released as soon as taken: a consumed batch must not stay referenced by the array.
            items[head] = .end
            head += 1
            queuedBytes -= Self.bytes(item)
            if head > 64 { items.removeFirst(head); head = 0 }
            condition.broadcast()
            return item
        }

        func stop() {
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }

        func producerDone() {
            condition.lock()
            producerFinished = true
            condition.broadcast()
            condition.unlock()
        }

        func waitForProducer() {
            condition.lock()
            while !producerFinished { condition.wait() }
            condition.unlock()
        }
    }
}

/// Hands a value that is not `Sendable` to exactly one other thread, which alone uses it from then
/// on (the store to the reader thread; an error back).
struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
