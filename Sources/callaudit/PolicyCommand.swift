import ArgumentParser
import CallAuditDomain
import CallAuditApp

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
            let policy: Policy
            do {
                policy = try Policy.load(file: file)
            } catch {
                // The file is the argument here, not a setting: say what is wrong with it, and where.
                note("\(file): \(error.problem)")
                throw ExitCode(1)
            }
            print("\(file): valid, policy \(policy.version), \(policy.jurisdictions.count) jurisdictions, sha256 \(policy.hash)")
        }
    }
}
