import CallAuditDomain
import CallAuditKafka
import CallAuditStore
import Logging
import Synchronization

/// Kafka → decode → PostgreSQL, one transaction per batch.
///
/// A batch's events, dead letters and Kafka positions commit together, and
/// the consumer only ever resumes from positions read back from PostgreSQL,
/// so a crash at any point neither loses nor duplicates an event. The calling
/// thread polls and decodes; a writer thread commits, so the two overlap.
/// When PostgreSQL is unreachable the same batch is retried on a new
/// connection with capped exponential backoff; when partitions are revoked
/// every batch in flight is committed first, so their next owner starts where
/// this one ended.
public final class IngestLoop: @unchecked Sendable {
    public typealias CommitObserver = @Sendable (_ outcome: AppendOutcome, _ messages: Int, _ latency: Duration) -> Void

    private let configuration: IngestConfiguration
    private let logger: Logger
    private let decoder: EventDecoder
    private let stopFlag = StopFlag()
    public let statistics: IngestStatistics
    private let onCommit: CommitObserver?
    private let writerStore: ReconnectingStore
    private let readerStore: ReconnectingStore

    // Touched only by the polling thread (rebalance callbacks run inside poll).
    private var pending = PendingBatch()
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
        let stop = stopFlag
        func store() -> ReconnectingStore {
            ReconnectingStore(
                databaseURL: configuration.databaseURL, maxDelay: configuration.maxRetryDelay, logger: logger,
                statistics: statistics, shouldStop: { stop.isSet })
        }
        writerStore = store()
        readerStore = store()
    }

    /// Asks the loop to finish: batches in flight are committed (or, if
    /// PostgreSQL stays unreachable, abandoned uncommitted) and the consumer leaves its group.
    public func requestStop() { stopFlag.set() }

    private var stopping: Bool { stopFlag.isSet }

    /// Runs until `requestStop`. Blocks the calling thread.
    public func run() throws {
        _ = try readerStore.run { _ in }
        let writer = BatchWriter { [unowned self] batch in self.commit(batch) }
        defer { writer.finish() }
        let consumer = try KafkaConsumer(
            configuration: configuration.consumerConfiguration, logger: logger,
            assign: { [unowned self] partitions in self.resumeOffsets(for: partitions) },
            revoke: { [unowned self] _ in
                self.submitPending(to: writer)
                writer.drain()
            })
        try consumer.subscribe(Topic.allCases.compactMap { configuration.topicNames[$0] })
        logger.info("ingest started", metadata: ["kafka.group": "\(configuration.groupID)"])
        while !stopping {
            collectBatch(from: consumer)
            submitPending(to: writer)
        }
        consumer.close()
        submitPending(to: writer)
        writer.drain()
        logger.info("ingest stopped", metadata: ["ingest.totals": "\(statistics.summary)"])
    }

    private func collectBatch(from consumer: KafkaConsumer) {
        guard let first = consumer.poll(timeoutMilliseconds: 100) else { return }
        add(first)
        let deadline = ContinuousClock.now + configuration.maxBatchDelay
        while pending.messages.count < configuration.maxBatchSize, !stopping {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            guard let message = consumer.poll(timeoutMilliseconds: Int32(remaining.wholeMilliseconds)) else { break }
            add(message)
        }
    }

    private func add(_ message: KafkaMessage) {
        let origin = KafkaOrigin(
            topic: message.topic, partition: message.partition, offset: message.offset,
            timestampMilliseconds: message.timestampMilliseconds)
        switch decoder.decode(IncomingMessage(headers: message.headers, value: message.value)) {
        case .success(let event):
            pending.batch.events.append(IncomingEvent(event: event, origin: origin))
        case .failure(let rejection):
            pending.batch.deadLetters.append(
                DeadLetter(origin: origin, rejection: rejection, key: message.key, headers: message.headers, value: message.value))
        }
        pending.messages.append(message)
        nextOffsets[TopicPartition(topic: message.topic, partition: message.partition)] = message.offset + 1
    }

    private func submitPending(to writer: BatchWriter) {
        guard !pending.messages.isEmpty else { return }
        pending.batch.resumePoints = nextOffsets.map {
            KafkaResumePoint(topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value)
        }
        writer.submit(pending)
        pending = PendingBatch()
        nextOffsets.removeAll(keepingCapacity: true)
    }

    /// On the writer thread: returns when the batch is durable, or when stopping with PostgreSQL unreachable.
    private func commit(_ pending: PendingBatch) {
        let started = ContinuousClock.now
        do {
            let outcome = try writerStore.run { store in
                do {
                    return try store.append(pending.batch, consumerGroup: configuration.groupID)
                } catch let error as PostgresError where !error.isConnectionFailure {
                    logger.error("batch rejected by PostgreSQL; storing its events one by one", metadata: ["error": "\(error)"])
                    return try salvage(pending, in: store)
                }
            }
            statistics.stored.add(outcome.stored, ordering: .relaxed)
            statistics.duplicates.add(outcome.duplicates, ordering: .relaxed)
            statistics.deadLettered.add(outcome.deadLettered, ordering: .relaxed)
            statistics.batches.add(1, ordering: .relaxed)
            onCommit?(outcome, pending.messages.count, started.duration(to: .now))
        } catch {
            logger.warning("batch abandoned uncommitted at shutdown; it will be read again", metadata: ["error": "\(error)"])
        }
    }

    /// The slow path for a batch the server refused: each event in its own
    /// transaction, any it still refuses dead-lettered, then the positions.
    /// A crash part way only means those events are read again and found stored.
    private func salvage(_ pending: PendingBatch, in store: EventStore) throws -> AppendOutcome {
        var outcome = AppendOutcome()
        var deadLetters = pending.batch.deadLetters
        let raw = Dictionary(pending.messages.map { (Coordinates($0.topic, $0.partition, $0.offset), $0) }) { a, _ in a }
        for incoming in pending.batch.events {
            do {
                let single = try store.append(IngestBatch(events: [incoming]), consumerGroup: configuration.groupID)
                outcome.stored += single.stored
                outcome.duplicates += single.duplicates
            } catch let error as PostgresError where !error.isConnectionFailure {
                guard let origin = incoming.origin else { throw error }
                let message = raw[Coordinates(origin.topic, origin.partition, origin.offset)]
                deadLetters.append(
                    DeadLetter(
                        origin: origin, rejection: Rejection(.storeRejected, error.description), key: message?.key,
                        headers: message?.headers ?? [], value: message?.value))
            }
        }
        let rest = try store.append(
            IngestBatch(deadLetters: deadLetters, resumePoints: pending.batch.resumePoints), consumerGroup: configuration.groupID)
        outcome.deadLettered = rest.deadLettered
        return outcome
    }

    private func resumeOffsets(for partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        let points = (try? readerStore.run { try $0.resumePoints(consumerGroup: configuration.groupID) }) ?? []
        var offsets: [TopicPartition: Int64] = [:]
        for point in points {
            let tp = TopicPartition(topic: point.topic, partition: point.partition)
            if partitions.contains(tp) { offsets[tp] = point.nextOffset }
        }
        logger.info(
            "resuming from PostgreSQL positions",
            metadata: ["kafka.partitions": "\(partitions.count)", "kafka.stored_positions": "\(offsets.count)"])
        return offsets
    }
}

private struct Coordinates: Hashable {
    var topic: String
    var partition: Int32
    var offset: Int64

    init(_ topic: String, _ partition: Int32, _ offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}


/// A one-way flag that any thread may set and read.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
