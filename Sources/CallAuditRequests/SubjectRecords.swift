import CallAuditDomain
import CallAuditProjections
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

    /// One access to or sharing of a recording.
    package typealias Use = SubjectReadModel.Use

    package var participations: [Participation] = []
    // Keyed by bytes, as the tables are (`ExactKey`): two ids Unicode calls equivalent are two
    // recordings, each exported, and each deleted or held back on its own.
    package var calls: [ExactKey: CallFacts] = [:]
    package var summaries: [ExactKey: CallSummary] = [:]
    package var recordings: [ExactKey: RecordingFacts] = [:]
    package var deletionReasons: [ExactKey: String] = [:]
    package var uses: [Use] = []
    /// The log position the read models had reached: the export covers the events up to it.
    package var position: Int64 = 0

    /// Reads everything for `refs` in a handful of queries, in the caller's
    /// transaction when there is one (an export or erasure reads and records together).
    package static func load(_ refs: [String], from connection: PostgresConnection) throws -> SubjectRecords {
        let model = SubjectReadModel(connection: connection)
        var records = SubjectRecords()
        records.position = try model.position()
        records.participations = try model.participations(ofSubjects: refs).map { Participation(callID: $0.callID, partyID: $0.partyID) }
        let callIDs = Set(records.participations.map(\.callID.exactKey)).map(\.text)
        records.calls = try model.callFacts(callIDs)
        for call in try model.callSummaries(callIDs) {
            records.summaries[ExactKey(call.callID)] = CallSummary(
                startedAt: call.startedAt, direction: call.direction, channel: call.channel, source: call.source)
        }
        records.recordings = try model.recordingFacts(ofCalls: callIDs)
        let recordingIDs = records.recordings.keys.sorted().map(\.text)
        for deletion in try model.deletionReasons(recordingIDs) { records.deletionReasons[ExactKey(deletion.recordingID)] = deletion.reason }
        records.uses = try model.uses(ofRecordings: recordingIDs)
        return records
    }

    /// The recordings a legal hold keeps at `time`, with the holds.
    package func held(at time: Timestamp) -> [(recordingID: String, holdIDs: [String])] {
        recordings.sorted { $0.key < $1.key }.compactMap { id, recording in
            let holds = recording.holds.filter { $0.covers(time) }.map(\.holdID).sorted()
            return holds.isEmpty ? nil : (id.text, holds)
        }
    }
}
