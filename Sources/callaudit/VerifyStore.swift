import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditIntegrity
import CallAuditSigning
import CallAuditStore
import Foundation

struct VerifyStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-store",
        abstract: "Check the whole event store against its seals; exits non-zero at the first break, naming it, and naming every event whose columns disagree with its bytes.",
        discussion: """
            Recomputes every event's content hash from its bytes, checks every seal's signature against the public \
            keys (--keys, a keys.json from GET /v1/keys; else the key folder's), that it signs a seal, its leaves and \
            Merkle root, every link of the chain, and each sealed range's events against the leaves it sealed: an \
            edited, deleted, inserted or moved event is named by its position, a forged seal or broken link by its \
            number. Every event's stream, type, source, event_id and event_time are derived again from its bytes, as \
            ingest derived them, and each event whose stored columns differ is named by its position, as is one whose \
            transaction id no committed transaction can have. Events after the newest seal are checked against their \
            content hashes and columns only.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var keyOptions: KeyOptions
    @Option(help: "A keys.json (GET /v1/keys) to check signatures with, instead of the key folder's.") var keys: String?
    @Option(help: "Start at this seal (its predecessor anchors the chain): an incremental check.") var fromSeal: Int64 = 1

    func validate() throws {
        guard fromSeal >= 1 else { throw ValidationError("--from-seal must be at least 1") }
    }

    func run() throws {
        let connection = try database.connect()
        // Before a restored store's clock is moved on, the order seals were made in is not the order
        // this cluster reads: every answer would be a false alarm.
        if let top = try LogClock.behind(on: connection) {
            print("NOT CHECKED: \(LogClock.behindMessage(top))")
            throw ExitCode(2)
        }
        let publicKeys = try publishedKeys(keys, keyOptions)
        let total = try EventStore(connection: connection).eventCount()
        let progress = Progress("verify-store", total: total, unit: "events")
        let result = try StoreVerifier(connection: connection, keys: publicKeys, reader: try database.connect()).verify(fromSeal: fromSeal) { progress.update($0) }
        progress.finish(result.eventsChecked)
        print("seals checked: \(result.sealsChecked)\(result.lastSeal.map { " (through seal \($0))" } ?? "")")
        print("events checked: \(result.eventsChecked), of which \(result.unsealedEvents) not yet sealed")
        for mismatch in result.mismatches { print("MISMATCH at \(mismatch)") }
        if result.mismatchCount > result.mismatches.count {
            print("… and \(result.mismatchCount - result.mismatches.count) more events whose columns disagree with their bytes")
        }
        if let problem = result.firstBreak { print("BROKEN: \(problem)") }
        guard result.intact else { throw ExitCode(1) }
        print("intact: every event matches its hash and its columns, every seal its signature, leaves and predecessor")
    }

}

/// The public keys to check signatures with: a keys.json given, else the key folder's.
func publishedKeys(_ keys: String?, _ keyOptions: KeyOptions) throws -> [PublicKeyRecord] {
    if let keys {
        return try PublicKeyRecord.parseList(Array(try Data(contentsOf: URL(fileURLWithPath: keys))))
    }
    let file = keyOptions.directory.appendingPathComponent("keys.json")
    guard let data = try? Data(contentsOf: file) else {
        throw ValidationError("no public keys: give --keys keys.json (from GET /v1/keys) or --key-dir with a keys.json")
    }
    return try PublicKeyRecord.parseList(Array(data))
}
