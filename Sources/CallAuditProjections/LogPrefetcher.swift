import CallAuditRuntime
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

    private let fetched = BoundedQueue<LogDocuments>(depth: 2)
    private let prepared = BoundedQueue<Item>(depth: 2)

    /// `prepare` is given each page's stored JSON documents, in log order.
    init(database: DatabaseConfiguration, horizon: UInt64, pageSize: Int, prepare: @escaping @Sendable ([String]) throws -> Page) {
        let (fetched, prepared) = (fetched, prepared)
        Self.start("log-fetch", feeding: fetched) {
            let log = EventLog(connection: try database.connect(application: "callaudit-rebuild-reader"))
            var cursor = LogCursor.start
            while let page = try log.readDocuments(after: cursor, below: horizon, limit: pageSize) {
                guard fetched.put(page) else { return }
                cursor = page.last
            }
        }
        Self.start("log-prepare", feeding: prepared) {
            while let page = try fetched.take() {
                guard prepared.put(Item(page: try prepare(page.documents), last: page.last, count: page.documents.count)) else { return }
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

    private static func start<T>(_ name: String, feeding output: BoundedQueue<T>, _ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread {
            nameCurrentThread(name)
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
