import CallAuditStore

/// How projection runners work; every field has a default fit for production.
package struct ProjectionConfiguration: Sendable {
    /// PostgreSQL, and the limits of the runners' sessions there.
    package var database: DatabaseConfiguration
    /// Events per transaction. Default 5,000.
    package var batchSize: Int
    /// Longest sleep between looks at the log when no NOTIFY arrives. Default 1 s.
    package var pollInterval: Duration
    /// Longest wait between retries after a transient failure. Default 5 s.
    package var maxRetryDelay: Duration
    /// On shutdown, how long a running statement may finish before it is cancelled. Cancelling
    /// only rolls the batch back (it is applied again on the next start), so this is short. Default 1 s.
    package var shutdownGrace: Duration
    /// Warn when committed events wait behind a transaction older than this. Default 60 s.
    package var horizonWarning: Duration

    package init(
        database: DatabaseConfiguration = DatabaseConfiguration(),
        batchSize: Int = 5_000,
        pollInterval: Duration = .seconds(1),
        maxRetryDelay: Duration = .seconds(5),
        shutdownGrace: Duration = .seconds(1),
        horizonWarning: Duration = .seconds(60)
    ) {
        self.database = database
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.maxRetryDelay = maxRetryDelay
        self.shutdownGrace = shutdownGrace
        self.horizonWarning = horizonWarning
    }
}
