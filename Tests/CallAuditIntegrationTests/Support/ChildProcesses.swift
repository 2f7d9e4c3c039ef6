import Foundation

/// The environment child processes run with: the test KEK unless `withKEK` is false.
func childEnvironment(withKEK: Bool = true) -> [String: String] {
    var variables = environment
    variables["CALLAUDIT_KEK"] = withKEK ? testKEK : nil
    // A crashed child still prints its fatal error; without this, swift-backtrace symbolicated
    // the debug binary for 15 minutes while the test waited, and held the whole run.
    variables["SWIFT_BACKTRACE"] = "enable=no"
    return variables
}

/// Runs `callaudit` with `arguments`; its standard output and exit status.
func runCallAudit(_ arguments: [String], withKEK: Bool = true, environment extra: [String: String] = [:]) throws -> (output: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: callauditBinary)
    process.arguments = arguments
    process.environment = childEnvironment(withKEK: withKEK).merging(extra) { _, added in added }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
}

/// Runs a tool in `folder`; its combined output and exit status.
func runTool(_ path: String, _ arguments: [String], in folder: URL? = nil) throws -> (output: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = folder }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
}

/// Runs a shell command, its output discarded; its exit status (127: the command was not found).
func shell(_ command: String) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command + " >/dev/null 2>&1"]
    try? process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// Runs a shell command; its combined output and exit status (127: the command was not found).
func shellOutput(_ command: String) -> (output: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command + " 2>&1"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return ("\(error)", 127) }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
}

/// Whether `tool` is on the PATH: a check that fails must not pass because the tool was missing.
func toolExists(_ tool: String) -> Bool {
    shell("command -v '\(tool)'") == 0
}

/// Runs `callaudit`; its exit status and standard error.
func runCallAuditCapturingErrors(_ arguments: [String]) throws -> (status: Int32, error: String) {
    // `migrate` changes cluster-wide role memberships: one migration at a time on the dev cluster.
    if arguments.first == "migrate" { return try Migrations.alone { try runCapturingErrors(arguments) } }
    return try runCapturingErrors(arguments)
}

private func runCapturingErrors(_ arguments: [String]) throws -> (status: Int32, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: callauditBinary)
    process.arguments = arguments
    process.environment = childEnvironment()
    let error = Pipe()
    process.standardError = error
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
