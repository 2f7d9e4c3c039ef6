import CallAuditDomain

/// Where a message was read: a Kafka topic, partition and offset.
public struct KafkaOrigin: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestampMilliseconds: Int64?

    public init(topic: String, partition: Int32, offset: Int64, timestampMilliseconds: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMilliseconds = timestampMilliseconds
    }
}

/// Where a consumer group resumes in one partition: the next offset to read.
public struct KafkaResumePoint: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var nextOffset: Int64

    public init(topic: String, partition: Int32, nextOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }
}

/// A valid event and where it came from.
public struct IncomingEvent: Sendable {
    public var event: DecodedEvent
    public var origin: KafkaOrigin?

    public init(event: DecodedEvent, origin: KafkaOrigin?) {
        self.event = event
        self.origin = origin
    }
}

/// A rejected message, verbatim, with the reason.
public struct DeadLetter: Sendable {
    public var origin: KafkaOrigin
    public var rejection: Rejection
    public var key: [UInt8]?
    public var headers: [(key: String, value: [UInt8]?)]
    public var value: [UInt8]?

    public init(
        origin: KafkaOrigin, rejection: Rejection, key: [UInt8]?, headers: [(key: String, value: [UInt8]?)],
        value: [UInt8]?
    ) {
        self.origin = origin
        self.rejection = rejection
        self.key = key
        self.headers = headers
        self.value = value
    }
}

/// One transaction's worth of ingest.
public struct IngestBatch: Sendable {
    public var events: [IncomingEvent] = []
    public var deadLetters: [DeadLetter] = []
    public var resumePoints: [KafkaResumePoint] = []

    public init(events: [IncomingEvent] = [], deadLetters: [DeadLetter] = [], resumePoints: [KafkaResumePoint] = []) {
        self.events = events
        self.deadLetters = deadLetters
        self.resumePoints = resumePoints
    }

    public var isEmpty: Bool { events.isEmpty && deadLetters.isEmpty && resumePoints.isEmpty }
}

/// What a committed batch did.
public struct AppendOutcome: Sendable, Equatable {
    public var stored: Int
    /// Events whose (source, id) was already stored: redelivered or republished.
    public var duplicates: Int
    public var deadLettered: Int

    public init(stored: Int = 0, duplicates: Int = 0, deadLettered: Int = 0) {
        self.stored = stored
        self.duplicates = duplicates
        self.deadLettered = deadLettered
    }
}
