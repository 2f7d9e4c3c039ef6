/// The parts of a stored event that compliance facts fold in, taken out of
/// its document once instead of by every fact it touches.
package struct FactEvent: Sendable, Equatable {
    /// The contract type; nil for one of CallAudit's own events (`own`).
    package var type: EventType?
    package var own: OwnEventType?
    package var id: String
    /// Who published it: with `id`, what identifies the event.
    package var source: String
    package var time: Timestamp
    /// The whole `data`; `.null` once a contract event is `judged` (its
    /// `typedData` then holds all compliance reads of it).
    package var data: JSONValue
    /// What compliance reads of a contract event's `data`, typed, when read
    /// once (`judged`, `FactScanner`), behind one reference: the fold and the
    /// pages copy a `FactEvent` several times per event, and `JudgedData`
    /// inline made each copy retain and release a score of strings (the
    /// rebuild cost 15 % more instructions per event than with the tree).
    private var typedStorage: SharedJudgedData?

    package init(type: EventType?, own: OwnEventType?, id: String, source: String, time: Timestamp, data: JSONValue) {
        self.type = type
        self.own = own
        self.id = id
        self.source = source
        self.time = time
        self.data = data
    }

    /// A contract event as compliance reads it: `data` read into `judgedData` already.
    package init(type: EventType?, own: OwnEventType?, id: String, source: String, time: Timestamp, judgedData: JudgedData) {
        self.init(type: type, own: own, id: id, source: source, time: time, judgedData: SharedJudgedData(judgedData))
    }

    init(type: EventType?, own: OwnEventType?, id: String, source: String, time: Timestamp, judgedData: SharedJudgedData) {
        self.init(type: type, own: own, id: id, source: source, time: time, data: .null)
        self.typedStorage = judgedData
    }

    /// What compliance reads of `data` as read once; nil when it was not (the whole `data` is kept).
    package var typedData: JudgedData? { typedStorage?.value }

    /// What compliance reads of `data`: as read once, or from the tree now.
    /// By reference (`SharedJudgedData`).
    package var judgedData: SharedJudgedData { typedStorage ?? SharedJudgedData(JudgedData(data)) }

    /// This event as compliance reads it: a contract event's `data` read into
    /// `JudgedData` and dropped (nothing else of it is read), one of
    /// CallAudit's own events whole (their rules read `data` freely, and they are few).
    package var judged: FactEvent {
        guard own == nil, typedStorage == nil else { return self }
        return FactEvent(type: type, own: own, id: id, source: source, time: time, judgedData: JudgedData(data))
    }

    /// The request it names: CallAudit's own request events keep `data`
    /// whole, a contract event (an erasure request) has it judged.
    package var requestID: String? { own != nil ? data["request_id"]?.stringValue : judgedData.value.requestID }

    /// Nil for a document that is not a known event with an id, a time and data.
    package init?(_ document: JSONValue) {
        guard case .object(let members) = document else { return nil }
        var type: EventType?, own: OwnEventType?, id: String?, source: String?, time: Timestamp?, data: JSONValue?
        for (key, value) in members {
            switch key {
            case "type":
                type = value.stringValue.flatMap(EventType.init(rawValue:))
                own = value.stringValue.flatMap(OwnEventType.init(rawValue:))
            case "id": id = value.stringValue
            case "source": source = value.stringValue
            case "time": time = value.stringValue.flatMap(Timestamp.init(rfc3339:))
            case "data": data = value
            default: break
            }
        }
        guard type != nil || own != nil, let id, let source, let time, let data else { return nil }
        self.init(type: type, own: own, id: id, source: source, time: time, data: data)
    }
}

/// `FactEvent`'s typed `data`, shared by every copy of the event. Readers
/// take each field where it lies (`data.value.callID`): a `JudgedData` copied
/// out whole, even to pass as a `borrowing` argument, retained and released
/// every string it holds, and a dynamic member's key path was not folded
/// across modules (about 500 instructions a read).
package final class SharedJudgedData: Sendable, Equatable {
    package let value: JudgedData

    init(_ value: JudgedData) { self.value = value }

    /// Adds the keys of the facts this event touches: its call, its recording
    /// and hold, and the recordings a hold names.
    package func collectKeys(calls: inout Set<ExactKey>, recordings: inout Set<ExactKey>, holds: inout Set<ExactKey>) {
        if let callID = value.callID { calls.insert(ExactKey(callID)) }
        if let recordingID = value.recordingID { recordings.insert(ExactKey(recordingID)) }
        if let holdID = value.holdID { holds.insert(ExactKey(holdID)) }
        for recordingID in value.recordingIDs { recordings.insert(ExactKey(recordingID)) }
    }

    package static func == (lhs: SharedJudgedData, rhs: SharedJudgedData) -> Bool { lhs === rhs || lhs.value == rhs.value }
}
