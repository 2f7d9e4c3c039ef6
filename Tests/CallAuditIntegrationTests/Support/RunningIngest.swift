import CallAuditIngest
import Foundation
import Logging
import Synchronization
import Testing

/// An ingest loop on its own thread, as the service runs it.
final class RunningIngest: @unchecked Sendable {
    let loop: IngestLoop
    private let finished = DispatchSemaphore(value: 0)
    private let failure = FailureBox()

    /// `expectFailure`: the loop is meant to stop on its own with a failure (`stop()` returns it).
    init(_ configuration: IngestConfiguration, expectFailure: Bool = false, logger: Logger = quietLogger) {
        loop = IngestLoop(configuration: configuration, logger: logger)
        Thread { [loop, finished, failure] in
            do { try loop.run() } catch {
                failure.value.withLock { $0 = error as? IngestFailure }
                if !expectFailure { Issue.record("ingest loop failed: \(error)") }
            }
            finished.signal()
        }.start()
    }

    var statistics: IngestStatistics { loop.statistics }

    /// Whether the loop has ended on its own.
    func ended(within seconds: Double) -> Bool {
        guard finished.wait(timeout: .now() + seconds) == .success else { return false }
        finished.signal()
        return true
    }

    /// Stops the loop; what it failed with, if it did.
    @discardableResult
    func stop() -> IngestFailure? {
        loop.requestStop()
        finished.wait()
        finished.signal()
        return failure.value.withLock { $0 }
    }
}

private final class FailureBox: Sendable {
    let value = Mutex<IngestFailure?>(nil)
}
