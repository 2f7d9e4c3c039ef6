import CallAuditDomain
import CallAuditRuntime
import CallAuditSigning
import CallAuditStore
import Crypto
import Foundation
import Synchronization

/// What `verify-store` found.
package struct StoreVerification: Sendable {
    /// The first break, with where it is: the verifier stops there.
    package struct Break: Sendable, Equatable, CustomStringConvertible {
        package enum Kind: String, Sendable {
            case edited, deleted, inserted, reordered
            case forgedSeal = "forged_seal"
            case brokenChain = "broken_chain"
            case missingSeal = "missing_seal"
        }

        package var kind: Kind
        package var sealNo: Int64?
        package var position: Int64?
        package var detail: String

        package var description: String {
            "\(kind.rawValue)\(sealNo.map { " in seal \($0)" } ?? "")\(position.map { " at position \($0)" } ?? ""): \(detail)"
        }
    }

    /// An event whose row says something its hashed bytes do not: a column
    /// readers use (stream, type, source, event_id, event_time) edited, or a
    /// transaction id that hides it. Found in every event checked, not only the first.
    package struct Mismatch: Sendable, Equatable, CustomStringConvertible {
        package var position: Int64
        /// The seal covering it; nil after the newest seal.
        package var sealNo: Int64?
        /// The columns that disagree, as the `events` table names them (`event`: its bytes give no columns at all).
        package var columns: [String]

        package var description: String {
            let place = "position \(position)\(sealNo.map { " in seal \($0)" } ?? " (not yet sealed)")"
            switch columns {
            case ["event"]: return "\(place): its hashed bytes are not an event, so they give none of its columns"
            case ["transaction_id"]:
                // Read apart from the seals: whether it was sealed shows as a break of its seal, if it was.
                return "position \(position): transaction_id names a transaction that had not committed when the event was read (it hides the event from projections and seals)"
            default:
                return "\(place): \(columns.joined(separator: ", ")) \(columns.count == 1 ? "differs" : "differ") from what the event's hashed bytes say"
            }
        }
    }

    /// How many mismatches are listed; the rest are counted.
    package static let listedMismatches = 10_000

    package var sealsChecked = 0
    package var eventsChecked = 0
    /// Events after the newest seal: their content hashes and columns were checked, nothing seals them yet.
    package var unsealedEvents = 0
    package var lastSeal: Int64?
    package var firstBreak: Break?
    /// Events whose columns disagree with their bytes, in the order checked (the first `listedMismatches`).
    package var mismatches: [Mismatch] = []
    package var mismatchCount = 0

    package var intact: Bool { firstBreak == nil && mismatchCount == 0 }

    mutating func note(_ mismatch: Mismatch) {
        mismatchCount += 1
        if mismatches.count < Self.listedMismatches { mismatches.append(mismatch) }
    }
}

/// Checks the store against its seals with nothing but the public keys:
/// every event's content hash recomputed from its bytes, every seal's
/// signature, kind, body, leaves and Merkle root, every link of the chain, and
/// the events of each sealed range against the leaves it sealed — so an
/// edited, deleted, inserted or moved event is named by its position.
///
/// Readers trust columns beside the bytes (stream, type, source, event_id,
/// event_time), which nothing hashes: each event's are derived again from its
/// bytes by ingest's own derivation (`EventColumns`) and any that differ are
/// named, for every event, sealed or not. So is an event whose transaction id
/// was moved past every committed transaction, which would hide it from
/// projections and seals.
package struct StoreVerifier {
    package let connection: PostgresConnection
    package let keys: [PublicKeyRecord]
    /// A second session for reading the next seal's events while this one's are hashed; nil reads in turn.
    private let reader: PostgresConnection?

    package init(connection: PostgresConnection, keys: [PublicKeyRecord], reader: PostgresConnection? = nil) {
        self.connection = connection
        self.keys = keys
        self.reader = reader
    }

    /// Verifies from seal `fromSeal` on (its predecessor is checked too, as the chain's anchor).
    package func verify(fromSeal: Int64 = 1, progress: ((Int) -> Void)? = nil) throws -> StoreVerification {
        var result = StoreVerification()
        for position in try uncommittedTransactionIDs() {
            result.note(.init(position: position, sealNo: nil, columns: ["transaction_id"]))
        }
        let store = SealStore(connection: connection)
        var previous: Seal? = nil
        if fromSeal > 1 {
            guard let anchor = try store.seal(fromSeal - 1) else {
                result.firstBreak = .init(kind: .missingSeal, sealNo: fromSeal - 1, detail: "seal \(fromSeal - 1) does not exist")
                return result
            }
            if let problem = signatureProblem(anchor) { result.firstBreak = problem; return result }
            previous = anchor
        }
        var next = fromSeal
        let ranges = RangeReader(connection: reader ?? connection, readAhead: reader != nil)
        while true {
            let page = try store.list(after: next - 1, limit: 20)
            guard !page.isEmpty else { break }
            for (index, seal) in page.enumerated() {
                guard seal.sealNo == next else {
                    result.firstBreak = .init(kind: .missingSeal, sealNo: next, detail: "the chain jumps from seal \(next - 1) to seal \(seal.sealNo)")
                    return result
                }
                let rows = try ranges.take(seal)
                if index + 1 < page.count { ranges.prefetch(page[index + 1]) }
                if let problem = try check(seal, rows: rows, after: previous, into: &result, progress: progress) {
                    result.firstBreak = problem
                    return result
                }
                result.sealsChecked += 1
                result.lastSeal = seal.sealNo
                previous = seal
                next += 1
            }
        }
        result.firstBreak = try checkUnsealed(after: previous?.through ?? .start, into: &result, progress: progress)
        return result
    }

    // MARK: One seal

    private func check(
        _ seal: Seal, rows: [EventRow], after previous: Seal?, into result: inout StoreVerification, progress: ((Int) -> Void)?
    ) throws -> StoreVerification.Break? {
        if let problem = signatureProblem(seal) { return problem }
        if let problem = bodyProblem(seal, after: previous) { return problem }
        var stored = Seal.decodeLeaves(seal.leaves)[...]
        for (row, checked) in zip(rows, RowCheck.all(rows)) {
            result.eventsChecked += 1
            if result.eventsChecked % 10_000 == 0 { progress?(result.eventsChecked) }
            guard row.storedHash == checked.hash else {
                return .init(kind: .edited, sealNo: seal.sealNo, position: row.position, detail: "the event's bytes no longer match its stored content hash")
            }
            if let problem = compare(position: row.position, hash: checked.hash, against: &stored, seal: seal) { return problem }
            if let columns = checked.columns { result.note(.init(position: row.position, sealNo: seal.sealNo, columns: columns)) }
        }
        if let missing = stored.first {
            return .init(kind: .deleted, sealNo: seal.sealNo, position: missing.position, detail: "an event sealed here is gone from the store")
        }
        return nil
    }

    /// The next stored leaf against the event found at `position`.
    private func compare(
        position: Int64, hash: [UInt8], against stored: inout ArraySlice<(position: Int64, hash: ArraySlice<UInt8>)>, seal: Seal
    ) -> StoreVerification.Break? {
        guard let expected = stored.first else {
            return .init(kind: .inserted, sealNo: seal.sealNo, position: position, detail: "an event the seal does not contain lies inside its range")
        }
        if expected.position == position {
            stored.removeFirst()
            if expected.hash.elementsEqual(hash) { return nil }
            if let moved = Seal.decodeLeaves(seal.leaves).first(where: { $0.hash.elementsEqual(hash) && $0.position != position }) {
                return .init(
                    kind: .reordered, sealNo: seal.sealNo, position: position,
                    detail: "this position holds the event sealed at position \(moved.position)")
            }
            return .init(kind: .edited, sealNo: seal.sealNo, position: position, detail: "the event differs from the one sealed at this position")
        }
        // The seal has this event further on: the ones before it are gone. It has not: this one was added.
        if stored.contains(where: { $0.position == position }) {
            return .init(kind: .deleted, sealNo: seal.sealNo, position: expected.position, detail: "an event sealed here is gone from the store")
        }
        return .init(kind: .inserted, sealNo: seal.sealNo, position: position, detail: "an event the seal does not contain lies inside its range")
    }

    /// Its signature, and that what was signed is a seal: the key signs reports and export manifests too.
    private func signatureProblem(_ seal: Seal) -> StoreVerification.Break? {
        do {
            _ = try DetachedSignature(keyID: seal.keyID, bytes: seal.signature).verify(seal.body, withAnyOf: keys)
        } catch {
            return .init(kind: .forgedSeal, sealNo: seal.sealNo, detail: "its signature does not verify: \(error)")
        }
        do {
            try DocumentKind.seal.check(try JSONParser.parse(seal.body))
            return nil
        } catch {
            return .init(kind: .forgedSeal, sealNo: seal.sealNo, detail: "what was signed is not a seal: \(error)")
        }
    }

    /// The signed body against the row, the leaves and the chain.
    private func bodyProblem(_ seal: Seal, after previous: Seal?) -> StoreVerification.Break? {
        guard (try? JSONParser.parse(seal.body)) != nil else {
            return .init(kind: .forgedSeal, sealNo: seal.sealNo, detail: "its body is not JSON")
        }
        // A body without a member every seal has, or with one of another type, disagrees with any row.
        guard let body = try? SealBody(decoding: seal.body), body.seal == seal.sealNo, body.after.cursor == seal.after,
            body.through.cursor == seal.through, body.events == seal.eventCount, body.merkleRoot == seal.merkleRoot.hexString
        else {
            return .init(kind: .forgedSeal, sealNo: seal.sealNo, detail: "its row disagrees with the body it signed")
        }
        guard body.leavesSHA256 == Array(SHA256.hash(data: seal.leaves)).hexString,
            Seal.merkleRoot(ofLeaves: seal.leaves) == seal.merkleRoot, seal.leaves.count == seal.eventCount * Seal.leafSize
        else {
            return .init(kind: .forgedSeal, sealNo: seal.sealNo, detail: "its leaves are not the ones it signed")
        }
        let link = body.previousSealSHA256
        guard link == previous?.hash.hexString, seal.after == (previous?.through ?? .start) else {
            return .init(
                kind: .brokenChain, sealNo: seal.sealNo,
                detail: "it does not name seal \(seal.sealNo - 1) as its predecessor, or does not start where it ended")
        }
        return nil
    }

    // MARK: Events

    /// Events after the newest seal: only their content hashes and columns can be checked.
    private func checkUnsealed(after cursor: LogCursor, into result: inout StoreVerification, progress: ((Int) -> Void)?) throws -> StoreVerification.Break? {
        var problem: StoreVerification.Break?
        var from = cursor
        while true {
            let rows = try EventRow.read(after: from, through: nil, limit: 20_000, on: connection)
            for (row, checked) in zip(rows, RowCheck.all(rows)) {
                result.unsealedEvents += 1
                result.eventsChecked += 1
                if result.eventsChecked % 10_000 == 0 { progress?(result.eventsChecked) }
                if problem == nil, row.storedHash != checked.hash {
                    problem = .init(kind: .edited, position: row.position, detail: "the (not yet sealed) event's bytes no longer match its stored content hash")
                }
                if let columns = checked.columns { result.note(.init(position: row.position, sealNo: nil, columns: columns)) }
            }
            guard rows.count == 20_000, let last = rows.last else { break }
            from = last.cursor
        }
        return problem
    }

    /// Events whose transaction id no committed transaction can have (`EventLog`).
    private func uncommittedTransactionIDs() throws -> [Int64] {
        try EventLog(connection: connection).positionsOfUncommittedTransactions(limit: StoreVerification.listedMismatches)
    }
}

/// One event as read for verification: where it is, its stored content hash
/// and bytes, and the columns stored beside them.
typealias EventRow = StoredEventRecord

extension StoredEventRecord {
    /// The columns ingest would have stored for these bytes (the same
    /// derivation, on an outline of the bytes: their attributes and `data`'s
    /// stream id), against the ones stored: the names of those that differ,
    /// `["event"]` if the bytes give none, nil if all agree.
    func disagreeingColumns() -> [String]? {
        guard let derived = EventColumns.derived(fromStored: bytes) else { return ["event"] }
        let differing = derived.differences(from: columns)
        return differing.isEmpty ? nil : differing
    }

    /// Up to `limit` events after `after` (through `through`, if given), in seal order (`EventLog.records`).
    static func read(after: LogCursor, through: LogCursor?, limit: Int, on connection: PostgresConnection) throws -> [EventRow] {
        try EventLog(connection: connection).records(after: after, through: through, limit: limit)
    }
}

/// What one event's bytes give: their SHA-256, and the columns that disagree with them (nil if none).
struct RowCheck: Sendable {
    var hash: [UInt8]
    var columns: [String]?

    init(_ row: EventRow) {
        hash = Array(SHA256.hash(data: row.bytes))
        columns = row.disagreeingColumns()
    }

    /// Every row's check, in order, worked out on every core: hashing and
    /// deriving columns are most of verify-store's work, and independent row
    /// by row; only comparing with the seal's leaves must go in order.
    static func all(_ rows: [EventRow]) -> [RowCheck] {
        // A few parts per core, taken in turn, so a thread the scheduler holds back delays only a small one.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let parts = cores < 2 ? 1 : max(1, min(4 * cores, rows.count / 500))
        guard parts > 1 else { return rows.map(RowCheck.init) }
        let done = Parts(count: parts)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            done.store(part, rows[rows.count * part / parts..<rows.count * (part + 1) / parts].map(RowCheck.init))
        }
        return done.joined
    }

    /// Each part's checks, stored by whichever thread made them.
    private final class Parts: Sendable {
        private let slots: Mutex<[[RowCheck]]>
        init(count: Int) { slots = Mutex(Array(repeating: [], count: count)) }
        func store(_ part: Int, _ checks: [RowCheck]) { slots.withLock { $0[part] = checks } }
        var joined: [RowCheck] { slots.withLock { $0.flatMap { $0 } } }
    }
}

/// Reads each seal's range of events; with read-ahead, the next range is read
/// on its own session while the caller hashes this one, so PostgreSQL and the
/// hashing overlap instead of taking turns.
private final class RangeReader {
    /// Used by one thread at a time: the read ahead while one is pending, the caller otherwise.
    private let session: PostgresConnection.Handle
    private let readAhead: Bool
    private var pending: (sealNo: Int64, work: BackgroundWork<[EventRow], any Error>)?

    init(connection: PostgresConnection, readAhead: Bool) {
        self.session = PostgresConnection.Handle(connection)
        self.readAhead = readAhead
    }

    func prefetch(_ seal: Seal) {
        guard readAhead, pending == nil else { return }
        let session = session
        pending = (seal.sealNo, BackgroundWork(name: "callaudit-verify-store-read-ahead") { try RangeReader.read(seal, on: session.connection) })
    }

    /// The seal's events: the read ahead if it was this seal's, else read now (after any other read ahead ends, its session being this one).
    func take(_ seal: Seal) throws -> [EventRow] {
        guard let pending else { return try Self.read(seal, on: session.connection) }
        self.pending = nil
        let ahead = Result { try pending.work.value() }
        guard pending.sealNo == seal.sealNo else { return try Self.read(seal, on: session.connection) }
        return try ahead.get()
    }

    private static func read(_ seal: Seal, on connection: PostgresConnection) throws -> [EventRow] {
        try EventRow.read(after: seal.after, through: seal.through, limit: seal.eventCount + 1, on: connection)
    }
}
