import ArgumentParser
import CallAuditDomain
import CallAuditIntegrity
import CallAuditStore
import CallAuditSigning
import CallAuditVault
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Ed25519 keys reports are signed with, and the key-encryption keys personal data is sealed under.", subcommands: [List.self, Rotate.self, Publish.self, RotateKEK.self, RetireKEK.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every key in the folder: id, status, dates.")
        @OptionGroup var keys: KeyOptions

        func run() throws {
            for key in try KeyRing.openExisting(keys.directory).published {
                print(pad(key.keyID, 18) + pad(key.status.rawValue, 9) + "created \(key.createdAt.rfc3339)" + (key.retiredAt.map { ", retired \($0.rfc3339)" } ?? ""))
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new signing key; the old one is retired but stays published, so what it signed still verifies.")
        @OptionGroup var keys: KeyOptions

        func run() throws {
            let old = try KeyRing.openExisting(keys.directory)
            let new = try old.rotate()
            print("current key \(new.current.keyID); retired \(old.current.keyID)")
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public", abstract: "Print the public keys as served at /v1/keys (what `verify --keys` reads).")
        @OptionGroup var keys: KeyOptions

        func run() throws {
            print(PublicKeyRecord.list(try KeyRing.openExisting(keys.directory).published).canonicalString)
        }
    }
}

extension Keys {
    struct RotateKEK: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-kek",
            abstract: "Make a new key-encryption key current and re-wrap every data key with it, while the service runs.",
            discussion: """
                The new key is added to the KEK file, which every instance reads (mount the same file everywhere); \
                running instances pick it up on their next batch. The old key stays in the file so anything wrapped \
                with it meanwhile still opens: `keys retire-kek OLD` removes it once nothing uses it. See ops/runbooks/rotate-keys.md.
                """)
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions

        func run() throws {
            guard case .file(let file) = keys.keyEncryption else {
                throw ValidationError("CALLAUDIT_KEK holds a single key and cannot be rotated: move it into a KEK file (--kek-file) first")
            }
            let old = try keys.keyEncryption.load(create: false)
            let new = try old.addingNewCurrent()
            try new.write(to: file)
            let connection = try database.connect()
            try KEKAcknowledgements.recordCurrent(new.currentID, on: connection)
            let rewrapped = try SubjectVault.open(keys: new, on: connection).rewrapAll(on: connection)
            print("KEK \(new.currentID) is current; re-wrapped \(rewrapped) keys. Retire \(old.currentID) with: callaudit keys retire-kek \(old.currentID)")
        }
    }

    struct RetireKEK: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire-kek",
            abstract: "Re-wrap anything still under an old key-encryption key, then remove it from the KEK file.",
            discussion: """
                Refused while a running instance (on any host) still acknowledges the old key as the one it wraps with: \
                give it the current KEK file first. Once retired, the database refuses any key wrapped with the old KEK. \
                See ops/runbooks/rotate-keys.md.
                """)
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @Argument(help: "The KEK id to retire (keys rotate-kek printed it).") var id: String

        func run() throws {
            guard case .file(let file) = keys.keyEncryption else { throw ValidationError("retiring a KEK needs the KEK file (--kek-file)") }
            let current = try keys.keyEncryption.load(create: false)
            guard id != current.currentID else { throw ValidationError("\(id) is the current KEK: rotate first") }
            guard current.ids.contains(id) else { throw ValidationError("\(id) is not in \(file.path)") }
            let connection = try database.connect()
            let vault = try SubjectVault.open(keys: current, on: connection)
            let rewrapped = try vault.rewrapAll(on: connection)
            // Refused while any live instance (on any host) still wraps with it, or any key is still wrapped with
            // it; checked and recorded in one transaction, after which the database refuses keys wrapped with it.
            // Instances re-read their KEK file every few seconds: give those that already have the new file time to say so.
            let patience = ContinuousClock.now + KEKAcknowledgements.refreshInterval * 3
            while true {
                do {
                    try KEKAcknowledgements.retire(id, on: connection)
                    break
                } catch let refusal as KEKAcknowledgements.RetirementRefusal {
                    guard case .inUse = refusal, ContinuousClock.now < patience else { throw ValidationError("\(refusal)") }
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            try current.removing(id).write(to: file)
            print("re-wrapped \(rewrapped) more; KEK \(id) removed from \(file.path)")
        }
    }
}
