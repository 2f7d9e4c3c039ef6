import CallAuditStore
import Foundation

/// Reads the settled log for a rebuild on its own connection, a few pages
/// ahead: one thread fetches pages, another readies them (parsing), and the
/// caller folds them, so PostgreSQL, parsing and folding run at once instead
/// of taking turns.
///
/// Events below a horizon never change (see `EventLog`), so this connection
/// reads exactly what the rebuild's own transaction would.
final class LogPrefetcher<Page: Sendable>: Sendable {
    struct Item: Sendable {
        var page: Page
        var last: LogCursor
        var count: Int
    }

    private let fetched = HandOff<(events: [StoredEvent], last: LogCursor)>(depth: 2)
    private let prepared = HandOff<Item>(depth: 2)

    init(databaseURL: String, horizon: UInt64, pageSize: Int, prepare: @escaping @Sendable ([StoredEvent]) throws -> Page) {
        let (fetched, prepared) = (fetched, prepared)
        Self.start("log-fetch", feeding: fetched) {
            let log = EventLog(connection: try PostgresConnection(conninfo: databaseURL))
            var cursor = LogCursor.start
            while case let events = try log.read(after: cursor, below: horizon, limit: pageSize), let last = events.last?.cursor {
                guard fetched.put((events, last)) else { return }
                cursor = last
            }
        }
        Self.start("log-prepare", feeding: prepared) {
            while let (events, last) = try fetched.take() {
                guard prepared.put(Item(page: try prepare(events), last: last, count: events.count)) else { return }
            }
        }
    }

    /// The next page, or nil at the horizon. Rethrows what reading or preparing threw.
    func next() throws -> Item? { try prepared.take() }

    /// Stops both threads at their next page.
    func cancel() {
        prepared.close()
        fetched.close()
    }

    private static func start<T>(_ name: String, feeding output: HandOff<T>, _ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread {
            do {
                try body()
                output.finish(failure: nil)
            } catch {
                output.finish(failure: error)
            }
        }
        thread.name = name
        thread.start()
    }
}

/// A bounded queue between two threads: `put` waits while it is full, `take`
/// while it is empty. The producer ends it with `finish`; the consumer with `close`.
private final class HandOff<T: Sendable>: @unchecked Sendable {
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
