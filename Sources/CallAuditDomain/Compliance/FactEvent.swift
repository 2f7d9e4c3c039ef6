/// The parts of a stored event that compliance facts fold in, taken out of
/// its document once instead of by every fact it touches.
public struct FactEvent: Sendable {
    public var type: EventType
    public var id: String
    public var time: Timestamp
    public var data: JSONValue

    /// Nil for a document that is not a known event with an id, a time and data.
    public init?(_ document: JSONValue) {
        guard case .object(let members) = document else { return nil }
        var type: EventType?, id: String?, time: Timestamp?, data: JSONValue?
        for (key, value) in members {
            switch key {
            case "type": type = value.stringValue.flatMap(EventType.init(rawValue:))
            case "id": id = value.stringValue
            case "time": time = value.stringValue.flatMap(Timestamp.init(rfc3339:))
            case "data": data = value
            default: break
            }
        }
        guard let type, let id, let time, let data else { return nil }
        self.type = type
        self.id = id
        self.time = time
        self.data = data
    }
}
