/// Pieces of work each started on a thread of its own (`BackgroundWork`),
/// several at once, whose results the starter takes back in the order it
/// started them: a pipeline stage that keeps more than one core busy while
/// its consumer stays in order.
///
/// Not thread-safe: one thread starts and takes.
package struct OrderedWork<Value: Sendable> {
    private var running: [BackgroundWork<Value, any Error>] = []

    package init() {}

    /// How many were started and not yet taken.
    package var count: Int { running.count }

    /// Starts `body` on a new thread named `name`.
    package mutating func start(name: String, _ body: @escaping @Sendable () throws -> Value) {
        running.append(BackgroundWork(name: name, body))
    }

    /// The oldest started work's result, waiting for it; nil when none is left.
    /// Throws what that work threw (it is taken all the same).
    package mutating func takeOldest() throws -> Value? {
        guard !running.isEmpty else { return nil }
        return try running.removeFirst().value()
    }
}
