import CallAuditDomain
import CallAuditKafka
import CallAuditStore

/// Everything operations watch, sampled at one moment: what `GET /v1/status`
/// returns, what the `/ops` page draws and what the gauges of `/metrics` hold.
/// Identifiers and counts only; never personal data.
package struct OperationsStatus: Sendable {
    package struct PartitionLag: Sendable, Equatable {
        package var topic: String
        package var partition: Int32
        /// The next offset ingest will read, as stored in PostgreSQL with the events (0 before the first batch).
        package var storedOffset: Int64
        /// The offset the next message will get; nil when Kafka did not answer.
        package var highWatermark: Int64?
        /// The oldest offset Kafka still keeps; nil when Kafka did not answer.
        package var lowWatermark: Int64? = nil
        /// Whether ingest has stored a position here (else it starts at the beginning, which is always valid).
        package var hasStoredPosition = true
        /// Whether ingest (of any instance, stored as a hold) stopped the partition at a gap. It stays stopped until the
        /// gap is accepted, even once the watermarks no longer show it (a recreated topic grown past the old position).
        package var ingestStopped = false
        /// The gap as the hold recorded it when ingest stopped: shown when the watermarks no longer show one.
        package var heldGap: RetentionGap? = nil
        package var lag: Int64? { highWatermark.map { max(0, $0 - storedOffset) } }

        /// The stored position outside what Kafka keeps: ingest of this partition stops until an operator accepts it.
        package var gap: RetentionGap? {
            guard hasStoredPosition, let low = lowWatermark, let high = highWatermark else { return heldGap }
            return RetentionGap(
                partition: TopicPartition(topic: topic, partition: partition), storedOffset: storedOffset,
                watermarks: Watermarks(low: low, high: high)) ?? heldGap
        }
    }

    package struct Kafka: Sendable {
        package var consumerGroup: String
        package var reachable: Bool
        /// Why the last watermark query failed, if it did (librdkafka's words; no data).
        package var error: String?
        package var partitions: [PartitionLag]
        /// Every partition with a gap.
        package var gaps: [RetentionGap] { partitions.compactMap(\.gap) }
        package var totalLag: Int64? {
            partitions.allSatisfy { $0.lag != nil } ? partitions.reduce(0) { $0 + ($1.lag ?? 0) } : nil
        }
    }

    package struct RatePoint: Sendable {
        package var at: Timestamp
        package var perSecond: Double
    }

    package struct Ingest: Sendable {
        /// Messages made durable per second (events and dead letters alike), over `windowSeconds`.
        package var ratePerSecond: Double
        package var windowSeconds: Double
        /// The rate between successive samples, oldest first: the dashboard's sparkline.
        package var history: [RatePoint]
        /// Messages consumed by the group so far (the sum of its stored offsets).
        package var consumed: Int64
        /// The store's head: the highest position any event has.
        package var headPosition: Int64
    }

    package enum ProjectionState: String, Sendable {
        /// Every committed event applied.
        case current
        /// Applying a backlog.
        case catchingUp = "catching_up"
        /// Events wait only behind an older open transaction (the horizon).
        case waiting
        /// A backlog, and no progress for a minute.
        case stalled
        /// A rebuild was asked for and has not finished.
        case rebuilding
        /// Some stream could not be applied; it waits for an operator.
        case quarantined
    }

    package struct Quarantine: Sendable {
        package var stream: String
        package var position: Int64
        package var error: String
        package var since: String
    }

    package struct Projection: Sendable {
        package var name: String
        package var position: Int64
        package var eventsApplied: Int
        package var lagEvents: Int
        /// How long the oldest event it has not applied has been stored; 0 when current.
        package var lagSeconds: Double
        package var state: ProjectionState
        package var updatedAt: String?
        package var quarantined: [Quarantine]
    }

    package struct DeadLetterCount: Sendable {
        package var reason: String
        package var status: String
        package var count: Int
    }

    package struct OpenRequest: Sendable {
        package var id: String
        package var kind: String
        package var regime: String
        package var receivedAt: Timestamp
        package var dueAt: Timestamp?
        package var extended: Bool
    }

    package struct RuleCount: Sendable {
        package var rule: String
        package var count: Int
    }

    package var sampledAt: Timestamp
    /// The PostgreSQL role the service runs as.
    package var database: DatabaseRole
    package var kafka: Kafka
    package var ingest: Ingest
    package var projections: [Projection]
    /// The transaction holding the projections' horizon back, described without its SQL.
    package var horizonHolder: String?
    /// Who last took each leadership (ingest, each projection, the report scheduler), and its epoch.
    package var leaderships: [LeadershipRecord] = []
    package var deadLetters: [DeadLetterCount]
    /// Open subject requests, the nearest deadline first.
    package var openRequests: [OpenRequest]
    /// The UTC day `findingsToday` covers.
    package var today: String
    package var findingsToday: [RuleCount]
    /// Closed periods past their close delay with no report issued yet.
    package var unissuedReports: [String]
    package var integrity: Integrity

    package struct Integrity: Sendable {
        /// The newest seal's number and end, and when it was made.
        package var latestSeal: Int64?
        package var sealedThrough: Int64?
        package var latestSealAt: Timestamp?
        /// Settled events no seal covers yet, and how long the oldest of them has waited.
        package var unsealedEvents: Int
        package var sealLagSeconds: Double
        /// Republishes that conflicted with a stored event.
        package var conflicts: Int
    }
}
