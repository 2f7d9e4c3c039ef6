import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditIngest
import CallAuditQueries
import CallAuditStore

struct DeadLetters: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadletters",
        abstract: "List, inspect and replay messages that were not acceptable events.",
        subcommands: [List.self, Show.self, Replay.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters (no payloads).")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "open or replayed.") var status: String?
        @Option(help: "Only this reason (not_json, not_cloudevent, unknown_type, schema_violation, oversize, bad_time, store_rejected).")
        var reason: String?
        @Option(help: "At most this many rows.") var limit = 50
        @Option(help: "Start after this id.") var after: Int64 = 0

        func run() throws {
            let letters = try ReadSide(connection: try database.connect()).deadLetters(status: status, reason: reason, limit: limit, afterID: after)
            print(pad("id", 8) + pad("status", 10) + pad("reason", 18) + pad("topic[partition]@offset", 28) + "detail")
            for letter in letters {
                print(pad(String(letter.id), 8) + pad(letter.status, 10) + pad(letter.reason, 18)
                    + pad("\(letter.origin.topic)[\(letter.origin.partition)]@\(letter.origin.offset)", 28) + letter.detail)
            }
            if letters.count == limit { print("… more after id \(letters.last!.id): --after \(letters.last!.id)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one dead letter verbatim, headers and value included (the payload may hold personal data).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @Argument(help: "The dead letter's id.") var id: Int64

        func run() throws {
            let connection = try database.connect()
            guard let stored = try ReadSide(connection: connection).deadLetter(id: id) else {
                throw ValidationError("no dead letter with id \(id)")
            }
            guard let letter = stored.sealed == nil ? stored : try keys.vault(on: connection).openDeadLetter(stored) else {
                print("id:        \(stored.id)")
                print("reason:    \(stored.reason): \(stored.detail)")
                print("erased:    its payload named a person who was erased; it can no longer be read")
                return
            }
            print("id:        \(letter.id)")
            print("status:    \(letter.status)\(letter.replayedPosition.map { " (stored at position \($0))" } ?? "")")
            print("origin:    \(letter.origin.topic)[\(letter.origin.partition)] offset \(letter.origin.offset)")
            print("received:  \(letter.receivedAt)")
            print("reason:    \(letter.reason): \(letter.detail)")
            if let error = letter.lastReplayError { print("last replay: \(error)") }
            print("key:       \(letter.key.map(printable) ?? "(none)")")
            for header in letter.headers { print("header:    \(header.key)=\(header.value.map(printable) ?? "(null)")") }
            print("value (\(letter.value?.count ?? 0) bytes):")
            print(letter.value.map(printable) ?? "(null)")
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-validate open dead letters against the current contract and store those that now pass.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var decoding: DecodingOptions
        @OptionGroup var keys: KeyOptions
        @Argument(help: "Dead letter ids; none replays every open one (filtered by --reason).") var ids: [Int64] = []
        @Option(help: "Only dead letters with this reason.") var reason: String?

        func run() throws {
            let connection = try database.connect()
            let readSide = ReadSide(connection: connection)
            var letters: [StoredDeadLetter] = []
            if ids.isEmpty {
                var after: Int64 = 0
                while case let page = try readSide.deadLetters(status: "open", reason: reason, limit: 1_000, afterID: after), !page.isEmpty {
                    letters += page
                    after = page.last!.id
                }
            } else {
                for id in ids {
                    guard let letter = try readSide.deadLetter(id: id) else { throw ValidationError("no dead letter with id \(id)") }
                    letters.append(letter)
                }
            }
            // The operator's limits, the same ones `serve` holds messages to.
            let decoder = EventDecoder(limits: try decoding.limits())
            // Replayed events are sealed like ingested ones, so the KEK is needed either way.
            let vault = try keys.vault(on: connection)
            let progress = Progress("replay", total: letters.count, unit: "dead letters")
            let outcome = try DeadLetterReplayer(connection: connection, decoder: decoder, vault: vault).replay(letters) { progress.update($0) }
            progress.finish()
            print("replayed \(outcome.replayed) of \(letters.count); \(outcome.stillRejected.count) still rejected; \(outcome.erased.count) erased; \(outcome.conflicts.count) conflicting with a stored event")
            for (id, position) in outcome.conflicts.prefix(20) { print("  \(id): conflicts with the event at position \(position) (see `callaudit conflicts`)") }
            for (id, rejection) in outcome.stillRejected.prefix(20) { print("  \(id): \(rejection)") }
        }
    }
}

/// Text as is when it is printable UTF-8, else hex.
private func printable(_ bytes: [UInt8]) -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    return "0x" + bytes.hexString
}
