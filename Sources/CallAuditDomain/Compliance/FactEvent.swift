/// The parts of a stored event that compliance facts fold in, taken out of
/// its document once instead of by every fact it touches.
package struct FactEvent: Sendable, Equatable {
    /// The contract type; nil for one of CallAudit's own events (`own`).
    package var type: EventType?
    package var own: OwnEventType?
    package var id: String
    /// Who published it: with `id`, what identifies the event.
    package var source: String
    package var time: Timestamp
    package var data: JSONValue

    package init(type: EventType?, own: OwnEventType?, id: String, source: String, time: Timestamp, data: JSONValue) {
        self.type = type
        self.own = own
        self.id = id
        self.source = source
        self.time = time
        self.data = data
    }

    /// Nil for a document that is not a known event with an id, a time and data.
    package init?(_ document: JSONValue) {
        guard case .object(let members) = document else { return nil }
        var type: EventType?, own: OwnEventType?, id: String?, source: String?, time: Timestamp?, data: JSONValue?
        for (key, value) in members {
            switch key {
            case "type":
                type = value.stringValue.flatMap(EventType.init(rawValue:))
                own = value.stringValue.flatMap(OwnEventType.init(rawValue:))
            case "id": id = value.stringValue
            case "source": source = value.stringValue
            case "time": time = value.stringValue.flatMap(Timestamp.init(rfc3339:))
            case "data": data = value
            default: break
            }
        }
        guard type != nil || own != nil, let id, let source, let time, let data else { return nil }
        self.init(type: type, own: own, id: id, source: source, time: time, data: data)
    }
}
