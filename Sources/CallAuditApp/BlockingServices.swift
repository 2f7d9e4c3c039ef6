import Foundation
import ServiceLifecycle

/// Work that blocks (libpq, librdkafka), with the call that asks it to end.
package struct BlockingWork: Sendable {
    let description: String
    let work: @Sendable () throws -> Void
    let stop: @Sendable () -> Void

    package init(description: String, work: @escaping @Sendable () throws -> Void, stop: @escaping @Sendable () -> Void) {
        self.description = description
        self.work = work
        self.stop = stop
    }

    /// Runs `work` on a thread of its own, never on the cooperative pool.
    func runOnThread() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread { [work] in
                do {
                    try work()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = description
            thread.start()
        }
    }
}

/// Blocking works that stop together, as one `Service`.
///
/// A `ServiceGroup` stops its services one after another, each after the
/// previous has ended. These works have no order among them, and several wait
/// on Kafka or PostgreSQL as they end (the consumer leaving its group, a status
/// sample's watermark query), so one after another their waits added up past
/// the shutdown limit when every broker was down. Told to stop together, a
/// shutdown waits for the slowest of them, not for their sum.
///
/// The first to end, whether it returns or throws, stops the others, as the
/// group would have: so a fatal error in one still ends the process, and the
/// first error is the one thrown.
package struct BlockingServices: Service, CustomStringConvertible {
    let members: [BlockingWork]

    package init(members: [BlockingWork]) { self.members = members }

    package var description: String { "blocking: " + members.map(\.description).joined(separator: ", ") }

    package func run() async throws {
        let stopAll: @Sendable () -> Void = { [members] in members.forEach { $0.stop() } }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for member in members { group.addTask { try await member.runOnThread() } }
                    var firstError: (any Error)?
                    while let result = await group.nextResult() {
                        stopAll()
                        if case .failure(let error) = result, firstError == nil { firstError = error }
                    }
                    if let firstError { throw firstError }
                }
            } onGracefulShutdown: {
                stopAll()
            }
        } onCancel: {
            stopAll()
        }
    }
}
