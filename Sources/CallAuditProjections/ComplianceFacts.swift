import CallAuditDomain
import CallAuditStore

/// Reads and writes the projection's fact tables: one JSON document per key.
struct FactTable<Facts: FactDocument> {
    let connection: PostgresConnection
    let table: String
    let keyColumn: String

    func load(_ keys: some Collection<String>) throws -> [String: Facts] {
        guard !keys.isEmpty else { return [:] }
        var result: [String: Facts] = [:]
        for row in try connection.query(
            "SELECT \(keyColumn), facts::text FROM \(table) WHERE \(keyColumn) = ANY($1::text[])",
            [.text(postgresArrayLiteral(Array(keys)))])
        {
            result[row[0]!] = try Facts(document: try JSONParser.parse(row[1]!))
        }
        return result
    }

    func save(_ facts: [String: Facts], extraColumn: (name: String, type: String, value: (Facts) -> String?)? = nil) throws {
        guard !facts.isEmpty else { return }
        let keys = facts.keys.sorted()
        let documents = keys.map { String(decoding: facts[$0]!.document.compactBytes, as: UTF8.self) }
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
