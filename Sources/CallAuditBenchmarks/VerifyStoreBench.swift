import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditIntegrity
import CallAuditSigning
import CallAuditStore
import Foundation

/// `verify-store` over millions of events, beside `sha256sum` over the same
/// bytes and the time PostgreSQL takes to hand them out, in one run; and how
/// fast the seal chain is built over the same log.
struct VerifyStoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-store",
        abstract: "Append a simulated log, seal it, then time verify-store against sha256sum over the same bytes.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Calls to simulate (about 6.35 events each; 945,000 make 6,000,000 events).")
    var calls = 945_000

    @Option(help: "Keep the signing keys in this folder (default: a scratch folder removed at the end), so `callaudit verify-store --key-dir` can check the same store again.")
    var keyDir: String?

    func run() throws {
        let url = database.resolved
        try requireEmptyStore(url)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-bench-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let keys = try KeyRing.open(keyDir.map { URL(fileURLWithPath: $0) } ?? scratch.appendingPathComponent("keys"))

        note("appending the log: \(calls) calls")
        let events = try appendSimulatedLog(url: url, calls: calls)
        let connection = try PostgresConnection(conninfo: url)

        note("sealing \(events) events")
        let sealStarted = ContinuousClock.now
        let seals = try Sealer(connection: connection).sealDue(key: keys.current, force: true)
        let sealSeconds = sealStarted.duration(to: .now).inSeconds

        note("verify-store")
        let progress = Progress("verify-store", total: events, unit: "events")
        let verifyStarted = ContinuousClock.now
        let result = try StoreVerifier(connection: connection, keys: keys.published, reader: try PostgresConnection(conninfo: url)).verify { progress.update($0) }
        let verifySeconds = verifyStarted.duration(to: .now).inSeconds
        progress.finish(result.eventsChecked)
        guard result.intact, result.eventsChecked == events else { throw ValidationError("verify-store did not pass: \(String(describing: result.firstBreak))") }

        note("the same bytes through psql and sha256sum")
        let file = scratch.appendingPathComponent("events.bin").path
        let exportStarted = ContinuousClock.now
        try psql(url, "\\copy (SELECT event FROM events ORDER BY transaction_id, position) TO '\(file)'")
        let exportSeconds = exportStarted.duration(to: .now).inSeconds
        let bytes = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
        let hashStarted = ContinuousClock.now
        let sha = Process()
        sha.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        sha.arguments = [file]
        sha.standardOutput = FileHandle.nullDevice
        try sha.run()
        sha.waitUntilExit()
        let hashSeconds = hashStarted.duration(to: .now).inSeconds

        func rate(_ seconds: Double) -> String { "\(Int(Double(events) / seconds)) events/s (\(String(format: "%.1f", seconds)) s)" }
        print("""
            machine:                 \(machineDescription())
            events:                  \(events) (\(bytes / 1_000_000) MB of event JSON), \(seals.count) seals
            sealing the whole log:   \(rate(sealSeconds))
            verify-store:            \(rate(verifySeconds)): every event re-hashed, every seal, leaf and link checked
            psql \\copy of the bytes: \(rate(exportSeconds))
            sha256sum of the bytes:  \(rate(hashSeconds)) (\(Int(Double(bytes) / hashSeconds / 1_000_000)) MB/s)
            peak RSS:                \(peakResidentMegabytes()) MB
            """)
    }
}
