import CoreMetrics
import Metrics
import Prometheus

/// Every metric the service exposes, with its help text. The code records
/// through swift-metrics by name; this factory gives each its Prometheus
/// family with that help, so `/metrics` passes `promtool check metrics`.
package enum MetricsCatalog {
    package static let help: [String: String] = [
        "callaudit_ingest_events_total": "Messages ingest made durable, by Kafka topic and result (stored, duplicate, dead_lettered).",
        "callaudit_ingest_batch_commit_seconds": "Time to commit one ingest batch (events, dead letters and Kafka positions in one transaction).",
        "callaudit_ingest_retries_total": "Ingest batches PostgreSQL could not take at the first try and that were retried.",
        "callaudit_vault_kek_missing": "1 while ingest cannot seal because this instance's KEK file lacks a key in use (a host a KEK rotation missed): nothing is stored until the file holds it.",
        "callaudit_ingest_superseded_batches_total": "Ingest batches refused at commit because another instance took the lead after they were read (a frozen or cut-off leader); nothing of them was stored.",
        "callaudit_ingest_rate_messages_per_second": "Messages made durable per second over the last minute.",
        "callaudit_kafka_up": "Whether the last watermark query reached Kafka (1) or not (0).",
        "callaudit_kafka_consumer_lag_messages": "Messages in a partition not yet made durable: high watermark minus the stored position.",
        "callaudit_kafka_stored_offset": "The next offset ingest reads in a partition, as stored in PostgreSQL.",
        "callaudit_kafka_ingest_stopped": "Whether ingest of a partition has stopped at a gap and waits for an operator to accept it (1) or not (0).",
        "callaudit_kafka_gap_messages": "Offsets lost in a partition: its stored position is below the low watermark or past the high watermark; its ingest has stopped (0: no gap).",
        "callaudit_store_head_position": "The highest position in the event store.",
        "callaudit_projection_lag_events": "Committed events a projection has not applied yet.",
        "callaudit_projection_lag_seconds": "Age of the oldest event a projection has not applied yet.",
        "callaudit_projection_position": "The log position a projection has applied up to.",
        "callaudit_projection_quarantined_streams": "Streams a projection set aside because it could not apply them.",
        "callaudit_projection_stalled": "Whether a projection has a backlog and has not moved for a minute (1) or not (0).",
        "callaudit_dead_letters": "Dead letters in the store, by reason and status.",
        "callaudit_subject_requests_open": "Open data-subject requests.",
        "callaudit_subject_request_next_deadline_seconds": "Seconds until the nearest deadline of an open data-subject request (negative once overdue).",
        "callaudit_findings_today": "Open findings whose rule was broken today (UTC), by rule.",
        "callaudit_reports_unissued_closed_periods": "Closed report periods past their close delay with no report issued yet.",
        "callaudit_unsealed_events": "Events no seal covers yet.",
        "callaudit_seal_lag_seconds": "How long the oldest unsealed event has waited for a seal.",
        "callaudit_event_conflicts": "Republishes that reused a stored event's (source, id) with other content.",
        "callaudit_http_requests_total": "HTTP requests answered, by route, method and status.",
        "callaudit_http_request_duration_seconds": "Time to answer an HTTP request, by route.",
        "callaudit_http_token_lookups_total": "Bearer tokens looked up in PostgreSQL (not answered from the cache), by result (valid, unknown).",
        "callaudit_http_auth_throttled_total": "Requests refused with 429 because their client address failed authentication too often.",
    ]

    /// Bucket bounds for the latency histograms: 1 ms to 30 s.
    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]
}

/// swift-metrics' factory over a Prometheus registry, adding each metric's
/// help from `MetricsCatalog`. Bootstrapped once per process by `serve`.
package struct DocumentedPrometheusFactory: MetricsFactory {
    package let registry: PrometheusCollectorRegistry

    package init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricsCatalog.help[label] ?? label.replacingOccurrences(of: "_", with: " "))
    }

    package func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    package func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    package func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    package func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    package func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: MetricsCatalog.durationBuckets)
    }

    package func destroyCounter(_ handler: any CounterHandler) {}
    package func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    package func destroyRecorder(_ handler: any RecorderHandler) {}
    package func destroyMeter(_ handler: any MeterHandler) {}
    package func destroyTimer(_ handler: any TimerHandler) {}
}

/// The process's one metrics registry: the first use bootstraps swift-metrics
/// with it, so every later `Counter`, `Gauge` and `Timer` lands in `/metrics`.
package enum ProcessMetrics {
    package static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(DocumentedPrometheusFactory(registry: registry))
        return registry
    }()
}
