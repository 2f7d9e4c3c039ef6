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
            records.position = Int64(try connection.query(
                "SELECT coalesce(min(last_position), 0) FROM projection_checkpoints WHERE projection IN ('compliance', 'activity')"
            ).scalar ?? "0") ?? 0
            records.participations = try connection.query(
                "SELECT call_id, coalesce(party_id, '') FROM compliance_subject_calls WHERE subject_key = ANY($1::text[]) ORDER BY call_id, party_id",
                [.text(postgresArrayLiteral(refs))]
            ).map { Participation(callID: $0[0]!, partyID: $0[1]!) }
            let callIDs = PostgresValue.text(postgresArrayLiteral(Array(Set(records.participations.map(\.callID)))))
            for row in try connection.query("SELECT facts FROM compliance_calls WHERE call_id = ANY($1::text[])", [callIDs]) {
                let facts = try CallFacts(document: try JSONParser.parse(Array(row[0]!.utf8)))
                records.calls[facts.callID] = facts
            }
            for row in try connection.query(
                "SELECT call_id, \(micros("started_at")), direction, channel, source FROM activity_calls WHERE call_id = ANY($1::text[])", [callIDs])
            {
                records.summaries[row[0]!] = CallSummary(
                    startedAt: row[1].flatMap(Int64.init).map(Timestamp.init(microseconds:)), direction: row[2], channel: row[3], source: row[4])
            }
            try records.loadRecordings(callIDs, from: connection)
            return records
        }
    }

    private mutating func loadRecordings(_ callIDs: PostgresValue, from connection: PostgresConnection) throws {
        for row in try connection.query("SELECT facts FROM compliance_recordings WHERE call_id = ANY($1::text[])", [callIDs]) {
            let facts = try RecordingFacts(document: try JSONParser.parse(Array(row[0]!.utf8)))
            recordings[facts.recordingID] = facts
        }
        let recordingIDs = PostgresValue.text(postgresArrayLiteral(recordings.keys.sorted()))
        for row in try connection.query(
            "SELECT recording_id, deletion_reason FROM activity_recordings WHERE recording_id = ANY($1::text[]) AND deletion_reason IS NOT NULL",
            [recordingIDs])
        {
            deletionReasons[row[0]!] = row[1]!
        }
        uses = try connection.query(
            """
            SELECT recording_id, \(micros("occurred_at")), kind, actor_role, action, purpose, anonymized, recipient_organization, recipient_country, legal_basis
            FROM activity_accesses WHERE recording_id = ANY($1::text[]) ORDER BY occurred_at, position
            """, [recordingIDs]
        ).map { row in
            Use(
                recordingID: row[0]!, time: Timestamp(microseconds: Int64(row[1]!) ?? 0), kind: row[2]!, role: row[3]!,
                action: row[4], purpose: row[5], anonymized: row[6] == "t", organization: row[7], country: row[8], legalBasis: row[9])
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
