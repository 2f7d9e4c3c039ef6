import CallAuditProjections
import CallAuditStore
import Logging
import Testing

extension ProjectionRunner {
    /// A runner with the test suite's usual settings.
    convenience init(
        projection: any Projection, databaseURL: String, logger: Logger, batchSize: Int = 5_000, pollInterval: Duration = .seconds(1)
    ) {
        self.init(
            projection: projection,
            configuration: ProjectionConfiguration(
                database: DatabaseConfiguration(url: databaseURL), batchSize: batchSize, pollInterval: pollInterval,
                maxRetryDelay: .milliseconds(500)),
            logger: logger)
    }
}

/// Runs a runner until it is stopped; a failure is a test failure.
func runProjection(_ runner: ProjectionRunner) {
    do { try runner.run() } catch { Issue.record("projection runner failed: \(error)") }
}
