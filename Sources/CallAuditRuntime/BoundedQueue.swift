/// A bounded queue between two threads: `put` waits while it is full, `take`
/// while it is empty. The producer ends it with `finish`, the consumer with `close`.
package final class BoundedQueue<Item: Sendable>: Sendable {
    private struct State {
        var items: [Item] = []
        var finished = false
        var failure: (any Error)?
        var closed = false
    }

    private let depth: Int
    private let state = ConditionLock(State())

    package init(depth: Int) {
        precondition(depth > 0, "a queue holds at least one item")
        self.depth = depth
    }

    /// Queues `item`, waiting while the queue is full; false once the consumer has closed it.
    package func put(_ item: Item) -> Bool {
        state.withLock(when: { $0.items.count < depth || $0.closed }) { state in
            guard !state.closed else { return false }
            state.items.append(item)
            return true
        }
    }

    /// The next item, waiting while the queue is empty; nil once the producer
    /// finished and everything was taken (or the queue was closed). Throws the
    /// producer's failure after the items it queued before failing.
    package func take() throws -> Item? {
        try state.withLock(when: { !$0.items.isEmpty || $0.finished || $0.closed }) { state in
            if !state.items.isEmpty { return state.items.removeFirst() }
            if let failure = state.failure { throw failure }
            return nil
        }
    }

    /// The producer is done: `take` returns what is queued, then nil (or throws `failure`).
    package func finish(failure: (any Error)? = nil) {
        state.withLock { state in
            state.finished = true
            state.failure = failure
        }
    }

    /// The consumer is done: what is queued is dropped, and `put` returns false from now on.
    package func close() {
        state.withLock { state in
            state.closed = true
            state.items.removeAll()
        }
    }
}
