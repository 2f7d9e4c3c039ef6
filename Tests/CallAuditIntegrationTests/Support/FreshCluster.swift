import CallAuditStore
import Foundation

/// A PostgreSQL 15 cluster of its own: initialised in a temporary folder as the
/// `postgres` user (PostgreSQL refuses root), on a port derived from the test
/// cluster's, and stopped and removed by `stop()` whatever happened.
final class FreshCluster {
    static let bin = "/usr/lib/postgresql/15/bin"
    let folder: String
    let port: Int

    var data: String { folder + "/data" }
    var adminURL: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    /// `offset`: added to the dev cluster's port (the next ones are the extra clusters' ports; OwnClusterTests runs one at a time).
    init(offset: Int) throws {
        let testPort = Int(TestDatabase.adminURL.split(separator: ":").last!.split(separator: "/").first!)!
        port = testPort + offset
        folder = try runScript("mktemp -d /tmp/callaudit-cluster.XXXXXX").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let setup = try runScript(
            """
            chown postgres:postgres '\(folder)' && chmod 700 '\(folder)'
            runuser -u postgres -- \(Self.bin)/initdb -D '\(data)' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
            cat >> '\(data)/postgresql.conf' <<CONF
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(folder)'
            fsync = off
            CONF
            runuser -u postgres -- \(Self.bin)/pg_ctl -D '\(data)' -l '\(folder)/server.log' -w start >/dev/null
            """)
        guard setup.status == 0 else {
            stop()
            throw TestFailure("could not start a fresh cluster on port \(port): \(setup.output)")
        }
    }

    /// Restarts the server at once (`-m immediate`: a crash as its clients see it); whether it came back.
    func restart() -> Bool {
        (try? runScript("runuser -u postgres -- \(Self.bin)/pg_ctl -D '\(data)' -l '\(folder)/server.log' -m immediate -w restart >/dev/null"))?.status == 0
    }

    /// Stops the server (immediately: nothing in it is kept) and removes its folder.
    func stop() {
        _ = shell("runuser -u postgres -- \(Self.bin)/pg_ctl -D '\(data)' -m immediate -w stop >/dev/null 2>&1; rm -rf '\(folder)'")
    }

    /// The cluster's next transaction id.
    func nextTransactionID() throws -> UInt64 {
        UInt64(try PostgresConnection(conninfo: adminURL).query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").scalar!)!
    }
}

/// Runs a bash script through system(), not Foundation.Process: a postmaster it
/// starts inherits the descriptor Process watches for the child's exit, and
/// Process would wait for the server. Output (both streams) and exit status.
@discardableResult
func runScript(_ script: String, environment variables: [String: String] = [:]) throws -> (output: String, status: Int32) {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-shell-\(UUID().uuidString)")
    defer {
        try? FileManager.default.removeItem(at: scratch.appendingPathExtension("sh"))
        try? FileManager.default.removeItem(at: scratch.appendingPathExtension("out"))
    }
    let exports = variables.sorted { $0.key < $1.key }.map { "export \($0.key)='\($0.value)'" }.joined(separator: "\n")
    try ("set -euo pipefail\n" + exports + "\n" + script).write(to: scratch.appendingPathExtension("sh"), atomically: true, encoding: .utf8)
    let status = system("bash '\(scratch.path).sh' > '\(scratch.path).out' 2>&1")
    let output = (try? String(contentsOf: scratch.appendingPathExtension("out"), encoding: .utf8)) ?? ""
    return (output, status == -1 ? -1 : (status >> 8) & 0xff)
}
