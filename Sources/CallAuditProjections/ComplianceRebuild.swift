import CallAuditDomain
import CallAuditStore

/// The compliance projection rebuilt from the whole log at once: every event
/// folded in memory, every subject judged once, every table written by COPY.
/// Gives exactly what applying the log batch by batch gives.
struct ComplianceRebuild: ProjectionRebuild {
    let policy: Policy
    let clock: @Sendable () -> Timestamp
    var fold = ComplianceFold()

    /// The events' compliance-relevant parts; batches prepare theirs the same way.
    static func prepare(_ events: [StoredEvent]) throws -> [FactEvent] {
        try events.compactMap { FactEvent(try $0.document()) }
    }

    mutating func fold(_ page: [FactEvent]) throws {
        for event in page { fold.fold(event) }
    }

    mutating func finish(in connection: PostgresConnection, lastPosition: Int64?) throws {
        let now = clock()
        // The fact tables do not depend on the verdicts: another thread encodes
        // them while this one judges and PostgreSQL takes in the findings.
        let facts = fold
        let factRows = BackgroundWork { Self.factRows(facts) }
        let verdicts = fold.judge(recordings: fold.recordings.keys, requestRecordings: requestRecordings(), policy: policy, now: now)
        try FindingsTable(connection: connection).insertAll(verdicts.findings, logPosition: lastPosition)
        for (table, rows) in factRows.value() {
            try connection.copyIn("COPY \(table) FROM STDIN", payload: rows.bytes)
        }
        try connection.copyIn("COPY compliance_deadlines (subject, due_at, judged_after_due) FROM STDIN", payload: Self.deadlineRows(verdicts, now: now).bytes)
    }

    /// Each request's recordings: those of every call a party with one of its identifiers took part in.
    private func requestRecordings() -> [String: Set<String>] {
        guard !fold.requests.isEmpty else { return [:] }
        let callsBySubject = Dictionary(grouping: fold.subjectCalls, by: \.key).mapValues { $0.map(\.callID) }
        var recordingsByCall: [String: [String]] = [:]
        for recording in fold.recordings.values { if let callID = recording.callID { recordingsByCall[callID, default: []].append(recording.recordingID) } }
        return fold.requests.mapValues { request in
            Set(request.subjectKeys.flatMap { callsBySubject[$0] ?? [] }.flatMap { recordingsByCall[$0] ?? [] })
        }
    }

    /// COPY payloads for every fact table, keyed by the COPY target.
    private static func factRows(_ fold: ComplianceFold) -> [(table: String, rows: CopyTextEncoder)] {
        [
            ("compliance_calls (call_id, facts)", documentRows(fold.calls) { _, _ in }),
            ("compliance_recordings (recording_id, call_id, facts)", documentRows(fold.recordings) { row, recording in
                if let callID = recording.callID { row.text(callID) } else { row.null() }
            }),
            ("compliance_holds (hold_id, facts)", documentRows(fold.holds) { _, _ in }),
            ("compliance_requests (request_id, subject_keys, facts)", documentRows(fold.requests) { row, request in
                row.text(postgresArrayLiteral(request.subjectKeys))
            }),
            ("compliance_subject_calls (subject_key, call_id, party_id)", subjectCallRows(fold.subjectCalls)),
        ]
    }

    /// One row per key, in key order (a primary key grows at its right edge
    /// instead of splitting pages at random): the key, any extra columns, the facts.
    private static func documentRows<Facts: FactDocument>(
        _ facts: [String: Facts], extraColumns: (inout CopyTextEncoder, Facts) -> Void
    ) -> CopyTextEncoder {
        var rows = CopyTextEncoder(capacity: facts.count * 512)
        for key in facts.keys.sorted() {
            let value = facts[key]!
            rows.text(key)
            extraColumns(&rows, value)
            rows.text(bytes: value.document.compactBytes)
            rows.endRow()
        }
        return rows
    }

    /// Who took part in which call, each pair once (the first party it was), in key order.
    private static func subjectCallRows(_ pairs: [(key: String, callID: String, partyID: String)]) -> CopyTextEncoder {
        var party: [SubjectCall: String] = [:]
        for pair in pairs where party[SubjectCall(key: pair.key, callID: pair.callID)] == nil {
            party[SubjectCall(key: pair.key, callID: pair.callID)] = pair.partyID
        }
        var rows = CopyTextEncoder(capacity: party.count * 120)
        for pair in party.keys.sorted() {
            rows.text(pair.key)
            rows.text(pair.callID)
            rows.text(party[pair]!)
            rows.endRow()
        }
        return rows
    }

    private static func deadlineRows(_ verdicts: ComplianceVerdicts, now: Timestamp) -> CopyTextEncoder {
        var rows = CopyTextEncoder()
        for (subject, due) in verdicts.deadlines.sorted(by: { $0.subject < $1.subject }) {
            guard let due else { continue }
            rows.text(subject)
            rows.timestamp(due)
            rows.text(due < now ? "t" : "f")
            rows.endRow()
        }
        return rows
    }
}

private struct SubjectCall: Hashable, Comparable {
    var key: String
    var callID: String

    static func < (a: SubjectCall, b: SubjectCall) -> Bool { (a.key, a.callID) < (b.key, b.callID) }
}
