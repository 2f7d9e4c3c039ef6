import CallAuditDomain

/// Compliance facts folded from events in memory: the calls, recordings, legal
/// holds and requests that some events touch, and which of them changed.
///
/// Pure: a batch fills it from the fact tables first (`ComplianceBatch`), a
/// rebuild from nothing (`ComplianceRebuild`). Judging needs every fact it
/// reads already present.
struct ComplianceFold {
    // Keyed by bytes, as the fact tables are (`ExactKey`).
    var calls: [ExactKey: CallFacts] = [:]
    var recordings: [ExactKey: RecordingFacts] = [:]
    var holds: [ExactKey: HoldFacts] = [:]
    var requests: [ExactKey: RequestRecord] = [:]
    /// Who took part in which call, as which party (by subject ref), from call.started events.
    var subjectCalls: [(key: String, callID: String, partyID: String)] = []
    var changedCalls: Set<ExactKey> = []
    var changedRecordings: Set<ExactKey> = []
    var changedHolds: Set<ExactKey> = []
    var changedRequests: Set<ExactKey> = []
    /// This batch's conflict records, by subject: each is judged alone (EVENT_CONFLICT) and never changes.
    var conflicts: [ExactKey: FactEvent] = [:]
    /// This batch's openings of requests another source opened first, by subject: judged alone, like conflicts.
    var requestClaims: [ExactKey: (requestID: String, openedBy: String, claim: FactEvent)] = [:]
    /// Whether folding notes what changed (`changed…`). A rebuild judges every
    /// fact it folds, so it turns this off and takes them all at once
    /// (`markEverythingChanged`) instead of hashing each key again per event.
    var recordsChanges = true

    init(recordsChanges: Bool = true) { self.recordsChanges = recordsChanges }

    /// Marks every call and request changed, as folding them with
    /// `recordsChanges` would have: each was created by an event that marks it.
    mutating func markEverythingChanged() {
        changedCalls = Set(calls.keys)
        changedRecordings = Set(recordings.keys)
        changedHolds = Set(holds.keys)
        changedRequests = Set(requests.keys)
    }

    mutating func fold(_ event: FactEvent) {
        if event.own == .eventConflict {
            conflicts[ExactKey("conflict:\(event.data["conflict_id"]?.stringValue ?? event.id)")] = event
            return
        }
        if let own = event.own {
            foldRequestEvent(own, event)
            return
        }
        guard let type = event.type else { return }
        foldContract(type, event, data: event.judgedData)
    }

    private mutating func foldContract(_ type: EventType, _ event: FactEvent, data: SharedJudgedData) {
        switch type {
        case .legalHoldPlaced, .legalHoldReleased:
            foldHold(type, data: data, mark: RecordingFacts.Mark(eventID: event.id, time: event.time))
        case .subjectErasureRequested:
            guard let requestID = data.value.requestID.map(\.exactKey) else { return }
            openRequest(requestID, kind: .erasure, regime: data.value.regime, subjectKeys: data.value.subjectKeys, event: event)
        default:
            if let callID = data.value.callID.map(\.exactKey), type.topic == .calls || type.topic == .consents {
                Self.update(&calls, at: callID, new: CallFacts.init(callID:)) { $0.record(event) }
                if recordsChanges { changedCalls.insert(callID) }
                if type == .callStarted { indexSubjects(of: data, callID: callID) }
            }
            if let recordingID = data.value.recordingID.map(\.exactKey) {
                Self.update(&recordings, at: recordingID, new: RecordingFacts.init(recordingID:)) { $0.record(event) }
                if recordsChanges { changedRecordings.insert(recordingID) }
            }
        }
    }

    /// Changes `table[key]` in place, made with `new` first if absent. Through
    /// the entry's index: the `default:` subscript (an accessor holding a copy
    /// of the facts) allocated twice per event folded.
    private static func update<Facts>(_ table: inout [ExactKey: Facts], at key: ExactKey, new: (String) -> Facts, _ change: (inout Facts) -> Void) {
        if let index = table.index(forKey: key) {
            change(&table.values[index])
        } else {
            var facts = new(key.text)
            change(&facts)
            table[key] = facts
        }
    }

    private mutating func foldHold(_ type: EventType, data: SharedJudgedData, mark: RecordingFacts.Mark) {
        guard let holdID = data.value.holdID.map(\.exactKey) else { return }
        var hold = holds[holdID] ?? HoldFacts()
        if type == .legalHoldPlaced {
            hold.placed = mark
            hold.recordingIDs = Set((hold.recordingIDs + data.value.recordingIDs).map(\.exactKey)).sorted().map(\.text)
        } else {
            hold.released = mark
        }
        holds[holdID] = hold
        changedHolds.insert(holdID)
        for recordingID in hold.recordingIDs.map(\.exactKey) {
            var recording = recordings[recordingID] ?? RecordingFacts(recordingID: recordingID.text)
            if let placed = hold.placed { recording.placeHold(holdID.text, at: placed.time, eventID: placed.eventID) }
            if let released = hold.released { recording.releaseHold(holdID.text, at: released.time, eventID: released.eventID) }
            recordings[recordingID] = recording
            changedRecordings.insert(recordingID)
        }
    }

    /// The request stream: opened here (the DPO) or from Kafka (an erasure the
    /// platform received), extended, closed, erased. CallAudit writes its own
    /// request events in order, so each finds its request opened.
    private mutating func foldRequestEvent(_ type: OwnEventType, _ event: FactEvent) {
        guard let requestID = event.data["request_id"]?.stringValue.map(\.exactKey) else { return }
        switch type {
        case .requestOpened:
            let data = event.data
            // Only CallAudit's own openings name persons beyond the subject (`subject_refs`).
            let named = (data["subject_refs"]?.arrayValue ?? []).compactMap(\.stringValue)
            openRequest(
                requestID, kind: data["kind"]?.stringValue == "erasure" ? .erasure : .access, regime: data["regime"]?.stringValue,
                subjectKeys: SubjectKeys.keys(of: data["subject"]) + named, event: event)
        case .requestExtended:
            guard requests[requestID] != nil else { return }
            requests[requestID]?.facts.extended = true
            changedRequests.insert(requestID)
        case .requestClosed, .subjectErased:
            guard var request = requests[requestID] else { return }
            request.facts.completedAt = min(request.facts.completedAt ?? event.time, event.time)
            // The persons erased: their recordings are the ones the recording system must delete.
            let erased = (event.data["subjects"]?.arrayValue ?? []).compactMap(\.stringValue)
            request.subjectKeys = Array(Set(request.subjectKeys + erased)).sorted()
            requests[requestID] = request
            changedRequests.insert(requestID)
        case .reportRead, .requestExported, .eventConflict, .gapAccepted:
            return
        }
    }

    /// A request received. The first opening stored is the request. A later
    /// one that says the same (same source, kind, regime and person: a
    /// republish, perhaps with an earlier time) changes nothing; any other is
    /// a claim on a request that is not theirs, kept as evidence, since a
    /// `source` is only what the producer wrote. `subjectKeys` are the persons
    /// the opening names, by pseudonym.
    private mutating func openRequest(
        _ requestID: ExactKey, kind: SubjectRequestFacts.Kind, regime: String?, subjectKeys: [String], event: FactEvent
    ) {
        let opened = RequestRecord(
            subjectKeys: Array(Set(subjectKeys)).sorted(),
            facts: SubjectRequestFacts(
                requestID: requestID.text, kind: kind, regime: regime ?? "gdpr", receivedAt: event.time, receivedEventID: event.id),
            source: event.source)
        if let existing = requests[requestID] {
            if existing.source != nil, !existing.saysTheSame(as: opened) {
                // Each claim its own subject, as the log keeps events: by source and id. By id alone, a claim
                // from another source with the same id took the first one's place and withdrew its finding.
                let subject = "request-claim:\(event.source.utf8.count):\(event.source):\(event.id)"
                requestClaims[ExactKey(subject)] = (requestID.text, existing.facts.receivedEventID, event)
            }
            return
        }
        requests[requestID] = opened
        changedRequests.insert(requestID)
    }

    private mutating func indexSubjects(of data: SharedJudgedData, callID: ExactKey) {
        for party in data.value.parties ?? [] {
            if let key = party.subjectRef { subjectCalls.append((key, callID.text, party.partyID ?? "")) }
        }
    }

    /// The findings of every changed call and request and of `judgedRecordings`,
    /// by subject, and when each judged recording or request next changes by the
    /// clock alone. `requestRecordings` names each changed request's recordings:
    /// those of its persons' calls, so the same for requests naming the same persons.
    mutating func judge(
        recordings judgedRecordings: some Sequence<ExactKey>, requestRecordings: [ExactKey: Set<ExactKey>], policy: Policy, now: Timestamp
    ) -> ComplianceVerdicts {
        var verdicts = ComplianceVerdicts()
        // A rebuild judges every subject at once: one table of the right size, not a dozen regrowths.
        verdicts.findings.reserveCapacity(
            conflicts.count + requestClaims.count + changedCalls.count + judgedRecordings.underestimatedCount + changedRequests.count)
        for (subject, event) in conflicts { verdicts.findings[subject] = ConflictRule.evaluate(event, policy: policy) }
        for (subject, claim) in requestClaims {
            verdicts.findings[subject] = RequestClaimRule.evaluate(requestID: claim.requestID, openedBy: claim.openedBy, claim: claim.claim, policy: policy)
        }
        for callID in changedCalls {
            let facts = calls[callID]!
            verdicts.findings[ExactKey("call:\(callID.text)")] = ConsentRule.evaluate(facts, policy: policy) + RefusalRule.evaluate(facts, policy: policy)
        }
        for recordingID in judgedRecordings {
            let recording = recordings[recordingID]!
            let subject = ExactKey("recording:\(recordingID.text)")
            verdicts.findings[subject] = RecordingRules.evaluate(recording, call: recording.callID.flatMap { calls[ExactKey($0)] }, policy: policy, now: now)
            let due = recording.stored.flatMap { RecordingRules.retentionDue(recording, stored: $0, policy: policy) }
            verdicts.deadlines.append((subject.text, recording.deleted == nil ? due : nil))
        }
        // Requests naming the same persons, due at the same time, owe the same recordings: worked out once.
        var owedByPersons: [OwedKey: Owed] = [:]
        for requestID in changedRequests {
            var record = requests[requestID]!
            let due = record.facts.deadline(policy: policy)
            let key = OwedKey(persons: record.subjectKeys.map(\.exactKey), due: due)
            if owedByPersons[key] == nil { owedByPersons[key] = owedRecordings(requestRecordings[requestID] ?? [], due: due) }
            let owed = owedByPersons[key]!
            (record.facts.recordings, record.facts.held) = (owed.recordings, owed.held)
            requests[requestID] = record
            verdicts.findings[ExactKey("request:\(requestID.text)")] = SubjectRequestRule.evaluate(
                record.facts, pending: owed.pending, policy: policy, now: now)
            verdicts.deadlines.append(("request:\(requestID.text)", record.facts.deadline(policy: policy)))
        }
        return verdicts
    }
}

extension ComplianceFold {
    /// Which of a request's recordings it owes, with when each was deleted, and
    /// which of those a legal hold kept at the deadline. A recording stored
    /// after the deadline was made after it: the erasure did not owe its deletion.
    fileprivate func owedRecordings(_ ids: Set<ExactKey>, due: Timestamp?) -> Owed {
        let owed = ids.filter { id in
            guard let due, let stored = recordings[id]?.stored else { return true }
            return stored.time <= due
        }
        let deleted = Dictionary(uniqueKeysWithValues: owed.map { id -> (ExactKey, Timestamp?) in (id, recordings[id]?.deleted?.time) })
        guard let due else { return Owed(recordings: deleted, held: [], pending: nil) }
        let held = Set(owed.filter { id in recordings[id]?.holds.contains { $0.covers(due) } ?? false })
        return Owed(recordings: deleted, held: held, pending: SubjectRequestFacts.pending(deleted, held: held, due: due))
    }
}

/// The recordings a request owes (`owedRecordings`), and those still pending at its deadline.
private struct Owed {
    var recordings: [ExactKey: Timestamp?]
    var held: Set<ExactKey>
    var pending: [ExactKey]?
}

/// The persons a request names and its deadline: what its owed recordings depend on.
private struct OwedKey: Hashable {
    var persons: [ExactKey]
    var due: Timestamp?
}

/// What judging some subjects found: their findings (empty when none), and the
/// time each one's verdict next changes by the clock alone (nil: never).
struct ComplianceVerdicts {
    var findings: [ExactKey: [Finding]] = [:]
    var deadlines: [(subject: String, due: Timestamp?)] = []
}
