import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditIntegrity
import CallAuditSigning
import CallAuditStore
import Foundation

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
