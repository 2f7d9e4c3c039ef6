import Foundation

/// Work started on a thread of its own, whose result the starter collects
/// later with `value()`, so the two overlap. The result is delivered once and
/// kept: every `value()` returns it (or throws its error).
package final class BackgroundWork<Value: Sendable, Failure: Error>: Sendable {
    private let result = ConditionLock<Result<Value, Failure>?>(nil)

    /// Starts `body` on a new thread named `name` (as the OS shows it: `nameCurrentThread`).
    package init(name: String = "callaudit-background", _ body: @escaping @Sendable () throws(Failure) -> Value) {
        let result = result
        let thread = Thread {
            nameCurrentThread(name)
            let outcome: Result<Value, Failure>
            do throws(Failure) {
                outcome = .success(try body())
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
        }
        thread.name = name
        thread.start()
    }

    /// Work already done (on the caller's thread): `value()` returns at once.
    package init(completed outcome: Result<Value, Failure>) {
        result.withLock { $0 = outcome }
    }

    /// The result, waiting for it if the work is still running.
    package func value() throws(Failure) -> Value {
        try result.withLock(when: { $0 != nil }) { $0! }.get()
    }

    /// Whether the result is in.
    package var isDone: Bool { result.withLock { $0 != nil } }
}
