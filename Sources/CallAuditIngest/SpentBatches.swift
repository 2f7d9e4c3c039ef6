import CallAuditDomain
import CallAuditStore

/// What ingest's stages are through with, waiting for the polling thread to
/// free it (`IngestLoop.dropSpentBatches`): that thread allocated it, and glibc
/// returns a chunk to the arena it came from, so a free on another thread
/// takes the polling thread's arena lock on cold cache lines (BENCHMARKS.md,
/// issue 21's seventh pass). The stages hand their batches over by moving
/// them, so the reference kept here is the last one.
struct SpentBatches: Sendable {
    /// Batches committed, or dropped.
    private(set) var batches: [PendingBatch] = []
    /// What sealing took out of batches it sealed in place.
    private(set) var unsealed: [Unsealed] = []

    mutating func add(_ batch: consuming PendingBatch) { batches.append(batch) }

    mutating func add(_ parts: consuming Unsealed) { unsealed.append(parts) }

    var isEmpty: Bool { batches.isEmpty && unsealed.isEmpty }
}

/// A batch's personal data in the clear, as sealing replaced it: its events'
/// bytes (`DecodedEvent.Cleartext`) and its dead letters as read.
struct Unsealed: Sendable {
    var events: [DecodedEvent.Cleartext] = []
    var deadLetters: [DeadLetter] = []
}
