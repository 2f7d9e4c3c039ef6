import CallAuditDomain
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// The polling thread leaves out the hash of an event the vault will seal
/// (`OnePassDecoder.subjectsWillBeSealed`); what is stored must still be the
/// hash of the stored, sealed bytes.
@Suite("Ingest stores each event with the hash of its stored bytes")
struct IngestContentHashTests {
    @Test("events with subjects are stored sealed, with the sealed bytes' hash: never the message's form's, never none")
    func sealedEventsKeepTheirStoredBytesHash() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka()
        let messages = simulatedMessages(calls: 20)
        try kafka.produce(messages)
        // The hashes of the events as the messages hold them, subjects in the clear.
        var unsealed: Set<String> = []
        for message in messages {
            let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
            if case .success(let event) = EventDecoder().decode(incoming), !event.subjectObjects.isEmpty { unsealed.insert(event.contentHash.hexString) }
        }
        #expect(!unsealed.isEmpty)

        let ingest = RunningIngest(kafka.ingestConfiguration(database))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == messages.count })
        ingest.stop()
        let rows = try database.owner().query(
            """
            SELECT encode(content_hash, 'hex'), sha256(convert_to(event::text, 'UTF8')) = content_hash, event::text LIKE '%"subject_ref"%'
            FROM events
            """
        ).rows
        #expect(rows.count > unsealed.count)
        #expect(rows.filter { $0[2] == "t" }.count == unsealed.count, "every event with subjects is stored sealed")
        for row in rows {
            #expect(row[1] == "t", "the content hash is SHA-256 of the stored bytes")
            #expect(!unsealed.contains(row[0] ?? ""), "no event is stored with the hash of its unsealed form")
        }
    }
}
}
