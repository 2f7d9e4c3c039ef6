import CallAuditDomain
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

extension DatabaseTests {
@Suite("Erasure end to end: Kafka to pg_dump")
struct ErasureEndToEndTests {
    /// Everything that would identify the erased person, in every spelling the test uses.
    static let traces = ["4155550100", "jane@example.com", "Jane@Example.com", "Jane Roe", "C-JANE-77"]

    @Test("after erasure no identifier or name of the person is in a full pg_dump or a file the service wrote, through a rebuild and a dead-letter replay")
    func erasedEverywhere() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let kafka = try TestKafka(partitions: 1)
        let jane: JSONValue = ["phone": "+14155550100", "email": "Jane@Example.com", "name": "Jane Roe", "customer_id": "C-JANE-77"]
        let other: JSONValue = ["phone": "+14155550111", "name": "Otto Other"]
        var events = Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [Events.party("p", "customer", jane)])
            + Events.recordedCall("c2", at: "2026-11-20T11:00:00Z", parties: [Events.party("p", "customer", other)])
        events.append(Events.access("a1", "rec-c1", at: "2026-11-21T09:00:00Z"))
        // A broken message naming Jane (no direction): it becomes a dead letter holding her identifiers.
        let broken = Events.event("c9-start", .callStarted, "2026-11-20T12:00:00Z", [
            "call_id": "c9", "channel": "phone", "parties": [Events.party("p", "customer", ["phone": "+14155550100", "name": "Jane Roe"])],
        ])
        try kafka.produce(events.map(message) + [message(broken)])

        let ingest = RunningIngest(kafka.ingestConfiguration(world.database))
        #expect(try waitUntil(seconds: 60) { try consumed(world.database) == events.count + 1 })
        ingest.stop()
        try world.project()
        #expect(try world.database.count("SELECT count(*) FROM dead_letters") == 1)
        #expect(try dumpTraces(world).isEmpty, "sealed at ingest: nothing in the clear even before erasure")
        let callsBefore = try world.database.count("SELECT count(*) FROM compliance_calls")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("erasure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let common = ["--database-url", world.database.serviceURL, "--key-dir", world.keyDirectory.path, "--by", "dpo-test"]
        let access = try runCallAudit(["requests", "open", "--type", "access", "--regime", "gdpr", "--phone", "+1 (415) 555-0100", "--verified-by", "call-back"] + common)
        #expect(access.status == 0)
        let accessID = access.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let zip = folder.appendingPathComponent("jane.zip")
        let exported = try runCallAudit(["requests", "export", accessID, "--out", zip.path] + common)
        #expect(exported.status == 0 && FileManager.default.fileExists(atPath: zip.path), "\(exported.output)")

        let erasure = try runCallAudit(["requests", "open", "--type", "erasure", "--regime", "gdpr", "--email", "JANE@example.com", "--verified-by", "call-back"] + common)
        let erasureID = erasure.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let erased = try runCallAudit(["requests", "erase", erasureID] + common)
        #expect(erased.status == 0 && erased.output.contains("1 dead letters") && erased.output.contains("1 export file(s)"), "\(erased.output)")
        #expect(!FileManager.default.fileExists(atPath: zip.path), "the export written for her is deleted")

        #expect(try dumpTraces(world).isEmpty)
        #expect(try !pgDump(world).contains("Otto Other"), "nobody's personal data is in the clear, erased or not")
        #expect(try filesContaining(Self.traces, under: world.keyDirectory).isEmpty)

        // A rebuild re-reads the sealed log; a replay meets the shredded dead letter: neither brings her back.
        try world.rebuild()
        try world.project()
        let replay = try runCallAudit(["deadletters", "replay", "--database-url", world.database.serviceURL])
        #expect(replay.status == 0 && replay.output.contains("1 erased"), "\(replay.output)")
        #expect(try dumpTraces(world).isEmpty)
        #expect(try world.database.count("SELECT count(*) FROM compliance_calls") == callsBefore, "findings and reports still count her calls")
        let show = try runCallAudit(["requests", "show", erasureID] + common)
        #expect(show.output.contains("\"subject_erased\": true") || show.output.contains("\"subject_erased\":true"), "\(show.output)")
    }

    private func message(_ event: JSONValue) -> SimulatedMessage {
        let type = EventType(rawValue: event["type"]!.stringValue!)!
        return SimulatedMessage(topic: type.topic, key: "k", headers: [], value: event.canonicalBytes, time: Timestamp(microseconds: 0))
    }

    /// The traces of the person found in a full `pg_dump` of the database.
    private func dumpTraces(_ world: DPOWorld) throws -> [String] {
        let dump = try pgDump(world)
        return Self.traces.filter { dump.localizedCaseInsensitiveContains($0) }
    }

    private func pgDump(_ world: DPOWorld) throws -> String {
        let binary = FileManager.default.fileExists(atPath: "/usr/lib/postgresql/15/bin/pg_dump") ? "/usr/lib/postgresql/15/bin/pg_dump" : "/usr/bin/pg_dump"
        let dump = try runTool(binary, ["--dbname", world.database.ownerURL])
        #expect(dump.status == 0, "pg_dump: \(dump.output.prefix(300))")
        #expect(dump.output.contains("COPY public.events") && dump.output.contains("rec-c1"), "the dump holds the event store")
        return dump.output
    }
}
}

/// Files under `folder` whose bytes contain any of `needles`.
func filesContaining(_ needles: [String], under folder: URL) throws -> [String] {
    guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
    var found: [String] = []
    for case let url as URL in walker {
        guard let data = FileManager.default.contents(atPath: url.path) else { continue }
        let text = String(decoding: data, as: UTF8.self)
        if needles.contains(where: { text.localizedCaseInsensitiveContains($0) }) { found.append(url.path) }
    }
    return found
}

extension DatabaseTests {
@Suite("Key-encryption key rotation")
struct KeyRotationTests {
    @Test("keys rotate-kek re-wraps every key while serve keeps ingesting; retire-kek removes the old key once nothing uses it")
    func rotationWithoutDowntime() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kek-rotation-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let kek = folder.appendingPathComponent("kek.json")
        let serve = try ServeProcess(kafka: kafka, database: database, extra: ["--key-dir", folder.path, "--kek-file", kek.path], withKEK: false)
        let first = simulatedMessages(calls: 150, seed: 41)
        try kafka.produce(first)
        #expect(try waitUntil(seconds: 60) { try consumed(database) == first.count })
        let old = try KeyEncryptionKeys.load(file: kek, create: false).currentID
        let sealedBefore = try database.count("SELECT count(*) FROM subjects")
        #expect(sealedBefore > 0)

        let common = ["--database-url", database.serviceURL, "--kek-file", kek.path, "--key-dir", folder.path]
        let rotated = try runCallAudit(["keys", "rotate-kek"] + common, withKEK: false)
        #expect(rotated.status == 0 && rotated.output.contains("re-wrapped \(sealedBefore + 1) keys"), "\(rotated.output)")
        let new = try KeyEncryptionKeys.load(file: kek, create: false).currentID
        #expect(new != old)

        // The running service picks the new key up and goes on: new persons are wrapped with it.
        let second = simulatedMessages(calls: 150, seed: 42)
        try kafka.produce(second)
        #expect(try waitUntil(seconds: 60) { try consumed(database) == first.count + second.count }, "\(serve.standardError)")
        #expect(try database.count("SELECT count(*) FROM subjects WHERE created_at > now() - interval '1 hour'") > sealedBefore)

        let retired = try runCallAudit(["keys", "retire-kek", old] + common, withKEK: false)
        #expect(retired.status == 0, "\(retired.output)")
        #expect(try KeyEncryptionKeys.load(file: kek, create: false).ids == [new])
        #expect(try database.count("SELECT count(*) FROM subjects WHERE kek_id = '\(old)'") == 0)

        // Everything still opens with the new key alone: a regular caller's request shows their identifiers.
        let regular = RepeatCaller(number: 3)
        let opened = try runCallAudit(["requests", "open", "--type", "access", "--regime", "gdpr", "--phone", regular.phone, "--verified-by", "test"] + common, withKEK: false)
        let shown = try runCallAudit(["requests", "show", opened.output.trimmingCharacters(in: .whitespacesAndNewlines)] + common, withKEK: false)
        #expect(shown.output.contains(regular.phone), "\(shown.output)")
        #expect(serve.terminate(within: 10) != nil && serve.status == 0, "\(serve.standardError)")
    }
}
}
