import CallAuditStore
import Foundation

/// User and system CPU seconds of the PostgreSQL cluster `connection` reaches
/// on this machine: the postmaster's own and its ended children's (reaped
/// into its cutime and cstime), plus its live children's. The difference
/// across a pass (a rebuild, an ingest pass, a COPY) is what every backend
/// and helper spent on it, background work (WAL writer, autovacuum) included.
func clusterCPUSeconds(_ connection: PostgresConnection) throws -> Double {
    let backend = try connection.query("SELECT pg_backend_pid()::bigint").decodeScalar(Int64.self)
    guard let postmaster = procStat(Int(backend))?.parent, let own = procStat(postmaster) else { return .nan }
    var ticks = own.ticks + own.childTicks
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int(entry), let stat = procStat(pid), stat.parent == postmaster else { continue }
        ticks += stat.ticks
    }
    return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// From /proc/PID/stat: the parent, the process's user+system ticks, and its reaped children's.
private func procStat(_ pid: Int) -> (parent: Int, ticks: Int, childTicks: Int)? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
    // After "pid (comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17), counted from 1.
    let fields = text[text.index(after: close)...].split(separator: " ").map { Int($0) ?? 0 }
    guard fields.count > 14 else { return nil }
    return (fields[1], fields[11] + fields[12], fields[13] + fields[14])
}
