import CallAuditDomain
import CallAuditStore

/// One batch's compliance work against the fact tables: load what its events
/// touch, fold them in, re-judge those subjects, write facts, findings and
/// deadlines back.
struct ComplianceBatch {
    let connection: PostgresConnection
    let policy: Policy
    var fold = ComplianceFold()
    /// The calls of the recordings loaded, before the batch folded in: a
    /// recording moved to another call changes its old call's persons' requests too.
    private var callsOfLoadedRecordings: Set<ExactKey> = []
    /// Whether the batch folds events in; a tick of the clock changes no call or recording.
    private var foldsEvents = false

    init(connection: PostgresConnection, policy: Policy) {
        self.connection = connection
        self.policy = policy
    }

    private var callTable: FactTable<CallFacts> { .calls(on: connection) }
    private var recordingTable: FactTable<RecordingFacts> { .recordings(on: connection) }
    private var holdTable: FactTable<HoldFacts> { .holds(on: connection) }
    private var requestTable: FactTable<RequestRecord> { .requests(on: connection) }

    /// Loads every fact the batch's events touch, and the recordings of touched holds.
    mutating func load(for events: [FactEvent]) throws {
        var callIDs: Set<ExactKey> = []
        var recordingIDs: Set<ExactKey> = []
        var holdIDs: Set<ExactKey> = []
        var requestIDs: Set<ExactKey> = []
        for event in events {
            if let id = event.requestID { requestIDs.insert(ExactKey(id)) }
            // One of CallAudit's own events keeps `data` whole: read from it, as for any event.
            event.judgedData.collectKeys(calls: &callIDs, recordings: &recordingIDs, holds: &holdIDs)
        }
        fold.holds = try holdTable.load(holdIDs)
        for hold in fold.holds.values { recordingIDs.formUnion(hold.recordingIDs.map(\.exactKey)) }
        fold.calls = try callTable.load(callIDs)
        fold.recordings = try recordingTable.load(recordingIDs)
        callsOfLoadedRecordings = Set(fold.recordings.values.compactMap { $0.callID?.exactKey })
        foldsEvents = true
        fold.requests = try requestTable.load(requestIDs)
    }

    /// The id in a subject (`recording:<id>`), by bytes: `hasPrefix` and `dropFirst` count
    /// characters, and an id that begins with a combining mark joins the ":" into one.
    private static func id(in subject: String, after prefix: String) -> String? {
        guard subject.utf8.starts(with: prefix.utf8) else { return nil }
        return String(decoding: subject.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }

    /// Loads the subjects whose deadline has passed, marked changed so they are re-judged.
    mutating func loadForDeadlines(_ subjects: [String]) throws {
        let recordingIDs = subjects.compactMap { Self.id(in: $0, after: "recording:")?.exactKey }
        let requestIDs = subjects.compactMap { Self.id(in: $0, after: "request:")?.exactKey }
        fold.recordings = try recordingTable.load(recordingIDs)
        fold.requests = try requestTable.load(requestIDs)
        fold.changedRecordings = Set(fold.recordings.keys)
        fold.changedRequests = Set(fold.requests.keys)
    }

    /// Judges every changed subject, reconciles findings, writes facts and deadlines back.
    mutating func judgeAndSave(now: Timestamp, logPosition: Int64?) throws {
        try SubjectCallIndex(connection: connection).add(fold.subjectCalls)
        // A call's consents bear on its recordings (training), so they are re-judged with it.
        let callRecordings = try recordingIDs(ofCalls: fold.changedCalls)
        fold.recordings.merge(try recordingTable.load(callRecordings.subtracting(fold.recordings.keys))) { current, _ in current }
        let judgedRecordings = fold.changedRecordings.union(callRecordings).filter { fold.recordings[$0] != nil }
        let neededCalls = Set(judgedRecordings.compactMap { fold.recordings[$0]?.callID?.exactKey }).subtracting(fold.calls.keys)
        fold.calls.merge(try callTable.load(neededCalls)) { current, _ in current }
        // Saved before the requests look up their subjects' recordings in the tables, so a request
        // finds the recordings of this very batch, as a rebuild does. Judging reads facts, never changes them.
        try callTable.save(fold.calls.filter { fold.changedCalls.contains($0.key) })
        try recordingTable.saveWithCalls(fold.recordings.filter { fold.changedRecordings.contains($0.key) })
        try holdTable.save(fold.holds.filter { fold.changedHolds.contains($0.key) })
        var judgedAgain: Set<ExactKey> = []
        if foldsEvents {
            let touchedCalls = fold.changedCalls.union(judgedRecordings.compactMap { fold.recordings[$0]?.callID?.exactKey })
            judgedAgain = try loadRequestsToJudgeAgain(ofCalls: touchedCalls.union(callsOfLoadedRecordings))
        }
        var requestRecordings: [ExactKey: Set<ExactKey>] = [:]
        // Many requests may name the same persons: their recordings are looked up once.
        var recordingsOfPersons: [[ExactKey]: Set<ExactKey>] = [:]
        for requestID in fold.changedRequests {
            let keys = fold.requests[requestID]!.subjectKeys
            let persons = keys.map(\.exactKey)
            if recordingsOfPersons[persons] == nil { recordingsOfPersons[persons] = try subjectRecordings(keys) }
            requestRecordings[requestID] = recordingsOfPersons[persons]
        }

        let verdicts = fold.judge(recordings: judgedRecordings, requestRecordings: requestRecordings, policy: policy, now: now)
        try FindingsTable(connection: connection).reconcile(verdicts.findings, logPosition: logPosition)
        // Requests judged again for their recordings alone keep their stored facts and deadlines.
        try requestTable.save(
            fold.requests.filter { fold.changedRequests.contains($0.key) && !judgedAgain.contains($0.key) },
            extraColumn: ("subject_keys", "text[]", { postgresArrayLiteral($0.subjectKeys) }))
        let unchangedDeadlines = Set(judgedAgain.map { "request:\($0.text)".exactKey })
        try saveDeadlines(verdicts.deadlines.filter { !unchangedDeadlines.contains($0.subject.exactKey) }, now: now)
    }

    private func recordingIDs(ofCalls callIDs: Set<ExactKey>) throws -> Set<ExactKey> {
        var ids = Set(callIDs.flatMap { fold.calls[$0]?.recordingIDs ?? [] }.map(\.exactKey))
        guard !callIDs.isEmpty else { return ids }
        ids.formUnion(
            try connection.query(
                "SELECT recording_id FROM compliance_recordings WHERE call_id = ANY($1::text[])", [.text(postgresArrayLiteral(callIDs.map(\.text)))]
            ).decode(String.self).map(\.exactKey))
        return ids
    }

    /// Loads, marked changed, the requests whose verdict these calls may
    /// change: those naming a person who took part in one of them, and already
    /// judged after their deadline. A rebuild judges every request once, with
    /// all its persons' recordings; batch by batch, a recording or deletion
    /// that arrives after the deadline must change the verdict too. A request
    /// not yet due is judged with its recordings when its deadline comes (`tick`).
    /// Returns the requests loaded here, not changed by the batch's own events.
    private mutating func loadRequestsToJudgeAgain(ofCalls callIDs: Set<ExactKey>) throws -> Set<ExactKey> {
        guard !callIDs.isEmpty else { return [] }
        let persons = try connection.query(
            "SELECT DISTINCT subject_key FROM compliance_subject_calls WHERE call_id = ANY($1::text[])",
            [.text(postgresArrayLiteral(callIDs.map(\.text)))]
        ).decode(String.self)
        guard !persons.isEmpty else { return [] }
        let requestIDs = try connection.query(
            """
            SELECT r.request_id FROM compliance_requests r
            JOIN compliance_deadlines d ON d.subject = 'request:' || r.request_id
            WHERE r.subject_keys && $1::text[] AND d.judged_after_due
            """, [.text(postgresArrayLiteral(persons))]
        ).decode(String.self).map(\.exactKey)
        let judgedAgain = Set(requestIDs).subtracting(fold.changedRequests)
        fold.requests.merge(try requestTable.load(judgedAgain.subtracting(fold.requests.keys))) { current, _ in current }
        fold.changedRequests.formUnion(judgedAgain)
        return judgedAgain
    }

    /// The recordings of every call the subject took part in, loaded into the fold.
    private mutating func subjectRecordings(_ keys: [String]) throws -> Set<ExactKey> {
        let ids = try SubjectCallIndex(connection: connection).recordingIDs(ofSubjects: keys)
        fold.recordings.merge(try recordingTable.load(ids.subtracting(fold.recordings.keys))) { current, _ in current }
        return ids
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
