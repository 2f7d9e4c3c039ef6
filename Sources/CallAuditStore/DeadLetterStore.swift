import CallAuditDomain

/// A dead letter as operators see it.
package struct StoredDeadLetter: Sendable {
    package var id: Int64
    package var origin: KafkaOrigin
    package var receivedAt: String
    package var reason: String
    package var detail: String
    package var status: String
    package var replayedPosition: Int64?
    package var lastReplayError: String?
    package var key: [UInt8]?
    package var headers: [(key: String, value: [UInt8]?)]
    package var value: [UInt8]?
    /// Sealed by the subject vault: open it to read key, headers and value. Its key is nil once erased.
    package var sealed: SealedMessage?

    /// The message as it came off the wire, for replay.
    package var message: IncomingMessage { IncomingMessage(headers: headers, value: value, keyBytes: key?.count ?? 0) }
}

/// Lists, shows and settles dead letters.
package struct DeadLetterStore {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    private static let columns = """
        id, kafka_topic, kafka_partition, kafka_offset, coalesce(kafka_timestamp_raw, (extract(epoch FROM kafka_timestamp) * 1000)::bigint),
        received_at, reason, detail, status, replayed_position, last_replay_error,
        encode(message_key, 'hex'), headers, encode(message_value, 'hex'), encode(sealed, 'hex'), encode(wrapped_key, 'hex'), kek_id,
        erased_at IS NOT NULL, kafka_timestamp_type
        """

    package func list(status: String? = nil, reason: String? = nil, limit: Int = 100, afterID: Int64 = 0) throws
        -> [StoredDeadLetter]
    {
        try connection.query(
            """
            SELECT \(Self.columns) FROM dead_letters
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR reason = $2) AND id > $3
            ORDER BY id LIMIT $4
            """,
            [status.map { .text($0) } ?? .null, reason.map { .text($0) } ?? .null, .int(afterID), .int(limit)]
        ).typedRows.map(Self.decode)
    }

    package func find(id: Int64) throws -> StoredDeadLetter? {
        try connection.query("SELECT \(Self.columns) FROM dead_letters WHERE id = $1", [.int(id)]).typedRows.first.map(Self.decode)
    }

    package func counts() throws -> [(reason: String, status: String, count: Int)] {
        try connection.query("SELECT reason, status, count(*) FROM dead_letters GROUP BY 1, 2 ORDER BY 1, 2")
            .decode((String, String, Int).self).map { (reason: $0, status: $1, count: $2) }
    }

    package func markReplayed(id: Int64, position: Int64?) throws {
        try connection.query(
            "UPDATE dead_letters SET status = 'replayed', replayed_at = now(), replayed_position = $2, last_replay_error = NULL WHERE id = $1",
            [.int(id), position.map { .int($0) } ?? .null])
    }

    package func recordReplayFailure(id: Int64, rejection: Rejection) throws {
        try recordReplayFailure(id: id, detail: rejection.description)
    }

    package func recordReplayFailure(id: Int64, detail: String) throws {
        try connection.query("UPDATE dead_letters SET last_replay_error = $2 WHERE id = $1", [.int(id), .text(detail)])
    }

    private static func decode(_ row: PostgresTextRow) throws -> StoredDeadLetter {
        let (id, topic, partition, offset, timestamp, receivedAt, reason, detail, status, replayedPosition, lastReplayError) =
            try row.prefix(11).decode((Int64, String, Int32, Int64, Int64?, String, String, String, String, Int64?, String?).self)
        let (key, headers, value, sealed, wrappedKey, kekID, erased, timestampType) =
            try row.dropFirst(11).decode((HexBytes?, String?, HexBytes?, HexBytes?, HexBytes?, String?, Bool, String?).self)
        return StoredDeadLetter(
            id: id,
            origin: KafkaOrigin(
                topic: topic, partition: partition, offset: offset, timestampMilliseconds: timestamp, timestampType: timestampType),
            receivedAt: receivedAt, reason: reason, detail: detail, status: status,
            replayedPosition: replayedPosition, lastReplayError: lastReplayError,
            key: key?.bytes, headers: headers.map(decodeHeaders) ?? [], value: value?.bytes,
            // An erased letter keeps its origin and reason; its payload and key are gone.
            sealed: erased
                ? SealedMessage(payload: [], wrappedKey: nil, kekID: nil)
                : sealed.map { SealedMessage(payload: $0.bytes, wrappedKey: wrappedKey?.bytes, kekID: kekID) })
    }

    private static func decodeHeaders(_ json: String) -> [(key: String, value: [UInt8]?)] {
        guard let array = (try? JSONParser.parse(json))?.arrayValue else { return [] }
        return array.compactMap { header in
            guard let key = header["key"]?.stringValue else { return nil }
            return (key: key, value: header["value_hex"]?.stringValue.flatMap { [UInt8](hexString: $0) })
        }
    }
}
