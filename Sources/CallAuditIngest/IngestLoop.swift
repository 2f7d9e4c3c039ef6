import CallAuditDomain
import CallAuditKafka
import CallAuditStore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Kafka → decode → PostgreSQL, one transaction per batch, on the calling thread.
///
/// A batch's events, dead letters and Kafka positions commit together, and
/// the consumer only ever resumes from positions read back from PostgreSQL,
/// so a crash at any point neither loses nor duplicates an event. When
/// PostgreSQL is unreachable the same batch is retried on a new connection
/// with capped exponential backoff; when partitions are revoked the batch in
/// flight is committed first, so their next owner starts where this one ended.
public final class IngestLoop: @unchecked Sendable {
    public typealias CommitObserver = @Sendable (_ outcome: AppendOutcome, _ messages: Int, _ latency: Duration) -> Void

    private let configuration: IngestConfiguration
    private let logger: Logger
    private let decoder: EventDecoder
    private let stopRequested = Atomic<Bool>(false)
    public let statistics: IngestStatistics
    private let onCommit: CommitObserver?

    // Touched only by the polling thread (rebalance callbacks run inside poll).
    private var store: EventStore?
    private var pending = IngestBatch()
    private var pendingMessages: [KafkaMessage] = []
    private var nextOffsets: [TopicPartition: Int64] = [:]

    public init(
        configuration: IngestConfiguration, logger: Logger, statistics: IngestStatistics = IngestStatistics(),
        onCommit: CommitObserver? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.decoder = EventDecoder(maximumBytes: configuration.maxMessageBytes)
        self.statistics = statistics
        self.onCommit = onCommit
    }

    /// Asks the loop to finish: the batch in flight is committed (or, if
    /// PostgreSQL stays unreachable, abandoned uncommitted) and the consumer leaves its group.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    private var stopping: Bool { stopRequested.load(ordering: .relaxed) }

    /// Runs until `requestStop`. Blocks the calling thread.
    public func run() throws {
        _ = try withStore { _ in }
        let consumer = try KafkaConsumer(
            configuration: configuration.consumerConfiguration, logger: logger,
            assign: { [unowned self] partitions in self.resumeOffsets(for: partitions) },
            revoke: { [unowned self] _ in self.flush() })
        try consumer.subscribe(Topic.allCases.compactMap { configuration.topicNames[$0] })
        logger.info("ingest started", metadata: ["kafka.group": "\(configuration.groupID)"])
        while !stopping {
            collectBatch(from: consumer)
            flush()
        }
        consumer.close()
        flush()
        logger.info("ingest stopped", metadata: ["ingest.totals": "\(statistics.summary)"])
    }

    private func collectBatch(from consumer: KafkaConsumer) {
        guard let first = consumer.poll(timeoutMilliseconds: 100) else { return }
        add(first)
        let deadline = ContinuousClock.now + configuration.maxBatchDelay
        while pendingMessages.count < configuration.maxBatchSize, !stopping {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            guard let message = consumer.poll(timeoutMilliseconds: Int32(remaining.milliseconds)) else { break }
            add(message)
        }
    }

    private func add(_ message: KafkaMessage) {
        let origin = KafkaOrigin(
            topic: message.topic, partition: message.partition, offset: message.offset,
            timestampMilliseconds: message.timestampMilliseconds)
        switch decoder.decode(IncomingMessage(headers: message.headers, value: message.value)) {
        case .success(let event):
            pending.events.append(IncomingEvent(event: event, origin: origin))
        case .failure(let rejection):
            pending.deadLetters.append(
                DeadLetter(origin: origin, rejection: rejection, key: message.key, headers: message.headers, value: message.value))
        }
        pendingMessages.append(message)
        nextOffsets[TopicPartition(topic: message.topic, partition: message.partition)] = message.offset + 1
    }

    /// Commits the batch in flight. Returns when it is durable, or when stopping with PostgreSQL unreachable.
    private func flush() {
        guard !pendingMessages.isEmpty else { return }
        pending.resumePoints = nextOffsets.map { KafkaResumePoint(topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value) }
        let batch = pending
        let started = ContinuousClock.now
        if let outcome = commit(batch) {
            let latency = started.duration(to: .now)
            statistics.stored.add(outcome.stored, ordering: .relaxed)
            statistics.duplicates.add(outcome.duplicates, ordering: .relaxed)
            statistics.deadLettered.add(outcome.deadLettered, ordering: .relaxed)
            statistics.batches.add(1, ordering: .relaxed)
            onCommit?(outcome, pendingMessages.count, latency)
        }
        pending = IngestBatch()
        pendingMessages.removeAll(keepingCapacity: true)
        nextOffsets.removeAll(keepingCapacity: true)
    }

    private func commit(_ batch: IngestBatch) -> AppendOutcome? {
        do {
            return try withStore { store in
                do {
                    return try store.append(batch, consumerGroup: configuration.groupID)
                } catch let error as PostgresError where !error.isConnectionFailure {
                    logger.error("batch rejected by PostgreSQL; storing its events one by one", metadata: ["error": "\(error)"])
                    return try salvage(batch, in: store)
                }
            }
        } catch {
            logger.warning("batch abandoned uncommitted at shutdown; it will be read again", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The slow path for a batch the server refused: each event in its own
    /// transaction, any it still refuses dead-lettered, then the positions.
    /// A crash part way only means those events are read again and found stored.
    private func salvage(_ batch: IngestBatch, in store: EventStore) throws -> AppendOutcome {
        var outcome = AppendOutcome()
        var deadLetters = batch.deadLetters
        let messages = Dictionary(pendingMessages.map { (KafkaOrigin(topic: $0.topic, partition: $0.partition, offset: $0.offset), $0) }) { a, _ in a }
        for incoming in batch.events {
            do {
                let single = try store.append(IngestBatch(events: [incoming]), consumerGroup: configuration.groupID)
                outcome.stored += single.stored
                outcome.duplicates += single.duplicates
            } catch let error as PostgresError where !error.isConnectionFailure {
                guard let origin = incoming.origin else { throw error }
                let key = KafkaOrigin(topic: origin.topic, partition: origin.partition, offset: origin.offset)
                let raw = messages[key]
                deadLetters.append(
                    DeadLetter(
                        origin: origin, rejection: Rejection(.storeRejected, error.description), key: raw?.key,
                        headers: raw?.headers ?? [], value: raw?.value))
            }
        }
        let rest = try store.append(
            IngestBatch(deadLetters: deadLetters, resumePoints: batch.resumePoints), consumerGroup: configuration.groupID)
        outcome.deadLettered = rest.deadLettered
        return outcome
    }

    private func resumeOffsets(for partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        let points = (try? withStore { try $0.resumePoints(consumerGroup: configuration.groupID) }) ?? []
        var offsets: [TopicPartition: Int64] = [:]
        for point in points {
            let tp = TopicPartition(topic: point.topic, partition: point.partition)
            if partitions.contains(tp) { offsets[tp] = point.nextOffset }
        }
        logger.info("resuming from PostgreSQL positions", metadata: ["kafka.partitions": "\(partitions.count)", "kafka.stored_positions": "\(offsets.count)"])
        return offsets
    }

    /// Runs `body` with a live store, reconnecting with capped exponential
    /// backoff while PostgreSQL is unreachable. Gives up only when stopping.
    private func withStore<T>(_ body: (EventStore) throws -> T) throws -> T {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                let store = try self.store ?? EventStore(connection: PostgresConnection(conninfo: configuration.databaseURL))
                self.store = store
                return try body(store)
            } catch let error as PostgresError where error.isConnectionFailure {
                store = nil
                statistics.retries.add(1, ordering: .relaxed)
                if stopping { throw error }
                logger.warning("PostgreSQL unreachable; retrying", metadata: ["error": "\(error)", "retry.delay": "\(delay)"])
                sleep(for: delay)
                delay = min(delay * 2, configuration.maxRetryDelay)
            }
        }
    }

    private func sleep(for duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !stopping, ContinuousClock.now < deadline {
            usleep(20_000)
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
