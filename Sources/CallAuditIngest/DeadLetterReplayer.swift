import CallAuditDomain
import CallAuditStore
import CallAuditVault

/// Re-validates dead letters against the current contract and stores those that now pass.
///
/// Sealed dead letters are opened with the vault, and a replayed event is
/// sealed like any other before it is stored. A dead letter whose person was
/// erased cannot be opened: it stays, unreadable, and is reported as erased.
package struct DeadLetterReplayer {
    package struct Outcome: Sendable {
        package var replayed = 0
        package var stillRejected: [(id: Int64, rejection: Rejection)] = []
        package var erased: [Int64] = []
        /// Letters whose event reuses a stored event's id with other content: kept as conflicts, left open.
        package var conflicts: [(id: Int64, originalPosition: Int64)] = []
    }

    let store: EventStore
    let deadLetters: DeadLetterStore
    let decoder: EventDecoder
    let vault: SubjectVault?

    package init(connection: PostgresConnection, decoder: EventDecoder = EventDecoder(), vault: SubjectVault?) {
        self.store = EventStore(connection: connection)
        self.deadLetters = DeadLetterStore(connection: connection)
        self.decoder = decoder
        self.vault = vault
    }

    /// `progress` is told how many letters have been handled so far.
    package func replay(_ letters: [StoredDeadLetter], progress: ((Int) -> Void)? = nil) throws -> Outcome {
        var outcome = Outcome()
        for (index, sealed) in letters.enumerated() where sealed.status == "open" {
            defer { progress?(index + 1) }
            guard let letter = try open(sealed) else {
                outcome.erased.append(sealed.id)
                continue
            }
            switch decoder.decode(letter.message) {
            case .success(let event):
                var incoming = [IncomingEvent(event: event, origin: letter.origin)]
                if let vault { incoming = try vault.seal(incoming, on: store.connection) }
                switch try store.storeReplayed(incoming[0], deadLetterID: letter.id) {
                case .stored: outcome.replayed += 1
                case .conflict(let position): outcome.conflicts.append((letter.id, position))
                }
            case .failure(let rejection):
                try deadLetters.recordReplayFailure(id: letter.id, rejection: rejection)
                outcome.stillRejected.append((letter.id, rejection))
            }
        }
        return outcome
    }

    private func open(_ letter: StoredDeadLetter) throws -> StoredDeadLetter? {
        guard letter.sealed != nil else { return letter }
        guard let vault else { throw VaultError.configuration("dead letter \(letter.id) is sealed: give the KEK (--kek-file or CALLAUDIT_KEK) to open it") }
        return try vault.openDeadLetter(letter)
    }
}
