/// What a call's events say about its parties, recordings, notices, consents and refusals.
///
/// Built from the call's events in any order: every judgement below uses event
/// times, so a late event changes the verdict, arrival order never does.
package struct CallFacts: Sendable, Equatable {
    package struct Party: Sendable, Equatable {
        package var id: String
        package var role: String
        package var jurisdiction: String?
        package var device: String?
        package var isExternal: Bool { role != "agent" }
    }

    package struct Fact: Sendable, Equatable {
        package var eventID: String
        package var time: Timestamp
        /// The party it is about; nil for a notice played to every party.
        package var partyID: String?
        package var method: String?
        package var recordingID: String?
        /// consent.given's scope; for recording timeline facts, the event type.
        package var scope: [String]? = nil
        package var kind: String? = nil
    }

    package var callID: String
    package var startedEventID: String?
    package var parties: [Party] = []
    package var notices: [Fact] = []
    package var consents: [Fact] = []
    package var refusals: [Fact] = []
    /// recording.started, paused, resumed and stopped, each with its recording id and `kind`.
    package var recordingTimeline: [Fact] = []

    /// recording.started events, from the timeline.
    package var recordingStarts: [Fact] { recordingTimeline.filter { $0.kind == EventType.recordingStarted.rawValue } }

    /// The earliest recording.started (the first of equals), as
    /// `recordingStarts.min { $0.time < $1.time }` gives it, without the array.
    package var firstRecordingStart: Fact? {
        var first: Fact?
        for fact in recordingTimeline where fact.kind == EventType.recordingStarted.rawValue {
            if first.map({ fact.time < $0.time }) ?? true { first = fact }
        }
        return first
    }

    /// The rule the whole call is judged by: the strictest of all its parties' jurisdictions.
    /// Ties go to the first party, as `max(by:)` gives them.
    package func governingRule(_ policy: Policy) -> (jurisdiction: String?, rule: JurisdictionRule)? {
        var governing: (jurisdiction: String?, rule: JurisdictionRule)?
        for party in parties {
            let rule = policy.rule(for: party.jurisdiction)
            if governing.map({ $0.rule.regime < rule.regime }) ?? true { governing = (party.jurisdiction, rule) }
        }
        return governing
    }

    /// The recordings of this call, told apart by bytes (`ExactKey`), in byte order.
    package var recordingIDs: [String] { Set(recordingTimeline.compactMap(\.recordingID?.exactKey)).sorted().map(\.text) }

    package init(callID: String) { self.callID = callID }

    /// Folds one of the call's events in. Events of other types are ignored.
    package mutating func record(_ document: JSONValue) {
        if let event = FactEvent(document) { record(event) }
    }

    package mutating func record(_ event: FactEvent) {
        guard let type = event.type else { return }
        record(type, id: event.id, time: event.time, data: event.judgedData)
    }

    private mutating func record(_ type: EventType, id: String, time: Timestamp, data: SharedJudgedData) {
        switch type {
        case .callStarted:
            startedEventID = id
            parties = (data.value.parties ?? []).compactMap { party in
                guard let partyID = party.partyID, let role = party.role else { return nil }
                return Party(id: partyID, role: role, jurisdiction: party.jurisdiction, device: party.device)
            }
        case .recordingStarted, .recordingPaused, .recordingResumed, .recordingStopped:
            recordingTimeline.append(Fact(eventID: id, time: time, recordingID: data.value.recordingID, kind: type.rawValue))
        case .noticePlayed:
            notices.append(Fact(eventID: id, time: time, partyID: data.value.partyID, method: data.value.method))
        case .consentGiven:
            consents.append(Fact(eventID: id, time: time, partyID: data.value.partyID, method: data.value.method, scope: data.value.scope))
        case .consentRefused, .consentWithdrawn:
            refusals.append(Fact(eventID: id, time: time, partyID: data.value.partyID, kind: type.rawValue))
        default:
            break
        }
    }
}
