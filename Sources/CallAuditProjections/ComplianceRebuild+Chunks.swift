import CallAuditDomain
import CallAuditRuntime
import CallAuditStore

/// Keys of facts an earlier chunk wrote out and this chunk loaded back.
struct ReloadedKeys: Sendable {
    var calls: Set<ExactKey> = []
    var recordings: Set<ExactKey> = []
    var holds: Set<ExactKey> = []
}

/// The kinds of key in the filter of written facts.
private enum WrittenKey {
    static let call = UInt8(ascii: "c")
    static let recording = UInt8(ascii: "r")
    static let hold = UInt8(ascii: "h")
}

/// Writing a chunk out, and loading back what a later chunk touches again.
extension ComplianceRebuild {
    /// The tables a rebuild written out chunk by chunk reads back and upserts.
    static let factTables = ["compliance_calls", "compliance_recordings", "compliance_holds", "compliance_subject_calls"]

    /// Loads the facts the page's events touch that an earlier chunk wrote out,
    /// so they are folded on, not started afresh: from the chunk still being
    /// written out, in memory, and from the tables for older chunks. The key
    /// filter spares the lookups of the (many) keys never written out.
    mutating func reloadWrittenFacts(touchedBy page: ArraySlice<FactEvent>, in connection: PostgresConnection) throws {
        var callIDs: Set<ExactKey> = [], recordingIDs: Set<ExactKey> = [], holdIDs: Set<ExactKey> = []
        for event in page {
            // One of CallAudit's own events keeps `data` whole: read from it, as for any event.
            event.judgedData.collectKeys(calls: &callIDs, recordings: &recordingIDs, holds: &holdIDs)
        }
        let filter = written!
        let writing = writing?.chunk
        // The chunk being written out holds the connection between its statements; the fold's lookups go first.
        let turns = self.writing?.turns ?? Turns(connection)
        try turns.foreground { connection in
            let holds = try Self.reload(
                holdIDs, tag: WrittenKey.hold, filter: filter, writing: writing?.holds, from: .holds(on: connection),
                into: &fold.holds, marking: &reloaded.holds)
            // A hold folded again re-applies itself to every recording it names.
            for hold in holds.values { recordingIDs.formUnion(hold.recordingIDs.map(\.exactKey)) }
            _ = try Self.reload(
                callIDs, tag: WrittenKey.call, filter: filter, writing: writing?.calls, from: .calls(on: connection),
                into: &fold.calls, marking: &reloaded.calls)
            _ = try Self.reload(
                recordingIDs, tag: WrittenKey.recording, filter: filter, writing: writing?.recordings, from: .recordings(on: connection),
                into: &fold.recordings, marking: &reloaded.recordings)
        }
    }

    /// Loads those of `keys` the chunk lacks that may have been written out,
    /// and marks them reloaded. A key of the chunk being written out
    /// (`writing`) is taken from it: its rows may be only half written.
    /// Returns what it loaded.
    private static func reload<Facts>(
        _ keys: Set<ExactKey>, tag: UInt8, filter: KeyFilter, writing: [ExactKey: Facts]?, from table: FactTable<Facts>,
        into chunk: inout [ExactKey: Facts], marking reloaded: inout Set<ExactKey>
    ) throws -> [ExactKey: Facts] {
        var loaded: [ExactKey: Facts] = [:]
        var older: [ExactKey] = []
        for key in keys where chunk[key] == nil {
            if let facts = writing?[key] {
                loaded[key] = facts
            } else if filter.mayContain(key.text, tag: tag) {
                older.append(key)
            }
        }
        loaded.merge(try table.load(older)) { inMemory, _ in inMemory }
        chunk.merge(loaded) { current, _ in current }
        reloaded.formUnion(loaded.keys)
        return loaded
    }

    /// Hands the chunk's calls, recordings, holds and subject index to a
    /// thread that writes them to the fresh tables (`ChunkWrite`), once the
    /// chunk before is written, and starts the next chunk. Requests and
    /// conflict records stay for judging.
    mutating func writeChunk(in connection: PostgresConnection) throws {
        try waitForChunkWritten()
        if written == nil {
            // Later chunks load and upsert these by key.
            try ShadowTables.index(Self.factTables, on: connection)
            written = KeyFilter(bits: limits.filterBits)
        }
        // Reloaded keys are in the filter already: added again, they would grow it for nothing.
        for key in fold.calls.keys where !reloaded.calls.contains(key) { written!.insert(key.text, tag: WrittenKey.call) }
        for key in fold.recordings.keys where !reloaded.recordings.contains(key) { written!.insert(key.text, tag: WrittenKey.recording) }
        for key in fold.holds.keys where !reloaded.holds.contains(key) { written!.insert(key.text, tag: WrittenKey.hold) }
        recordingsOfNoCall.note(fold)

        // Requests and conflict records move to the next chunk rather than
        // being shared with the one written out, whose first change would copy them all.
        var next = ComplianceFold(recordsChanges: false)
        swap(&next.requests, &fold.requests)
        swap(&next.conflicts, &fold.conflicts)
        swap(&next.requestClaims, &fold.requestClaims)
        writing = ChunkWrite(fold, reloaded: reloaded, connection: connection)
        fold = next
        reloaded = ReloadedKeys()
        eventsInChunk = 0
    }

    /// Waits for the chunk being written out, if one is, and rethrows what
    /// writing it threw. The connection is the fold's alone again after it.
    mutating func waitForChunkWritten() throws {
        guard let chunk = writing else { return }
        writing = nil
        try chunk.wait()
    }

    /// Drops the chunk written out once it is, so its facts are not held longer than needed.
    mutating func dropChunkWritten() throws {
        if writing?.isDone == true { try waitForChunkWritten() }
    }

    /// Judges every subject once the whole log is written out: conflict records
    /// and requests from memory, calls and recordings from the tables a page at
    /// a time. Writes the findings, the deadlines and the requests' facts.
    ///
    /// Each page is parsed and judged on another thread while this one writes
    /// the previous page's verdicts and reads the next page: PostgreSQL and the
    /// judging overlap instead of taking turns.
    func judgeWrittenFacts(in connection: PostgresConnection) throws {
        let (policy, now) = (policy, clock())
        // Two pages judged at once: three were no faster on two cores and took
        // the rebuild's peak RSS past 300 MB (BENCHMARKS.md, issue 21's sixth pass).
        var verdicts = VerdictPipeline(connection: connection, depth: 2)

        var conflicts = ComplianceFold()
        conflicts.conflicts = fold.conflicts
        conflicts.requestClaims = fold.requestClaims
        try verdicts.write(JudgedPage(conflicts.judge(recordings: [], requestRecordings: [:], policy: policy, now: now), now: now))

        // A page of calls with their recordings (each recording judged with its call), then the recordings of no known call.
        try forEachPage("SELECT call_id, facts::text FROM compliance_calls WHERE call_id > $1 ORDER BY call_id", in: connection) { calls in
            let recordings = try connection.query(
                "SELECT recording_id, facts::text FROM compliance_recordings WHERE call_id = ANY($1::text[])",
                [.text(postgresArrayLiteral(calls.map(\.key)))]
            ).decode((String, String).self).map { (key: $0, facts: $1) }
            try verdicts.submit { try Self.judge(calls: calls, recordings: recordings, policy: policy, now: now) }
        }
        // Only the candidates can lack a call (usually none), unless there were too many to keep them.
        let (onlyCandidates, candidates): (String, [PostgresValue]) = recordingsOfNoCall.candidates.map {
            ("AND recording_id = ANY($2::text[])", [.text(postgresArrayLiteral($0.map(\.text)))])
        } ?? ("", [])
        try forEachPage(
            """
            SELECT recording_id, facts::text FROM compliance_recordings r
            WHERE recording_id > $1 \(onlyCandidates)
                AND NOT EXISTS (SELECT FROM compliance_calls c WHERE c.call_id = r.call_id) ORDER BY recording_id
            """, candidates, in: connection
        ) { recordings in
            try verdicts.submit { try Self.judge(calls: [], recordings: recordings, policy: policy, now: now) }
        }
        try verdicts.drain()

        // Requests' facts are written as folded, before judging fills in their recordings, as batches load them.
        let requestRows = Self.requestRows(fold.requests)
        try connection.copyIn("COPY \(requestRows.table) FROM STDIN", payload: requestRows.rows.bytes)
        var requests = ComplianceFold()
        requests.requests = fold.requests
        requests.changedRequests = Set(fold.requests.keys)
        var requestRecordings: [ExactKey: Set<ExactKey>] = [:]
        let index = SubjectCallIndex(connection: connection)
        for (requestID, request) in fold.requests { requestRecordings[requestID] = try index.recordingIDs(ofSubjects: request.subjectKeys) }
        requests.recordings = try FactTable.recordings(on: connection).load(Set(requestRecordings.values.joined()))
        try verdicts.write(JudgedPage(requests.judge(recordings: [], requestRecordings: requestRecordings, policy: policy, now: now), now: now))
    }

    /// Parses a page of call and recording rows (key, facts) and judges them,
    /// each recording with its call when the page holds it.
    private static func judge(calls: [FactRow], recordings: [FactRow], policy: Policy, now: Timestamp) throws -> JudgedPage {
        var page = ComplianceFold()
        for row in calls { page.calls[ExactKey(row.key)] = try CallFacts(stored: row.facts) }
        for row in recordings { page.recordings[ExactKey(row.key)] = try RecordingFacts(stored: row.facts) }
        page.changedCalls = Set(page.calls.keys)
        return JudgedPage(page.judge(recordings: Array(page.recordings.keys), requestRecordings: [:], policy: policy, now: now), now: now)
    }

    /// Runs `body` on the rows of `sql` (whose first column is a text key, its
    /// first parameter the key to read after, then `parameters`) a page at a time, in key order.
    /// A fact table's row: its key and its facts as JSON text.
    typealias FactRow = (key: String, facts: String)

    private func forEachPage(
        _ sql: String, _ parameters: [PostgresValue] = [], in connection: PostgresConnection, _ body: ([FactRow]) throws -> Void
    ) throws {
        var after = ""
        while true {
            let rows = try connection.query("\(sql) LIMIT \(limits.factsPerPage)", [.text(after)] + parameters)
                .decode((String, String).self).map { (key: $0, facts: $1) }
            guard let last = rows.last?.key else { return }
            try body(rows)
            if rows.count < limits.factsPerPage { return }
            after = last
        }
    }
}

/// The recordings written out that may have no call in the tables, so that
/// judging does not scan every recording for the few (usually none) that
/// have none. A recording written with its call in the same chunk has one
/// (facts are never removed); any other may not, until a later chunk writes
/// it with its call. Past `limit` candidates it stops keeping them, and
/// judging scans every recording instead.
struct RecordingsOfNoCall {
    static let limit = 10_000
    /// nil once there were too many to keep.
    private(set) var candidates: Set<ExactKey>? = []

    mutating func note(_ chunk: ComplianceFold) {
        guard var kept = candidates else { return }
        for (recordingID, recording) in chunk.recordings {
            if let callID = recording.callID, chunk.calls[ExactKey(callID)] != nil {
                kept.remove(recordingID)
            } else {
                kept.insert(recordingID)
            }
        }
        candidates = kept.count > Self.limit ? nil : kept
    }
}

/// A chunk's facts written out on a thread of its own while the fold goes on
/// with the next chunk. Written out on the fold's thread, each chunk stalled
/// the fold for PostgreSQL's COPY (about 0.6 s per 250,000 events) while the
/// other core was mostly idle (BENCHMARKS.md, issue 21's eleventh pass).
///
/// The fold still uses the connection to load back facts of older chunks:
/// the two take turns a statement at a time, the fold's first (`Turns`). A
/// fact of this chunk is taken from `chunk` in memory, never from its
/// half-written rows, and a fact the next chunk takes from it is upserted when
/// that chunk is written, which is always after this one is.
final class ChunkWrite: Sendable {
    /// The chunk's facts as folded, read by the fold while they are written.
    let chunk: ComplianceFold
    let turns: Turns<PostgresConnection>
    private let work: BackgroundWork<Void, any Error>

    init(_ chunk: ComplianceFold, reloaded: ReloadedKeys, connection: PostgresConnection) {
        let turns = Turns(connection)
        self.chunk = chunk
        self.turns = turns
        work = BackgroundWork(name: "rebuild-chunk") { try Self.write(chunk, reloaded: reloaded, turns: turns) }
    }

    var isDone: Bool { work.isDone }

    /// Waits until the chunk is written; rethrows what writing it threw.
    func wait() throws { try work.value() }

    /// New facts by COPY, a statement a slice; facts an earlier chunk wrote out, by upsert.
    private static func write(_ chunk: ComplianceFold, reloaded: ReloadedKeys, turns: Turns<PostgresConnection>) throws {
        try FactRowStream(chunk, skipping: reloaded).copy { statement, rows in
            try turns.background { try $0.copyIn(statement, payload: rows) }
        }
        let calls = chunk.calls.filter { reloaded.calls.contains($0.key) }
        try turns.background { try FactTable.calls(on: $0).save(calls) }
        let recordings = chunk.recordings.filter { reloaded.recordings.contains($0.key) }
        try turns.background { try FactTable.recordings(on: $0).saveWithCalls(recordings) }
        let holds = chunk.holds.filter { reloaded.holds.contains($0.key) }
        try turns.background { try FactTable.holds(on: $0).save(holds) }
        let pairs = chunk.subjectCalls.filter { reloaded.calls.contains($0.callID.exactKey) }
        try turns.background { try SubjectCallIndex(connection: $0).add(pairs) }
    }
}

/// A page's verdicts, encoded for COPY.
struct JudgedPage: Sendable {
    var findings: CopyTextEncoder
    var deadlines: CopyTextEncoder

    init(_ verdicts: ComplianceVerdicts, now: Timestamp) {
        findings = FindingsTable.rows(filling: verdicts.findings)
        deadlines = ComplianceRebuild.deadlineRows(verdicts, now: now)
    }
}

/// Pages judged on other threads, at most `depth` at once; their verdicts are
/// written in the order the pages were submitted: the oldest before another
/// page starts once `depth` are being judged (and all of them at `drain`).
///
/// Judging (parsing the facts back, every rule, the findings' rows) costs far
/// more than reading a page and writing its verdicts: with one page at a
/// time, one core judged while the reader waited on it and the other core
/// idled. Several at once keep both cores busy while this thread waits.
struct VerdictPipeline {
    let connection: PostgresConnection
    let depth: Int
    private var judging = OrderedWork<JudgedPage>()

    init(connection: PostgresConnection, depth: Int) {
        precondition(depth > 0, "at least one page is judged at a time")
        self.connection = connection
        self.depth = depth
    }

    mutating func submit(_ judge: @escaping @Sendable () throws -> JudgedPage) throws {
        while judging.count >= depth { try write(try judging.takeOldest()!) }
        judging.start(name: "rebuild-judge", judge)
    }

    /// Waits for every page being judged and writes them, in order.
    mutating func drain() throws {
        while let page = try judging.takeOldest() { try write(page) }
    }

    func write(_ page: JudgedPage) throws {
        try FindingsTable(connection: connection).fill(with: page.findings)
        guard !page.deadlines.bytes.isEmpty else { return }
        try connection.copyIn(ComplianceRebuild.deadlineCopy, payload: page.deadlines.bytes)
    }
}
