import CallAuditDomain
import CallAuditStore

/// Re-validates dead letters against the current contract and stores those that now pass.
package struct DeadLetterReplayer {
    package struct Outcome: Sendable {
        package var replayed = 0
        package var stillRejected: [(id: Int64, rejection: Rejection)] = []
    }

    let store: EventStore
    let deadLetters: DeadLetterStore
    let decoder: EventDecoder

    package init(connection: PostgresConnection, decoder: EventDecoder = EventDecoder()) {
        self.store = EventStore(connection: connection)
        self.deadLetters = DeadLetterStore(connection: connection)
        self.decoder = decoder
    }

    package func replay(_ letters: [StoredDeadLetter]) throws -> Outcome {
        var outcome = Outcome()
        for letter in letters where letter.status == "open" {
            switch decoder.decode(letter.message) {
            case .success(let event):
                _ = try store.storeReplayed(IncomingEvent(event: event, origin: letter.origin), deadLetterID: letter.id)
                outcome.replayed += 1
            case .failure(let rejection):
                try deadLetters.recordReplayFailure(id: letter.id, rejection: rejection)
                outcome.stillRejected.append((letter.id, rejection))
            }
        }
        return outcome
    }
}
