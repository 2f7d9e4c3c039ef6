import CallAuditStore

extension ReadSide {
    /// Dead letters in id order, after `afterID`; no filter when status or reason is nil.
    package func deadLetters(status: String? = nil, reason: String? = nil, limit: Int = 100, afterID: Int64 = 0) throws -> [StoredDeadLetter] {
        try DeadLetterStore(connection: connection).list(status: status, reason: reason, limit: limit, afterID: afterID)
    }

    package func deadLetter(id: Int64) throws -> StoredDeadLetter? {
        try DeadLetterStore(connection: connection).find(id: id)
    }
}
