import CallAuditDomain
import CallAuditStore

/// Reads and writes the projection's fact tables: one JSON document per key.
struct FactTable<Facts: FactDocument> {
    let connection: PostgresConnection
    let table: String
    let keyColumn: String

    /// The facts stored under `keys`, keyed by bytes as the table is.
    func load(_ keys: some Collection<ExactKey>) throws -> [ExactKey: Facts] {
        guard !keys.isEmpty else { return [:] }
        var result: [ExactKey: Facts] = [:]
        let rows = try connection.query(
            "SELECT \(keyColumn), facts::text FROM \(table) WHERE \(keyColumn) = ANY($1::text[])", [.text(postgresArrayLiteral(keys.map(\.text)))]
        ).decode((String, String).self)
        for (key, facts) in rows { result[ExactKey(key)] = try Facts(stored: facts) }
        return result
    }

    func save(_ facts: [ExactKey: Facts], extraColumn: (name: String, type: String, value: (Facts) -> String?)? = nil) throws {
        guard !facts.isEmpty else { return }
        let sorted = facts.sorted { $0.key < $1.key }
        let keys = sorted.map(\.key.text)
        let documents = sorted.map(\.value.documentText)
        if let extra = extraColumn {
            try connection.query(
                """
                INSERT INTO \(table) (\(keyColumn), facts, \(extra.name))
                SELECT k, f::json, nullif(e, '')::\(extra.type) FROM unnest($1::text[], $2::text[], $3::text[]) AS x(k, f, e)
                ON CONFLICT (\(keyColumn)) DO UPDATE SET facts = excluded.facts, \(extra.name) = excluded.\(extra.name)
                """,
                [.text(postgresArrayLiteral(keys)), .text(postgresArrayLiteral(documents)),
                 .text(postgresArrayLiteral(sorted.map { extra.value($0.value) ?? "" }))])
        } else {
            try connection.query(
                """
                INSERT INTO \(table) (\(keyColumn), facts)
                SELECT k, f::json FROM unnest($1::text[], $2::text[]) AS x(k, f)
                ON CONFLICT (\(keyColumn)) DO UPDATE SET facts = excluded.facts
                """,
                [.text(postgresArrayLiteral(keys)), .text(postgresArrayLiteral(documents))])
        }
    }
}

/// The projection's fact tables, by unqualified name: during a rebuild they
/// reach the fresh copies being filled.
extension FactTable<CallFacts> {
    static func calls(on connection: PostgresConnection) -> Self { .init(connection: connection, table: "compliance_calls", keyColumn: "call_id") }
}

extension FactTable<RecordingFacts> {
    static func recordings(on connection: PostgresConnection) -> Self {
        .init(connection: connection, table: "compliance_recordings", keyColumn: "recording_id")
    }

    /// The recordings of some calls, by the column that names their call.
    func load(ofCalls callIDs: [String]) throws -> [ExactKey: RecordingFacts] {
        guard !callIDs.isEmpty else { return [:] }
        var result: [ExactKey: RecordingFacts] = [:]
        let rows = try connection.query(
            "SELECT recording_id, facts::text FROM compliance_recordings WHERE call_id = ANY($1::text[])", [.text(postgresArrayLiteral(callIDs))]
        ).decode((String, String).self)
        for (recordingID, facts) in rows { result[ExactKey(recordingID)] = try RecordingFacts(stored: facts) }
        return result
    }

    /// Saves recordings with their call, the column calls find their recordings by.
    func saveWithCalls(_ facts: [ExactKey: RecordingFacts]) throws {
        try save(facts, extraColumn: ("call_id", "text", { $0.callID }))
    }
}

extension FactTable<HoldFacts> {
    static func holds(on connection: PostgresConnection) -> Self { .init(connection: connection, table: "compliance_holds", keyColumn: "hold_id") }
}

extension FactTable<RequestRecord> {
    static func requests(on connection: PostgresConnection) -> Self {
        .init(connection: connection, table: "compliance_requests", keyColumn: "request_id")
    }
}

/// `compliance_subject_calls`: who took part in which call.
struct SubjectCallIndex {
    let connection: PostgresConnection

    /// Adds pairs that may already be there; the first party recorded for a pair stays.
    func add(_ pairs: [(key: String, callID: String, partyID: String)]) throws {
        guard !pairs.isEmpty else { return }
        try connection.query(
            """
            INSERT INTO compliance_subject_calls (subject_key, call_id, party_id)
            SELECT k, c, p FROM unnest($1::text[], $2::text[], $3::text[]) AS x(k, c, p) ON CONFLICT DO NOTHING
            """,
            [.text(postgresArrayLiteral(pairs.map(\.key))), .text(postgresArrayLiteral(pairs.map(\.callID))),
             .text(postgresArrayLiteral(pairs.map(\.partyID)))])
    }

    /// The recordings of every call a person with one of `keys` took part in.
    func recordingIDs(ofSubjects keys: [String]) throws -> Set<ExactKey> {
        guard !keys.isEmpty else { return [] }
        return Set(try connection.query(
            """
            SELECT r.recording_id FROM compliance_subject_calls s
            JOIN compliance_recordings r ON r.call_id = s.call_id WHERE s.subject_key = ANY($1::text[])
            """, [.text(postgresArrayLiteral(keys))]
        ).decode(String.self).map(\.exactKey))
    }
}
