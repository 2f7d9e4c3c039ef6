/// The default policy is not needed by the decode harness.
enum PackageResources { static let default_policy_json: [UInt8] = [] }
