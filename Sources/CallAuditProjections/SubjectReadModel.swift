import CallAuditDomain
import CallAuditStore

/// What the compliance and activity projections hold about some persons, by
/// their pseudonyms: the read for an access export or an erasure (Requests).
/// The SQL over these projections' tables stays here, with the code that writes them.
package struct SubjectReadModel {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The log position both projections have reached: what they hold covers the events up to it.
    package func position() throws -> Int64 {
        try ProjectionCheckpoints(connection: connection).lowestPosition(of: ["compliance", "activity"])
    }

    /// The calls these persons took part in, with the party each was (empty when unknown), by call and party.
    package func participations(ofSubjects refs: [String]) throws -> [(callID: String, partyID: String)] {
        try connection.query(
            "SELECT call_id, coalesce(party_id, '') FROM compliance_subject_calls WHERE subject_key = ANY($1::text[]) ORDER BY call_id, party_id",
            [.text(postgresArrayLiteral(refs))]
        ).decode((String, String).self).map { (callID: $0, partyID: $1) }
    }

    /// The calls' facts, by call id.
    package func callFacts(_ callIDs: [String]) throws -> [ExactKey: CallFacts] {
        try FactTable.calls(on: connection).load(callIDs.map(\.exactKey))
    }

    /// The facts of every recording of these calls, by recording id.
    package func recordingFacts(ofCalls callIDs: [String]) throws -> [ExactKey: RecordingFacts] {
        try FactTable.recordings(on: connection).load(ofCalls: callIDs)
    }

    /// The activity projection's summary of each call found.
    package func callSummaries(_ callIDs: [String]) throws
        -> [(callID: String, startedAt: Timestamp?, direction: String?, channel: String?, source: String?)]
    {
        try connection.query(
            "SELECT call_id, \(micros("started_at")), direction, channel, source FROM activity_calls WHERE call_id = ANY($1::text[])",
            [.text(postgresArrayLiteral(callIDs))]
        ).decode((String, Int64?, String?, String?, String?).self).map {
            (callID: $0, startedAt: $1.map(Timestamp.init(microseconds:)), direction: $2, channel: $3, source: $4)
        }
    }

    /// Why each deleted recording among these was deleted.
    package func deletionReasons(_ recordingIDs: [String]) throws -> [(recordingID: String, reason: String)] {
        try connection.query(
            "SELECT recording_id, deletion_reason FROM activity_recordings WHERE recording_id = ANY($1::text[]) AND deletion_reason IS NOT NULL",
            [.text(postgresArrayLiteral(recordingIDs))]
        ).decode((String, String).self).map { (recordingID: $0, reason: $1) }
    }

    /// One access to or sharing of a recording, as the activity projection keeps it.
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

    /// Every use of these recordings, in the order they happened.
    package func uses(ofRecordings recordingIDs: [String]) throws -> [Use] {
        try connection.query(
            """
            SELECT recording_id, \(micros("occurred_at")), kind, actor_role, action, purpose, anonymized, recipient_organization, recipient_country, legal_basis
            FROM activity_accesses WHERE recording_id = ANY($1::text[]) ORDER BY occurred_at, position
            """, [.text(postgresArrayLiteral(recordingIDs))]
        ).decode((String, Int64, String, String, String?, String?, Bool, String?, String?, String?).self).map {
            recordingID, time, kind, role, action, purpose, anonymized, organization, country, legalBasis in
            Use(
                recordingID: recordingID, time: Timestamp(microseconds: time), kind: kind, role: role, action: action, purpose: purpose,
                anonymized: anonymized, organization: organization, country: country, legalBasis: legalBasis)
        }
    }
}

/// A timestamptz column as microseconds since the epoch, the form `Timestamp` is built from.
private func micros(_ column: String) -> String { "(extract(epoch FROM \(column)) * 1000000)::bigint" }
