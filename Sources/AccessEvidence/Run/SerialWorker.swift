import Foundation

/// One background thread that runs jobs in the order they were submitted, with at most `capacity`
/// waiting (a submitter waits while it is full, so memory stays bounded whichever side is faster).
/// It gives a writer that is not thread-safe (the workbook) a thread of its own: only the worker
/// touches the writer until `drain` returns, after which the submitter may use it again.
/// The first job that throws ends the work: later jobs are dropped and `submit`/`drain` rethrow it.
final class SerialWorker: @unchecked Sendable {
    typealias Job = () throws -> Void

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var running = false
    private var closed = false
    private var exited = false
    private var failure: (any Error)?
    private let capacity: Int

    /// Starts the thread; it runs until `stop` (which the owner must call: the thread holds the worker).
    init(name: String, capacity: Int = 8) {
        self.capacity = capacity
        let thread = Thread { [self] in work() }
        thread.name = name
        thread.stackSize = 4 << 20
        thread.start()
    }

    private func work() {
        condition.lock()
        while true {
            while jobs.count == head && !closed { condition.wait() }
            if jobs.count == head { break }
            let job = jobs[head]
            jobs[head] = {}
            head += 1
            if head > 64 { jobs.removeFirst(head); head = 0 }
            running = true
            condition.broadcast()
            let skip = failure != nil
            condition.unlock()
            var error: (any Error)?
            if !skip {
                do { try job() } catch let e { error = e }
            }
            condition.lock()
            running = false
            if let error, failure == nil { failure = error }
            condition.broadcast()
        }
        exited = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues `job`; waits while `capacity` jobs are waiting. Throws the error of an earlier job.
    func submit(_ job: @escaping Job) throws {
        condition.lock()
        defer { condition.unlock() }
        while jobs.count - head >= capacity && failure == nil && !closed { condition.wait() }
        if let failure { throw failure }
        precondition(!closed, "submit after stop")
        jobs.append(job)
        condition.broadcast()
    }

    /// Waits until every submitted job has run; throws the first error one of them threw.
    func drain() throws {
        condition.lock()
        defer { condition.unlock() }
        while jobs.count > head || running { condition.wait() }
        if let failure { throw failure }
    }

    /// Drops the jobs not yet started, waits for the running one and ends the thread.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        jobs.removeAll()
        head = 0
        closed = true
        condition.broadcast()
        while !exited { condition.wait() }
    }
}

/// A value computed on a thread of its own; `value()` waits for it (and rethrows its error).
final class BackgroundResult<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<T, any Error>?

    init(name: String, _ compute: @escaping () throws -> T) {
        let work = UnsafeTransfer(compute)
        let thread = Thread { [self] in
            let outcome = Result { try work.value() }
            condition.lock()
            result = outcome
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    func value() throws -> T {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return try result!.get()
    }
}
