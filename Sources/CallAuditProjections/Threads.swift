import Foundation

/// A bounded queue between two threads: `put` waits while it is full, `take`
/// while it is empty. The producer ends it with `finish`; the consumer with `close`.
final class HandOff<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let depth: Int
    // Guarded by `condition`.
    private var items: [T] = []
    private var finished = false
    private var failure: (any Error)?
    private var closed = false

    init(depth: Int) { self.depth = depth }

    /// Queues `item`; false once the consumer has closed the queue.
    func put(_ item: T) -> Bool {
        condition.withLock {
            while items.count >= depth && !closed { condition.wait() }
            guard !closed else { return false }
            items.append(item)
            condition.broadcast()
            return true
        }
    }

    /// The next item; nil once the producer finished and everything was taken. Throws the producer's failure.
    func take() throws -> T? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished && !closed { condition.wait() }
        if !items.isEmpty {
            condition.broadcast()
            return items.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    func finish(failure: (any Error)?) {
        condition.withLock {
            finished = true
            self.failure = failure
            condition.broadcast()
        }
    }

    func close() {
        condition.withLock {
            closed = true
            items.removeAll()
            condition.broadcast()
        }
    }
}

/// Work started on its own thread; `value()` waits for its result.
final class BackgroundWork<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written once by the worker before `done` is signalled.
    private var result: T?

    init(_ body: @escaping @Sendable () -> T) {
        Thread { [self] in
            result = body()
            done.signal()
        }.start()
    }

    func value() -> T {
        done.wait()
        done.signal()
        return result!
    }
}
