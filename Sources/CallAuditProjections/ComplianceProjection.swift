#if canImport(Glibc)
import Glibc
#endif
import CallAuditDomain
import CallAuditStore

/// Every rule of PRODUCT.md §3 as findings, kept from the log.
///
/// Each batch loads the facts of the calls, recordings, holds and requests it
/// touches, folds its events in, re-judges those subjects and reconciles their
/// findings. Facts are judged on event times, so the same events in any order
/// give the same findings; a late event that cures a finding withdraws it.
/// Deadlines (retention, requests) are re-judged by `tick` as the clock passes them.
public struct ComplianceProjection: Projection {
    public let name = "compliance"
    public let policy: Policy
    public let clock: @Sendable () -> Timestamp

    public init(policy: Policy, clock: @escaping @Sendable () -> Timestamp = { Timestamp.now }) {
        self.policy = policy
        self.clock = clock
    }

    public func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        let documents = try events.map { try $0.document() }
        var work = ComplianceWork(connection: connection, policy: policy)
        try work.load(for: documents)
        for document in documents { work.fold(document) }
        try work.judgeAndSave(now: clock(), logPosition: events.last?.position)
    }

    public func tick(in connection: PostgresConnection) throws {
        let now = clock()
        let due = try connection.query(
            "SELECT subject FROM compliance_deadlines WHERE NOT judged_after_due AND due_at < $1::timestamptz ORDER BY due_at LIMIT 10000",
            [.text(now.rfc3339)]
        ).map { $0[0]! }
        guard !due.isEmpty else { return }
        var work = ComplianceWork(connection: connection, policy: policy)
        try work.loadForDeadlines(due)
        try work.judgeAndSave(now: now, logPosition: nil)
    }

    public func reset(in connection: PostgresConnection) throws {
        try connection.execute(
            """
            DELETE FROM finding_changes; DELETE FROM findings; DELETE FROM compliance_calls; DELETE FROM compliance_recordings;
            DELETE FROM compliance_holds; DELETE FROM compliance_requests; DELETE FROM compliance_subject_calls;
            DELETE FROM compliance_deadlines
            """)
    }
}

extension Timestamp {
    /// The wall clock.
    public static var now: Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000)
    }
}

/// One batch's working set of facts, loaded, changed, judged and written back.
struct ComplianceWork {
    let connection: PostgresConnection
    let policy: Policy
    var calls: [String: CallFacts] = [:]
    var recordings: [String: RecordingFacts] = [:]
    var holds: [String: HoldFacts] = [:]
    var requests: [String: RequestRecord] = [:]
    var subjectCalls: [(key: String, callID: String)] = []
    var changedCalls: Set<String> = []
    var changedRecordings: Set<String> = []
    var changedHolds: Set<String> = []
    var changedRequests: Set<String> = []

    init(connection: PostgresConnection, policy: Policy) {
        self.connection = connection
        self.policy = policy
    }

    private var callTable: FactTable<CallFacts> { FactTable(connection: connection, table: "compliance_calls", keyColumn: "call_id") }
    private var recordingTable: FactTable<RecordingFacts> { FactTable(connection: connection, table: "compliance_recordings", keyColumn: "recording_id") }
    private var holdTable: FactTable<HoldFacts> { FactTable(connection: connection, table: "compliance_holds", keyColumn: "hold_id") }
    private var requestTable: FactTable<RequestRecord> { FactTable(connection: connection, table: "compliance_requests", keyColumn: "request_id") }

    /// Loads every fact the batch's events touch, and the recordings of touched calls and holds.
    mutating func load(for documents: [JSONValue]) throws {
        var callIDs: Set<String> = []
        var recordingIDs: Set<String> = []
        var holdIDs: Set<String> = []
        var requestIDs: Set<String> = []
        for document in documents {
            let data = document["data"]
            if let id = data?["call_id"]?.stringValue { callIDs.insert(id) }
            if let id = data?["recording_id"]?.stringValue { recordingIDs.insert(id) }
            if let id = data?["hold_id"]?.stringValue { holdIDs.insert(id) }
            if let id = data?["request_id"]?.stringValue { requestIDs.insert(id) }
            for id in data?["recording_ids"]?.arrayValue ?? [] { if let id = id.stringValue { recordingIDs.insert(id) } }
        }
        holds = try holdTable.load(holdIDs)
        for hold in holds.values { recordingIDs.formUnion(hold.recordingIDs) }
        calls = try callTable.load(callIDs)
        recordings = try recordingTable.load(recordingIDs)
        requests = try requestTable.load(requestIDs)
    }

    /// Loads the subjects whose deadline has passed.
    mutating func loadForDeadlines(_ subjects: [String]) throws {
        let recordingIDs = subjects.filter { $0.hasPrefix("recording:") }.map { String($0.dropFirst(10)) }
        let requestIDs = subjects.filter { $0.hasPrefix("request:") }.map { String($0.dropFirst(8)) }
        recordings = try recordingTable.load(recordingIDs)
        requests = try requestTable.load(requestIDs)
        changedRecordings = Set(recordings.keys)
        changedRequests = Set(requests.keys)
    }

    mutating func fold(_ document: JSONValue) {
        guard let type = document["type"]?.stringValue.flatMap(EventType.init(rawValue:)), let data = document["data"],
            let id = document["id"]?.stringValue, let time = document["time"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        else { return }
        switch type {
        case .legalHoldPlaced, .legalHoldReleased:
            foldHold(type, data: data, mark: RecordingFacts.Mark(eventID: id, time: time))
        case .subjectErasureRequested:
            foldErasureRequest(data: data, eventID: id, time: time)
        default:
            if let callID = data["call_id"]?.stringValue, type.topic == .calls || type.topic == .consents {
                calls[callID, default: CallFacts(callID: callID)].record(document)
                changedCalls.insert(callID)
                if type == .callStarted { indexSubjects(of: data, callID: callID) }
            }
            if let recordingID = data["recording_id"]?.stringValue {
                recordings[recordingID, default: RecordingFacts(recordingID: recordingID)].record(document)
                changedRecordings.insert(recordingID)
            }
        }
    }

    private mutating func foldHold(_ type: EventType, data: JSONValue, mark: RecordingFacts.Mark) {
        guard let holdID = data["hold_id"]?.stringValue else { return }
        var hold = holds[holdID] ?? HoldFacts()
        if type == .legalHoldPlaced {
            hold.placed = mark
            hold.recordingIDs = Array(Set(hold.recordingIDs + (data["recording_ids"]?.arrayValue ?? []).compactMap(\.stringValue))).sorted()
        } else {
            hold.released = mark
        }
        holds[holdID] = hold
        changedHolds.insert(holdID)
        for recordingID in hold.recordingIDs {
            var recording = recordings[recordingID] ?? RecordingFacts(recordingID: recordingID)
            if let placed = hold.placed { recording.placeHold(holdID, at: placed.time, eventID: placed.eventID) }
            if let released = hold.released { recording.releaseHold(holdID, at: released.time, eventID: released.eventID) }
            recordings[recordingID] = recording
            changedRecordings.insert(recordingID)
        }
    }

    private mutating func foldErasureRequest(data: JSONValue, eventID: String, time: Timestamp) {
        guard let requestID = data["request_id"]?.stringValue else { return }
        let facts = SubjectRequestFacts(
            requestID: requestID, kind: .erasure, regime: data["regime"]?.stringValue ?? "gdpr", receivedAt: time, receivedEventID: eventID)
        if let existing = requests[requestID], existing.facts.receivedAt <= time { return }
        requests[requestID] = RequestRecord(subjectKeys: SubjectKeys.keys(of: data["subject"]), facts: facts)
        changedRequests.insert(requestID)
    }

    private mutating func indexSubjects(of data: JSONValue, callID: String) {
        for party in data["parties"]?.arrayValue ?? [] {
            for key in SubjectKeys.keys(of: party["subject"]) { subjectCalls.append((key, callID)) }
        }
    }

    /// Judges every changed subject, reconciles findings, writes facts and deadlines back.
    mutating func judgeAndSave(now: Timestamp, logPosition: Int64?) throws {
        try saveSubjectIndex()
        // A call's consents bear on its recordings (training), so they are re-judged with it.
        let callRecordings = try recordingIDs(ofCalls: changedCalls)
        let missing = callRecordings.subtracting(recordings.keys)
        recordings.merge(try recordingTable.load(missing)) { current, _ in current }
        let judgedRecordings = changedRecordings.union(callRecordings).filter { recordings[$0] != nil }
        let neededCalls = Set(judgedRecordings.compactMap { recordings[$0]?.callID }).subtracting(calls.keys)
        calls.merge(try callTable.load(neededCalls)) { current, _ in current }

        var judged: [String: [Finding]] = [:]
        for callID in changedCalls {
            let facts = calls[callID]!
            judged["call:\(callID)"] = ConsentRule.evaluate(facts, policy: policy) + RefusalRule.evaluate(facts, policy: policy)
        }
        var deadlines: [(subject: String, due: Timestamp?)] = []
        for recordingID in judgedRecordings {
            let recording = recordings[recordingID]!
            judged["recording:\(recordingID)"] = RecordingRules.evaluate(recording, call: recording.callID.flatMap { calls[$0] }, policy: policy, now: now)
            let due = recording.stored.flatMap { RecordingRules.retentionDue(recording, stored: $0, policy: policy) }
            deadlines.append(("recording:\(recordingID)", recording.deleted == nil ? due : nil))
        }
        for requestID in changedRequests {
            var record = requests[requestID]!
            record.facts.recordings = try subjectRecordings(record.subjectKeys)
            requests[requestID] = record
            judged["request:\(requestID)"] = SubjectRequestRule.evaluate(record.facts, policy: policy, now: now)
            deadlines.append(("request:\(requestID)", record.facts.deadline(policy: policy)))
        }
        try FindingsTable(connection: connection).reconcile(judged, logPosition: logPosition)
        try callTable.save(calls.filter { changedCalls.contains($0.key) })
        try recordingTable.save(recordings.filter { changedRecordings.contains($0.key) }, extraColumn: ("call_id", "text", { $0.callID }))
        try holdTable.save(holds.filter { changedHolds.contains($0.key) })
        try requestTable.save(requests.filter { changedRequests.contains($0.key) }, extraColumn: ("subject_keys", "text[]", { postgresArrayLiteral($0.subjectKeys) }))
        try saveDeadlines(deadlines, now: now)
    }

    private func recordingIDs(ofCalls callIDs: Set<String>) throws -> Set<String> {
        var ids = Set(callIDs.flatMap { calls[$0]?.recordingIDs ?? [] })
        guard !callIDs.isEmpty else { return ids }
        for row in try connection.query(
            "SELECT recording_id FROM compliance_recordings WHERE call_id = ANY($1::text[])", [.text(postgresArrayLiteral(Array(callIDs)))])
        {
            ids.insert(row[0]!)
        }
        return ids
    }

    /// The recordings of every call the subject took part in, with their deletion times.
    private mutating func subjectRecordings(_ keys: [String]) throws -> [String: Timestamp?] {
        guard !keys.isEmpty else { return [:] }
        let ids = try connection.query(
            """
            SELECT r.recording_id FROM compliance_subject_calls s
            JOIN compliance_recordings r ON r.call_id = s.call_id WHERE s.subject_key = ANY($1::text[])
            """, [.text(postgresArrayLiteral(keys))]
        ).map { $0[0]! }
        recordings.merge(try recordingTable.load(Set(ids).subtracting(recordings.keys))) { current, _ in current }
        return Dictionary(uniqueKeysWithValues: Set(ids).map { id -> (String, Timestamp?) in (id, recordings[id]?.deleted?.time) })
    }

    private func saveSubjectIndex() throws {
        guard !subjectCalls.isEmpty else { return }
        try connection.query(
            """
            INSERT INTO compliance_subject_calls (subject_key, call_id)
            SELECT k, c FROM unnest($1::text[], $2::text[]) AS x(k, c) ON CONFLICT DO NOTHING
            """, [.text(postgresArrayLiteral(subjectCalls.map(\.key))), .text(postgresArrayLiteral(subjectCalls.map(\.callID)))])
    }

    private func saveDeadlines(_ deadlines: [(subject: String, due: Timestamp?)], now: Timestamp) throws {
        let set = deadlines.filter { $0.due != nil }
        let cleared = deadlines.filter { $0.due == nil }.map(\.subject)
        if !cleared.isEmpty {
            try connection.query("DELETE FROM compliance_deadlines WHERE subject = ANY($1::text[])", [.text(postgresArrayLiteral(cleared))])
        }
        guard !set.isEmpty else { return }
        try connection.query(
            """
            INSERT INTO compliance_deadlines (subject, due_at, judged_after_due)
            SELECT s, d::timestamptz, d::timestamptz < $3::timestamptz FROM unnest($1::text[], $2::text[]) AS x(s, d)
            ON CONFLICT (subject) DO UPDATE SET due_at = excluded.due_at, judged_after_due = excluded.judged_after_due
            """,
            [.text(postgresArrayLiteral(set.map(\.subject))), .text(postgresArrayLiteral(set.map { $0.due!.rfc3339 })), .text(now.rfc3339)])
    }
}
