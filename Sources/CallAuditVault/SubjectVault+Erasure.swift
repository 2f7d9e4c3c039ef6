import CallAuditDomain
import CallAuditStore
import Foundation

/// What an erasure destroyed.
package struct ErasureOutcome: Sendable, Equatable {
    package var subjects = 0
    package var indexEntries = 0
    package var deadLetters = 0
    package var exports: [String] = []
}

extension SubjectVault {
    /// Makes the persons' personal data unreadable everywhere the database
    /// keeps it: their data keys are destroyed (every sealed subject object in
    /// the log stays, unreadable, and every hash holds), their blind indexes
    /// deleted (no function of an identifier remains), and the dead letters
    /// that named them shredded. Writers drop what they cached about any person.
    ///
    /// Runs inside the caller's transaction, so the erasure and its record
    /// commit together. Returns the export files written for these persons:
    /// delete them (`removeExports`) once the transaction has committed.
    package func erase(_ refs: [String], on connection: PostgresConnection) throws -> (outcome: ErasureOutcome, exports: [String]) {
        guard !refs.isEmpty else { return (ErasureOutcome(), []) }
        let list = PostgresValue.text(postgresArrayLiteral(refs))
        var outcome = ErasureOutcome()
        // One function does the vault's part (`callaudit_erase_subjects`, migration 14): it locks the
        // persons first, so that a writer linking an identifier to one of them either commits before
        // (and its link is deleted) or fails and resolves again; it deletes every link by person,
        // whoever wrote it, and destroys the keys. The service role cannot write those tables itself.
        let rows = try connection.query(
            "SELECT e.erased, encode(u, 'hex') FROM callaudit_erase_subjects($1::text[]) e LEFT JOIN LATERAL unnest(e.unlinked) AS u ON true",
            [list]
        ).decode((Int, HexBytes?).self)
        let unlinked = rows.compactMap { $0.1?.bytes }
        outcome.subjects = rows.first?.0 ?? 0
        outcome.indexEntries = unlinked.count
        outcome.deadLetters = try DeadLetterStore(connection: connection).eraseSealedContent(linkedTo: unlinked)
        let exports = try connection.query(
            "DELETE FROM subject_exports WHERE subject_ref = ANY($1::text[]) RETURNING path", [list]
        ).decode(String.self)
        outcome.exports = Array(Set(exports)).sorted()
        return (outcome, outcome.exports)
    }

    /// Deletes export files left on this machine; the paths that were there.
    package static func removeExports(_ paths: [String]) -> [String] {
        paths.filter { path in
            guard FileManager.default.fileExists(atPath: path) else { return false }
            return (try? FileManager.default.removeItem(atPath: path)) != nil
        }
    }

    /// Remembers an export file written for these persons, so erasing any of them deletes it.
    package static func recordExport(path: String, requestID: String, refs: [String], on connection: PostgresConnection) throws {
        try connection.query(
            """
            INSERT INTO subject_exports (path, subject_ref, request_id) SELECT $1, r, $3 FROM unnest($2::text[]) AS r
            ON CONFLICT (path, subject_ref) DO UPDATE SET request_id = excluded.request_id, written_at = now()
            """, [.text(path), .text(postgresArrayLiteral(refs)), .text(requestID)])
    }

    /// Every data key and the index key re-wrapped with the current KEK, in
    /// batches, while services keep running (they hold the old KEK too until
    /// the rotation is over). Returns how many keys were re-wrapped.
    package func rewrapAll(on connection: PostgresConnection, batch: Int = 1_000) throws -> Int {
        let keys = self.keys
        var total = 0
        let vaultKeys = try connection.query("SELECT name, kek_id, encode(wrapped, 'hex') FROM vault_keys WHERE kek_id <> $1", [.text(keys.currentID)])
        for (name, oldKEK, oldWrapped) in try vaultKeys.decode((String, String, HexBytes).self) {
            let (kekID, wrapped) = try keys.wrap(try unwrap(oldWrapped.bytes, kekID: oldKEK))
            try connection.query("UPDATE vault_keys SET kek_id = $2, wrapped = $3 WHERE name = $1", [.text(name), .text(kekID), .bytes(wrapped)])
            total += 1
        }
        while true {
            let rows = try connection.query(
                "SELECT subject_ref, kek_id, encode(wrapped_key, 'hex') FROM subjects WHERE wrapped_key IS NOT NULL AND kek_id <> $1 LIMIT $2",
                [.text(keys.currentID), .int(batch)]
            ).decode((String, String, HexBytes).self)
            guard !rows.isEmpty else { break }
            let rewrapped = try rows.map { try keys.wrap(try unwrap($0.2.bytes, kekID: $0.1)).wrapped.hexString }
            try connection.query(
                """
                UPDATE subjects t SET kek_id = $3, wrapped_key = decode(x.w, 'hex')
                FROM unnest($1::text[], $2::text[]) AS x(k, w) WHERE t.subject_ref = x.k AND t.wrapped_key IS NOT NULL
                """, [.text(postgresArrayLiteral(rows.map(\.0))), .text(postgresArrayLiteral(rewrapped)), .text(keys.currentID)])
            total += rows.count
        }
        let deadLetters = DeadLetterStore(connection: connection)
        while case let rows = try deadLetters.keysWrapped(otherThan: keys.currentID, limit: batch), !rows.isEmpty {
            let rewrapped = try rows.map { try keys.wrap(try unwrap($0.wrapped, kekID: $0.kekID)).wrapped }
            try deadLetters.replaceWrappedKeys(ids: rows.map(\.id), wrapped: rewrapped, kekID: keys.currentID)
            total += rows.count
        }
        return total
    }
}
