import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `callaudit serve` child process, its standard error kept in a file.
final class ServeProcess {
    let process = Process()
    private let errorFile: URL

    /// `withKEK`: give it the suite's KEK as `CALLAUDIT_KEK`; false leaves it to `--kek-file`.
    /// `environment`: variables added to the child's (the suite's KEK and the test's own environment).
    init(_ arguments: [String], withKEK: Bool = true, environment extra: [String: String] = [:]) throws {
        errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: callauditBinary)
        process.arguments = ["serve"] + arguments
        process.environment = childEnvironment(withKEK: withKEK).merging(extra) { _, added in added }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
    }

    /// `serve` against the test database and Kafka, with the suite's usual settings: a key
    /// folder and an HTTP port of its own unless `extra` names them.
    convenience init(
        kafka: TestKafka, database: TestDatabase, extra: [String] = [], withKEK: Bool = true, environment: [String: String] = [:]
    ) throws {
        var own: [String] = []
        if !extra.contains("--key-dir") {
            own += ["--key-dir", FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)").path]
        }
        if !extra.contains("--http-address") { own += ["--http-address", "127.0.0.1:\(freePort())"] }
        try self.init(
            [
                "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
                "--batch-size", "2000", "--batch-delay-ms", "20", "--log-level", "warning",
            ] + own + extra, withKEK: withKEK, environment: environment)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: errorFile)
    }

    /// Waits up to `seconds` for the process to end; whether it did.
    func ended(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return !process.isRunning
    }

    /// Sends SIGTERM and returns how long the process took to end (nil if it had not after `seconds`).
    func terminate(within seconds: Double) -> Double? {
        let started = Date()
        process.terminate()
        return ended(within: seconds) ? Date().timeIntervalSince(started) : nil
    }

    /// The exit status. One still running is killed first: Foundation traps on the status of a
    /// running process, which took the whole test run down after a failed `ended(within:)`.
    var status: Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// Whether it has ended by exiting, whatever its status: not killed, not trapped (a trap
    /// in the shutdown, such as the service group's "Cancellation took longer", is a signal).
    var exitedByItself: Bool { !process.isRunning && process.terminationReason == .exit }

    var standardError: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }
}
