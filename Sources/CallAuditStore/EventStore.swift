import CallAuditDomain

/// The append-only event store: the one place events, dead letters and Kafka positions are written.
///
/// `append` writes a batch's events, its dead letters and the Kafka positions
/// they advance in one transaction, so the positions never run ahead of what
/// is stored. Retrying a batch whose commit was in doubt is harmless: events
/// are unique by (source, id), dead letters by their Kafka coordinates, and
/// positions only move forward.
package final class EventStore {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The LISTEN/NOTIFY channel announcing newly committed events.
    package static let notificationChannel = "callaudit_events"

    private static let eventColumns =
        "stream, type, source, event_id, event_time, event, content_hash, kafka_topic, kafka_partition, kafka_offset"

    /// `notify: false` leaves the projections to find the events on their next
    /// poll: for CallAudit's own records (report reads), which no finding waits on.
    /// `fence`: the leadership the batch was read under; checked last before
    /// COMMIT, so a leader that was superseded commits nothing (`LeadershipLost`).
    @discardableResult
    package func append(_ batch: IngestBatch, consumerGroup: String, notify: Bool = true, fence: LeadershipFence? = nil) throws -> AppendOutcome {
        try connection.transaction {
            var outcome = try appendEvents(batch.events)
            outcome.deadLettered = try appendDeadLetters(batch.deadLetters)
            try advance(batch.resumePoints, consumerGroup: consumerGroup)
            try fence?.check(on: connection)
            // Delivered at commit: wakes projection runners without polling.
            if notify, outcome.stored > 0 { try connection.execute("NOTIFY \(EventStore.notificationChannel)") }
            for letter in batch.deadLetters {
                outcome.byTopic[letter.origin.topic, default: TopicOutcome()].deadLettered += 1
            }
            return outcome
        }
    }

    /// Appends CallAudit's own events inside the caller's open transaction,
    /// which may have read and locked their stream first (a request's
    /// commands check its state and append in one transaction).
    ///
    /// Not NOTIFY: such a transaction commits at `--synchronous-commit`, so with a
    /// synchronous standby it waits for it, and a transaction that notified holds
    /// PostgreSQL's notification lock through that wait. Every ingest batch (which
    /// notifies) would queue behind it, and a standby that is down would stop
    /// ingest. The projections find these events on their next poll (1 s).
    @discardableResult
    package func appendWithinTransaction(_ events: [IncomingEvent]) throws -> AppendOutcome {
        try appendEvents(events)
    }

    /// COPY straight into `events`; only if that meets a duplicate (source, id)
    /// does the batch go the slower way through a staging table with ON CONFLICT.
    fileprivate func appendEvents(_ events: [IncomingEvent]) throws -> AppendOutcome {
        guard !events.isEmpty else { return AppendOutcome() }
        let payload = Self.copyPayload(events, withSequence: false)
        let offered = TopicCounts.of(events)
        if try payload.withBytes({ try copyUnlessDuplicate($0) }) {
            var outcome = AppendOutcome(stored: events.count)
            outcome.byTopic = offered.mapValues { TopicOutcome(stored: $0) }
            return outcome
        }
        try prepareStaging()
        try Self.copyPayload(events, withSequence: true).withBytes {
            try connection.copyIn("COPY events_staging (seq, \(Self.eventColumns)) FROM STDIN WITH (FORMAT binary)", bytes: $0)
        }
        let inserted = try connection.query(
            """
            INSERT INTO events (\(Self.eventColumns))
            SELECT \(Self.eventColumns) FROM events_staging ORDER BY seq
            ON CONFLICT (source, event_id) DO NOTHING
            RETURNING kafka_topic
            """
        )
        try recordConflicts()
        var outcome = AppendOutcome(stored: inserted.count, duplicates: events.count - inserted.count)
        var stored: [String: Int] = [:]
        // CallAudit's own events come from no topic.
        let topics: [String?] = try inserted.decode(String?.self)
        for case let topic? in topics { stored[topic, default: 0] += 1 }
        outcome.byTopic = offered.mapValues { TopicOutcome(stored: 0, duplicates: $0) }
        for (topic, count) in stored { outcome.byTopic[topic] = TopicOutcome(stored: count, duplicates: offered[topic, default: 0] - count) }
        return outcome
    }

    /// Among the staged events that were not stored, those whose `(source, id)`
    /// is stored with other content: each is kept in `event_conflicts` (once per
    /// Kafka position) with an `integrity.event_conflict` event beside it, in
    /// this transaction, so the finding and the evidence commit with the offset.
    /// Identical republishes stay silent.
    private func recordConflicts() throws {
        let recorded = try connection.query(
            """
            INSERT INTO event_conflicts (source, event_id, original_position, original_hash, conflicting_hash, conflicting_event,
                                         kafka_topic, kafka_partition, kafka_offset)
            SELECT s.source, s.event_id, e.position, e.content_hash, s.content_hash, s.event, s.kafka_topic, s.kafka_partition, s.kafka_offset
            FROM events_staging s JOIN events e ON e.source = s.source AND e.event_id = s.event_id
            -- CallAudit's own records (this batch's conflict events among them) are never conflicts of their own.
            WHERE e.content_hash <> s.content_hash AND s.source <> $1
            ON CONFLICT DO NOTHING
            RETURNING id, source, event_id, original_position, encode(original_hash, 'hex'), encode(conflicting_hash, 'hex'),
                      kafka_topic, kafka_partition, kafka_offset
            """, [.text(OwnEventType.source)])
        guard !recorded.rows.isEmpty else { return }
        let conflicts = try recorded.decode((String, String, String, Int64, String, String, String?, Int32?, Int64?).self)
        let records = try conflicts.map { id, source, eventID, position, originalHash, conflictingHash, topic, partition, offset in
            var data: JSONValue = [
                "conflict_id": .string(id), "source": .string(source), "event_id": .string(eventID),
                "original_position": .number(Double(position)), "original_sha256": .string(originalHash), "conflicting_sha256": .string(conflictingHash),
            ]
            if let topic, let partition = partition.map(Double.init), let offset = offset.map(Double.init), case .object(var members) = data {
                members.append((key: "kafka", value: ["topic": .string(topic), "partition": .number(partition), "offset": .number(offset)]))
                data = .object(members)
            }
            // An id of its own (OwnEventType.newID), not one a sequence would predict.
            return IncomingEvent(event: try OwnEventType.eventConflict.event(data: data, at: .now), origin: nil)
        }
        _ = try appendEvents(records)
    }

    /// COPY into `events` under a savepoint; false (and nothing written) if a row's (source, id) is already stored.
    private func copyUnlessDuplicate(_ payload: UnsafeRawBufferPointer) throws -> Bool {
        try connection.execute("SAVEPOINT append_events")
        do {
            try connection.copyIn("COPY events (\(Self.eventColumns)) FROM STDIN WITH (FORMAT binary)", bytes: payload)
        } catch {
            guard error.sqlState == "23505" else { throw error }
            try connection.execute("ROLLBACK TO SAVEPOINT append_events")
            return false
        }
        try connection.execute("RELEASE SAVEPOINT append_events")
        return true
    }

    /// Created on the slow path only. Not remembered across calls: a temporary
    /// table created inside a transaction that rolls back is gone again.
    private func prepareStaging() throws {
        try connection.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS events_staging (
                seq integer NOT NULL, stream text, type text, source text, event_id text, event_time timestamptz,
                event json, content_hash bytea, kafka_topic text, kafka_partition integer, kafka_offset bigint
            ) ON COMMIT DELETE ROWS
            """)
    }

    /// The events in binary COPY form (`CopyBinaryEncoder`: the server parses less than in text form).
    static func copyPayload(_ events: [IncomingEvent], withSequence: Bool) -> CopyBinaryEncoder {
        // A guess (rows of simulated days average about 560 bytes); a larger batch grows the buffer once or twice.
        var encoder = CopyBinaryEncoder(capacity: events.count * 800)
        // Each row's fields read in place through the buffer: a copy of each `IncomingEvent`
        // (`enumerated()`, then the array's subscript) retained and released every String and array in it.
        events.withUnsafeBufferPointer { rows in
            for index in rows.indices {
                let event = rows.baseAddress! + index  // index < rows.count: inside the buffer
                encoder.beginRow()
                if withSequence { encoder.int32(Int32(index)) }
                encoder.text(event.pointee.event.stream)
                encoder.text(event.pointee.event.typeName)
                encoder.text(event.pointee.event.source)
                encoder.text(event.pointee.event.id)
                encoder.timestamp(event.pointee.event.time)
                encoder.bytes(event.pointee.event.canonical)
                event.pointee.event.withContentHash { encoder.bytes($0) }
                if let origin = event.pointee.origin {
                    encoder.text(origin.topic)
                    encoder.int32(origin.partition)
                    encoder.int64(origin.offset)
                } else {
                    encoder.null(); encoder.null(); encoder.null()
                }
                encoder.endRow()
            }
        }
        encoder.finish()
        return encoder
    }

    /// Each dead letter under a savepoint of its own: should PostgreSQL refuse
    /// its row, the letter is stored again in a form it cannot refuse (see
    /// `rawRow`), so no message can fail its batch on every try.
    private func appendDeadLetters(_ deadLetters: [DeadLetter]) throws -> Int {
        var inserted = 0
        for letter in deadLetters {
            do {
                inserted += try connection.savepoint("dead_letter") { try insert(letter, Self.row(letter)) }
            } catch let error as PostgresError where error.failureClass == .badInput {
                inserted += try insert(letter, Self.rawRow(letter, refusedWith: error))
            }
        }
        return inserted
    }

    private func insert(_ letter: DeadLetter, _ row: [PostgresValue]) throws -> Int {
        try connection.query(
            """
            WITH letter AS (
                INSERT INTO dead_letters (kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, kafka_timestamp_raw,
                                          kafka_timestamp_type, reason, detail, message_key, headers, message_value,
                                          sealed, wrapped_key, kek_id)
                VALUES ($1, $2, $3, $4::timestamptz, $5, $6, $7, $8, $9, $10::json, $11, $12, $13, $14)
                ON CONFLICT (kafka_topic, kafka_partition, kafka_offset) DO NOTHING
                RETURNING id
            ), linked AS (
                INSERT INTO dead_letter_subjects (blind_index, dead_letter_id)
                SELECT DISTINCT b, letter.id FROM letter, unnest($15::bytea[]) AS b
            )
            SELECT count(*) FROM letter
            """, row
        ).decodeScalar(Int.self)
    }

    /// A dead letter's row: the message's parts as bytes and numbers, so that
    /// nothing a producer chose has to pass PostgreSQL's text or time checks.
    /// The timestamp is also kept as a `timestamptz` when it reads as one.
    static func row(_ letter: DeadLetter) -> [PostgresValue] {
        let origin = letter.origin
        return [
            .text(origin.topic), .int(origin.partition), .int(origin.offset),
            origin.timestampMilliseconds.flatMap(Self.timestamp).map { .text($0) } ?? .null,
            origin.timestampMilliseconds.map { .int($0) } ?? .null,
            origin.timestampType.map { .text($0) } ?? .null,
            .text(letter.rejection.reason.rawValue), .text(letter.rejection.detail),
            letter.key.map { .bytes($0) } ?? .null,
            letter.sealed == nil ? .text(Self.headersJSON(letter.headers, rawNames: letter.rawHeaderNames)) : .null,
            letter.value.map { .bytes($0) } ?? .null,
            letter.sealed.map { .bytes($0.payload) } ?? .null,
            letter.sealed?.wrappedKey.map { .bytes($0) } ?? .null,
            letter.sealed?.kekID.map { .text($0) } ?? .null,
            .text(postgresArrayLiteral((letter.sealed?.blindIndexes ?? []).map { "\\x" + $0.hexString })),
        ]
    }

    /// The row PostgreSQL cannot refuse: no text of the message's own (the
    /// detail says what was refused, by SQLSTATE only), no timestamptz, the
    /// headers left to the sealed payload or dropped to their hex form.
    static func rawRow(_ letter: DeadLetter, refusedWith error: PostgresError) -> [PostgresValue] {
        var row = row(letter)
        row[3] = .null
        row[7] = .text("\(letter.rejection.reason.rawValue); PostgreSQL refused the dead letter's row (\(error.sqlState ?? "no SQLSTATE")), kept without its text columns")
        if letter.sealed == nil {
            let names = letter.rawHeaderNames ?? letter.headers.map { Array($0.key.utf8) }
            row[9] = .text(Self.headersJSON(letter.headers.map { (key: "", value: $0.value) }, rawNames: names))
        }
        return row
    }

    /// RFC 3339 for a Kafka timestamp in milliseconds, when it is one PostgreSQL
    /// can hold (years 1 to 9999); nil for the rest (negative, in ns, int64's extremes…).
    static func timestamp(milliseconds: Int64) -> String? {
        let earliest: Int64 = -62_135_596_800_000  // 0001-01-01T00:00:00Z
        let latest: Int64 = 253_402_300_799_999  // 9999-12-31T23:59:59.999Z
        guard (earliest...latest).contains(milliseconds) else { return nil }
        return Timestamp(microseconds: milliseconds * 1_000).rfc3339
    }

    /// `[{"key": name, "value_hex": bytes}]` in wire order; a name that was not
    /// UTF-8 also as `key_hex`, its exact bytes.
    static func headersJSON(_ headers: [(key: String, value: [UInt8]?)], rawNames: [[UInt8]]? = nil) -> String {
        JSONValue.array(
            headers.enumerated().map { index, header in
                var members: [(key: String, value: JSONValue)] = [
                    ("key", .string(header.key)), ("value_hex", header.value.map { .string($0.hexString) } ?? .null),
                ]
                if let raw = rawNames?[index] { members.append(("key_hex", .string(raw.hexString))) }
                return .object(members)
            }
        ).canonicalString
    }

    private func advance(_ points: [KafkaResumePoint], consumerGroup: String) throws {
        guard !points.isEmpty else { return }
        try connection.query(
            """
            INSERT INTO kafka_offsets (consumer_group, topic, partition, next_offset)
            SELECT $1, t, p, o FROM unnest($2::text[], $3::integer[], $4::bigint[]) AS x(t, p, o)
            ON CONFLICT (consumer_group, topic, partition) DO UPDATE
            SET next_offset = greatest(kafka_offsets.next_offset, excluded.next_offset), updated_at = now()
            """,
            [
                .text(consumerGroup),
                .text(postgresArrayLiteral(points.map(\.topic))),
                .text(postgresArrayLiteral(points.map { String($0.partition) })),
                .text(postgresArrayLiteral(points.map { String($0.nextOffset) })),
            ])
    }

    /// Where `consumerGroup` resumes in each partition it has stored anything for.
    package func resumePoints(consumerGroup: String) throws -> [KafkaResumePoint] {
        try connection.query(
            "SELECT topic, partition, next_offset FROM kafka_offsets WHERE consumer_group = $1 ORDER BY topic, partition",
            [.text(consumerGroup)]
        ).decode((String, Int32, Int64).self).map { KafkaResumePoint(topic: $0, partition: $1, nextOffset: $2) }
    }

    /// The partition's stored position and when it last moved (RFC 3339), row-locked until the transaction
    /// ends (two operators accepting one gap at once record it once); nil when none is stored.
    package func lockStoredPosition(consumerGroup: String, topic: String, partition: Int32) throws -> (nextOffset: Int64, updatedAt: String)? {
        try connection.query(
            """
            SELECT next_offset, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            FROM kafka_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR UPDATE
            """, [.text(consumerGroup), .text(topic), .int(partition)]
        ).decodeFirst((Int64, String).self).map { (nextOffset: $0, updatedAt: $1) }
    }

    /// Sets the partition's stored position, downward too: only for an accepted gap (a recreated
    /// topic starts lower), the one place a stored position may move back.
    package func resetStoredPosition(consumerGroup: String, topic: String, partition: Int32, to nextOffset: Int64) throws {
        try connection.query(
            "UPDATE kafka_offsets SET next_offset = $4, updated_at = now() WHERE consumer_group = $1 AND topic = $2 AND partition = $3",
            [.text(consumerGroup), .text(topic), .int(partition), .int(nextOffset)])
    }

    /// Per consumer group: how many partitions it stored a position for, and the sum of those positions.
    package func consumerGroups() throws -> [(name: String, partitions: Int, consumed: Int)] {
        try connection.query("SELECT consumer_group, count(*), sum(next_offset) FROM kafka_offsets GROUP BY 1 ORDER BY 1")
            .decode((String, Int, Int).self).map { (name: $0, partitions: $1, consumed: $2) }
    }

    /// The newest `limit` conflicting republishes, newest first.
    package func conflicts(limit: Int) throws -> [EventConflict] {
        try connection.query(
            """
            SELECT id, recorded_at::text, source, event_id, original_position, encode(original_hash, 'hex'), encode(conflicting_hash, 'hex'),
                   kafka_topic, kafka_partition, kafka_offset
            FROM event_conflicts ORDER BY id DESC LIMIT $1
            """, [.int(Int64(limit))]
        ).decode((Int64, String, String, String, Int64, String, String, String?, Int32?, Int64?).self).map {
            id, recordedAt, source, eventID, position, originalHash, conflictingHash, topic, partition, offset in
            EventConflict(
                id: id, recordedAt: recordedAt, source: source, eventID: eventID, originalPosition: position, originalSHA256: originalHash,
                conflictingSHA256: conflictingHash,
                origin: topic.flatMap { topic in partition.flatMap { partition in offset.map { (topic, partition, $0) } } })
        }
    }

    /// How many conflicting republishes `event_conflicts` holds.
    package func conflictCount() throws -> Int {
        try connection.query("SELECT count(*) FROM event_conflicts").decodeScalar(Int.self)
    }

    package func eventCount() throws -> Int {
        try connection.query("SELECT count(*) FROM events").decodeScalar(Int.self)
    }
}

/// A PostgreSQL array literal of quoted elements. Works on bytes: the
/// elements can be whole JSON documents, where String searching is slow.
package func postgresArrayLiteral(_ elements: [String]) -> String {
    postgresArrayLiteral(elements.map(Optional.some))
}

/// A PostgreSQL array literal in which nil elements are SQL NULL.
package func postgresArrayLiteral(_ elements: [String?]) -> String {
    var out: [UInt8] = [UInt8(ascii: "{")]
    out.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
    for (index, element) in elements.enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        guard let element else {
            out.append(contentsOf: "NULL".utf8)
            continue
        }
        out.append(UInt8(ascii: "\""))
        for byte in element.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
    out.append(UInt8(ascii: "}"))
    return String(decoding: out, as: UTF8.self)
}

/// What replaying a dead letter's event did.
package enum ReplayResult: Sendable, Equatable {
    /// Stored at this position (an earlier one if the same event was already stored).
    case stored(position: Int64)
    /// Its `(source, id)` is stored with other content: kept as an event conflict; the dead letter stays open.
    case conflict(originalPosition: Int64)
}

extension EventStore {
    /// Stores a replayed dead letter's event and settles the dead letter, in one transaction.
    package func storeReplayed(_ incoming: IncomingEvent, deadLetterID: Int64) throws -> ReplayResult {
        try connection.transaction {
            _ = try appendEvents([incoming])
            guard
                let (position, sameContent) = try connection.query(
                    "SELECT position, content_hash = $3 FROM events WHERE source = $1 AND event_id = $2",
                    [.text(incoming.event.source), .text(incoming.event.id), .bytes(incoming.event.contentHash)]
                ).decodeFirst((Int64, Bool).self)
            else { throw PostgresDecodingError(reason: .noRow, column: "", expected: "stored event") }
            let letters = DeadLetterStore(connection: connection)
            guard sameContent else {
                try letters.recordReplayFailure(
                    id: deadLetterID,
                    detail: "conflicts with the event stored at position \(position) (same source and id, other content): recorded as an event conflict")
                return .conflict(originalPosition: position)
            }
            try letters.markReplayed(id: deadLetterID, position: position)
            // Not NOTIFY: a replay commits at `--synchronous-commit` (see `appendWithinTransaction`).
            return .stored(position: position)
        }
    }
}
