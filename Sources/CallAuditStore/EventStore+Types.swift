import CallAuditDomain

/// Where a message was read: a Kafka topic, partition and offset.
package struct KafkaOrigin: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    /// The message's timestamp exactly as Kafka gave it: meant as milliseconds
    /// since the epoch, but any 64-bit value a producer chose.
    package var timestampMilliseconds: Int64?
    /// `create_time` (the producer's) or `log_append_time` (the broker's).
    package var timestampType: String?

    package init(topic: String, partition: Int32, offset: Int64, timestampMilliseconds: Int64? = nil, timestampType: String? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMilliseconds = timestampMilliseconds
        self.timestampType = timestampType
    }
}

/// Where a consumer group resumes in one partition: the next offset to read.
package struct KafkaResumePoint: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    package var nextOffset: Int64

    package init(topic: String, partition: Int32, nextOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }
}

/// A valid event and where it came from.
package struct IncomingEvent: Sendable {
    package var event: DecodedEvent
    package var origin: KafkaOrigin?

    package init(event: DecodedEvent, origin: KafkaOrigin?) {
        self.event = event
        self.origin = origin
    }
}

/// A rejected message, verbatim, with the reason. Once sealed (by the
/// subject vault) its key, headers and value are in `sealed` only.
package struct DeadLetter: Sendable {
    package var origin: KafkaOrigin
    package var rejection: Rejection
    package var key: [UInt8]?
    package var headers: [(key: String, value: [UInt8]?)]
    /// Every header name's bytes when some name was not UTF-8 (`headers` then holds them repaired).
    package var rawHeaderNames: [[UInt8]]?
    package var value: [UInt8]?
    package var sealed: SealedMessage?

    package init(
        origin: KafkaOrigin, rejection: Rejection, key: [UInt8]?, headers: [(key: String, value: [UInt8]?)],
        rawHeaderNames: [[UInt8]]? = nil, value: [UInt8]?, sealed: SealedMessage? = nil
    ) {
        self.origin = origin
        self.rejection = rejection
        self.key = key
        self.headers = headers
        self.rawHeaderNames = rawHeaderNames
        self.value = value
        self.sealed = sealed
    }
}

/// A message encrypted under a key of its own: the AES-GCM box, the key
/// wrapped by the KEK (nil once erased), and the blind indexes of the persons
/// it names.
package struct SealedMessage: Sendable, Equatable {
    package var payload: [UInt8]
    package var wrappedKey: [UInt8]?
    package var kekID: String?
    package var blindIndexes: [[UInt8]]

    package init(payload: [UInt8], wrappedKey: [UInt8]?, kekID: String?, blindIndexes: [[UInt8]] = []) {
        self.payload = payload
        self.wrappedKey = wrappedKey
        self.kekID = kekID
        self.blindIndexes = blindIndexes
    }
}

/// One transaction's worth of ingest.
package struct IngestBatch: Sendable {
    package var events: [IncomingEvent] = []
    package var deadLetters: [DeadLetter] = []
    package var resumePoints: [KafkaResumePoint] = []

    package init(events: [IncomingEvent] = [], deadLetters: [DeadLetter] = [], resumePoints: [KafkaResumePoint] = []) {
        self.events = events
        self.deadLetters = deadLetters
        self.resumePoints = resumePoints
    }

    package var isEmpty: Bool { events.isEmpty && deadLetters.isEmpty && resumePoints.isEmpty }
}

/// What a committed batch did.
package struct AppendOutcome: Sendable, Equatable {
    package var stored: Int
    /// Events whose (source, id) was already stored: redelivered or republished.
    package var duplicates: Int
    package var deadLettered: Int

    /// The same, per Kafka topic (events without an origin are not counted here): what the ingest metrics label by.
    package var byTopic: [String: TopicOutcome] = [:]

    package init(stored: Int = 0, duplicates: Int = 0, deadLettered: Int = 0) {
        self.stored = stored
        self.duplicates = duplicates
        self.deadLettered = deadLettered
    }

    package static func == (a: AppendOutcome, b: AppendOutcome) -> Bool {
        (a.stored, a.duplicates, a.deadLettered) == (b.stored, b.duplicates, b.deadLettered)
    }

    /// Adds another batch's outcome (the one-event-at-a-time path sums them).
    package static func += (total: inout AppendOutcome, other: AppendOutcome) {
        total.stored += other.stored
        total.duplicates += other.duplicates
        total.deadLettered += other.deadLettered
        total.byTopic.merge(other.byTopic) { TopicOutcome(stored: $0.stored + $1.stored, duplicates: $0.duplicates + $1.duplicates, deadLettered: $0.deadLettered + $1.deadLettered) }
    }
}

/// What a batch did on one topic.
package struct TopicOutcome: Sendable, Equatable {
    package var stored = 0
    package var duplicates = 0
    package var deadLettered = 0
}

/// A republish that reused a stored event's (source, id) with other content (`event_conflicts`).
package struct EventConflict: Sendable {
    package var id: Int64
    package var recordedAt: String
    package var source: String
    package var eventID: String
    package var originalPosition: Int64
    package var originalSHA256: String
    package var conflictingSHA256: String
    /// Where the conflicting copy was read from Kafka; nil for one that did not come through Kafka.
    package var origin: (topic: String, partition: Int32, offset: Int64)?
}
