import Foundation

/// A thread of its own that handles what is submitted to it, in order, from a
/// bounded queue: `submit` waits while the queue is full (back-pressure), so a
/// fast producer runs at most `depth` items ahead of the worker.
///
/// The handler gets up to `batch` queued items at a time (1 for a pipeline
/// stage; more for a group commit, which takes everything waiting), and owns
/// them: the worker keeps no reference, so a handler may change an item in
/// place without copying it, and the last reference is the handler's to hand
/// on (ingest frees its batches on the thread that allocated them). When it
/// throws, the worker halts: what is queued is dropped, every later
/// submission is refused, and `halt` says why, until `resume`. `finish`
/// handles what is queued, then ends the thread.
package final class Worker<Item: Sendable>: Sendable {
    private struct State {
        var queue: [Item] = []
        var handling = false
        var finishing = false
        var exited = false
        var halt: (any Error)?

        var accepts: Bool { halt == nil && !finishing }
    }

    /// Whether `offer` queued its item.
    package enum Offer: Sendable, Equatable {
        case queued
        /// The queue holds `depth` items.
        case full
        /// The worker is finishing, or halted.
        case refused
    }

    private let depth: Int
    private let state = ConditionLock(State())

    package init(name: String, depth: Int, batch: Int = 1, handle: @escaping @Sendable (_ items: consuming [Item]) throws -> Void) {
        precondition(depth > 0 && batch > 0, "a worker takes at least one item")
        self.depth = depth
        let state = state
        let thread = Thread { Self.loop(state, batch: batch, handle: handle) }
        thread.name = name
        thread.start()
    }

    /// Without a `finish`, the thread still ends (after what is queued).
    deinit { state.withLock { $0.finishing = true } }

    /// Queues `item`, waiting while the queue is full. False (the item dropped) once the worker halted or is finishing.
    /// Takes `item` over: the queue holds the only reference the caller gave it.
    @discardableResult
    package func submit(_ item: consuming Item) -> Bool {
        var item = Optional(consume item)
        return state.withLock(when: { $0.queue.count < depth || !$0.accepts }) { state in
            guard state.accepts else { return false }
            state.queue.append(item.take()!)
            return true
        }
    }

    /// Queues `item` without waiting: for a caller that must not block (an async task).
    package func offer(_ item: Item) -> Offer {
        state.withLock { state in
            guard state.accepts else { return .refused }
            guard state.queue.count < depth else { return .full }
            state.queue.append(item)
            return .queued
        }
    }

    /// Why the worker halted, if it did.
    package var halt: (any Error)? { state.withLock { $0.halt } }

    /// Takes submissions again after a halt whose error `resumable` accepts.
    package func resume(if resumable: (any Error) -> Bool = { _ in true }) {
        state.withLock { state in
            if let halt = state.halt, resumable(halt) { state.halt = nil }
        }
    }

    /// Waits until everything submitted so far was handled (or dropped by a halt).
    package func drain() {
        state.withLock(when: { $0.queue.isEmpty && !$0.handling }) { _ in }
    }

    /// Refuses new items, handles what is queued, and waits for the thread to end.
    package func finish() {
        state.withLock { $0.finishing = true }
        state.withLock(when: { $0.exited }) { _ in }
    }

    private static func loop(_ state: ConditionLock<State>, batch: Int, handle: (consuming [Item]) throws -> Void) {
        while true {
            let taken = state.withLock(when: { !$0.queue.isEmpty || $0.finishing }) { state -> [Item]? in
                guard !state.queue.isEmpty else {
                    state.exited = true
                    return nil
                }
                let taken = Array(state.queue.prefix(batch))
                state.queue.removeFirst(taken.count)
                state.handling = true
                return taken
            }
            // Unwrapped by moving: the optional would hold a second reference until the loop goes round.
            guard let items = consume taken else { return }
            var failure: (any Error)?
            // Handed over: holding `items` until the handler returns kept a second reference to
            // each (a copy on its first change, and now and then its last release on this thread).
            do { try handle(consume items) } catch { failure = error }
            state.withLock { state in
                state.handling = false
                if let failure {
                    state.halt = failure
                    state.queue.removeAll()
                }
            }
        }
    }
}
