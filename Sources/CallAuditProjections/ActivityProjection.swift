import CallAuditDomain
import CallAuditStore

/// Typed rows per call, recording, access and legal hold: what a period's
/// audit report summarises (calls and recorded calls by regime, accesses by
/// role and purpose, deletions against retention, open holds). Findings and
/// subject requests come from the compliance projection; this one only keeps
/// what happened, and when.
///
/// Every upsert is order-independent (earliest start, earliest deletion…), so
/// events arriving in any order give the same rows.
package struct ActivityProjection: Projection {
    package let name = "activity"
    package let tables = ["activity_calls", "activity_recordings", "activity_accesses", "activity_holds"]
    package let policy: Policy

    package init(policy: Policy) {
        self.policy = policy
    }

    package func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        var rows = ActivityRows()
        for event in events {
            let document = try event.document()
            guard let fact = FactEvent(document) else { continue }
            rows.add(fact, position: event.position, source: document["source"]?.stringValue, policy: policy)
        }
        try rows.write(to: connection)
    }
}

/// One batch's rows, merged per key so each upsert touches a row once.
private struct ActivityRows {
    struct Call {
        var startedAt: Timestamp?, recordedAt: Timestamp?, regime: String?
        var direction: String?, channel: String?, source: String?, startedPosition: Int64?
    }
    struct Recording { var callID: String?; var storedAt: Timestamp?; var deletedAt: Timestamp?; var reason: String?; var method: String? }
    struct Hold { var placedAt: Timestamp?; var releasedAt: Timestamp?; var recordingIDs: Set<ExactKey> = [] }
    struct Access {
        var position: Int64, eventID: String, recordingID: String, time: Timestamp, kind: String, actorID: String, actorRole: String
        var action: String?, purpose: String?, anonymized: Bool, country: String?, organization: String?, legalBasis: String?
    }

    // Keyed by bytes, as the tables are (`ExactKey`): a batch holding two equivalent spellings writes two rows.
    var calls: [ExactKey: Call] = [:]
    var recordings: [ExactKey: Recording] = [:]
    var holds: [ExactKey: Hold] = [:]
    var accesses: [Access] = []

    mutating func add(_ event: FactEvent, position: Int64, source: String?, policy: Policy) {
        let (data, time) = (event.data, event.time)
        let callID = data["call_id"]?.stringValue
        let recordingID = data["recording_id"]?.stringValue.map(\.exactKey)
        switch event.type {
        case .callStarted:
            guard let callID = callID?.exactKey else { return }
            let jurisdictions = (data["parties"]?.arrayValue ?? []).map { $0["jurisdiction"]?.stringValue }
            let regime = jurisdictions.map { policy.rule(for: $0).regime }.max()
            var call = calls[callID] ?? Call()
            if call.startedAt.map({ time < $0 }) ?? true {
                (call.startedAt, call.startedPosition, call.source) = (time, position, source)
                (call.direction, call.channel) = (data["direction"]?.stringValue, data["channel"]?.stringValue)
            }
            call.regime = regime?.rawValue
            calls[callID] = call
        case .recordingStarted:
            guard let callID = callID?.exactKey else { return }
            calls[callID, default: Call()].recordedAt = earliest(calls[callID]?.recordedAt, time)
        case .recordingStored:
            guard let recordingID else { return }
            recordings[recordingID, default: Recording()].storedAt = earliest(recordings[recordingID]?.storedAt, time)
            recordings[recordingID, default: Recording()].callID = callID
        case .recordingDeleted:
            guard let recordingID else { return }
            var recording = recordings[recordingID] ?? Recording()
            if recording.deletedAt.map({ time < $0 }) ?? true {
                recording.deletedAt = time
                recording.reason = data["reason"]?.stringValue
                recording.method = data["method"]?.stringValue
            }
            recordings[recordingID] = recording
        case .recordingAccessed, .recordingShared:
            guard let recordingID else { return }
            accesses.append(
                Access(
                    position: position, eventID: event.id, recordingID: recordingID.text, time: time,
                    kind: event.type == .recordingAccessed ? "accessed" : "shared", actorID: data["actor"]?["id"]?.stringValue ?? "",
                    actorRole: data["actor"]?["role"]?.stringValue ?? "", action: data["action"]?.stringValue,
                    purpose: data["purpose"]?.stringValue, anonymized: data["anonymized"]?.boolValue ?? false,
                    country: data["recipient"]?["country"]?.stringValue, organization: data["recipient"]?["organization"]?.stringValue,
                    legalBasis: data["legal_basis"]?.stringValue))
        case .legalHoldPlaced, .legalHoldReleased:
            guard let holdID = data["hold_id"]?.stringValue.map(\.exactKey) else { return }
            var hold = holds[holdID] ?? Hold()
            if event.type == .legalHoldPlaced {
                hold.placedAt = earliest(hold.placedAt, time)
                hold.recordingIDs.formUnion((data["recording_ids"]?.arrayValue ?? []).compactMap(\.stringValue?.exactKey))
            } else {
                hold.releasedAt = latest(hold.releasedAt, time)
            }
            holds[holdID] = hold
        default:
            return
        }
    }

    func write(to connection: PostgresConnection) throws {
        try upsert(
            connection, "activity_calls", calls,
            ["call_id", "started_at", "first_recorded_at", "regime", "direction", "channel", "source", "started_position"],
            types: ["text", "timestamptz", "timestamptz", "text", "text", "text", "text", "bigint"],
            merge: [
                // What the earliest call.started said; a later duplicate changes nothing.
                "direction = CASE WHEN t.started_at IS NULL OR excluded.started_at < t.started_at THEN excluded.direction ELSE t.direction END",
                "channel = CASE WHEN t.started_at IS NULL OR excluded.started_at < t.started_at THEN excluded.channel ELSE t.channel END",
                "source = CASE WHEN t.started_at IS NULL OR excluded.started_at < t.started_at THEN excluded.source ELSE t.source END",
                "started_position = CASE WHEN t.started_at IS NULL OR excluded.started_at < t.started_at THEN excluded.started_position ELSE t.started_position END",
                "started_at = least(t.started_at, excluded.started_at)",
                "first_recorded_at = least(t.first_recorded_at, excluded.first_recorded_at)",
                "regime = coalesce(excluded.regime, t.regime)",
            ]
        ) { call in
            [call.startedAt?.rfc3339, call.recordedAt?.rfc3339, call.regime, call.direction, call.channel, call.source,
                    call.startedPosition.map(String.init)]
        }
        try upsert(
            connection, "activity_recordings", recordings,
            ["recording_id", "call_id", "stored_at", "deleted_at", "deletion_reason", "deletion_method"],
            types: ["text", "text", "timestamptz", "timestamptz", "text", "text"],
            merge: [
                "call_id = coalesce(excluded.call_id, t.call_id)",
                "stored_at = least(t.stored_at, excluded.stored_at)",
                "deleted_at = least(t.deleted_at, excluded.deleted_at)",
                // The first deletion's reason and method: the row's, unless this batch's deletion is earlier.
                "deletion_reason = CASE WHEN t.deleted_at IS NULL OR excluded.deleted_at < t.deleted_at THEN excluded.deletion_reason ELSE t.deletion_reason END",
                "deletion_method = CASE WHEN t.deleted_at IS NULL OR excluded.deleted_at < t.deleted_at THEN excluded.deletion_method ELSE t.deletion_method END",
            ]
        ) { r in
            [r.callID, r.storedAt?.rfc3339, r.deletedAt?.rfc3339, r.reason, r.method]
        }
        try upsert(
            connection, "activity_holds", holds, ["hold_id", "placed_at", "released_at", "recording_ids"],
            types: ["text", "timestamptz", "timestamptz", "text[]"],
            merge: [
                "placed_at = least(t.placed_at, excluded.placed_at)",
                "released_at = greatest(t.released_at, excluded.released_at)",
                // In byte order, as a rebuild writes them, whatever the database's default collation.
                "recording_ids = ARRAY(SELECT DISTINCT r COLLATE \"C\" FROM unnest(t.recording_ids || excluded.recording_ids) AS r ORDER BY 1)",
            ]
        ) { hold in
            [hold.placedAt?.rfc3339, hold.releasedAt?.rfc3339, postgresArrayLiteral(hold.recordingIDs.sorted().map(\.text))]
        }
        try insertAccesses(connection)
    }

    /// `INSERT … ON CONFLICT (key) DO UPDATE SET merge` for every entry, in key order, from one array per column.
    private func upsert<Value>(
        _ connection: PostgresConnection, _ table: String, _ entries: [ExactKey: Value], _ columns: [String], types: [String], merge: [String],
        values: (Value) -> [String?]
    ) throws {
        guard !entries.isEmpty else { return }
        let rows = entries.sorted { $0.key < $1.key }.map { [$0.key.text] + values($0.value) }
        let parameters = columns.indices.map { column in PostgresValue.text(postgresArrayLiteral(rows.map { $0[column] })) }
        let unnest = columns.indices.map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
        let select = zip(columns, types).map { column, type in type == "text[]" ? "\(column)::text[]" : "\(column)::\(type)" }
        try connection.query(
            """
            INSERT INTO \(table) AS t (\(columns.joined(separator: ", ")))
            SELECT \(select.joined(separator: ", ")) FROM unnest(\(unnest)) AS x(\(columns.joined(separator: ", ")))
            ON CONFLICT (\(columns[0])) DO UPDATE SET \(merge.joined(separator: ", "))
            """, parameters)
    }

    private func insertAccesses(_ connection: PostgresConnection) throws {
        guard !accesses.isEmpty else { return }
        func column(_ value: (Access) -> String?) -> PostgresValue { .text(postgresArrayLiteral(accesses.map(value))) }
        try connection.query(
            """
            INSERT INTO activity_accesses (position, event_id, recording_id, occurred_at, kind, actor_id, actor_role, action, purpose,
                                           anonymized, recipient_country, legal_basis, recipient_organization)
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[],
                                 $9::text[], $10::boolean[], $11::text[], $12::text[], $13::text[])
            ON CONFLICT (position) DO NOTHING
            """,
            [
                column { String($0.position) }, column(\.eventID), column(\.recordingID), column { $0.time.rfc3339 }, column(\.kind),
                column(\.actorID), column(\.actorRole), column(\.action), column(\.purpose), column { $0.anonymized ? "t" : "f" },
                column(\.country), column(\.legalBasis), column(\.organization),
            ])
    }

    private func earliest(_ a: Timestamp?, _ b: Timestamp) -> Timestamp? { a.map { min($0, b) } ?? b }
    private func latest(_ a: Timestamp?, _ b: Timestamp) -> Timestamp? { a.map { max($0, b) } ?? b }
}
