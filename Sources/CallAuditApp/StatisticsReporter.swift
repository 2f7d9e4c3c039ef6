import CallAuditIngest
import Logging
import ServiceLifecycle

/// Logs ingest totals now and then, for operators tailing the log.
/// Ends on graceful shutdown and on cancellation.
struct StatisticsReporter: Service {
    let statistics: IngestStatistics
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            logger.info("ingest totals", metadata: ["ingest.totals": "\(statistics.summary)"])
        }
    }
}
