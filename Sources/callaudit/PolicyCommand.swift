import ArgumentParser
import CallAuditDomain
import Foundation

/// Where the compliance policy comes from: `--policy FILE`, then `CALLAUDIT_POLICY`, else the built-in default.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("policy"), help: "Policy file (JSON) replacing the default (default: $CALLAUDIT_POLICY, else the built-in policy).")
    var path: String?

    func load() throws -> Policy {
        guard let path = path ?? ProcessInfo.processInfo.environment["CALLAUDIT_POLICY"] else { return .default }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the policy file \(path)")
        }
        do {
            return try Policy(json: Array(data))
        } catch {
            throw ValidationError("\(path): \(error). Fix the file, or start without --policy to use the built-in policy.")
        }
    }
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Show or check the compliance policy.", subcommands: [Show.self, Check.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the policy in force: version, hash and every jurisdiction's regime and citation.")
        @OptionGroup var policy: PolicyOptions

        func run() throws {
            let policy = try policy.load()
            print("policy \(policy.version) (sha256 \(policy.hash))")
            print("retention \(policy.retentionDays) days; notice grace \(policy.noticeGraceSeconds) s")
            print("allowed roles: \(policy.allowedAccessRoles.sorted().joined(separator: ", "))")
            print("allowed purposes: \(policy.allowedPurposes.sorted().joined(separator: ", "))")
            print(pad("(missing or unknown)", 22) + pad(policy.fallback.regime.rawValue, 28) + policy.fallback.citation)
            for (code, rule) in policy.jurisdictions.sorted(by: { $0.key < $1.key }) {
                print(pad(code, 22) + pad(rule.regime.rawValue, 28) + rule.citation + (rule.mobileCitation.map { "; mobile: \($0)" } ?? ""))
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a policy file; exits non-zero with the path of what is wrong.")
        @Argument(help: "The policy file.") var file: String

        func run() throws {
            let policy = try PolicyOptions(path: file).load()
            print("\(file): valid, policy \(policy.version), \(policy.jurisdictions.count) jurisdictions, sha256 \(policy.hash)")
        }
    }
}

extension PolicyOptions {
    init(path: String?) {
        self.init()
        self.path = path
    }
}
