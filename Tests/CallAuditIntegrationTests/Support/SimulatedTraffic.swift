import CallAuditDomain
import CallAuditSimulator
import CallAuditStore

/// Simulated traffic held in memory: the valid events and the malformed messages.
func simulatedMessages(calls: Int, seed: UInt64 = 7, malformedRate: Double = 0, recent: Bool = false) -> [SimulatedMessage] {
    var configuration = SimulationConfiguration()
    if recent {
        // The last half hour, ending ten minutes ago: "today" for the status, and never ahead of the clock.
        configuration.start = Timestamp.now.adding(seconds: -1_800)
        configuration.spanSeconds = 1_200
    }
    configuration.calls = calls
    configuration.seed = seed
    configuration.malformedRate = malformedRate
    var messages: [SimulatedMessage] = []
    TrafficSimulator(configuration: configuration).generate { messages.append($0) }
    return messages
}

/// Simulated events of `calls` calls on 2026-11-23, decoded as ingest would.
func simulatedEvents(calls: Int, seed: UInt64 = 3, days: Int64 = 1, start: String = "2026-11-23T00:00:00Z") -> [IncomingEvent] {
    var configuration = SimulationConfiguration()
    configuration.calls = calls
    configuration.seed = seed
    configuration.violationRate = 0.2
    configuration.start = Timestamp(rfc3339: start)!
    configuration.spanSeconds = days * 86_400
    var events: [IncomingEvent] = []
    TrafficSimulator(configuration: configuration).generate { message in
        let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
        if case .success(let event) = EventDecoder().decode(incoming) { events.append(IncomingEvent(event: event, origin: nil)) }
    }
    return events
}

/// A contract event built in code.
func contractEvent(_ id: String, _ type: EventType, at time: String, _ data: JSONValue) throws -> IncomingEvent {
    IncomingEvent(
        event: try EventDecoder.validate(
            ["specversion": "1.0", "id": .string(id), "source": "urn:late", "type": .string(type.rawValue), "time": .string(time), "data": data]),
        origin: nil)
}

/// A valid event built in code.
enum ContractEvent {
    static func callEnded(id: String, call: String = "c-1") -> JSONValue {
        ["specversion": "1.0", "id": .string(id), "source": "urn:test", "type": "call.ended", "time": "2026-11-24T10:00:00Z",
         "data": ["call_id": .string(call)]]
    }
}

/// The structured-mode JSON of a binary-mode simulated message.
func structuredForm(of message: SimulatedMessage) -> String {
    var members: [(key: String, value: JSONValue)] = message.headers.compactMap { header in
        guard header.key.hasPrefix("ce_") else { return nil }
        return (key: String(header.key.dropFirst(3)), value: .string(String(decoding: header.value, as: UTF8.self)))
    }
    members.append((key: "datacontenttype", value: "application/json"))
    members.append((key: "data", value: (try? JSONParser.parse(message.value)) ?? .null))
    return JSONValue.object(members).canonicalString
}
