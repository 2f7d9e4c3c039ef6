/// What a call's events say about its parties, recordings, notices, consents and refusals.
///
/// Built from the call's events in any order: every judgement below uses event
/// times, so a late event changes the verdict, arrival order never does.
public struct CallFacts: Sendable, Equatable {
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
        /// consent.given's scope; for recording timeline facts, the event type.
        public var scope: [String]? = nil
        public var kind: String? = nil
    }

    public var callID: String
    public var startedEventID: String?
    public var parties: [Party] = []
    public var notices: [Fact] = []
    public var consents: [Fact] = []
    public var refusals: [Fact] = []
    /// recording.started, paused, resumed and stopped, each with its recording id and `kind`.
    public var recordingTimeline: [Fact] = []

    /// recording.started events, from the timeline.
    public var recordingStarts: [Fact] { recordingTimeline.filter { $0.kind == EventType.recordingStarted.rawValue } }

    /// The rule the whole call is judged by: the strictest of all its parties' jurisdictions.
    public func governingRule(_ policy: Policy) -> (jurisdiction: String?, rule: JurisdictionRule)? {
        parties.map { (jurisdiction: $0.jurisdiction, rule: policy.rule(for: $0.jurisdiction)) }.max { $0.rule.regime < $1.rule.regime }
    }

    /// The recordings of this call.
    public var recordingIDs: [String] { Array(Set(recordingTimeline.compactMap(\.recordingID))).sorted() }

    public init(callID: String) { self.callID = callID }

    /// Folds one of the call's events in. Events of other types are ignored.
    public mutating func record(_ document: JSONValue) {
        if let event = FactEvent(document) { record(event) }
    }

    public mutating func record(_ event: FactEvent) {
        let (type, id, time, data) = (event.type, event.id, event.time, event.data)
        switch type {
        case .callStarted:
            startedEventID = id
            parties = (data["parties"]?.arrayValue ?? []).compactMap { party in
                guard let partyID = party["party_id"]?.stringValue, let role = party["role"]?.stringValue else { return nil }
                return Party(id: partyID, role: role, jurisdiction: party["jurisdiction"]?.stringValue, device: party["device"]?.stringValue)
            }
        case .recordingStarted, .recordingPaused, .recordingResumed, .recordingStopped:
            recordingTimeline.append(Fact(eventID: id, time: time, recordingID: data["recording_id"]?.stringValue, kind: type.rawValue))
        case .noticePlayed:
            notices.append(Fact(eventID: id, time: time, partyID: data["party_id"]?.stringValue, method: data["method"]?.stringValue))
        case .consentGiven:
            consents.append(
                Fact(eventID: id, time: time, partyID: data["party_id"]?.stringValue, method: data["method"]?.stringValue,
                     scope: data["scope"]?.arrayValue?.compactMap(\.stringValue)))
        case .consentRefused, .consentWithdrawn:
            refusals.append(Fact(eventID: id, time: time, partyID: data["party_id"]?.stringValue, kind: type.rawValue))
        default:
            break
        }
    }
}
