import ArgumentParser
import CallAuditConsole
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
        let publicKeys = try publishedKeys()
        let total = Int(try connection.query("SELECT count(*) FROM events").scalar ?? "0") ?? 0
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

    private func publishedKeys() throws -> [PublicKeyRecord] {
        if let keys {
            return try PublicKeyRecord.parseList(Array(try Data(contentsOf: URL(fileURLWithPath: keys))))
        }
        let file = keyOptions.directory.appendingPathComponent("keys.json")
        guard let data = try? Data(contentsOf: file) else {
            throw ValidationError("no public keys: give --keys keys.json (from GET /v1/keys) or --key-dir with a keys.json")
        }
        return try PublicKeyRecord.parseList(Array(data))
    }
}

struct Seals: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The signed seals over the event log.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest seals: number, range, events, root, time, key.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "How many.") var limit = 20

        func run() throws {
            let store = SealStore(connection: try database.connect())
            let newest = try store.latest()?.sealNo ?? 0
            for seal in try store.list(after: max(0, newest - Int64(limit)), limit: limit) {
                print(
                    "\(seal.sealNo)\t\(seal.after.position)…\(seal.through.position)\t\(seal.eventCount) events\troot \(seal.merkleRoot.hexString.prefix(16))…"
                        + "\t\(seal.sealedAt.rfc3339)\tkey \(seal.keyID)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One seal as JSON: its signed body, signature and hash (the newest without a number).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The seal's number.") var number: Int64?

        func run() throws {
            let store = SealStore(connection: try database.connect())
            guard let seal = try number.map({ try store.seal($0) }) ?? store.latest() else {
                throw ValidationError(number.map { "no seal \($0)" } ?? "no seal yet")
            }
            print(String(decoding: seal.json.canonicalBytes, as: UTF8.self))
        }
    }
}

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Republishes that reused a stored event's (source, id) with other content: the evidence, newest first.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "How many.") var limit = 50

    func run() throws {
        let rows = try database.connect().query(
            """
            SELECT id, recorded_at::text, source, event_id, original_position, encode(original_hash, 'hex'), encode(conflicting_hash, 'hex'),
                   coalesce(kafka_topic || '[' || kafka_partition || ']@' || kafka_offset, '-')
            FROM event_conflicts ORDER BY id DESC LIMIT $1
            """, [.int(Int64(limit))])
        guard !rows.rows.isEmpty else {
            print("no conflicting republishes")
            return
        }
        for row in rows {
            print("\(row[0]!)\t\(row[1]!)\t\(row[2]!) \(row[3]!)\toriginal at position \(row[4]!) (\(row[5]!.prefix(16))…)\tconflicting \(row[6]!.prefix(16))…\tfrom \(row[7]!)")
        }
    }
}
