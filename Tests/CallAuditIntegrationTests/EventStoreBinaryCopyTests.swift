import CallAuditDomain
import CallAuditStore
import Testing

extension DatabaseTests {
/// The writer COPYs events in binary form (`CopyBinaryEncoder`); what is stored must be
/// what the text form stored, column for column.
@Suite("The writer's COPY in binary form")
struct EventStoreBinaryCopyTests {
    @Test("every column reads back as the event and its origin (times before 1970, around 2000 and in 9999, to the microsecond; no origin as NULLs), and the same batch again is all duplicates")
    func columnsReadBack() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try PostgresConnection(conninfo: database.serviceURL)
        let store = EventStore(connection: connection)
        var events: [IncomingEvent] = []
        let starts = ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "2000-01-01T00:00:00.000001Z", "9999-12-31T23:00:00.5Z"]
        for (index, start) in starts.enumerated() {
            let origin = index == 0 ? nil : KafkaOrigin(topic: "calls-\(index)", partition: Int32(index), offset: Int64(index) << 40)
            events += try Events.recordedCall("c\(index)", at: start, parties: [Events.party("p", "customer", ["phone": "+14155550100"])]).map {
                IncomingEvent(event: try EventDecoder.validate($0), origin: origin)
            }
        }
        #expect(try store.append(IngestBatch(events: events), consumerGroup: "g").stored == events.count)

        let rows = try connection.query(
            """
            SELECT stream, type, source, event_id, (extract(epoch FROM event_time) * 1000000)::bigint, event::text, encode(content_hash, 'hex'),
                   kafka_topic, kafka_partition, kafka_offset
            FROM events ORDER BY position
            """
        ).decode((String, String, String, String, Int64, String, String, String?, Int32?, Int64?).self)
        #expect(rows.count == events.count)
        for (row, incoming) in zip(rows, events) {
            let event = incoming.event
            #expect(row.0 == event.stream && row.1 == event.typeName && row.2 == event.source && row.3 == event.id)
            #expect(row.4 == event.time.microseconds, "\(event.time)")
            #expect(row.5 == String(decoding: event.canonical, as: UTF8.self))
            #expect(row.6 == event.contentHash.hexString)
            #expect(row.7 == incoming.origin?.topic && row.8 == incoming.origin?.partition && row.9 == incoming.origin?.offset)
        }
        // Again: the COPY meets the first row's (source, id), and the staging table's path (binary too) keeps none.
        let again = try store.append(IngestBatch(events: events), consumerGroup: "g")
        #expect(again.stored == 0 && again.duplicates == events.count)
    }

    @Test("a role default of client_encoding = LATIN1, which any role may set for itself, changes no byte stored or read")
    func clientEncodingIsPinned() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute("ALTER ROLE callaudit_service IN DATABASE \(database.name) SET client_encoding = 'LATIN1'")
        let connection = try PostgresConnection(conninfo: database.serviceURL)
        let event = try EventDecoder.validate(ContractEvent.callEnded(id: "é-1", call: "anruf-ä-€"))
        #expect(try EventStore(connection: connection).append(IngestBatch(events: [IncomingEvent(event: event, origin: nil)]), consumerGroup: "g").stored == 1)
        let hashMatches = try database.owner().query(
            "SELECT sha256(convert_to(event::text, 'UTF8')) = content_hash FROM events").decodeScalar(Bool.self)
        #expect(hashMatches, "the stored bytes are the canonical UTF-8 the hash was taken of")
        let log = EventLog(connection: connection)
        let read = try log.read(after: .start, below: try log.horizon(), limit: 10)
        #expect(read.map(\.json) == [String(decoding: event.canonical, as: UTF8.self)])
    }
}
}
