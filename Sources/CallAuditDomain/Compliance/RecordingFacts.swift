/// What the log says about one recording after the call: where it is kept,
/// who used it, where it went, when it was deleted, which holds covered it.
package struct RecordingFacts: Sendable, Equatable {
    package struct Use: Sendable, Equatable {
        package var eventID: String
        package var time: Timestamp
        package var role: String
        /// recording.accessed or recording.shared
        package var kind: String
        package var purpose: String?
        package var anonymized: Bool
        package var country: String?
        package var legalBasis: String?
    }

    package struct Hold: Sendable, Equatable {
        package var holdID: String
        package var placedAt: Timestamp
        package var placedEventID: String
        package var releasedAt: Timestamp?
        package var releasedEventID: String?

        /// Whether the hold was in force at `time`.
        package func covers(_ time: Timestamp) -> Bool { placedAt <= time && (releasedAt.map { time < $0 } ?? true) }
    }

    package struct Mark: Sendable, Equatable {
        package var eventID: String
        package var time: Timestamp

        package init(eventID: String, time: Timestamp) {
            self.eventID = eventID
            self.time = time
        }
    }

    package var recordingID: String
    package var callID: String?
    package var stored: Mark?
    package var deletions: [Mark] = []
    package var uses: [Use] = []
    package var holds: [Hold] = []

    package init(recordingID: String) { self.recordingID = recordingID }

    /// The first deletion: later ones delete nothing more.
    package var deleted: Mark? { deletions.min { $0.time < $1.time } }

    /// Folds in one event about this recording. Hold events come through `placeHold` and `releaseHold`.
    package mutating func record(_ document: JSONValue) {
        if let event = FactEvent(document) { record(event) }
    }

    package mutating func record(_ event: FactEvent) {
        guard let type = event.type else { return }
        record(type, id: event.id, time: event.time, data: event.judgedData)
    }

    private mutating func record(_ type: EventType, id: String, time: Timestamp, data: SharedJudgedData) {
        switch type {
        case .recordingStored:
            callID = data.value.callID ?? callID
            if stored.map({ time < $0.time }) ?? true { stored = Mark(eventID: id, time: time) }
        case .recordingStarted:
            callID = data.value.callID ?? callID
        case .recordingDeleted:
            deletions.append(Mark(eventID: id, time: time))
        case .recordingAccessed, .recordingShared:
            uses.append(
                Use(eventID: id, time: time, role: data.value.actorRole ?? "", kind: type.rawValue, purpose: data.value.purpose, anonymized: data.value.anonymized,
                    country: data.value.recipientCountry, legalBasis: data.value.legalBasis))
        default:
            break
        }
    }

    package mutating func placeHold(_ holdID: String, at time: Timestamp, eventID: String) {
        if let index = holds.firstIndex(where: { holdID.isExactly($0.holdID) }) {
            holds[index].placedAt = min(holds[index].placedAt, time)
            holds[index].placedEventID = eventID
        } else {
            holds.append(Hold(holdID: holdID, placedAt: time, placedEventID: eventID))
        }
    }

    package mutating func releaseHold(_ holdID: String, at time: Timestamp, eventID: String) {
        if let index = holds.firstIndex(where: { holdID.isExactly($0.holdID) }) {
            holds[index].releasedAt = time
            holds[index].releasedEventID = eventID
        } else {
            // Released before its placement arrived: keep the release, the placement fills in.
            holds.append(Hold(holdID: holdID, placedAt: time, placedEventID: "", releasedAt: time, releasedEventID: eventID))
        }
    }
}

/// A legal hold as its events describe it, arriving in any order.
package struct HoldFacts: Sendable, Equatable {
    package var recordingIDs: [String] = []
    package var placed: RecordingFacts.Mark?
    package var released: RecordingFacts.Mark?

    package init(recordingIDs: [String] = [], placed: RecordingFacts.Mark? = nil, released: RecordingFacts.Mark? = nil) {
        self.recordingIDs = recordingIDs
        self.placed = placed
        self.released = released
    }
}
