/// What the log says about one recording after the call: where it is kept,
/// who used it, where it went, when it was deleted, which holds covered it.
public struct RecordingFacts: Sendable, Equatable {
    public struct Use: Sendable, Equatable {
        public var eventID: String
        public var time: Timestamp
        public var role: String
        /// recording.accessed or recording.shared
        public var kind: String
        public var purpose: String?
        public var anonymized: Bool
        public var country: String?
        public var legalBasis: String?
    }

    public struct Hold: Sendable, Equatable {
        public var holdID: String
        public var placedAt: Timestamp
        public var placedEventID: String
        public var releasedAt: Timestamp?
        public var releasedEventID: String?

        /// Whether the hold was in force at `time`.
        public func covers(_ time: Timestamp) -> Bool { placedAt <= time && (releasedAt.map { time < $0 } ?? true) }
    }

    public struct Mark: Sendable, Equatable {
        public var eventID: String
        public var time: Timestamp

        public init(eventID: String, time: Timestamp) {
            self.eventID = eventID
            self.time = time
        }
    }

    public var recordingID: String
    public var callID: String?
    public var stored: Mark?
    public var deletions: [Mark] = []
    public var uses: [Use] = []
    public var holds: [Hold] = []

    public init(recordingID: String) { self.recordingID = recordingID }

    /// The first deletion: later ones delete nothing more.
    public var deleted: Mark? { deletions.min { $0.time < $1.time } }

    /// Folds in one event about this recording. Hold events come through `placeHold` and `releaseHold`.
    public mutating func record(_ document: JSONValue) {
        if let event = FactEvent(document) { record(event) }
    }

    public mutating func record(_ event: FactEvent) {
        let (type, id, time, data) = (event.type, event.id, event.time, event.data)
        switch type {
        case .recordingStored:
            callID = data["call_id"]?.stringValue ?? callID
            if stored.map({ time < $0.time }) ?? true { stored = Mark(eventID: id, time: time) }
        case .recordingStarted:
            callID = data["call_id"]?.stringValue ?? callID
        case .recordingDeleted:
            deletions.append(Mark(eventID: id, time: time))
        case .recordingAccessed, .recordingShared:
            uses.append(
                Use(eventID: id, time: time, role: data["actor"]?["role"]?.stringValue ?? "", kind: type.rawValue,
                    purpose: data["purpose"]?.stringValue, anonymized: data["anonymized"]?.boolValue ?? false,
                    country: data["recipient"]?["country"]?.stringValue, legalBasis: data["legal_basis"]?.stringValue))
        default:
            break
        }
    }

    public mutating func placeHold(_ holdID: String, at time: Timestamp, eventID: String) {
        if let index = holds.firstIndex(where: { $0.holdID == holdID }) {
            holds[index].placedAt = min(holds[index].placedAt, time)
            holds[index].placedEventID = eventID
        } else {
            holds.append(Hold(holdID: holdID, placedAt: time, placedEventID: eventID))
        }
    }

    public mutating func releaseHold(_ holdID: String, at time: Timestamp, eventID: String) {
        if let index = holds.firstIndex(where: { $0.holdID == holdID }) {
            holds[index].releasedAt = time
            holds[index].releasedEventID = eventID
        } else {
            // Released before its placement arrived: keep the release, the placement fills in.
            holds.append(Hold(holdID: holdID, placedAt: time, placedEventID: "", releasedAt: time, releasedEventID: eventID))
        }
    }
}

/// A legal hold as its events describe it, arriving in any order.
public struct HoldFacts: Sendable, Equatable {
    public var recordingIDs: [String] = []
    public var placed: RecordingFacts.Mark?
    public var released: RecordingFacts.Mark?

    public init(recordingIDs: [String] = [], placed: RecordingFacts.Mark? = nil, released: RecordingFacts.Mark? = nil) {
        self.recordingIDs = recordingIDs
        self.placed = placed
        self.released = released
    }
}
