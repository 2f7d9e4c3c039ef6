import CallAuditDomain
import Foundation

extension Policy {
    /// The policy in `file`, or the built-in one for nil; a file that is
    /// missing or invalid is a `ConfigurationError` naming what to fix.
    package static func load(file: String?) throws(ConfigurationError) -> Policy {
        guard let file else { return .default }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError(setting: "policyFile", value: file, problem: "cannot be read", fix: "check the path and its permissions")
        }
        do {
            return try Policy(json: Array(data))
        } catch {
            throw ConfigurationError(
                setting: "policyFile", value: file, problem: error.description,
                fix: "fix the file (`callaudit policy check FILE` validates it), or leave the setting out for the built-in policy")
        }
    }
}
