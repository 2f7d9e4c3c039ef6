/// What a call's events say about its parties, recordings, notices and consents.
///
/// Built from the call's events in any order: every judgement below uses event
/// times, so a late event changes the verdict, arrival order never does.
public struct CallConsentFacts: Sendable {
    public struct Party: Sendable, Equatable {
        public var id: String
        public var role: String
        public var jurisdiction: String?
        public var device: String?
        public var isExternal: Bool { role != "agent" }
    }

    public struct Fact: Sendable, Equatable {
        public var eventID: String
        public var time: Timestamp
        /// The party it is about; nil for a notice played to every party.
        public var partyID: String?
        public var method: String?
        public var recordingID: String?
    }

    public var callID: String
    public var startedEventID: String?
    public var parties: [Party] = []
    public var recordingStarts: [Fact] = []
    public var notices: [Fact] = []
    public var consents: [Fact] = []

    public init(callID: String) { self.callID = callID }

    /// Folds one of the call's events in. Events of other types are ignored.
    public mutating func record(_ event: JSONValue) {
        guard let type = event["type"]?.stringValue, let id = event["id"]?.stringValue,
            let time = event["time"]?.stringValue.flatMap(Timestamp.init(rfc3339:)), let data = event["data"]
        else { return }
        switch type {
        case EventType.callStarted.rawValue:
            startedEventID = id
            parties = (data["parties"]?.arrayValue ?? []).compactMap { party in
                guard let partyID = party["party_id"]?.stringValue, let role = party["role"]?.stringValue else { return nil }
                return Party(id: partyID, role: role, jurisdiction: party["jurisdiction"]?.stringValue, device: party["device"]?.stringValue)
            }
        case EventType.recordingStarted.rawValue:
            recordingStarts.append(Fact(eventID: id, time: time, recordingID: data["recording_id"]?.stringValue))
        case EventType.noticePlayed.rawValue:
            notices.append(Fact(eventID: id, time: time, partyID: data["party_id"]?.stringValue, method: data["method"]?.stringValue))
        case EventType.consentGiven.rawValue:
            consents.append(Fact(eventID: id, time: time, partyID: data["party_id"]?.stringValue, method: data["method"]?.stringValue))
        default:
            break
        }
    }
}
