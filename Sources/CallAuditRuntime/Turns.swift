/// One resource two threads use one at a time, such as a database connection
/// shared by a thread that must not wait and one that writes in the background.
///
/// A turn is one use (a statement, say). The foreground's turns come first:
/// while it waits, the background takes no new turn, so the foreground waits
/// at most for the background turn in progress.
///
/// Unchecked `Sendable` like `ConditionLock`: `resource` is touched only
/// inside a turn, and a turn begins only once the one before has ended.
package final class Turns<Resource>: @unchecked Sendable {
    private struct State {
        var inUse = false
        var foregroundWaiting = 0
    }

    private let resource: Resource
    private let state = ConditionLock(State())

    package init(_ resource: Resource) { self.resource = resource }

    /// Runs `body` with the resource as soon as the turn in progress ends.
    package func foreground<R>(_ body: (Resource) throws -> R) rethrows -> R {
        state.withLock { $0.foregroundWaiting += 1 }
        state.withLock(when: { !$0.inUse }) { state in
            state.foregroundWaiting -= 1
            state.inUse = true
        }
        defer { state.withLock { $0.inUse = false } }
        return try body(resource)
    }

    /// Whether the foreground is waiting for a turn (for tests).
    var foregroundIsWaiting: Bool { state.withLock { $0.foregroundWaiting > 0 } }

    /// Runs `body` with the resource once no turn is in progress and the foreground is not waiting.
    package func background<R>(_ body: (Resource) throws -> R) rethrows -> R {
        state.withLock(when: { !$0.inUse && $0.foregroundWaiting == 0 }) { $0.inUse = true }
        defer { state.withLock { $0.inUse = false } }
        return try body(resource)
    }
}
