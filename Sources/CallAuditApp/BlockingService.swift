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

/// Arms, on graceful shutdown, a timer that cancels what `cancel` names `after` that long and
/// every half second from then on, until the process ends; returns at once, so the services
/// before it in the group are told to stop without waiting.
struct CancelOnShutdown: Service, CustomStringConvertible {
    let after: Duration
    let cancel: @Sendable () -> Void
    var description: String { "cancel on shutdown" }

    func run() async throws {
        try? await gracefulShutdown()
        let thread = Thread { [after, cancel] in
            Thread.sleep(forTimeInterval: Double(after.components.seconds))
            while true {
                cancel()
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        thread.name = description
        thread.start()
    }
}
