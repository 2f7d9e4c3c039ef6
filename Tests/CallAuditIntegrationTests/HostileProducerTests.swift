import CallAuditDomain
import CallAuditIngest
import CallAuditKafka
import CallAuditSimulator
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// What any producer can put on the wire, produced with librdkafka itself:
/// each message is stored or dead-lettered, and ingest goes on, across a restart.
@Suite("A hostile producer cannot stop ingest")
struct HostileProducerTests {
    /// One message of the corpus: what it is, and how it goes on the wire.
    struct Hostile {
        var name: String
        var key: [UInt8]? = nil
        var headers: [(name: [UInt8], value: [UInt8]?)] = []
        var value: [UInt8]?
        var timestamp: Int64? = nil
    }

    static let mebibyte = 1 << 20

    static func event(_ id: String) -> [UInt8] { ContractEvent.callEnded(id: id).canonicalBytes }

    static func binary(_ id: String, time: [UInt8]) -> Hostile {
        Hostile(
            name: "binary ce_time \(String(decoding: time.prefix(24), as: UTF8.self).debugDescription) (\(time.count) bytes)",
            headers: [
                (Array("ce_specversion".utf8), Array("1.0".utf8)), (Array("ce_id".utf8), Array(id.utf8)),
                (Array("ce_source".utf8), Array("urn:hostile".utf8)), (Array("ce_type".utf8), Array("call.ended".utf8)),
                (Array("ce_time".utf8), time), (Array("content-type".utf8), Array("application/json".utf8)),
            ],
            value: Array(#"{"call_id":"c-hostile"}"#.utf8))
    }

    /// The corpus: timestamps at both int64 extremes, negative, in µs and ns;
    /// keys and header values with NUL bytes, invalid UTF-8, or 1 MiB; header
    /// names that are not UTF-8 or hold a NUL; 1,000 headers; a tombstone and
    /// an empty value; binary-mode `ce_time` of every broken kind.
    static var corpus: [Hostile] {
        var corpus: [Hostile] = []
        let timestamps: [(String, Int64)] = [
            ("int64 max", .max), ("int64 min", .min), ("-1", -1), ("negative", -1_700_000_000_000),
            ("microseconds", 1_700_000_000_000_000), ("nanoseconds", 1_700_000_000_000_000_000),
        ]
        for (name, timestamp) in timestamps {
            corpus.append(Hostile(name: "timestamp \(name), not JSON", value: Array("not json".utf8), timestamp: timestamp))
            corpus.append(Hostile(name: "timestamp \(name), valid event", value: event("ts-\(name)"), timestamp: timestamp))
        }
        let awkward: [(String, [UInt8])] = [
            ("NUL bytes", [0x61, 0x00, 0x62, 0x00]), ("invalid UTF-8", [0xFF, 0xFE, 0xC3, 0x28]),
            ("1 MiB", [UInt8](repeating: 0x41, count: mebibyte)),
        ]
        for (name, bytes) in awkward {
            corpus.append(Hostile(name: "key with \(name), valid event", key: bytes, value: event("key-\(name)")))
            corpus.append(Hostile(name: "key with \(name), not JSON", key: bytes, value: Array("{".utf8)))
            corpus.append(Hostile(name: "header value with \(name), valid event", headers: [(Array("x-trace".utf8), bytes)], value: event("hv-\(name)")))
            corpus.append(Hostile(name: "header value with \(name), not JSON", headers: [(Array("x-trace".utf8), bytes)], value: [0x00]))
        }
        corpus.append(Hostile(name: "header name not UTF-8, valid event", headers: [([0x78, 0xFF, 0x2D], Array("v".utf8))], value: event("hn-utf8")))
        corpus.append(Hostile(name: "header name not UTF-8, not JSON", headers: [([0xC0, 0xAF], nil)], value: Array("[".utf8)))
        corpus.append(Hostile(name: "header name with NUL, valid event", headers: [([0x78, 0x00, 0x79], Array("v".utf8))], value: event("hn-nul")))
        corpus.append(Hostile(name: "binary ce_ header name not UTF-8", headers: binary("bin-name", time: Array("2026-11-24T10:00:00Z".utf8)).headers + [([0x63, 0x65, 0x5F, 0xFF], Array("x".utf8))], value: Array(#"{"call_id":"c"}"#.utf8)))
        corpus.append(Hostile(name: "1,000 headers, valid event", headers: (0..<1_000).map { (Array("h\($0)".utf8), Array("\($0)".utf8)) }, value: event("many-headers")))
        corpus.append(Hostile(name: "1,000 headers, not JSON", headers: (0..<1_000).map { (Array("h\($0)".utf8), nil) }, value: Array("nope".utf8)))
        corpus.append(Hostile(name: "tombstone (null value)", key: Array("k".utf8), value: nil))
        corpus.append(Hostile(name: "empty value", value: []))
        let times: [[UInt8]] = [
            [], Array("not a time".utf8), Array("2026-13-45T99:99:99Z".utf8), Array("2026-02-30T10:00:00Z".utf8),
            Array("9999-12-31T23:59:60Z".utf8), Array("0000-01-01T00:00:00Z".utf8), Array("0001-01-01T00:00:00+23:59".utf8),
            Array("9999-12-31T23:59:59-23:59".utf8), Array("2026-11-24T10:00:00".utf8), Array("2026-11-24 10:00:00Z".utf8),
            Array("2026-11-24T10:00:00.\(String(repeating: "9", count: 1_000))Z".utf8), Array("2026-11-24T10:00:00+99:99".utf8),
            Array("+275760-09-13T00:00:00Z".utf8), Array("2026-11-24T10:00:00Z\u{0}".utf8), [0x32, 0x30, 0xFF, 0xFE],
            Array("١٩٧٠-01-01T00:00:00Z".utf8), Array(String(repeating: "2", count: 300_000).utf8),
        ]
        for (index, time) in times.enumerated() { corpus.append(binary("bin-time-\(index)", time: time)) }
        // NUL where a text column would have to hold it.
        corpus.append(Hostile(name: "event id with NUL", value: Array(#"{"specversion":"1.0","id":"a\u0000b","source":"urn:x","type":"call.ended","time":"2026-11-24T10:00:00Z","data":{"call_id":"c"}}"#.utf8)))
        corpus.append(Hostile(name: "call id with NUL", value: Array(#"{"specversion":"1.0","id":"nul-call","source":"urn:x","type":"call.ended","time":"2026-11-24T10:00:00Z","data":{"call_id":"c\u0000"}}"#.utf8)))
        return corpus
    }

    @Test("every message of a hostile corpus is stored or dead-lettered, and ingest goes on, across a restart")
    func hostileCorpusNeverStopsIngest() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let producer = try KafkaProducer(
            configuration: SimulationRunner.producerConfiguration(brokers: kafka.brokers, extra: ["message.max.bytes": "8000000"]),
            logger: quietLogger)
        let corpus = Self.corpus
        for hostile in corpus {
            try producer.produce(
                topic: Topic.calls.rawValue, partition: 0, key: hostile.key, value: hostile.value, rawHeaders: hostile.headers,
                timestamp: hostile.timestamp)
        }
        try producer.flush()
        #expect(producer.failed == 0, "the broker took every message")

        var ingest = RunningIngest(kafka.ingestConfiguration(database))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == corpus.count }, "every hostile message was consumed")
        ingest.stop()
        let stored = try database.count("SELECT count(*) FROM events")
        let letters = try database.count("SELECT count(*) FROM dead_letters")
        #expect(stored + letters == corpus.count, "each message stored or dead-lettered, none twice: \(stored) + \(letters)")
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE reason = 'store_rejected'") == 0, "the decoder refused what PostgreSQL would")
        let raw = try database.owner().query(
            "SELECT kafka_timestamp_raw::text, kafka_timestamp IS NULL FROM dead_letters WHERE kafka_timestamp_raw = ANY('{9223372036854775807,1700000000000000000,1700000000000000}')"
        ).rows
        #expect(raw.count == 3 && raw.allSatisfy { $0[1] == "t" }, "timestamps kept as the numbers they were: \(raw)")

        // A restart after the corpus resumes where it was, and what follows is stored.
        ingest = RunningIngest(kafka.ingestConfiguration(database))
        let after = (0..<50).map { Self.event("after-\($0)") }
        for value in after { try producer.produce(topic: Topic.calls.rawValue, value: value) }
        try producer.flush()
        #expect(try waitUntil(seconds: 60) { try consumed(database) == corpus.count + after.count })
        ingest.stop()
        #expect(try database.count("SELECT count(*) FROM events WHERE event_id LIKE 'after-%'") == after.count)
        try expectOffsetsConsistent(database)
    }

    @Test("a dead letter whose row PostgreSQL refuses is stored in its raw form, and the batch commits")
    func refusedDeadLetterRowIsStoredRaw() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        // A server-side check (as a stricter schema or an extension might add) refuses the letter's text.
        try database.owner().execute("ALTER TABLE dead_letters ADD CONSTRAINT strict_detail CHECK (position('unexpected' in detail) = 0)")
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        let letter = DeadLetter(
            origin: KafkaOrigin(topic: "calls", partition: 0, offset: 7, timestampMilliseconds: .min, timestampType: "create_time"),
            rejection: Rejection(.notJSON, "unexpected character at offset 0"), key: [0, 0xFF], headers: [(key: "x", value: [0])],
            value: Array("not json".utf8))
        let outcome = try store.append(
            IngestBatch(deadLetters: [letter], resumePoints: [KafkaResumePoint(topic: "calls", partition: 0, nextOffset: 8)]), consumerGroup: "g")
        #expect(outcome.deadLettered == 1)
        let row = try database.owner().query(
            "SELECT reason, detail, kafka_timestamp_raw::text, encode(message_key, 'hex'), encode(message_value, 'escape') FROM dead_letters").rows
        #expect(row.count == 1)
        #expect(row.first?[0] == "not_json" && row.first?[2] == String(Int64.min) && row.first?[3] == "00ff" && row.first?[4] == "not json")
        #expect(row.first?[1]?.contains("PostgreSQL refused the dead letter's row (23514)") == true, "\(row)")
        #expect(try database.count("SELECT next_offset FROM kafka_offsets WHERE consumer_group = 'g'") == 8, "its position committed with it")
    }
}
}
