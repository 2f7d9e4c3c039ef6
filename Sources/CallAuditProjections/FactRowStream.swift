import CallAuditRuntime
import CallAuditStore

/// A chunk's fact tables (`ComplianceRebuild.encodeFactRows`), encoded on a
/// thread of their own and handed over a slice at a time, so that PostgreSQL
/// parses one slice while the next is encoded. Written out as one payload per
/// table, a chunk stalled the fold for the encoding and then for the COPY,
/// one after the other, while the other core idled (`ops/thread-timeline`).
struct FactRowStream {
    private enum Piece: Sendable {
        case tableStart(String)
        case rows([UInt8])
        case tableEnd
    }

    /// About what PostgreSQL parses while the next slice is encoded; small
    /// enough that the stream holds a few megabytes, not a chunk's tables.
    static let sliceBytes = 1 << 20

    private let pieces = BoundedQueue<Piece>(depth: 4)
    /// The encoding thread; its result is how many slices it made.
    private let encoding: BackgroundWork<Int, Never>

    /// Starts encoding `fold`'s fact tables but those `skipping`, handed over every `sliceBytes` or so.
    init(_ fold: ComplianceFold, skipping: ReloadedKeys = ReloadedKeys(), sliceBytes: Int = Self.sliceBytes) {
        let pieces = pieces
        encoding = BackgroundWork(name: "rebuild-rows") {
            var current: String?
            var slices = 0
            // `put` is false once the reader closed the queue: the encoding stops there.
            ComplianceRebuild.encodeFactRows(fold, skipping: skipping, sliceBytes: sliceBytes) { table, rows, tableEnds in
                slices += 1
                if current != table, !pieces.put(.tableStart(table)) { return false }
                current = tableEnds ? nil : table
                if !rows.bytes.isEmpty, !pieces.put(.rows(rows.bytes)) { return false }
                return !tableEnds || pieces.put(.tableEnd)
            }
            pieces.finish()
            return slices
        }
    }

    /// COPYs each slice as it comes, in the order encoded, one statement a
    /// slice. Returns once the encoding has ended too: a failed COPY closes
    /// the queue, and the encoding stops at its next slice instead of
    /// finishing the chunk.
    func copy(into connection: PostgresConnection) throws {
        try copy { statement, rows in try connection.copyIn(statement, payload: rows) }
    }

    /// As `copy(into:)`, giving each slice's COPY statement and rows to
    /// `send`: a statement a slice lets another thread use the connection
    /// between slices (`ComplianceRebuild.ChunkWrite`).
    func copy(_ send: (_ statement: String, _ rows: [UInt8]) throws -> Void) throws {
        defer {
            pieces.close()
            _ = encoding.value()
        }
        while let piece = try pieces.take() {
            guard case .tableStart(let table) = piece else { throw OutOfOrder() }
            slices: while true {
                switch try pieces.take() {
                case .rows(let bytes): try send("COPY \(table) FROM STDIN", bytes)
                case .tableEnd: break slices
                case .tableStart, nil: throw OutOfOrder()
                }
            }
        }
    }

    /// How many slices the encoding made; nil while it runs (it has always
    /// ended once `copy` returns).
    var slicesEncoded: Int? { encoding.isDone ? encoding.value() : nil }

    /// The stream broke its order (a table's slices not between its start and
    /// its end): a defect, refused rather than taken for a table's or the stream's end.
    struct OutOfOrder: Error, CustomStringConvertible {
        var description: String { "the chunk's fact rows came out of order" }
    }
}
