import CallAuditDomain
import CallAuditKafka
import CallAuditRuntime
import CallAuditStore
import CallAuditVault
import Foundation
import Logging
import Synchronization

/// Kafka → decode → PostgreSQL, one transaction per batch.
///
/// **Guarantee.** A batch's events, dead letters and Kafka positions commit
/// together, and the consumer only ever resumes from positions read back from
/// PostgreSQL, so a crash at any point neither loses nor duplicates an event.
///
/// **How.** The calling thread polls and decodes; a sealer thread encrypts
/// personal data (with a session of its own for the persons a batch meets);
/// a writer thread commits. The three overlap, each on its own batch. Batches commit in order, and once one cannot be committed
/// no later one is: positions never move past an uncommitted batch. Before
/// partitions are given up, every batch in flight is committed.
///
/// **Failures**, classified once (`FailureClass`):
/// - a malformed message is dead-lettered with its reason at decode time;
/// - an event the server rejects and names (a COPY line) is dead-lettered as
///   `store_rejected` and the rest of its batch committed; a data error that
///   names no event is isolated by storing the batch one event at a time;
/// - a transient error (lock timeout, deadlock, disk full, failover, restart)
///   retries the same batch with capped backoff, forever, until it commits or
///   the service stops; it never dead-letters or skips;
/// - a fatal error (missing privilege, unknown schema, rejected Kafka
///   credentials) stops the loop: `run` throws an `IngestFailure` that says
///   what to fix, and nothing after the failed batch is committed;
/// - on stop, a batch PostgreSQL cannot take within `shutdownGrace` is
///   cancelled and abandoned uncommitted: the next start reads it again.
/// Which decoder ingest runs. Both decode identically (DecoderDifferentialTests); the one pass in fewer
/// instructions and allocations. The tree is kept selectable so the benchmark can compare them in one run.
package enum IngestDecoding: String, Sendable, CaseIterable {
    case onePass = "one-pass"
    case tree
}

package final class IngestLoop: @unchecked Sendable {
    package typealias CommitObserver = @Sendable (_ outcome: AppendOutcome, _ messages: Int, _ latency: Duration) -> Void

    private let configuration: IngestConfiguration
    private let logger: Logger
    /// The one-pass decoder (its buffers reused from message to message, the tree decoder as its reference), or the
    /// tree decoder alone when asked (`IngestDecoding.tree`, for the benchmark's comparison). Touched only by the polling thread.
    private let decode: (IncomingMessage) -> Result<DecodedEvent, Rejection>
    private let stop = StopSignal()
    package let statistics: IngestStatistics
    private let onCommit: CommitObserver?
    private let writerStore: RetryingStore
    private let readerStore: RetryingStore
    private let sealerStore: RetryingStore
    /// Cancels what the stores run when a stop outlasts `shutdownGrace`.
    private let cancellation: ShutdownCancellation
    /// Set when stored positions could not be read for an assignment, or a batch could not be sealed.
    private let positionsFailure = Mutex<(any Error)?>(nil)
    /// Opened on the sealer's session on first use; shared with the writer, which seals the dead letters it makes.
    private let vault = Mutex<SubjectVault?>(nil)
    /// Set by the writer when a batch was refused because another instance took the lead since it was read.
    private let superseded = Atomic<Bool>(false)
    /// What the sealer and the writer are through with, for the polling thread to drop
    /// (`dropSpentBatches`). glibc returns a chunk to the arena it came from: freed on the writer
    /// thread, each of an event's allocations took the polling thread's arena lock on cold cache
    /// lines, and the frees were about half of the writer thread's CPU natively (BENCHMARKS.md,
    /// issue 21's seventh pass). Holds at most the few batches finished since the last poll.
    private let spent = Mutex(SpentBatches())

    // Touched only by the polling thread (rebalance callbacks run inside poll, when no access to
    // these is open). Not checked for exclusive access at run time: three checks per message.
    @exclusivity(unchecked) private var pending = PendingBatch()
    @exclusivity(unchecked) private var nextOffsets = NextOffsets()
    /// Partitions whose position Kafka refused as outside what it keeps, with the offset refused:
    /// paused until an operator accepts the gap (`hold`, `releaseAcceptedGaps`). The hold itself is
    /// stored in PostgreSQL (`PartitionHolds`) before it is listed here, and every assignment reads it
    /// back: this is only what this process has assigned and keeps paused.
    private var held: [TopicPartition: Int64] = [:]
    private var nextHeldCheck = ContinuousClock.now
    /// The leadership batches are read under (exclusive membership); nil while standing by.
    private var currentFence: LeadershipFence?

    package init(
        configuration: IngestConfiguration, logger: Logger, statistics: IngestStatistics = IngestStatistics(),
        decoding: IngestDecoding = .onePass, onCommit: CommitObserver? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        let reference = EventDecoder(limits: configuration.limits)
        switch decoding {
        case .onePass:
            // With a KEK, `seal` replaces every subject object (and hashes the event again) before anything is stored.
            self.decode = OnePassDecoder(reference: reference, subjectsWillBeSealed: configuration.keyEncryption != nil).decode
        case .tree: self.decode = reference.decode
        }
        self.statistics = statistics
        self.onCommit = onCommit
        let stop = stop
        func store(_ application: String, settings: [(String, String)] = [], resync: Bool = false, resealing: Bool = false) -> RetryingStore {
            var database = configuration.database
            database.sessionSettings += settings
            return RetryingStore(
                database: database, application: application, maxDelay: configuration.maxRetryDelay, logger: logger,
                statistics: statistics, stop: stop, resyncOnNewSession: resync, resyncOnRetiredKEK: resealing)
        }
        // A writer frozen inside a transaction holds row locks a successor needs, and a vault session
        // the lock every link of a customer or employee id takes (migration 14): the server ends
        // either as soon as a lock session would be.
        let idle = min(configuration.database.idleInTransactionTimeout == .zero ? Leadership.idleSessionTimeout : configuration.database.idleInTransactionTimeout, Leadership.idleSessionTimeout)
        // A lost writer or vault session means a resync (see `ResyncNeeded`): after a failover the new
        // primary may lack batches and persons they committed, and building on them would skip the
        // batches or seal under persons that no longer exist.
        // Only the writer holds batches already sealed: a key it stores wrapped with a KEK retired since
        // (CA001) means reading them again. The vault session's retry seals afresh from the clear text.
        writerStore = store(
            "callaudit-ingest", settings: [("idle_in_transaction_session_timeout", String(idle.wholeMilliseconds))], resync: true, resealing: true)
        readerStore = store("callaudit-ingest-positions")
        // Persons are durable before anything is sealed under their keys: see `seal`.
        sealerStore = store("callaudit-ingest-vault", settings: [("idle_in_transaction_session_timeout", String(idle.wholeMilliseconds))], resync: true)
        cancellation = ShutdownCancellation(
            grace: configuration.shutdownGrace, slots: [writerStore.canceller, readerStore.canceller, sealerStore.canceller])
    }

    /// Asks the loop to finish: batches in flight are committed, and the
    /// consumer leaves its group. A statement still running after
    /// `shutdownGrace` is cancelled; its batch is read again on the next start.
    package func requestStop() {
        guard stop.signal() else { return }
        cancellation.begin()
    }

    private var stopping: Bool { stop.isSignalled }

    /// Runs until `requestStop`, or until a fatal failure, which it throws. Blocks the calling thread.
    package func run() throws(IngestFailure) {
        // Last, once every batch in flight is through: nothing of this loop's runs any more.
        defer { cancellation.end() }
        let writer = BatchWriter(name: "callaudit-ingest-writer") { [unowned self] batch in
            try self.commit(batch)
            self.setAside(consume batch)
        }
        let sealer = BatchWriter(name: "callaudit-ingest-sealer") { [unowned self] batch in
            // Owned here alone (`BatchWriter`), so sealed in place, and moved on to the writer.
            var batch = consume batch
            let unsealed = try self.seal(&batch)
            writer.submit(consume batch)
            // What it replaced, in the clear: for the polling thread to free.
            self.setAside(consume unsealed)
        }
        let pipeline = Pipeline(sealer: sealer, writer: writer)
        // Runs after `finish` (the last defer runs first): what the stages finished last is freed
        // when the loop ends, however it ends, not when the loop itself goes.
        defer { dropSpentBatches() }
        defer { pipeline.finish() }
        let consumer = try openConsumer(pipeline: pipeline)
        logger.info("ingest started", metadata: ["kafka.group": "\(configuration.groupID)", "ingest.membership": "\(configuration.membership)"])
        var exclusive = configuration.membership == .exclusive
            ? ExclusiveAssignment(
                leadership: Leadership(
                    name: IngestConfiguration.leadershipName(group: configuration.groupID), database: configuration.database,
                    application: "callaudit-ingest-leader", logger: logger))
            : nil
        if exclusive != nil, !(try lead(&exclusive!, consumer: consumer)) {
            consumer.close()
            return
        }
        while !stopping, pipeline.failure == nil, positionsFailure.withLock({ $0 }) == nil, consumer.fatalError == nil {
            let (started, cpu) = (ContinuousClock.now, threadCPUNanoseconds())
            collectBatch(from: consumer)
            statistics.pollNanoseconds.add(started.duration(to: .now).nanoseconds, ordering: .relaxed)
            statistics.pollCPUNanoseconds.add(threadCPUNanoseconds() - cpu, ordering: .relaxed)
            submitPending(to: pipeline)
            dropSpentBatches()
            hold(consumer.takeOutOfRange(), consumer: consumer)
            releaseAcceptedGaps(consumer: consumer, pipeline: pipeline)
            if pipeline.needsResync { try resynchronise(consumer, pipeline: pipeline) }
            if exclusive != nil, !(try keepLeading(&exclusive!, consumer: consumer, pipeline: pipeline)) { break }
        }
        consumer.close()
        submitPending(to: pipeline)
        pipeline.drain()
        // Only now, with every batch committed, may a successor start.
        exclusive?.leadership.release()
        logger.info("ingest stopped", metadata: ["ingest.totals": "\(statistics.summary)"])
        if let fatal = consumer.fatalError { throw .kafka(fatal) }
        for failure in [pipeline.failure, positionsFailure.withLock { $0 }].compactMap({ $0 }) where !(failure is StopRequested) {
            throw IngestFailure(storing: failure)
        }
    }

    /// Sealing, then committing.
    private struct Pipeline {
        let sealer: BatchWriter
        let writer: BatchWriter

        var failure: (any Error)? { sealer.failure ?? writer.failure }
        var needsResync: Bool { sealer.needsResync || writer.needsResync }
        var resync: ResyncNeeded? { sealer.resync ?? writer.resync }
        func submit(_ batch: PendingBatch) { sealer.submit(batch) }
        func resume() {
            sealer.resume()
            writer.resume()
        }
        func drain() {
            sealer.drain()
            writer.drain()
        }
        func finish() {
            sealer.finish()
            writer.finish()
        }
    }

    /// A consumer of the configured topics, once the cluster has answered.
    private func openConsumer(pipeline: Pipeline) throws(IngestFailure) -> KafkaConsumer {
        do {
            let consumer = try KafkaConsumer(
                configuration: configuration.consumerConfiguration, logger: logger,
                assign: { [unowned self] partitions in self.plan(for: partitions) },
                revoke: { [unowned self] partitions in
                    self.submitPending(to: pipeline)
                    pipeline.drain()
                    // Their holds stay stored: whoever gets them next keeps them paused.
                    for tp in partitions { self.held[tp] = nil }
                })
            try consumer.awaitCluster(topics: configuration.topics, timeout: configuration.kafkaStartupTimeout)
            if configuration.membership == .group { try consumer.subscribe(configuration.topics) }
            return consumer
        } catch {
            throw .kafka(error, brokers: configuration.brokers)
        }
    }

    // MARK: Exclusive membership

    /// What an exclusive leader consumes, and when it last checked.
    private struct ExclusiveAssignment {
        let leadership: Leadership
        var assigned: Set<TopicPartition> = []
        var nextCheck = ContinuousClock.now
        var nextPartitionCheck = ContinuousClock.now
    }

    /// Waits for the lock, then consumes every partition of the topics from
    /// the positions stored in PostgreSQL. False when stopped while standing by.
    private func lead(_ state: inout ExclusiveAssignment, consumer: KafkaConsumer) throws(IngestFailure) -> Bool {
        // Standing by may last: what the stages finished (messages still in the clear) goes first.
        dropSpentBatches()
        guard let fence = state.leadership.acquire(until: stop) else { return false }
        currentFence = fence
        superseded.store(false, ordering: .relaxed)
        logger.info("ingest leads its consumer group", metadata: ["ingest.lock": "\(fence.name)", "leadership.epoch": "\(fence.epoch)"])
        state.assigned = []
        try assignNewPartitions(&state, consumer: consumer)
        return true
    }

    /// Every 2 s: is the lock still held (else stand by again), and every 30 s:
    /// did the topics gain partitions. A batch refused as superseded steps
    /// down at once. False when stopped while standing by.
    private func keepLeading(_ state: inout ExclusiveAssignment, consumer: KafkaConsumer, pipeline: Pipeline) throws(IngestFailure) -> Bool {
        let now = ContinuousClock.now
        let wasSuperseded = superseded.load(ordering: .relaxed)
        guard wasSuperseded || now >= state.nextCheck else { return true }
        state.nextCheck = now + .seconds(2)
        guard !wasSuperseded, state.leadership.isHeld() else {
            // Batches still in flight were read under the old epoch: their commits are refused, not stored.
            logger.warning(
                "no longer leads ingest; dropping what is in flight and standing by",
                metadata: ["leadership.epoch": "\(currentFence?.epoch ?? 0)", "ingest.superseded": "\(wasSuperseded)"])
            state.leadership.release()
            consumer.unassignAll()
            pending = PendingBatch()
            nextOffsets.removeAll()
            held.removeAll()
            pipeline.drain()
            currentFence = nil
            forgetUnconfirmed(pipeline)
            return try lead(&state, consumer: consumer)
        }
        if now >= state.nextPartitionCheck {
            state.nextPartitionCheck = now + .seconds(30)
            try assignNewPartitions(&state, consumer: consumer)
        }
        return true
    }

    // MARK: Resync after a lost session

    /// A writer or vault session was lost, so what it committed may be gone, or
    /// a batch was sealed under a KEK retired since (see `ResyncNeeded`): drop
    /// every batch in flight, forget the vault's persons, and rewind every
    /// assigned partition to the position stored in PostgreSQL.
    private func resynchronise(_ consumer: KafkaConsumer, pipeline: Pipeline) throws(IngestFailure) {
        if pipeline.resync?.sealedUnderRetiredKEK == true {
            logger.warning(
                "a batch was sealed under a KEK retired before it was stored; reading every partition again from the positions stored in PostgreSQL, to seal it under the current KEK")
        } else {
            logger.warning("a PostgreSQL session of ingest was lost; reading every partition again from the positions stored in PostgreSQL")
        }
        pending = PendingBatch()
        nextOffsets.removeAll()
        pipeline.drain()
        forgetUnconfirmed(pipeline)
        do {
            let partitions = try consumer.assignment()
            guard !partitions.isEmpty, let plan = plan(for: partitions) else { return }
            // A held partition is not moved: it stays paused, wherever it is.
            let free = partitions.filter { !plan.paused.contains($0) }
            try consumer.seek(Dictionary(uniqueKeysWithValues: free.map { ($0, plan.offsets[$0]) }))
            consumer.pause(Array(plan.paused))
        } catch {
            throw .kafka(error, brokers: configuration.brokers)
        }
    }

    /// With the pipeline drained: the vault reopens (its remembered persons may
    /// not exist in the database any more) and the stages take batches again.
    private func forgetUnconfirmed(_ pipeline: Pipeline) {
        vault.withLock { $0 = nil }
        pipeline.resume()
    }

    private func assignNewPartitions(_ state: inout ExclusiveAssignment, consumer: KafkaConsumer) throws(IngestFailure) {
        let known: [TopicPartition]
        do {
            known = try consumer.partitions(of: configuration.topics)
        } catch {
            // The brokers did not answer (down, or failing authentication): librdkafka keeps
            // reconnecting, and whether that is fatal is the consumer's call (--kafka-auth-grace).
            // Ask again soon rather than stop ingest over one metadata request.
            logger.warning("cannot list the topics' partitions; asking again in 5 s", metadata: ["error": "\(error)"])
            state.nextPartitionCheck = ContinuousClock.now + .seconds(5)
            return
        }
        do {
            let partitions = known.filter { !state.assigned.contains($0) }
            guard !partitions.isEmpty else { return }
            guard let plan = plan(for: partitions) else { return }
            try consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, plan.offsets[$0]) }))
            // At once, before the next poll: a held partition is never fetched from its stored position.
            consumer.pause(Array(plan.paused))
            state.assigned.formUnion(partitions)
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions.count)", "kafka.assignment": "\(partitions.summary)"])
        } catch {
            throw .kafka(error, brokers: configuration.brokers)
        }
    }

    private func collectBatch(from consumer: KafkaConsumer) {
        guard let first = consumer.poll(timeoutMilliseconds: 100) else { return }
        add(first)
        let deadline = ContinuousClock.now + configuration.maxBatchDelay
        // What librdkafka has already fetched is taken without a timeout, and the clock read only
        // every `clockEvery` messages and before a wait: a clock read per message (ours, and
        // librdkafka's for the timeout) was about 2 % of the polling thread natively. A batch
        // that streams in may outlast its delay by the decoding of `clockEvery - 1` messages.
        var sinceClock = 0
        while pending.messages.count < configuration.maxBatchSize, !stopping {
            if sinceClock < Self.clockEvery, let message = consumer.poll(timeoutMilliseconds: 0) {
                add(message)
                sinceClock += 1
                continue
            }
            sinceClock = 0
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            guard let message = consumer.poll(timeoutMilliseconds: Int32(remaining.wholeMilliseconds)) else { break }
            add(message)
        }
    }

    private static let clockEvery = 32

    /// On the polling thread, which allocated what they hold (`spent`). Taken out under the lock
    /// and freed after it, so a stage that finishes meanwhile does not wait for the frees.
    private func dropSpentBatches() {
        var done = SpentBatches()
        spent.withLock { swap(&$0, &done) }
    }

    /// On a stage's thread: hands a batch it is through with to the polling thread, moved.
    private func setAside(_ batch: consuming PendingBatch) {
        var batch = Optional(consume batch)
        spent.withLock { $0.add(batch.take()!) }
    }

    /// The same for what sealing took out of a batch.
    private func setAside(_ unsealed: consuming Unsealed) {
        guard !unsealed.events.isEmpty || !unsealed.deadLetters.isEmpty else { return }
        var unsealed = Optional(consume unsealed)
        spent.withLock { $0.add(unsealed.take()!) }
    }

    private func add(_ message: KafkaMessage) {
        let origin = KafkaOrigin(
            topic: message.topic, partition: message.partition, offset: message.offset,
            timestampMilliseconds: message.timestampMilliseconds, timestampType: message.timestampType?.rawValue)
        let incoming = IncomingMessage(headers: message.headers, value: message.value, keyBytes: message.key?.count ?? 0)
        switch decode(incoming) {
        case .success(let event):
            pending.batch.events.append(IncomingEvent(event: event, origin: origin))
        case .failure(let rejection):
            pending.batch.deadLetters.append(Self.deadLetter(message, origin: origin, rejection: rejection))
        }
        pending.messages.append(message)
        nextOffsets.note(topic: message.topic, partition: message.partition, offset: message.offset)
    }

    private func submitPending(to pipeline: Pipeline) {
        guard !pending.messages.isEmpty else { return }
        pending.batch.resumePoints = nextOffsets.resumePoints()
        pending.fence = currentFence
        let sizes = (events: pending.batch.events.count, messages: pending.messages.count)
        pipeline.submit(pending)
        pending = PendingBatch()
        // Room for a batch like the last one: grown by doubling from empty, each batch's arrays
        // were copied about twice over (some 780 instructions per message).
        pending.batch.events.reserveCapacity(sizes.events)
        pending.messages.reserveCapacity(sizes.messages)
        nextOffsets.removeAll()
    }

    /// On the sealer thread: the batch with its personal data sealed (subjects
    /// under their persons' keys, dead letters under their own), so nothing
    /// reaches the store in the clear.
    ///
    /// The persons it meets are created and linked in a statement of the
    /// sealer's own, before the events that name them commit, and durably:
    /// the vault remembers them, and a batch PostgreSQL could not take is
    /// retried already sealed. Had they committed without waiting for the
    /// disk, a database crash could lose a person the retry still seals
    /// under (measured: the next link to that person failed with 23503).
    /// A batch that fails after it leaves persons nothing names yet, which
    /// its retry finds.
    ///
    /// Sealed in place: the batch's events and dead letters are replaced, and
    /// what they held in the clear returned, for the polling thread to free.
    private func seal(_ pending: inout PendingBatch) throws -> Unsealed {
        guard let keys = configuration.keyEncryption else { return Unsealed() }
        let (started, cpu) = (ContinuousClock.now, threadCPUNanoseconds())
        defer {
            statistics.sealNanoseconds.add(started.duration(to: .now).nanoseconds, ordering: .relaxed)
            statistics.sealCPUNanoseconds.add(threadCPUNanoseconds() - cpu, ordering: .relaxed)
        }
        var backoff = Backoff(maximum: .seconds(10))
        while true {
            do {
                let unsealed = try sealerStore.run { store in
                    let vault = try openVault(keys, on: store.connection)
                    // The dead letters first, aside: a KEK not held fails them, and the batch is
                    // sealed again from the start; the events must be as read then (`SubjectVault.seal`
                    // fails, for a reason a retry mends, only before it changes one).
                    let deadLetters = try vault.sealDeadLetters(pending.batch.deadLetters, on: store.connection)
                    var unsealed = Unsealed(events: try vault.seal(&pending.batch.events, on: store.connection))
                    unsealed.deadLetters = pending.batch.deadLetters
                    pending.batch.deadLetters = deadLetters
                    return unsealed
                }
                if statistics.kekMissing.exchange(false, ordering: .relaxed) {
                    IngestMetrics.recordKEKMissing(false)
                    logger.notice("the KEK file holds the key it lacked; sealing and ingest resume")
                }
                return unsealed
            } catch VaultError.missingKEK(let id) {
                // A host the rotation missed: not fatal. Nothing is stored until
                // the file (re-read on each try) gains the key; then ingest resumes.
                statistics.kekMissing.store(true, ordering: .relaxed)
                IngestMetrics.recordKEKMissing(true)
                let delay = backoff.step()
                logger.error(
                    "cannot seal: KEK \(id) is not in this instance's KEK file; ingest waits and re-reads the file until it is (give this host the current KEK file)",
                    metadata: ["kek.id": "\(id)", "retry.delay": "\(delay)"])
                try stop.sleep(for: delay)
            }
        }
    }

    private func openVault(_ keys: KeyEncryptionKeys, on connection: PostgresConnection) throws -> SubjectVault {
        if let vault = vault.withLock({ $0 }) { return vault }
        let opened = try SubjectVault.open(keys: keys, reload: configuration.reloadKeys, on: connection)
        vault.withLock { $0 = opened }
        return opened
    }

    /// On the writer thread: returns once the batch is durable; throws when it cannot be.
    /// A batch refused because another instance leads now is dropped, uncommitted:
    /// its messages are the new leader's to store, from the positions in PostgreSQL.
    private func commit(_ pending: PendingBatch) throws {
        let (started, cpu) = (ContinuousClock.now, threadCPUNanoseconds())
        let outcome: AppendOutcome
        do {
            outcome = try writerStore.run { store in try append(pending, to: store) }
        } catch let lost as LeadershipLost {
            superseded.store(true, ordering: .relaxed)
            statistics.superseded.add(1, ordering: .relaxed)
            IngestMetrics.recordSuperseded()
            logger.warning("batch refused: another instance took the lead since it was read; nothing of it was stored", metadata: ["error": "\(lost)"])
            return
        }
        statistics.stored.add(outcome.stored, ordering: .relaxed)
        statistics.duplicates.add(outcome.duplicates, ordering: .relaxed)
        statistics.deadLettered.add(outcome.deadLettered, ordering: .relaxed)
        statistics.batches.add(1, ordering: .relaxed)
        statistics.commitNanoseconds.add(started.duration(to: .now).nanoseconds, ordering: .relaxed)
        statistics.commitCPUNanoseconds.add(threadCPUNanoseconds() - cpu, ordering: .relaxed)
        IngestMetrics.record(outcome, latency: started.duration(to: .now))
        onCommit?(outcome, pending.messages.count, started.duration(to: .now))
    }

    /// A dead letter the writer makes from an event the server rejected, sealed like the others.
    private func sealed(_ letter: DeadLetter, on store: EventStore) throws -> DeadLetter {
        guard let vault = vault.withLock({ $0 }) else { return letter }
        return try vault.sealDeadLetters([letter], on: store.connection)[0]
    }

    /// Appends the batch. An event the server names as bad input is moved to
    /// the dead letters and the rest appended again; after a few, or when the
    /// server names none, the batch is stored one event at a time instead.
    private func append(_ pending: PendingBatch, to store: EventStore) throws -> AppendOutcome {
        var batch = pending.batch
        for _ in 0..<3 {
            do {
                return try store.append(batch, consumerGroup: configuration.groupID, fence: pending.fence)
            } catch let error as PostgresError where error.failureClass == .badInput {
                guard let line = error.copyLine, batch.events.indices.contains(line - 1) else { break }
                let rejected = batch.events.remove(at: line - 1)
                logger.error("event rejected by PostgreSQL; dead-lettered", metadata: ["error": "\(error)", "kafka.origin": "\(rejected.origin.map(describe) ?? "")"])
                batch.deadLetters.append(try sealed(deadLetter(for: rejected, error: error, messages: pending.messages), on: store))
            }
        }
        logger.error("batch rejected by PostgreSQL without naming an event; storing its events one by one")
        return try appendOneByOne(batch, fence: pending.fence, messages: pending.messages, to: store)
    }

    /// The slow path: each event in its own transaction, any the server still
    /// rejects as bad input dead-lettered, then the dead letters and positions.
    /// A crash part way only means those events are read again and found stored.
    private func appendOneByOne(_ batch: IngestBatch, fence: LeadershipFence?, messages: [KafkaMessage], to store: EventStore) throws -> AppendOutcome {
        var outcome = AppendOutcome()
        var deadLetters = batch.deadLetters
        for incoming in batch.events {
            do {
                outcome += try store.append(IngestBatch(events: [incoming]), consumerGroup: configuration.groupID, fence: fence)
            } catch let error as PostgresError where error.failureClass == .badInput {
                deadLetters.append(try sealed(deadLetter(for: incoming, error: error, messages: messages), on: store))
            }
        }
        outcome += try store.append(
            IngestBatch(deadLetters: deadLetters, resumePoints: batch.resumePoints), consumerGroup: configuration.groupID, fence: fence)
        return outcome
    }

    /// The dead letter for a valid event the store refused: the raw message it came from, verbatim.
    private func deadLetter(for incoming: IncomingEvent, error: PostgresError, messages: [KafkaMessage]) -> DeadLetter {
        let origin = incoming.origin!
        let rejection = Rejection(.storeRejected, error.description)
        guard let message = messages.first(where: { $0.offset == origin.offset && $0.partition == origin.partition && $0.topic == origin.topic })
        else { return DeadLetter(origin: origin, rejection: rejection, key: nil, headers: [], value: nil) }
        return Self.deadLetter(message, origin: origin, rejection: rejection)
    }

    /// A message kept verbatim: key, headers (names as bytes too when they are not UTF-8) and value.
    private static func deadLetter(_ message: KafkaMessage, origin: KafkaOrigin, rejection: Rejection) -> DeadLetter {
        DeadLetter(
            origin: origin, rejection: rejection, key: message.key, headers: Array(message.headers), rawHeaderNames: message.headers.rawNames,
            value: message.value)
    }

    // MARK: Gaps

    /// Stops ingest of each partition Kafka refused a position in: the messages
    /// between its stored position and what Kafka keeps are gone (retention ran
    /// out) or the position is past its end (the topic was recreated). Only
    /// that partition stops, and the hold is stored in PostgreSQL, so no restart,
    /// lost lead or rebalance resumes it; an operator's `ingest accept-gap`
    /// records the gap as an event, releases the hold and moves its position, and
    /// `releaseAcceptedGaps` resumes it.
    private func hold(_ refused: [KafkaConsumer.OutOfRange], consumer: KafkaConsumer) {
        guard !refused.isEmpty else { return }
        consumer.pause(refused.map(\.partition))
        for entry in refused where held[entry.partition] == nil {
            let range = try? consumer.watermarks(of: entry.partition, timeout: .seconds(2))
            let hold = PartitionHold(
                topic: entry.partition.topic, partition: entry.partition.partition, refusedOffset: entry.offset,
                lowWatermark: range?.low, highWatermark: range?.high)
            do {
                try readerStore.run { try PartitionHolds(connection: $0.connection).record(hold, consumerGroup: configuration.groupID) }
            } catch {
                // A hold that is not stored would be forgotten by the next assignment: stop instead.
                positionsFailure.withLock { $0 = $0 ?? error }
            }
            held[entry.partition] = entry.offset
            logger.error(
                "ingest of a partition stopped: its position is outside what Kafka keeps; see ops/runbooks/retention-gap.md",
                metadata: [
                    "kafka.partition": "\(entry.partition)", "kafka.offset": "\(entry.offset)",
                    "kafka.low_watermark": "\(range.map { String($0.low) } ?? "unknown")",
                    "kafka.high_watermark": "\(range.map { String($0.high) } ?? "unknown")",
                ])
        }
    }

    /// Every 2 s while a partition is held: has an operator released its hold
    /// (accepting the gap, which also moves its stored position)? Then fetch it
    /// again from the stored position. Only the release counts: a position that
    /// merely came back into range (a recreated topic grown past it) keeps it held,
    /// for resuming there would skip the new topic's first messages.
    private func releaseAcceptedGaps(consumer: KafkaConsumer, pipeline: Pipeline) {
        let now = ContinuousClock.now
        guard !held.isEmpty, now >= nextHeldCheck else { return }
        nextHeldCheck = now + .seconds(2)
        guard let (points, holds) = try? readerStore.run({ try positionsAndHolds($0) }) else { return }
        let stillHeld = Set(holds.map { TopicPartition(topic: $0.topic, partition: $0.partition) })
        for point in points {
            let tp = TopicPartition(topic: point.topic, partition: point.partition)
            guard held[tp] != nil, !stillHeld.contains(tp) else { continue }
            do {
                if consumer.assignsIncrementally {
                    try consumer.reassign(tp, at: point.nextOffset)
                } else {
                    try restartAssignment(consumer, pipeline: pipeline, releasing: tp, at: point.nextOffset)
                }
                held[tp] = nil
                logger.notice("gap accepted; ingest of the partition resumes", metadata: ["kafka.partition": "\(tp)", "kafka.offset": "\(point.nextOffset)"])
            } catch {
                logger.error("could not resume a partition after its gap was accepted", metadata: ["kafka.partition": "\(tp)", "error": "\(error.message)"])
            }
        }
    }

    /// Under an eager group protocol one partition cannot be assigned alone:
    /// every batch in flight is committed, and the whole assignment starts
    /// again from the positions now stored (as after a rebalance), `tp` at `offset`.
    /// Partitions still held stay paused.
    private func restartAssignment(_ consumer: KafkaConsumer, pipeline: Pipeline, releasing tp: TopicPartition, at offset: Int64) throws(KafkaError) {
        submitPending(to: pipeline)
        pipeline.drain()
        let assigned = try consumer.assignment()
        guard var plan = plan(for: assigned) else {
            throw KafkaError(code: -1, message: "stored positions could not be read")
        }
        plan.paused.remove(tp)
        var offsets: [TopicPartition: Int64?] = Dictionary(uniqueKeysWithValues: assigned.map { ($0, plan.offsets[$0]) })
        offsets[tp] = offset
        try consumer.replaceAssignment(offsets)
        // replaceAssignment resumed every partition: the held ones stop again before the next poll.
        consumer.pause(Array(plan.paused))
    }

    private func positionsAndHolds(_ store: EventStore) throws -> ([KafkaResumePoint], [PartitionHold]) {
        (try store.resumePoints(consumerGroup: configuration.groupID),
         try PartitionHolds(connection: store.connection).all(consumerGroup: configuration.groupID))
    }

    /// Where each newly assigned partition resumes, from PostgreSQL, and which
    /// of them are held at a gap (stored holds): those stay paused, listed in
    /// `held`, until an operator accepts the gap. Nil when that cannot be known
    /// (the loop then stops rather than guess).
    private func plan(for partitions: [TopicPartition]) -> KafkaConsumer.AssignmentPlan? {
        let points: [KafkaResumePoint]
        let holds: [PartitionHold]
        do {
            (points, holds) = try readerStore.run { try positionsAndHolds($0) }
        } catch {
            positionsFailure.withLock { $0 = $0 ?? error }
            return nil
        }
        let assigned = Set(partitions)
        var plan = KafkaConsumer.AssignmentPlan(offsets: [:])
        for point in points {
            let tp = TopicPartition(topic: point.topic, partition: point.partition)
            if assigned.contains(tp) { plan.offsets[tp] = point.nextOffset }
        }
        for hold in holds {
            let tp = TopicPartition(topic: hold.topic, partition: hold.partition)
            guard assigned.contains(tp) else { continue }
            plan.paused.insert(tp)
            if held[tp] == nil { held[tp] = hold.refusedOffset }
        }
        logger.info(
            "resuming from PostgreSQL positions",
            metadata: ["kafka.partitions": "\(partitions.count)", "kafka.stored_positions": "\(plan.offsets.count)", "kafka.held": "\(plan.paused.count)"])
        for tp in plan.paused.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
            logger.error(
                "partition held at a gap stays stopped until an operator accepts it; see ops/runbooks/retention-gap.md",
                metadata: ["kafka.partition": "\(tp)"])
        }
        return plan
    }
}

private func describe(_ origin: KafkaOrigin) -> String { "\(origin.topic)[\(origin.partition)]@\(origin.offset)" }

/// Why ingest stopped on its own, and what the operator should do.
package enum IngestFailure: Error, CustomStringConvertible {
    case kafka(KafkaError, brokers: String? = nil)
    case store(PostgresError, remedy: String)
    case other(any Error)

    init(storing error: any Error) {
        guard let error = error as? PostgresError else {
            self = .other(error)
            return
        }
        if case .fatal(let remedy) = error.failureClass {
            self = .store(error, remedy: remedy)
        } else {
            self = .store(error, remedy: "PostgreSQL rejected the dead letters or positions of a batch; see the log")
        }
    }

    package var description: String {
        switch self {
        case .kafka(let error, let brokers): return "Kafka: \(error.message): \(KafkaError.remedy(for: error, brokers: brokers))"
        case .store(let error, let remedy): return "\(error): \(remedy)"
        case .other(let error): return "ingest failed: \(error)"
        }
    }
}
