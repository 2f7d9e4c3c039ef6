import CallAuditDomain
import CallAuditRuntime
import CallAuditStore

/// How much of the log a compliance rebuild holds at once.
package struct ComplianceRebuildLimits: Sendable {
    /// Events folded in memory before their facts are written out and dropped.
    package var eventsPerChunk = 250_000
    /// Facts read back and judged at a time once the log took more than one chunk.
    package var factsPerPage = 10_000
    /// The most bits the filter of keys written out grows to (see `KeyFilter`).
    package var filterBits = 1 << 29

    package init(eventsPerChunk: Int = 250_000, factsPerPage: Int = 10_000, filterBits: Int = 1 << 29) {
        self.eventsPerChunk = eventsPerChunk
        self.factsPerPage = factsPerPage
        self.filterBits = filterBits
    }
}

/// The compliance projection rebuilt from the whole log in one read: events
/// folded in memory, every table written by COPY, every subject judged once.
/// Gives exactly what applying the log batch by batch gives.
///
/// Memory is bounded whatever the log's size: after each chunk of
/// `limits.eventsPerChunk` events, the chunk's facts are written to the fresh
/// tables and dropped (`writeChunk`), on another thread while the next chunk
/// is folded (`ChunkWrite`); a later event of a fact written out loads it
/// back first. Once the log is folded, subjects are judged from the tables a
/// page at a time (`judgeWrittenFacts`). A log that fits in one chunk never
/// touches the tables until it is judged, straight from memory.
/// Requests and conflict records stay in memory throughout: a few per thousand calls.
struct ComplianceRebuild: ProjectionRebuild {
    let policy: Policy
    let clock: @Sendable () -> Timestamp
    let limits: ComplianceRebuildLimits
    /// Every fact folded is judged, so the fold does not note changes per event.
    var fold = ComplianceFold(recordsChanges: false)
    /// Keys of the facts written out so far; nil until the first chunk is.
    var written: KeyFilter?
    /// This chunk's facts that an earlier chunk wrote out: saved again by upsert, not COPY.
    var reloaded = ReloadedKeys()
    var eventsInChunk = 0
    /// The chunk before, while it is being written out.
    var writing: ChunkWrite?
    /// Which recordings written out may lack a call, for judging.
    var recordingsOfNoCall = RecordingsOfNoCall()

    init(policy: Policy, clock: @escaping @Sendable () -> Timestamp, limits: ComplianceRebuildLimits) {
        self.policy = policy
        self.clock = clock
        self.limits = limits
    }

    /// The events' compliance-relevant parts, scanned from their stored bytes
    /// (`FactScanner`); batches prepare theirs the same way.
    static func prepare(_ documents: [String]) throws -> [FactEvent] {
        var buffers = FactScanBuffers()
        return try documents.compactMap { json throws(JSONParseError) in try FactScanner.factEvent(json, reusing: &buffers) }
    }

    mutating func fold(_ page: [FactEvent], in connection: PostgresConnection) throws {
        var rest = page[...]
        while !rest.isEmpty {
            let part = rest.prefix(limits.eventsPerChunk - eventsInChunk)
            rest = rest.dropFirst(part.count)
            if written != nil {
                try dropChunkWritten()
                try reloadWrittenFacts(touchedBy: part, in: connection)
            }
            for event in part { fold.fold(event) }
            eventsInChunk += part.count
            if eventsInChunk >= limits.eventsPerChunk { try writeChunk(in: connection) }
        }
    }

    mutating func finish(in connection: PostgresConnection, lastPosition: Int64?) throws {
        // Findings carry no log position: a rebuild records no changes of its own (`FindingsTable.insertAll`).
        if written == nil { return try finishInMemory(in: connection) }
        try writeChunk(in: connection)
        try waitForChunkWritten()
        try judgeWrittenFacts(in: connection)
    }

    /// The rebuild failed: the connection is the caller's again only once the
    /// chunk being written out is. If writing it failed too, and `error` is
    /// only the fold's next statement meeting the aborted transaction, the
    /// write's error is the one to report (bad input there means the rebuild
    /// goes batch by batch, as it would have had the fold written the chunk).
    mutating func abandon(after error: any Error) -> any Error {
        do {
            try waitForChunkWritten()
            return error
        } catch let written {
            return (error as? PostgresError)?.isInFailedTransaction == true ? written : error
        }
    }

    /// The whole log was one chunk: judge it in memory, write every table once.
    private func finishInMemory(in connection: PostgresConnection) throws {
        var fold = fold
        fold.markEverythingChanged()
        let now = clock()
        // The fact tables do not depend on the verdicts: another thread encodes
        // them while this one judges and PostgreSQL takes in the findings.
        let facts = fold
        let factRows = BackgroundWork { Self.factRows(facts) + [Self.requestRows(facts.requests)] }
        let verdicts = fold.judge(recordings: fold.recordings.keys, requestRecordings: requestRecordings(), policy: policy, now: now)
        try FindingsTable(connection: connection).insertAll(verdicts.findings)
        for (table, rows) in factRows.value() {
            try connection.copyIn("COPY \(table) FROM STDIN", payload: rows.bytes)
        }
        try connection.copyIn(Self.deadlineCopy, payload: Self.deadlineRows(verdicts, now: now).bytes)
    }

    static let deadlineCopy = "COPY compliance_deadlines (subject, due_at, judged_after_due) FROM STDIN"

    /// Each request's recordings: those of every call a party with one of its identifiers took part in.
    private func requestRecordings() -> [ExactKey: Set<ExactKey>] {
        guard !fold.requests.isEmpty else { return [:] }
        let callsBySubject = Dictionary(grouping: fold.subjectCalls, by: \.key).mapValues { $0.map(\.callID.exactKey) }
        var recordingsByCall: [ExactKey: [ExactKey]] = [:]
        for (recordingID, recording) in fold.recordings {
            if let callID = recording.callID { recordingsByCall[ExactKey(callID), default: []].append(recordingID) }
        }
        return fold.requests.mapValues { request in
            Set(request.subjectKeys.flatMap { callsBySubject[$0] ?? [] }.flatMap { recordingsByCall[$0] ?? [] })
        }
    }

    /// COPY payloads for the call, recording and hold facts and the subject
    /// index of `fold` (none of them in the tables yet), keyed by the COPY target.
    static func factRows(_ fold: ComplianceFold) -> [(table: String, rows: CopyTextEncoder)] {
        var tables: [(table: String, rows: CopyTextEncoder)] = []
        encodeFactRows(fold) { table, rows, _ in
            tables.append((table, rows))
            return true
        }
        return tables
    }

    /// Encodes the fact tables of `fold` one after another, giving `slice`
    /// the rows of `table` whenever `sliceBytes` or more are written and at
    /// each table's end (with `tableEnds`): whole tables by default. Stops as
    /// soon as `slice` returns false (its reader has gone). Facts in
    /// `skipping` (and the pairs of its calls) are left out: they are in the
    /// tables already, and skipped here rather than filtered into a copy of the chunk.
    static func encodeFactRows(
        _ fold: ComplianceFold, skipping: ReloadedKeys = ReloadedKeys(), sliceBytes: Int = .max,
        _ slice: (_ table: String, _ rows: CopyTextEncoder, _ tableEnds: Bool) -> Bool
    ) {
        // Room for a slice and its last row, not for a whole table, when slicing.
        let room = sliceBytes == .max ? 1 << 24 : min(sliceBytes + (1 << 16), 1 << 24)
        // The tables are encoded one after another, never re-entering `slice`.
        withoutActuallyEscaping(slice) { slice in
            var goOn = true
            func table(_ name: String, _ encode: (_ flush: (inout CopyTextEncoder) -> Bool) -> CopyTextEncoder) {
                guard goOn else { return }
                let rest = encode { rows in
                    guard rows.bytes.count >= sliceBytes else { return true }
                    goOn = slice(name, CopyTextEncoder(taking: &rows), false)
                    return goOn
                }
                if goOn { goOn = slice(name, rest, true) }
            }
            table("compliance_calls (call_id, facts)") {
                documentRows(fold.calls, skipping: skipping.calls, room: room, flush: $0) { _, _ in }
            }
            table("compliance_recordings (recording_id, call_id, facts)") {
                documentRows(fold.recordings, skipping: skipping.recordings, room: room, flush: $0) { row, recording in
                    if let callID = recording.callID { row.text(callID) } else { row.null() }
                }
            }
            table("compliance_holds (hold_id, facts)") { documentRows(fold.holds, skipping: skipping.holds, room: room, flush: $0) { _, _ in } }
            table("compliance_subject_calls (subject_key, call_id, party_id)") {
                // A pair can be in the table already only if its call was written out (and so reloaded).
                subjectCallRows(fold.subjectCalls, skippingCalls: skipping.calls, room: room, flush: $0)
            }
        }
    }

    static func requestRows(_ requests: [ExactKey: RequestRecord]) -> (table: String, rows: CopyTextEncoder) {
        ("compliance_requests (request_id, subject_keys, facts)", documentRows(requests) { row, request in
            row.text(postgresArrayLiteral(request.subjectKeys))
        })
    }

    /// One row per key, in key order (a primary key grows at its right edge
    /// instead of splitting pages at random): the key, any extra columns, the facts.
    /// `flush` is given the rows after each row ends, and stops the rows when it returns false.
    private static func documentRows<Facts: FactDocument>(
        _ facts: [ExactKey: Facts], skipping: Set<ExactKey> = [], room: Int = 1 << 24, flush: (inout CopyTextEncoder) -> Bool = { _ in true },
        extraColumns: (inout CopyTextEncoder, Facts) -> Void
    ) -> CopyTextEncoder {
        var rows = CopyTextEncoder(capacity: min(facts.count * 512, room))
        var document: [UInt8] = []
        // Positions are sorted, by key: sorting the pairs copied every fact document a dozen times.
        let (keys, values) = (facts.keys, facts.values)
        let written = skipping.isEmpty ? Array(keys.indices) : keys.indices.filter { !skipping.contains(keys[$0]) }
        for index in written.sorted(by: { keys[$0] < keys[$1] }) {
            let value = values[index]
            rows.text(keys[index].text)
            extraColumns(&rows, value)
            document.removeAll(keepingCapacity: true)
            value.writeDocument(into: &document)
            rows.text(bytes: document)
            rows.endRow()
            guard flush(&rows) else { break }
        }
        return rows
    }

    /// Who took part in which call, each pair once (the first party it was), in key order.
    private static func subjectCallRows(
        _ pairs: [(key: String, callID: String, partyID: String)], skippingCalls: Set<ExactKey>, room: Int,
        flush: (inout CopyTextEncoder) -> Bool
    ) -> CopyTextEncoder {
        var party: [SubjectCall: String] = [:]
        for pair in pairs where party[SubjectCall(key: pair.key, callID: pair.callID)] == nil {
            if !skippingCalls.isEmpty, skippingCalls.contains(pair.callID.exactKey) { continue }
            party[SubjectCall(key: pair.key, callID: pair.callID)] = pair.partyID
        }
        var rows = CopyTextEncoder(capacity: min(party.count * 120, room))
        for (pair, partyID) in party.sorted(by: { $0.key < $1.key }) {
            rows.text(pair.key.text)
            rows.text(pair.callID.text)
            rows.text(partyID)
            rows.endRow()
            guard flush(&rows) else { break }
        }
        return rows
    }

    static func deadlineRows(_ verdicts: ComplianceVerdicts, now: Timestamp) -> CopyTextEncoder {
        var rows = CopyTextEncoder()
        // Subjects without a deadline write nothing: left out before the sort, not after.
        let due = verdicts.deadlines.compactMap { deadline in deadline.due.map { (subject: deadline.subject, due: $0) } }
        for (subject, due) in due.sorted(by: { $0.subject < $1.subject }) {
            rows.text(subject)
            rows.timestamp(due)
            rows.text(due < now ? "t" : "f")
            rows.endRow()
        }
        return rows
    }
}

/// A (person, call) pair, by bytes as the table's primary key is.
private struct SubjectCall: Hashable, Comparable {
    var key: ExactKey
    var callID: ExactKey

    init(key: String, callID: String) {
        self.key = ExactKey(key)
        self.callID = ExactKey(callID)
    }

    static func < (a: SubjectCall, b: SubjectCall) -> Bool { (a.key, a.callID) < (b.key, b.callID) }
}
