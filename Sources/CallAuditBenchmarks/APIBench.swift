import ArgumentParser
import CallAuditAPI
import CallAuditStore
import Foundation

/// `GET /v1/reports/{id}` under many concurrent connections, with `wrk`,
/// against a real `callaudit serve`; `/healthz` on the same server in the same run.
struct APIBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Load a simulated day, let serve issue its report, then hit it with wrk.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Calls in the simulated day.") var calls = 2_000
    @Option(help: "Concurrent connections.") var connections = 200
    @Option(help: "Seconds per wrk run.") var seconds = 20

    func run() throws {
        let url = database.resolved
        try requireEmptyStore(url)
        note("appending a day: \(calls) calls")
        _ = try appendSimulatedLog(url: url, calls: calls, days: 1, start: "2026-11-23T00:00:00Z")

        let cluster = try BenchCluster(partitions: 1)
        defer { cluster.stop() }
        let port = 18_000 + Int(getpid() % 1_000)
        let serve = try child([
            "serve", "--database-url", url, "--brokers", cluster.brokers, "--key-dir", cluster.scratch.appendingPathComponent("keys").path,
            "--http-address", "127.0.0.1:\(port)", "--rate-limit", "0", "--report-close-delay-hours", "0", "--report-interval", "1",
            "--log-level", "error",
        ])
        defer { serve.terminate(); serve.waitUntilExit() }
        let connection = try PostgresConnection(conninfo: url)
        note("waiting for the day's report")
        for _ in 0..<600 where try connection.query("SELECT count(*) FROM audit_reports WHERE report_id = 'day-2026-11-23'").scalar == "0" {
            Thread.sleep(forTimeInterval: 0.5)
        }
        let token = try APITokenStore(connection: connection).create(name: "bench-\(getpid())", role: .auditor)
        let size = try connection.query("SELECT length(body) FROM audit_reports WHERE report_id = 'day-2026-11-23'").scalar ?? "?"
        let readsBefore = Int(try connection.query("SELECT count(*) FROM events WHERE type = 'audit.report_read'").scalar ?? "0")!

        print("machine:  \(machineDescription())")
        print("report:   day-2026-11-23, \(size) bytes of JSON (\(calls) calls)")
        for path in ["/v1/reports/day-2026-11-23", "/healthz"] {
            let result = try wrk("http://127.0.0.1:\(port)\(path)", token: token)
            print("\(pad(path, 28)) \(result)")
        }
        let reads = Int(try connection.query("SELECT count(*) FROM events WHERE type = 'audit.report_read'").scalar ?? "0")! - readsBefore
        print("audit.report_read events recorded during the run: \(reads)")
    }

    /// wrk's requests/s, latency percentiles and errors for one URL.
    private func wrk(_ url: String, token: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "wrk", "-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "--timeout", "10s", "-H", "Authorization: Bearer \(token)", url,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        func line(_ prefix: String) -> String {
            text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(prefix) }?
                .split(separator: " ", omittingEmptySubsequences: true).dropFirst().joined(separator: " ") ?? "-"
        }
        let errors = text.split(separator: "\n").filter { $0.contains("Socket errors") || $0.contains("Non-2xx") }.joined(separator: "; ")
        return "\(line("Requests/sec:")) req/s, p50 \(line("50%")), p99 \(line("99%")), errors: \(errors.isEmpty ? "0" : errors)"
    }
}
