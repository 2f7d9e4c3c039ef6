import CallAuditDomain

/// One message the simulator sends: where, with which key, in which CloudEvents mode.
package struct SimulatedMessage: Sendable {
    package var topic: Topic
    package var key: String
    package var headers: [(key: String, value: [UInt8])]
    package var value: [UInt8]
    /// Event time, used to order a window of messages as a real platform would emit them.
    package var time: Timestamp
    /// nil for a valid event; the reason the ingest must dead-letter it otherwise.
    package var expectedRejection: RejectionReason?

    package init(
        topic: Topic, key: String, headers: [(key: String, value: [UInt8])], value: [UInt8], time: Timestamp,
        expectedRejection: RejectionReason? = nil
    ) {
        self.topic = topic
        self.key = key
        self.headers = headers
        self.value = value
        self.time = time
        self.expectedRejection = expectedRejection
    }

    /// A valid event in structured mode (the JSON event is the value) or binary mode (`ce_*` headers).
    static func event(_ document: JSONValue, topic: Topic, key: String, time: Timestamp, binary: Bool) -> SimulatedMessage {
        guard binary, case .object(let members) = document else {
            return SimulatedMessage(
                topic: topic, key: key, headers: [("content-type", Array("application/cloudevents+json".utf8))],
                value: document.canonicalBytes, time: time, expectedRejection: nil)
        }
        var headers: [(key: String, value: [UInt8])] = [("content-type", Array("application/json".utf8))]
        var data: [UInt8] = []
        for member in members {
            if member.key == "data" {
                data = member.value.canonicalBytes
            } else if let text = member.value.stringValue {
                headers.append(("ce_" + member.key, Array(text.utf8)))
            }
        }
        return SimulatedMessage(topic: topic, key: key, headers: headers, value: data, time: time, expectedRejection: nil)
    }
}
