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
private func publishedKeys(_ keys: String?, _ keyOptions: KeyOptions) throws -> [PublicKeyRecord] {
    if let keys {
        return try PublicKeyRecord.parseList(Array(try Data(contentsOf: URL(fileURLWithPath: keys))))
    }
    let file = keyOptions.directory.appendingPathComponent("keys.json")
    guard let data = try? Data(contentsOf: file) else {
        throw ValidationError("no public keys: give --keys keys.json (from GET /v1/keys) or --key-dir with a keys.json")
    }
    return try PublicKeyRecord.parseList(Array(data))
}

struct Seals: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The signed seals over the event log.", subcommands: [List.self, Show.self, Head.self])

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

extension Seals {
    /// The chain's head, to keep outside the database, and the check of a database against a head kept earlier.
    struct Head: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the seal chain's signed head, to keep outside the database; or check a database against a head kept earlier.",
            discussion: """
                Without --check: the newest seal as JSON (as GET /v1/seals/{n} gives it: its signed body, signature and \
                hash), one line. Keep that output where whoever could rewrite the database cannot (a ticket, an \
                auditor's mail, object storage with retention), with every backup: taken just before the dump, it is a seal the dump holds.

                With --check FILE (this command's output, or GET /v1/seals/{n}, kept earlier): the kept seal's \
                signature against the published keys, and that the database holds that seal byte for byte. Exits 0 \
                when it does (verify-store then checks everything up to the head), 1 when the seal differs or is \
                missing: the database is not the one whose head was kept, or lost seals since.
                """)
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keyOptions: KeyOptions
        @Option(help: "A keys.json (GET /v1/keys) to check the kept head's signature with, instead of the key folder's.") var keys: String?
        @Option(help: "A head kept earlier: check that this database holds it unchanged.") var check: String?

        func run() throws {
            let store = SealStore(connection: try database.connect())
            guard let check else {
                guard let head = try store.latest() else { throw ValidationError("no seal yet") }
                print(String(decoding: head.json.canonicalBytes, as: UTF8.self))
                return
            }
            let kept = try KeptHead(reading: Array(try Data(contentsOf: URL(fileURLWithPath: check))))
            let (finding, keyID) = try kept.check(in: store, keys: try publishedKeys(keys, keyOptions))
            switch finding {
            case .held(let after):
                print("seal \(kept.sealNo) (sha256 \(kept.sha256), signed by key \(keyID)) is in the database unchanged; "
                    + "\(after) seal(s) after it. verify-store checks the chain and every event up to the head.")
            case .missing(let newest):
                print("MISSING: the kept head is seal \(kept.sealNo) (signed by key \(keyID)), but the database's newest seal is \(newest): "
                    + "it lost the seals (and the events they covered) made after its backup was taken, or it is another store")
                throw ExitCode(1)
            case .different(let stored):
                print("DIFFERENT: the database's seal \(kept.sealNo) has sha256 \(stored), the kept one \(kept.sha256): "
                    + "this database's chain is not the kept one's (another store; seals rewritten; or a backup older than the head, "
                    + "restored and then sealing new events under numbers the kept chain had already used)")
                throw ExitCode(1)
            }
        }
    }
}

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Republishes that reused a stored event's (source, id) with other content: the evidence, newest first.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "How many.") var limit = 50

    func run() throws {
        let conflicts = try EventStore(connection: try database.connect()).conflicts(limit: limit)
        guard !conflicts.isEmpty else {
            print("no conflicting republishes")
            return
        }
        for conflict in conflicts {
            let origin = conflict.origin.map { "\($0.topic)[\($0.partition)]@\($0.offset)" } ?? "-"
            print(
                "\(conflict.id)\t\(conflict.recordedAt)\t\(conflict.source) \(conflict.eventID)\toriginal at position \(conflict.originalPosition) "
                    + "(\(conflict.originalSHA256.prefix(16))…)\tconflicting \(conflict.conflictingSHA256.prefix(16))…\tfrom \(origin)")
        }
    }
}
