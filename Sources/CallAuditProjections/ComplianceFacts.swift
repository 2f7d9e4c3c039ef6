import CallAuditDomain
import CallAuditStore
import Foundation

/// A legal hold as its events describe it, arriving in any order.
struct HoldFacts: Codable, Equatable {
    var recordingIDs: [String] = []
    var placed: RecordingFacts.Mark?
    var released: RecordingFacts.Mark?
}

/// An erasure request and the hashed identifiers it names.
struct RequestRecord: Codable, Equatable {
    var subjectKeys: [String]
    var facts: SubjectRequestFacts
}

/// Reads and writes the projection's fact tables: one JSON document per key.
struct FactTable<Facts: Codable> {
    let connection: PostgresConnection
    let table: String
    let keyColumn: String

    func load(_ keys: some Collection<String>) throws -> [String: Facts] {
        guard !keys.isEmpty else { return [:] }
        let decoder = JSONDecoder()
        var result: [String: Facts] = [:]
        for row in try connection.query(
            "SELECT \(keyColumn), facts::text FROM \(table) WHERE \(keyColumn) = ANY($1::text[])",
            [.text(postgresArrayLiteral(Array(keys)))])
        {
            result[row[0]!] = try decoder.decode(Facts.self, from: Data(row[1]!.utf8))
        }
        return result
    }

    func save(_ facts: [String: Facts], extraColumn: (name: String, type: String, value: (Facts) -> String?)? = nil) throws {
        guard !facts.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let keys = facts.keys.sorted()
        let documents = try keys.map { String(decoding: try encoder.encode(facts[$0]!), as: UTF8.self) }
        if let extra = extraColumn {
            try connection.query(
                """
                INSERT INTO \(table) (\(keyColumn), facts, \(extra.name))
                SELECT k, f::json, nullif(e, '')::\(extra.type) FROM unnest($1::text[], $2::text[], $3::text[]) AS x(k, f, e)
                ON CONFLICT (\(keyColumn)) DO UPDATE SET facts = excluded.facts, \(extra.name) = excluded.\(extra.name)
                """,
                [.text(postgresArrayLiteral(keys)), .text(postgresArrayLiteral(documents)),
                 .text(postgresArrayLiteral(keys.map { extra.value(facts[$0]!) ?? "" }))])
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
