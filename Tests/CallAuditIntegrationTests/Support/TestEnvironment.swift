import CallAuditVault
import Foundation
import Logging

/// What every test reads from its surroundings: the environment ops/test sets, the binary under test, the suite's KEK.
let environment = ProcessInfo.processInfo.environment
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// The repository's root, for files the tests read as shipped (schemas, runbooks, ops/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `callaudit` executable under test: ops/test names it, else the one built next to the tests.
let callauditBinary = environment["CALLAUDIT_BINARY"]
    ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("callaudit").path

/// The suite's one KEK: in-process ingest seals with it, and every child
/// `callaudit` gets it as `CALLAUDIT_KEK`, so they all open the same data.
let testKEK = "Y2FsbGF1ZGl0LXRlc3Qta2V5LWVuY3J5cHRpb24ta2U="
let testKeys = try! KeyEncryptionKeys.single(base64: testKEK)

/// A test's own failure to get going (a server that did not come up, a tool that did not answer).
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
