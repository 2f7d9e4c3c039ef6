import CallAuditDomain
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension DatabaseTests {
/// A KEK rotation with a host the new KEK file did not reach.
@Suite("KEK rotation across hosts")
struct KEKAcrossHostsTests {
    @Test("a host whose KEK file lacks the new KEK: running, it waits and resumes when the file gains it; starting, it is refused; retire-kek waits for it, then the database refuses the old KEK")
    func rotationMissesAHost() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kek-hosts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hostA = folder.appendingPathComponent("a")
        let hostB = folder.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: hostA, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: hostB, withIntermediateDirectories: true)
        let fileA = hostA.appendingPathComponent("kek.json")
        let fileB = hostB.appendingPathComponent("kek.json")
        let old = try KeyEncryptionKeys.load(file: fileA, create: true).currentID
        try copyFile(fileA, to: fileB)

        // Host A starts first, so it ingests; host B stands by.
        let serveA = try ServeProcess(kafka: kafka, database: database, extra: ["--key-dir", hostA.path, "--kek-file", fileA.path], withKEK: false)
        var sent = 0
        let first = simulatedMessages(calls: 150, seed: 71)
        try kafka.produce(first)
        sent += first.count
        #expect(try waitUntil(seconds: 60) { try consumed(database) == sent }, "\(serveA.standardError.suffix(2_000))")
        let serveB = try ServeProcess(kafka: kafka, database: database, extra: ["--key-dir", hostB.path, "--kek-file", fileB.path], withKEK: false)
        #expect(try waitUntil(seconds: 30) { try database.count("SELECT count(*) FROM kek_acknowledgements WHERE kek_id = '\(old)'") == 2 })

        // The rotation reaches host A's file only.
        let common = ["--database-url", database.serviceURL, "--kek-file", fileA.path, "--key-dir", hostA.path]
        let rotated = try runCallAudit(["keys", "rotate-kek"] + common, withKEK: false)
        #expect(rotated.status == 0, "\(rotated.output)")
        let new = try KeyEncryptionKeys.load(file: fileA, create: false).currentID
        #expect(new != old)

        // A new start with the stale file is refused, naming the key and the file.
        let serveC = try ServeProcess(kafka: kafka, database: database, extra: ["--key-dir", hostB.path, "--kek-file", fileB.path], withKEK: false)
        #expect(serveC.ended(within: 30))
        #expect(serveC.status != 0)
        #expect(serveC.standardError.contains(new) && serveC.standardError.contains(fileB.path), "\(serveC.standardError.suffix(2_000))")

        // Host B still wraps with the old KEK: retiring it is refused, and the file keeps it.
        let refused = try runCallAudit(["keys", "retire-kek", old] + common, withKEK: false)
        #expect(refused.status != 0)
        #expect(try KeyEncryptionKeys.load(file: fileA, create: false).ids.contains(old))
        #expect(try database.count("SELECT count(*) FROM kek_retirements") == 0)

        // Host A stops; host B takes over ingest and meets keys wrapped with the new KEK:
        // it waits, saying why, and does not exit.
        #expect(serveA.terminate(within: 10) != nil && serveA.status == 0, "\(serveA.standardError.suffix(2_000))")
        let second = simulatedMessages(calls: 150, seed: 72)
        try kafka.produce(second)
        sent += second.count
        #expect(waitUntil(seconds: 60) { serveB.standardError.contains("is not in this instance's KEK file") }, "\(serveB.standardError.suffix(2_000))")
        let stalled = try consumed(database)
        #expect(try holdsThroughout(seconds: 3) { try consumed(database) == stalled }, "nothing is stored while the key is missing")
        #expect(stalled < sent)
        #expect(serveB.process.isRunning, "a host without the new KEK keeps running")

        // Host B gets the current file: ingest resumes without a restart, and B moves on to the new KEK.
        try copyFile(fileA, to: fileB)
        #expect(try waitUntil(seconds: 90) { try consumed(database) == sent }, "\(serveB.standardError.suffix(2_000))")
        #expect(try waitUntil(seconds: 30) {
            try database.count("SELECT count(*) FROM kek_acknowledgements WHERE kek_id = '\(old)'") == 0
        })
        let retired = try runCallAudit(["keys", "retire-kek", old] + common, withKEK: false)
        #expect(retired.status == 0, "\(retired.output)")
        #expect(try KeyEncryptionKeys.load(file: fileA, create: false).ids == [new])
        #expect(try database.count("SELECT count(*) FROM kek_retirements WHERE kek_id = '\(old)'") == 1)

        // From now on nothing may wrap a key with the retired KEK, whoever tries.
        let refusal = try sqlState(of: "UPDATE subjects SET kek_id = $1 WHERE subject_ref = (SELECT min(subject_ref) FROM subjects)", old, url: database.serviceURL)
        #expect(refusal == "CA001", "a key wrapped with a retired KEK is refused")
        #expect(try database.count("SELECT count(*) FROM subjects WHERE kek_id = '\(old)'") == 0)
        #expect(serveB.process.isRunning)
        #expect(serveB.terminate(within: 10) != nil && serveB.status == 0, "\(serveB.standardError.suffix(2_000))")
        #expect(try database.count("SELECT count(*) FROM kek_acknowledgements") == 0, "stopped instances withdraw their acknowledgement")
    }

    @Test("a host with another KEK file altogether (none of the keys the data is wrapped with) refuses to start, naming the key and the file")
    func foreignKEKFileIsRefused() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        // The data's keys are wrapped with the suite's KEK; no rotation ever happened.
        _ = try SubjectVault.open(keys: testKeys, on: try PostgresConnection(conninfo: database.serviceURL))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kek-foreign-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("kek.json")
        let serve = try ServeProcess(kafka: kafka, database: database, extra: ["--key-dir", folder.path, "--kek-file", file.path], withKEK: false)
        #expect(serve.ended(within: 30))
        #expect(serve.status != 0)
        #expect(serve.standardError.contains(testKeys.currentID) && serve.standardError.contains(file.path), "\(serve.standardError.suffix(2_000))")
        #expect(try database.count("SELECT count(*) FROM kek_acknowledgements") == 0, "a refused instance acknowledges nothing")
    }

    /// The SQLSTATE the statement fails with; nil if it succeeds.
    private func sqlState(of sql: String, _ parameter: String, url: String) throws -> String? {
        let connection = try PostgresConnection(conninfo: url)
        do {
            try connection.query(sql, [.text(parameter)])
            return nil
        } catch {
            return error.sqlState
        }
    }

    private func copyFile(_ source: URL, to destination: URL) throws {
        let data = try Data(contentsOf: source)
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".copy-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        // Atomically, as a secret store's agent replaces a mounted file.
        #expect(rename(temporary.path, destination.path) == 0)
    }
}
}
