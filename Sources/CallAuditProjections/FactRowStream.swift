import CallAuditRuntime
import CallAuditStore
import Foundation

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

    /// Starts encoding `fold`'s fact tables, handed over every `sliceBytes` or so.
    init(_ fold: ComplianceFold, sliceBytes: Int = Self.sliceBytes) {
        let pieces = pieces
        let thread = Thread {
            nameCurrentThread("rebuild-rows")
            var current: String?
            ComplianceRebuild.encodeFactRows(fold, sliceBytes: sliceBytes) { table, rows, tableEnds in
                if current != table { _ = pieces.put(.tableStart(table)) }
                current = tableEnds ? nil : table
                if !rows.bytes.isEmpty { _ = pieces.put(.rows(rows.bytes)) }
                if tableEnds { _ = pieces.put(.tableEnd) }
            }
            pieces.finish()
        }
        thread.name = "rebuild-rows"
        thread.start()
    }

    /// COPYs each table as its slices come, in the order encoded. A failed
    /// COPY stops the encoding (its thread's next `put` returns false).
    func copy(into connection: PostgresConnection) throws {
        defer { pieces.close() }
        while case .tableStart(let table)? = try pieces.take() {
            try connection.copyIn("COPY \(table) FROM STDIN") { () throws -> [UInt8]? in
                // `.tableEnd` ends the table's slices.
                guard case .rows(let bytes)? = try pieces.take() else { return nil }
                return bytes
            }
        }
    }
}
