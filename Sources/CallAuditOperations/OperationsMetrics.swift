import CallAuditDomain
import Metrics
import Synchronization

/// The gauges that come from the status sample rather than from an event in
/// the code: lag, projections, dead letters, requests, findings, reports.
enum OperationsMetrics {
    static func update(from status: OperationsStatus) {
        gauge("callaudit_kafka_up").record(status.kafka.reachable ? 1 : 0)
        for partition in status.kafka.partitions {
            let labels = [("topic", partition.topic), ("partition", String(partition.partition))]
            gauge("callaudit_kafka_consumer_lag_messages", labels).record(Double(partition.lag ?? 0))
            gauge("callaudit_kafka_stored_offset", labels).record(Double(partition.storedOffset))
            // 0 when none: the alert fires on > 0, and the series exists for every partition.
            gauge("callaudit_kafka_gap_messages", labels).record(Double(partition.gap?.messages ?? 0))
            gauge("callaudit_kafka_ingest_stopped", labels).record(partition.ingestStopped ? 1 : 0)
        }
        gauge("callaudit_store_head_position").record(Double(status.ingest.headPosition))
        gauge("callaudit_ingest_rate_messages_per_second").record(status.ingest.ratePerSecond)
        for projection in status.projections {
            let labels = [("projection", projection.name)]
            gauge("callaudit_projection_lag_events", labels).record(Double(projection.lagEvents))
            gauge("callaudit_projection_lag_seconds", labels).record(projection.lagSeconds)
            gauge("callaudit_projection_position", labels).record(Double(projection.position))
            gauge("callaudit_projection_quarantined_streams", labels).record(Double(projection.quarantined.count))
            gauge("callaudit_projection_stalled", labels).record(projection.state == .stalled ? 1 : 0)
        }
        family("callaudit_dead_letters", status.deadLetters.map { ([("reason", $0.reason), ("status", $0.status)], Double($0.count)) })
        gauge("callaudit_subject_requests_open").record(Double(status.openRequests.count))
        let nearest = status.openRequests.compactMap(\.dueAt).min()
        // No open request: a deadline far away, so "less than N days left" alerts stay quiet.
        let secondsLeft = nearest.map { Double($0.microseconds - status.sampledAt.microseconds) / 1e6 } ?? 365 * 86_400
        gauge("callaudit_subject_request_next_deadline_seconds").record(secondsLeft)
        family("callaudit_findings_today", status.findingsToday.map { ([("rule", $0.rule)], Double($0.count)) })
        gauge("callaudit_reports_unissued_closed_periods").record(Double(status.unissuedReports.count))
        gauge("callaudit_unsealed_events").record(Double(status.integrity.unsealedEvents))
        gauge("callaudit_seal_lag_seconds").record(status.integrity.sealLagSeconds)
        gauge("callaudit_event_conflicts").record(Double(status.integrity.conflicts))
    }

    /// Series seen before, per family: a series that drops out of the sample
    /// (all of a reason's dead letters replayed, a new day's findings) reads 0, not its last value.
    private static let seen = Mutex<[String: Set<[String]>]>([:])

    private static func family(_ label: String, _ series: [([(String, String)], Double)]) {
        let current = Set(series.map { $0.0.map { "\($0.0)=\($0.1)" } })
        let gone = seen.withLock { seen in
            defer { seen[label, default: []].formUnion(current) }
            return seen[label, default: []].subtracting(current)
        }
        for labels in gone {
            gauge(label, labels.map { pair in let parts = pair.split(separator: "=", maxSplits: 1); return (String(parts[0]), String(parts[1])) }).record(0)
        }
        for (labels, value) in series { gauge(label, labels).record(value) }
    }

    private static func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Gauge {
        Gauge(label: label, dimensions: dimensions)
    }
}
