import CallAuditStore
import Metrics

/// What ingest reports through swift-metrics; the service's `/metrics`
/// exposes it in Prometheus format (the names and help are in CallAuditOperations' catalog).
enum IngestMetrics {
    static let eventsTotal = "callaudit_ingest_events_total"
    static let commitSeconds = "callaudit_ingest_batch_commit_seconds"
    static let retriesTotal = "callaudit_ingest_retries_total"
    static let supersededTotal = "callaudit_ingest_superseded_batches_total"
    static let kekMissing = "callaudit_vault_kek_missing"

    /// One committed batch: its events by topic and result, and how long the commit took.
    static func record(_ outcome: AppendOutcome, latency: Duration) {
        for (topic, counts) in outcome.byTopic {
            for (result, count) in [("stored", counts.stored), ("duplicate", counts.duplicates), ("dead_lettered", counts.deadLettered)] where count > 0 {
                Counter(label: eventsTotal, dimensions: [("topic", topic), ("result", result)]).increment(by: count)
            }
        }
        Metrics.Timer(label: commitSeconds).record(duration: latency)
    }

    /// A batch PostgreSQL could not take this time, to be tried again.
    static func recordRetry() {
        Counter(label: retriesTotal).increment()
    }

    /// Whether sealing waits for a KEK the file lacks (1) or not (0).
    static func recordKEKMissing(_ missing: Bool) {
        Gauge(label: kekMissing).record(missing ? 1 : 0)
    }

    /// A batch refused because another instance took the lead after it was read.
    static func recordSuperseded() {
        Counter(label: supersededTotal).increment()
    }
}
