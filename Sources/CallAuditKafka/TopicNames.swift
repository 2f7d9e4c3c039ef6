import CRDKafka

#if canImport(Glibc)
import Glibc
#endif

/// The name of the topic messages come from, read into a String once while
/// they keep coming from the same topic (librdkafka hands it out as a C
/// string with every message). Compared by its bytes, never by the handle's
/// address, so a handle freed and reused for another topic cannot mislabel.
struct TopicNames {
    private var bytes: [CChar] = [0]
    private var text = ""

    mutating func name(of topic: OpaquePointer) -> String {
        let name = rd_kafka_topic_name(topic)!
        if strcmp(name, bytes) != 0 {
            bytes = Array(UnsafeBufferPointer(start: name, count: strlen(name) + 1))
            text = String(cString: name)
        }
        return text
    }
}
