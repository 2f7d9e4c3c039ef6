/// The sealed content of dead letters, for the vault: it decides whose content
/// is erased and which keys are re-wrapped; the statements on the table are here.
extension DeadLetterStore {
    /// Erases the sealed content of every dead letter linked to one of
    /// `blindIndexes`, and the links; the rows stay, marked erased. Returns how many were erased.
    package func eraseSealedContent(linkedTo blindIndexes: [[UInt8]]) throws -> Int {
        let indexes = PostgresValue.text(postgresArrayLiteral(blindIndexes.map(\.hexString)))
        let linked = "SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x"
        let erased = try connection.query(
            """
            UPDATE dead_letters SET sealed = NULL, wrapped_key = NULL, kek_id = NULL, erased_at = now()
            WHERE id IN (SELECT dead_letter_id FROM dead_letter_subjects WHERE blind_index IN (\(linked))) AND erased_at IS NULL
            """, [indexes]
        ).affectedRows
        try connection.query("DELETE FROM dead_letter_subjects WHERE blind_index IN (\(linked))", [indexes])
        return erased
    }

    /// Up to `limit` dead letters' data keys wrapped with another KEK than `kekID`: (id, KEK, wrapped key).
    package func keysWrapped(otherThan kekID: String, limit: Int) throws -> [(id: String, kekID: String, wrapped: [UInt8])] {
        try connection.query(
            "SELECT id::text, kek_id, encode(wrapped_key, 'hex') FROM dead_letters WHERE wrapped_key IS NOT NULL AND kek_id <> $1 LIMIT $2",
            [.text(kekID), .int(limit)]
        ).decode((String, String, HexBytes).self).map { ($0, $1, $2.bytes) }
    }

    /// Stores re-wrapped data keys (`wrapped[i]` for `ids[i]`), all now wrapped with `kekID`.
    package func replaceWrappedKeys(ids: [String], wrapped: [[UInt8]], kekID: String) throws {
        try connection.query(
            """
            UPDATE dead_letters t SET kek_id = $3, wrapped_key = decode(x.w, 'hex')
            FROM unnest($1::text[], $2::text[]) AS x(k, w) WHERE t.id::text = x.k AND t.wrapped_key IS NOT NULL
            """, [.text(postgresArrayLiteral(ids)), .text(postgresArrayLiteral(wrapped.map(\.hexString))), .text(kekID)])
    }

    /// How many dead letters' data keys are wrapped with `kekID`.
    package func keyCount(wrappedWith kekID: String) throws -> Int {
        try connection.query("SELECT count(*) FROM dead_letters WHERE kek_id = $1", [.text(kekID)]).decodeScalar(Int.self)
    }
}
