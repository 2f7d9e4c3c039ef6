import CallAuditDomain
import CallAuditKafka
import Testing

/// A consumed message's headers, read from librdkafka's buffers into `MessageHeaders`.
@Suite("A consumed message's headers")
struct KafkaMessageHeadersTests {
    @Test("names as sent up to a NUL, values as sent, a missing value apart from an empty one; not UTF-8 said once")
    func headersAsSent() throws {
        let kafka = try TestKafka(partitions: 1)
        let producer = try kafka.producer()
        let sent: [(name: [UInt8], value: [UInt8]?)] = [
            (Array("content-type".utf8), Array("application/json".utf8)), ([0x78, 0xFF, 0x2D], [0, 1]), ([0x78, 0x00, 0x79], Array("v".utf8)),
            (Array("empty".utf8), []), (Array("none".utf8), nil),
        ]
        try producer.produce(topic: Topic.calls.rawValue, partition: 0, key: nil, value: Array("{}".utf8), rawHeaders: sent)
        try producer.produce(topic: Topic.calls.rawValue, partition: 0, key: nil, value: Array("{}".utf8), rawHeaders: [])
        try producer.flush()
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(["bootstrap.servers": kafka.brokers, "group.id": "headers-test"]), logger: quietLogger,
            assign: { _ in nil }, revoke: { _ in })
        defer { consumer.close() }
        try consumer.assign([TopicPartition(topic: Topic.calls.rawValue, partition: 0): nil])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while messages.count < 2, ContinuousClock.now < deadline {
            if let message = consumer.poll(timeoutMilliseconds: 200) { messages.append(message) }
        }
        try #require(messages.count == 2)
        let headers = messages[0].headers
        let expectedNames: [[UInt8]] = [Array("content-type".utf8), [0x78, 0xFF, 0x2D], [0x78], Array("empty".utf8), Array("none".utf8)]
        #expect(headers.entries.map { Array(headers.bytes[$0.name]) } == expectedNames, "a name is read up to its NUL, as a C string")
        #expect(headers.entries.map { $0.value.map { Array(headers.bytes[$0]) } } == sent.map(\.value))
        #expect(!headers.namesAreUTF8 && headers.rawNames == expectedNames)
        #expect(headers.map(\.key)[1] == String(decoding: [0x78, 0xFF, 0x2D], as: UTF8.self))
        #expect(headers.bytes.count == 5 * 8 + expectedNames.reduce(0) { $0 + $1.count } + 2 + 16 + 1, "one buffer, every name and value")
        #expect(headers.textByteCount == headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) })
        #expect(!IncomingMessage(headers: headers, value: messages[0].value).headerNamesAreUTF8)
        #expect(messages[1].headers.isEmpty && messages[1].headers.namesAreUTF8 && messages[1].headers.bytes.isEmpty)
    }
}
