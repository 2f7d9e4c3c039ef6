import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditRequests
import CallAuditSigning
import CallAuditStore
import CallAuditVault
import Foundation

struct Requests: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Data-subject requests: open, track, export (access) and erase (erasure).",
        discussion: """
            Deadlines follow the policy: GDPR one calendar month from receipt, extendable once by two; CCPA 45 days, \
            extendable once by 45. Erasure requests received by the platform (subject.erasure_requested on Kafka) \
            are listed here too.
            """,
        subcommands: [Open.self, List.self, Show.self, Extend.self, Close.self, Export.self, Erase.self])

    /// What every request command needs: the database, the KEKs, the policy and who is acting.
    struct Desk: ParsableArguments {
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var policy: PolicyOptions
        @Option(help: "Who is acting, as recorded in the request's events (default: $USER).") var by: String?

        var actor: RequestActor {
            RequestActor(name: by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator", role: "dpo", channel: "cli")
        }

        func open() throws -> RequestDesk {
            let connection = try database.connect()
            return RequestDesk(connection: connection, vault: try keys.vault(on: connection), policy: try policy.load())
        }
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a request; prints its id alone on standard output.")

        @OptionGroup var desk: Desk
        @Option(help: "access or erasure.") var type: String
        @Option(help: "gdpr or ccpa.") var regime: String
        @Option(help: "Phone number, international form (+1 (415) 555-0100 is fine).") var phone: String?
        @Option(help: "E-mail address.") var email: String?
        @Option(help: "Customer id.") var customerId: String?
        @Option(help: "Employee id.") var employeeId: String?
        @Option(help: "How the person's identity was verified (the method, not their details).") var verifiedBy: String

        func run() throws {
            guard let kind = SubjectRequestFacts.Kind(rawValue: type) else { throw ValidationError("--type is access or erasure") }
            let identifiers = SubjectIdentifiers(phone: phone, email: email, customerID: customerId, employeeID: employeeId)
            let request = try asUsage { try desk.open().open(kind: kind, regime: regime, identifiers: identifiers, verifiedBy: verifiedBy, by: desk.actor) }
            print(request.id)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every request, newest first: state, deadline, overdue.")

        @OptionGroup var desk: Desk
        @Option(help: "Only this status: open, answered, rejected, withdrawn or erased.") var status: String?

        func run() throws {
            let filter = try status.map { text in
                guard let status = SubjectRequest.Status(rawValue: text) else { throw ValidationError("--status: one of \(SubjectRequest.Status.allCases.map(\.rawValue).joined(separator: ", "))") }
                return status
            }
            let desk = try desk.open()
            let now = Timestamp.now
            print(pad("request", 22) + pad("type", 9) + pad("regime", 7) + pad("status", 10) + pad("received", 29) + pad("deadline", 29) + "flags")
            for request in try desk.list(status: filter) {
                let deadline = request.deadline(policy: desk.policy)?.rfc3339 ?? "-"
                let flags = (request.extended ? " extended" : "") + (request.isOverdue(policy: desk.policy, now: now) ? " OVERDUE" : "")
                print(pad(request.id, 22) + pad(request.kind.rawValue, 9) + pad(request.regime, 7) + pad(request.status.rawValue, 10)
                    + pad(request.receivedAt.rfc3339, 29) + pad(deadline, 29) + flags)
            }
            // The list is the subject_requests projection: say so when it has not read the whole log.
            let behind = try desk.eventsNotYetListed()
            if behind > 0 {
                note("note: the list is read from the subject_requests projection, \(behind) event(s) behind the log; a running `callaudit serve` brings it up to date")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One request in full, as JSON: state, deadline, identifiers (until erased), exports, erasure and recording deletions.")

        @OptionGroup var desk: Desk
        @Argument(help: "The request id.") var id: String

        func run() throws {
            let desk = try desk.open()
            guard let request = try desk.request(id) else { throw ValidationError(RequestError.notFound(id).description) }
            print(try desk.view(request).prettyPrinted())
        }
    }

    struct Extend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Extend the deadline, once, before it passes (GDPR: by two months; CCPA: by 45 days).")

        @OptionGroup var desk: Desk
        @Argument(help: "The request id.") var id: String
        @Option(help: "Why (complexity, number of requests); the person must be told.") var reason: String

        func run() throws {
            let request = try asUsage { try desk.open().extend(id, reason: reason, by: desk.actor) }
            print("\(request.id): deadline now \(request.deadline(policy: try desk.policy.load())?.rfc3339 ?? "-")")
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a request: answered (default), rejected or withdrawn.")

        @OptionGroup var desk: Desk
        @Argument(help: "The request id.") var id: String
        @Option(help: "answered, rejected or withdrawn.") var outcome = "answered"

        func run() throws {
            guard let status = SubjectRequest.Status(rawValue: outcome) else { throw ValidationError("--outcome: answered, rejected or withdrawn") }
            let request = try asUsage { try desk.open().close(id, outcome: status, by: desk.actor) }
            print("\(request.id): \(request.status.rawValue) at \(request.closed!.at.rfc3339)")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the access export: a ZIP with export.json, CSVs, summary.html and a signed manifest.",
            discussion: "The file is recorded: erasing the person later deletes it, if it is still where it was written.")

        @OptionGroup var desk: Desk
        @Argument(help: "The request id.") var id: String
        @Option(help: "Where to write the ZIP.") var out: String

        func run() throws {
            let signingKey = try KeyRing.open(desk.keys.directory).current
            let desk = try desk.open()
            // Three steps: gather and sign, pack, write and record.
            let progress = Progress("export", total: 3, unit: "steps")
            let package = try asUsage { try desk.export(id, signingKey: signingKey, by: self.desk.actor) }
            progress.update(1)
            let url = URL(fileURLWithPath: out).standardizedFileURL
            let bytes = try package.zip()
            progress.update(2)
            guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(url.path)")
            }
            try SubjectVault.recordExport(path: url.path, requestID: id, refs: try desk.subjects(of: try desk.request(id)!), on: desk.connection)
            progress.finish(3)
            print("wrote \(url.path) (\(bytes.count) bytes, \(package.files.count) files, manifest signed by key \(package.signature.keyID))")
        }
    }

    struct Erase: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase the person of an erasure request: their key and index destroyed, dead letters shredded, export files deleted.",
            discussion: """
                Recordings under an active legal hold are listed as held back (GDPR Art. 17(3)(e)). The recording system \
                must delete the others by the deadline; `requests show` tracks it.
                """)

        @OptionGroup var desk: Desk
        @Argument(help: "The request id.") var id: String

        func run() throws {
            let report = try asUsage { try desk.open().erase(id, by: desk.actor) }
            print("\(id): erased \(report.outcome.subjects) person(s): \(report.outcome.indexEntries) index entries, \(report.outcome.deadLetters) dead letters, \(report.removedFiles.count) export file(s)")
            for held in report.heldBack { print("held back \(held.recordingID): \(held.reason)") }
            if !report.recordingsToDelete.isEmpty {
                print("the recording system must delete \(report.recordingsToDelete.count) recording(s): \(report.recordingsToDelete.joined(separator: ", "))")
            }
        }
    }
}

/// A request error as a usage error: its message, exit status 64.
private func asUsage<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as RequestError { throw ValidationError(error.description) }
}
