import CallAuditDomain
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

extension DatabaseTests {
/// A dead letter is wrapped with a KEK without a person's look-up, which is
/// what notices a rotation otherwise. Wrapped with the KEK that was current
/// before a rotation, once that KEK is retired, the database refused it
/// (CA001), and the writer retried the same sealed batch: ingest did not move
/// again until restarted (found by the eighth pass's review; the seal stage had
/// just begun sealing a batch's dead letters before its events).
@Suite("A dead letter after a KEK rotation and retirement")
struct DeadLetterAfterRotationTests {
    @Test("rotated and retired while ingest was idle: the next batch, dead letters and events mixed, is stored")
    func deadLetterAfterRetirement() throws {
        try run(malformedOnly: false)
    }

    @Test("the same with a batch of malformed messages only (no person looked up in it)")
    func deadLettersOnlyAfterRetirement() throws {
        try run(malformedOnly: true)
    }

    /// The race no check before sealing can close: a batch sealed, dead letters and
    /// persons under the old KEK, is held in the writer (PostgreSQL refuses it for a
    /// while) across `rotate-kek` and `retire-kek`. The same bytes are refused for
    /// ever after that (CA001); ingest reads the batch again and seals it anew.
    @Test("a batch sealed before a rotation and held in the writer until the old KEK is retired: read again, sealed under the new KEK, stored once")
    func batchHeldAcrossRetirement() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kek-held-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("kek.json")
        let old = try KeyEncryptionKeys.load(file: file, create: true).currentID
        let serve = try ServeProcess(kafka: kafka, database: database, extra: ["--key-dir", folder.path, "--kek-file", file.path], withKEK: false)
        var sent = 0
        let first = simulatedMessages(calls: 10, seed: 83)
        try kafka.produce(first)
        sent += first.count
        #expect(try waitUntil(seconds: 60) { try consumed(database) == sent }, "\(serve.standardError.suffix(2_000))")

        // The writer is refused (lock not available, retried) while the next batch is sealed under the old KEK.
        let faults = FaultInjector(database: database)
        try faults.arm("events")
        try faults.inject("55P03", into: "events")
        // Malformed messages first: whichever batches the messages fall into, the first one, sealed
        // before the rotation and refused by the injected fault, carries dead letters.
        let simulated = simulatedMessages(calls: 3, seed: 82, malformedRate: 0.5)
        let held = simulated.filter { $0.expectedRejection != nil } + simulated.filter { $0.expectedRejection == nil }
        #expect(held.first?.expectedRejection != nil)
        try kafka.produce(held)
        sent += held.count
        // The writer's own refusal (the fault's SQLSTATE), not any other retry.
        #expect(waitUntil(seconds: 30) { serve.standardError.contains("55P03: injected fault") }, "\(serve.standardError.suffix(2_000))")

        let common = ["--database-url", database.serviceURL, "--kek-file", file.path, "--key-dir", folder.path]
        let rotated = try runCallAudit(["keys", "rotate-kek"] + common, withKEK: false)
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(try waitUntil(seconds: 30) {
            try database.count("SELECT count(*) FROM kek_acknowledgements WHERE kek_id = '\(old)'") == 0
        })
        let retired = try runCallAudit(["keys", "retire-kek", old] + common, withKEK: false)
        #expect(retired.status == 0, "\(retired.output)")
        try faults.clear("events")

        let stored = try waitUntil(seconds: 45) { try consumed(database) == sent }
        let got = try consumed(database)
        #expect(stored, "ingest stalled: \(got) of \(sent); \(serve.standardError.suffix(3_000))")
        #expect(serve.standardError.contains("sealed under a KEK retired before it was stored"), "\(serve.standardError.suffix(2_000))")
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE kek_id = '\(old)'") == 0)
        #expect(try database.count("SELECT count(*) FROM subjects WHERE kek_id = '\(old)'") == 0)
        #expect(try database.count("SELECT count(*) FROM events") + database.count("SELECT count(*) FROM dead_letters") == sent, "each message stored once")
        try expectOffsetsConsistent(database)
        _ = serve.terminate(within: 15)
    }

    private func run(malformedOnly: Bool) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kek-dl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("kek.json")
        let old = try KeyEncryptionKeys.load(file: file, create: true).currentID

        let serve = try ServeProcess(kafka: kafka, database: database, extra: ["--key-dir", folder.path, "--kek-file", file.path], withKEK: false)
        var sent = 0
        let first = simulatedMessages(calls: 20, seed: 81)
        try kafka.produce(first)
        sent += first.count
        #expect(try waitUntil(seconds: 60) { try consumed(database) == sent }, "\(serve.standardError.suffix(2_000))")

        // Rotated and retired while no message arrives.
        let common = ["--database-url", database.serviceURL, "--kek-file", file.path, "--key-dir", folder.path]
        let rotated = try runCallAudit(["keys", "rotate-kek"] + common, withKEK: false)
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(try waitUntil(seconds: 30) {
            try database.count("SELECT count(*) FROM kek_acknowledgements WHERE kek_id = '\(old)'") == 0
        })
        let retired = try runCallAudit(["keys", "retire-kek", old] + common, withKEK: false)
        #expect(retired.status == 0, "\(retired.output)")

        // Events naming persons and malformed messages, in one batch.
        var second = simulatedMessages(calls: 3, seed: 82, malformedRate: 0.5)
        if malformedOnly { second = second.filter { $0.expectedRejection != nil } }
        #expect(second.contains { $0.expectedRejection != nil })
        try kafka.produce(second)
        sent += second.count
        let stored = try waitUntil(seconds: 45) { try consumed(database) == sent }
        let got = try consumed(database)
        #expect(stored, "ingest stalled: \(got) of \(sent); \(serve.standardError.suffix(3_000))")
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE kek_id = '\(old)'") == 0)
        _ = serve.terminate(within: 15)
    }
}
}
