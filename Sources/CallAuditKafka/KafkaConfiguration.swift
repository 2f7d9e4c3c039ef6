import CRDKafka

/// librdkafka properties (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md).
/// Any property can be passed through, so SASL, SSL and tuning work as librdkafka documents them.
package struct KafkaConfiguration: Sendable {
    package var properties: [String: String]
    /// How long SASL authentication or TLS with the brokers may keep failing before a
    /// consumer reports it as fatal (not a librdkafka property). Default 5 minutes.
    package var authGrace: Duration = KafkaConfiguration.defaultAuthGrace

    package static let defaultAuthGrace: Duration = .seconds(300)

    package init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    package subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Fails as creating a client would, with librdkafka's message: for checking configuration at start-up.
    package func validate() throws(KafkaError) {
        rd_kafka_conf_destroy(try makeNative())
    }

    /// Builds a `rd_kafka_conf_t`, failing with librdkafka's message for an unknown property or bad value.
    func makeNative() throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                let text = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                throw KafkaError(code: result.rawValue, message: "configuration property \(key): \(text)", property: key)
            }
        }
        return conf
    }
}

/// Creates a librdkafka client handle, which takes ownership of `conf`; on failure `conf` is freed here.
func makeHandle(_ type: rd_kafka_type_t, conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
    var errorText = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
        rd_kafka_conf_destroy(conf)
        throw KafkaError(code: -1, message: errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return handle
}

/// A topic and partition.
package struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    package var topic: String
    package var partition: Int32

    package init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    package var description: String { "\(topic)[\(partition)]" }
}

extension Array where Element == TopicPartition {
    /// "calls:0,2,4;consents:1": what a log line says of an assignment (one word, easy to pick out of a log).
    package var summary: String {
        Dictionary(grouping: self, by: \.topic).sorted { $0.key < $1.key }
            .map { topic, partitions in "\(topic):\(partitions.map(\.partition).sorted().map(String.init).joined(separator: ","))" }
            .joined(separator: ";")
    }

    init(native list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self = (0..<Int(list.pointee.cnt)).map { i in
            let element = list.pointee.elems[i]
            return TopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }
}

/// Every partition of `topics` the cluster knows, from a fresh metadata request on `handle`, in order.
func topicPartitions(_ handle: OpaquePointer, topics: [String], timeout: Duration) throws(KafkaError) -> [TopicPartition] {
    var metadata: UnsafePointer<rd_kafka_metadata>?
    let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    let err = rd_kafka_metadata(handle, 1, nil, &metadata, milliseconds)
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(err, context: "metadata") }
    defer { rd_kafka_metadata_destroy(metadata) }
    var result: [TopicPartition] = []
    for i in 0..<Int(metadata.pointee.topic_cnt) {
        let topic = metadata.pointee.topics[i]
        let name = String(cString: topic.topic)
        guard topics.contains(name) else { continue }
        result += (0..<topic.partition_cnt).map { TopicPartition(topic: name, partition: $0) }
    }
    return result.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
}
