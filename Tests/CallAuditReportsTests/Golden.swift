import Foundation

/// The committed reports in Golden/: canonical bytes as the report schema
/// fixes them. They are files, not literals, so a test cannot quietly rewrite them.
enum Golden {
    /// A current report: `type`, gaps in the evidence, a seal, changes since version 1.
    static var report: [UInt8] { get throws { try bytes("report-week-v2.json") } }
    /// A report as issued before documents named their kind and before gaps were listed.
    static var unnamedReport: [UInt8] { get throws { try bytes("report-unnamed-v1.json") } }

    private static func bytes(_ name: String) throws -> [UInt8] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
        return Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }
}
