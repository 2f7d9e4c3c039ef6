import CallAuditDomain
import CallAuditStore

/// What the read models hold about some persons, by their pseudonyms: the
/// calls they took part in (as which party), those calls' facts, the
/// recordings and every use of them. Nothing here holds an identifier; the
/// export adds the person's own from the request.
package struct SubjectRecords: Sendable {
    package struct Participation: Sendable, Equatable {
        package var callID: String
        package var partyID: String
    }

    package struct CallSummary: Sendable {
        package var startedAt: Timestamp?
        package var direction: String?
        package var channel: String?
        package var source: String?
    }

    package struct Use: Sendable {
        package var recordingID: String
        package var time: Timestamp
        package var kind: String
        package var role: String
        package var action: String?
        package var purpose: String?
        package var anonymized: Bool
        package var organization: String?
        package var country: String?
        package var legalBasis: String?
    }

    package var participations: [Participation] = []
    package var calls: [String: CallFacts] = [:]
    package var summaries: [String: CallSummary] = [:]
    package var recordings: [String: RecordingFacts] = [:]
    package var deletionReasons: [String: String] = [:]
    package var uses: [Use] = []
    /// The log position the read models had reached: the export covers the events up to it.
    package var position: Int64 = 0

    /// Reads everything for `refs` in a handful of queries, in the caller's
    /// transaction when there is one (an export or erasure reads and records together).
    package static func load(_ refs: [String], from connection: PostgresConnection) throws -> SubjectRecords {
        do {
            var records = SubjectRecords()
            records.position = try ProjectionCheckpoints(connection: connection).lowestPosition(of: ["compliance", "activity"])
            records.participations = try connection.query(
                "SELECT call_id, coalesce(party_id, '') FROM compliance_subject_calls WHERE subject_key = ANY($1::text[]) ORDER BY call_id, party_id",
                [.text(postgresArrayLiteral(refs))]
            ).decode((String, String).self).map { Participation(callID: $0, partyID: $1) }
            let callIDs = PostgresValue.text(postgresArrayLiteral(Array(Set(records.participations.map(\.callID)))))
            for document in try connection.query("SELECT facts FROM compliance_calls WHERE call_id = ANY($1::text[])", [callIDs]).decode(String.self) {
                let facts = try CallFacts(document: try JSONParser.parse(Array(document.utf8)))
                records.calls[facts.callID] = facts
            }
            let summaries = try connection.query(
                "SELECT call_id, \(micros("started_at")), direction, channel, source FROM activity_calls WHERE call_id = ANY($1::text[])", [callIDs]
            ).decode((String, Int64?, String?, String?, String?).self)
            for (callID, startedAt, direction, channel, source) in summaries {
                records.summaries[callID] = CallSummary(
                    startedAt: startedAt.map(Timestamp.init(microseconds:)), direction: direction, channel: channel, source: source)
            }
            try records.loadRecordings(callIDs, from: connection)
            return records
        }
    }

    private mutating func loadRecordings(_ callIDs: PostgresValue, from connection: PostgresConnection) throws {
        for document in try connection.query("SELECT facts FROM compliance_recordings WHERE call_id = ANY($1::text[])", [callIDs]).decode(String.self) {
            let facts = try RecordingFacts(document: try JSONParser.parse(Array(document.utf8)))
            recordings[facts.recordingID] = facts
        }
        let recordingIDs = PostgresValue.text(postgresArrayLiteral(recordings.keys.sorted()))
        let deletions = try connection.query(
            "SELECT recording_id, deletion_reason FROM activity_recordings WHERE recording_id = ANY($1::text[]) AND deletion_reason IS NOT NULL",
            [recordingIDs]
        ).decode((String, String).self)
        for (recordingID, reason) in deletions { deletionReasons[recordingID] = reason }
        uses = try connection.query(
            """
            SELECT recording_id, \(micros("occurred_at")), kind, actor_role, action, purpose, anonymized, recipient_organization, recipient_country, legal_basis
            FROM activity_accesses WHERE recording_id = ANY($1::text[]) ORDER BY occurred_at, position
            """, [recordingIDs]
        ).decode((String, Int64, String, String, String?, String?, Bool, String?, String?, String?).self).map {
            recordingID, time, kind, role, action, purpose, anonymized, organization, country, legalBasis in
            Use(
                recordingID: recordingID, time: Timestamp(microseconds: time), kind: kind, role: role, action: action, purpose: purpose,
                anonymized: anonymized, organization: organization, country: country, legalBasis: legalBasis)
        }
    }

    /// The recordings a legal hold keeps at `time`, with the holds.
    package func held(at time: Timestamp) -> [(recordingID: String, holdIDs: [String])] {
        recordings.values.compactMap { recording in
            let holds = recording.holds.filter { $0.covers(time) }.map(\.holdID).sorted()
            return holds.isEmpty ? nil : (recording.recordingID, holds)
        }.sorted { $0.recordingID < $1.recordingID }
    }
}

/// A timestamptz column as microseconds since the epoch, the form `Timestamp` is built from.
private func micros(_ column: String) -> String { "(extract(epoch FROM \(column)) * 1000000)::bigint" }
