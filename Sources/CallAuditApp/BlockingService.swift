import Foundation
import ServiceLifecycle

/// A `Service` around work that blocks (libpq, librdkafka): the work runs on
/// its own thread, never on the cooperative pool, and `stop` is called on
/// graceful shutdown and on cancellation alike, so the group can always end.
struct BlockingService: Service, CustomStringConvertible {
    let description: String
    let work: @Sendable () throws -> Void
    let stop: @Sendable () -> Void

    func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
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
            } onGracefulShutdown: { [stop] in
                stop()
            }
        } onCancel: { [stop] in
            stop()
        }
    }
}
