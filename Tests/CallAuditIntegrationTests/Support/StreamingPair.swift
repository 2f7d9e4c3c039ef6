import CallAuditStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two PostgreSQL 15 clusters of the test's own: a primary and a streaming
/// standby made with `pg_basebackup -R`, listed in the primary's
/// `synchronous_standby_names`. Both run as the `postgres` OS user in a
/// temporary folder, on the two ports after the dev cluster's, and `stop()`
/// removes everything.
final class StreamingPair {
    static let bin = "/usr/lib/postgresql/15/bin"
    /// The name the standby gives itself in `primary_conninfo`, and the primary waits for.
    static let standbyName = "callaudit_standby"

    let root: String
    let primaryPort: Int
    let standbyPort: Int
    var primaryData: String { root + "/primary" }
    var standbyData: String { root + "/standby" }

    /// `offset`: ports `dev + offset` and `dev + offset + 1`, so tests running at once do not meet.
    init(offset: Int = 1) throws {
        let devPort = Int(TestDatabase.adminURL.split(separator: ":").last!.split(separator: "/").first!) ?? 54329
        primaryPort = devPort + offset
        standbyPort = devPort + offset + 1
        var template = Array("/tmp/callaudit-failover-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        root = String(cString: made)
        try Self.run("chown postgres:postgres '\(root)' && chmod 700 '\(root)'", asPostgres: false)
        try Self.run("\(Self.bin)/initdb -D '\(primaryData)' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8")
        try append(
            """
            listen_addresses = '127.0.0.1'
            port = \(primaryPort)
            unix_socket_directories = '\(root)'
            max_connections = 100
            wal_level = replica
            max_wal_senders = 5
            wal_keep_size = '1GB'
            synchronous_commit = on
            """, to: primaryData + "/postgresql.conf")
        try start(primaryData)
        try Self.run(
            "\(Self.bin)/pg_basebackup -h 127.0.0.1 -p \(primaryPort) -U postgres -D '\(standbyData)' -R -X stream -c fast")
        // Later lines win: the standby's own port, and a name the primary can wait for.
        try append("port = \(standbyPort)\nhot_standby = on\n", to: standbyData + "/postgresql.conf")
        try append(
            "primary_conninfo = 'host=127.0.0.1 port=\(primaryPort) user=postgres application_name=\(Self.standbyName)'\n",
            to: standbyData + "/postgresql.auto.conf")
        try start(standbyData)
        let primary = try PostgresConnection(conninfo: adminURL(primaryPort))
        // Two statements: ALTER SYSTEM refuses to run inside the implicit transaction of a multi-statement string.
        try primary.execute("ALTER SYSTEM SET synchronous_standby_names = '\(Self.standbyName)'")
        try primary.execute("SELECT pg_reload_conf()")
        guard
            try waitUntil(seconds: 30, {
                try primary.query("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'").scalar == "1"
            })
        else { throw TestFailure("the standby never became synchronous") }
    }

    func adminURL(_ port: Int) -> String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    /// A URL naming both servers, as an operator writes it: libpq tries them in order and keeps the one that takes writes.
    func multiHostURL(user: String, database: String) -> String {
        "postgresql://\(user)@127.0.0.1:\(primaryPort),127.0.0.1:\(standbyPort)/\(database)?target_session_attrs=read-write"
    }

    /// The primary's WAL sender to the standby: stopped (SIGSTOP), it sends nothing more, so the
    /// standby confirms nothing and gets none of what the primary commits from then on.
    func walSenderPID() throws -> Int32 {
        let primary = try PostgresConnection(conninfo: adminURL(primaryPort))
        guard let pid = try primary.query("SELECT pid FROM pg_stat_replication WHERE application_name = $1", [.text(Self.standbyName)]).scalar
            .flatMap({ Int32($0) })
        else { throw TestFailure("the primary has no WAL sender") }
        return pid
    }

    /// The primary dies as its host would: the postmaster and every backend killed at once, nothing flushed or said.
    func killPrimary() throws {
        guard let text = try? String(contentsOfFile: primaryData + "/postmaster.pid", encoding: .utf8),
            let postmaster = text.split(separator: "\n").first.flatMap({ Int32($0) })
        else { throw TestFailure("the primary is not running") }
        let children = Self.children(of: postmaster)
        kill(postmaster, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        _ = waitUntil(seconds: 10) { kill(postmaster, 0) != 0 && children.allSatisfy { kill($0, 0) != 0 } }
    }

    /// Makes the standby the primary; returns once it takes writes.
    func promoteStandby() throws {
        try Self.run("\(Self.bin)/pg_ctl -D '\(standbyData)' -w -t 60 promote")
    }

    /// Stops whatever still runs and removes both clusters.
    func stop() {
        for data in [primaryData, standbyData] {
            _ = system("runuser -u postgres -- \(Self.bin)/pg_ctl -D '\(data)' -m immediate -w stop >/dev/null 2>&1")
        }
        _ = system("rm -rf '\(root)'")
    }

    private func start(_ data: String) throws {
        // system(), not Foundation.Process: the postmaster inherits the descriptor Process
        // watches for the child's exit, so Process would wait for the server.
        try Self.run("\(Self.bin)/pg_ctl -D '\(data)' -l '\(data).log' -w -t 60 start")
    }

    private func append(_ text: String, to file: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n" + text + "\n").utf8))
    }

    private static func run(_ command: String, asPostgres: Bool = true) throws {
        let status = system((asPostgres ? "runuser -u postgres -- " : "") + command + " >/dev/null 2>&1")
        guard status == 0 else { throw TestFailure("\(command): exit status \(status)") }
    }

    /// Process ids whose parent is `parent`, from /proc.
    private static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
        }
    }
}
