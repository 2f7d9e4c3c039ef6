import Foundation
import ServiceLifecycle

/// A projection runner as a `Service`, on its own thread because libpq blocks.
public struct ProjectionService: Service {
    public let runner: ProjectionRunner

    public init(runner: ProjectionRunner) {
        self.runner = runner
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread { [runner] in
                    runner.run()
                    continuation.resume()
                }
                thread.name = "callaudit-projection-\(runner.projection.name)"
                thread.start()
            }
        } onGracefulShutdown: { [runner] in
            runner.requestStop()
        }
    }
}
