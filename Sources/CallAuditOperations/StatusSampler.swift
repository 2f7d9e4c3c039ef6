import CallAuditDomain
import CallAuditIntegrity
import CallAuditKafka
import CallAuditProjections
import CallAuditQueries
import CallAuditReports
import CallAuditRuntime
import CallAuditStore
import Foundation
import Logging

/// Takes an `OperationsStatus` from PostgreSQL and Kafka.
///
/// One sampler runs per service, on its own thread, every few seconds; the
/// API and the gauges read its latest sample. However many dashboards poll,
/// the database answers the status queries once per interval.
///
/// It remembers what one sample cannot show: the consumed count a minute ago
/// (the ingest rate), and when each projection last moved (a stall).
/// Used by one thread at a time (the status service's), hence unchecked.
package final class StatusSampler: @unchecked Sendable {
    package struct Settings: Sendable {
        package var consumerGroup: String
        package var topics: [String]
        package var projections: [String]
        package var reports: ReportSchedule
        package var policy: Policy
        /// How far back the ingest rate looks.
        package var rateWindow: Duration = .seconds(60)
        /// A projection with a backlog that has not moved for this long is stalled.
        package var stallAfter: Duration = .seconds(60)
        /// How many points the sparkline keeps.
        package var historyLength = 60

        package init(consumerGroup: String, topics: [String], projections: [String], reports: ReportSchedule, policy: Policy) {
            self.consumerGroup = consumerGroup
            self.topics = topics
            self.projections = projections
            self.reports = reports
            self.policy = policy
        }
    }

    private let settings: Settings
    private let watermarks: KafkaWatermarks?
    private let kafkaTimeout: Duration
    private var consumedHistory: [(at: ContinuousClock.Instant, time: Timestamp, consumed: Int64)] = []
    private var history: [OperationsStatus.RatePoint] = []
    private var lastMoved: [String: (position: Int64, at: ContinuousClock.Instant)] = [:]

    package init(settings: Settings, watermarks: KafkaWatermarks?, kafkaTimeout: Duration = .seconds(2)) {
        self.settings = settings
        self.watermarks = watermarks
        self.kafkaTimeout = kafkaTimeout
    }

    /// One sample. Throws only when PostgreSQL fails; Kafka failing is part of the status.
    package func sample(on connection: PostgresConnection, now: Timestamp = .now) throws -> OperationsStatus {
        let read = ReadSide(connection: connection)
        let stored = try storedOffsets(connection)
        let consumed = stored.values.reduce(0, +)
        let projections = try read.projectionStatus(settings.projections)
        let today = Self.day(of: now)
        return OperationsStatus(
            sampledAt: now,
            database: try DatabaseRole.current(on: connection),
            kafka: kafkaStatus(stored: stored, holds: try PartitionHolds(connection: connection).all(consumerGroup: settings.consumerGroup)),
            ingest: ingestStatus(consumed: consumed, head: try EventLog(connection: connection).headPosition(), now: now),
            projections: try projections.projections.map { try projectionStatus($0, connection: connection, now: now) },
            horizonHolder: projections.horizonHolder?.summary,
            leaderships: try Leadership.current(on: connection),
            // Not `storeSummary()`: it also counts every event by type, a scan of the whole log each sample.
            deadLetters: try DeadLetterStore(connection: connection).counts().map { .init(reason: $0.reason, status: $0.status, count: $0.count) },
            openRequests: try openRequests(connection),
            today: String(today.rfc3339.prefix(10)),
            findingsToday: try read.findingCounts(FindingQuery(from: today, to: today.adding(seconds: 86_400)))
                .map { .init(rule: $0.rule, count: $0.count) },
            unissuedReports: try unissuedReports(connection, now: now),
            integrity: try integrity(connection, now: now))
    }

    /// The seal chain's head (read without its leaves), what waits behind it, and the conflicts recorded.
    private func integrity(_ connection: PostgresConnection, now: Timestamp) throws -> OperationsStatus.Integrity {
        let head = try SealStore(connection: connection).head()
        let unsealed = try EventLog(connection: connection).backlog(after: head?.through ?? .start)
        return .init(
            latestSeal: head?.sealNo, sealedThrough: head?.through.position, latestSealAt: head?.sealedAt,
            unsealedEvents: unsealed.events,
            sealLagSeconds: unsealed.oldestStoredAt.map { max(0, Double(now.microseconds - $0.microseconds) / 1e6) } ?? 0,
            conflicts: try EventStore(connection: connection).conflictCount())
    }

    private func storedOffsets(_ connection: PostgresConnection) throws -> [TopicPartition: Int64] {
        let points = try EventStore(connection: connection).resumePoints(consumerGroup: settings.consumerGroup)
        return Dictionary(points.map { (TopicPartition(topic: $0.topic, partition: $0.partition), $0.nextOffset) }, uniquingKeysWith: { a, _ in a })
    }

    /// Every partition Kafka has for the topics, with the stored position beside its watermark.
    /// When Kafka does not answer, the stored positions alone, without lag.
    /// A partition is stopped when a hold is stored for it (by this instance or any other, before
    /// a restart too), and its gap is the one the hold recorded when the watermarks no longer show it.
    private func kafkaStatus(stored: [TopicPartition: Int64], holds: [PartitionHold]) -> OperationsStatus.Kafka {
        var status = OperationsStatus.Kafka(consumerGroup: settings.consumerGroup, reachable: false, error: nil, partitions: [])
        var ranges: [TopicPartition: Watermarks] = [:]
        if let watermarks {
            do {
                ranges = try watermarks.watermarks(topics: settings.topics, timeout: kafkaTimeout)
                status.reachable = true
            } catch {
                status.error = error.message
            }
        } else {
            status.error = "no Kafka client"
        }
        let held = Dictionary(holds.map { (TopicPartition(topic: $0.topic, partition: $0.partition), $0) }, uniquingKeysWith: { a, _ in a })
        // The stored holds alone: ingest stores one before it lists a partition as held, and accept-gap
        // deletes it before ingest resumes, so the table is what every instance (and a restarted one) agrees on.
        let stopped = Set(held.keys)
        let partitions = Set(ranges.keys).union(stored.keys).union(held.keys).sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        status.partitions = partitions.map { tp in
            .init(
                topic: tp.topic, partition: tp.partition, storedOffset: stored[tp] ?? 0, highWatermark: ranges[tp]?.high,
                lowWatermark: ranges[tp]?.low, hasStoredPosition: stored[tp] != nil, ingestStopped: stopped.contains(tp),
                heldGap: held[tp].flatMap { hold in
                    guard let low = hold.lowWatermark, let high = hold.highWatermark else { return nil }
                    return RetentionGap(partition: tp, storedOffset: hold.storedOffset ?? stored[tp] ?? 0, watermarks: Watermarks(low: low, high: high))
                })
        }
        return status
    }

    private func ingestStatus(consumed: Int64, head: Int64, now: Timestamp) -> OperationsStatus.Ingest {
        let instant = ContinuousClock.now
        if let last = consumedHistory.last, last.at < instant {
            let seconds = last.at.duration(to: instant).inSeconds
            history.append(.init(at: now, perSecond: Double(max(0, consumed - last.consumed)) / seconds))
            if history.count > settings.historyLength { history.removeFirst(history.count - settings.historyLength) }
        }
        consumedHistory.append((instant, now, consumed))
        // Keep one sample at or before the window's start, so the rate spans the whole window once it can.
        while consumedHistory.count > 2, consumedHistory[1].at.duration(to: instant) >= settings.rateWindow {
            consumedHistory.removeFirst()
        }
        let first = consumedHistory[0]
        let window = first.at.duration(to: instant).inSeconds
        let rate = window > 0 ? Double(max(0, consumed - first.consumed)) / window : 0
        return .init(ratePerSecond: rate, windowSeconds: window, history: history, consumed: consumed, headPosition: head)
    }

    private func projectionStatus(_ status: ProjectionStatus, connection: PostgresConnection, now: Timestamp) throws -> OperationsStatus.Projection {
        let position = status.cursor.position
        let instant = ContinuousClock.now
        if lastMoved[status.name]?.position != position { lastMoved[status.name] = (position, instant) }
        let still = lastMoved[status.name].map { $0.at.duration(to: instant) } ?? .zero
        let state: OperationsStatus.ProjectionState =
            if !status.quarantined.isEmpty { .quarantined }
            else if status.rebuildRequested { .rebuilding }
            else if status.behind == 0 { .current }
            else if status.behind == status.waitingBehindHorizon { .waiting }
            else if still >= settings.stallAfter { .stalled }
            else { .catchingUp }
        return .init(
            name: status.name, position: position, eventsApplied: status.eventsApplied, lagEvents: status.behind,
            lagSeconds: status.behind == 0 ? 0 : try oldestUnapplied(after: status.cursor, connection: connection, now: now),
            state: state, updatedAt: status.updatedAt,
            quarantined: status.quarantined.map {
                .init(stream: $0.stream, position: $0.cursor.position, error: $0.error, since: $0.quarantinedAt)
            })
    }

    /// Seconds since the oldest event after `cursor` was stored.
    private func oldestUnapplied(after cursor: LogCursor, connection: PostgresConnection, now: Timestamp) throws -> Double {
        guard let stored = try EventLog(connection: connection).storedAt(ofNextAfter: cursor) else { return 0 }
        return max(0, Double(now.microseconds - stored.microseconds) / 1e6)
    }

    private func openRequests(_ connection: PostgresConnection) throws -> [OperationsStatus.OpenRequest] {
        try SubjectRequestTable(connection: connection).list(status: .open)
            .map { request in
                .init(
                    id: request.id, kind: request.kind.rawValue, regime: request.regime, receivedAt: request.receivedAt,
                    dueAt: request.deadline(policy: settings.policy), extended: request.extended)
            }
            .sorted { ($0.dueAt?.microseconds ?? .max, $0.id) < ($1.dueAt?.microseconds ?? .max, $1.id) }
    }

    private func unissuedReports(_ connection: PostgresConnection, now: Timestamp) throws -> [String] {
        guard let zone = TimeZone(identifier: settings.reports.timeZone) else { return [] }
        return try settings.reports.unissued(on: connection, now: now, zone: zone).map(\.reportID)
    }

    /// Midnight UTC of the day `time` falls on.
    static func day(of time: Timestamp) -> Timestamp {
        let day: Int64 = 86_400_000_000
        return Timestamp(microseconds: time.microseconds - ((time.microseconds % day) + day) % day)
    }
}
