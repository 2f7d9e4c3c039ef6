import ArgumentParser
import CallAuditAPI

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API bearer tokens: one role each (auditor, dpo, ops, admin); only their hashes are stored.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token; prints it alone (it cannot be shown again).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "auditor, dpo, ops or admin.") var role: String
        @Option(help: "A name for the token (letters, digits, . _ -): what reads are recorded under.") var name: String

        func run() throws {
            guard let role = APIRole(rawValue: role) else { throw ValidationError("--role \(role): one of auditor, dpo, ops, admin") }
            guard name.range(of: "^[A-Za-z0-9._-]{1,64}$", options: .regularExpression) != nil else {
                throw ValidationError("--name \(name): 1 to 64 letters, digits, dots, underscores or dashes")
            }
            print(try APITokenStore(connection: try database.connect()).create(name: name, role: role))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every token: name, role, created, revoked.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            for token in try APITokenStore(connection: try database.connect()).list() {
                print(pad(token.name, 24) + pad(token.role.rawValue, 9) + "created \(token.createdAt)" + (token.revokedAt.map { ", revoked \($0)" } ?? ""))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name; the API refuses it within seconds.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The token's name.") var name: String

        func run() throws {
            guard try APITokenStore(connection: try database.connect()).revoke(name: name) else {
                throw ValidationError("no live token named \(name)")
            }
            print("revoked \(name)")
        }
    }
}
