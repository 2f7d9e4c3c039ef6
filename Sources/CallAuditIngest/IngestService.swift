import Foundation
import Logging
import ServiceLifecycle

/// The ingest loop as a `Service`: it runs on its own thread, because every
/// librdkafka and libpq call blocks, and stops gracefully on shutdown.
public struct IngestService: Service {
    public let loop: IngestLoop

    public init(loop: IngestLoop) {
        self.loop = loop
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let thread = Thread { [loop] in
                    do {
                        try loop.run()
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = "callaudit-ingest"
                thread.start()
            }
        } onGracefulShutdown: { [loop] in
            loop.requestStop()
        }
    }
}
