/// What `FactScanner` made of a stored event.
package enum FactScan: Sendable, Equatable {
    /// The event's facts: exactly what `FactEvent(document)?.judged` gives.
    case event(FactEvent)
    /// A document `FactEvent(document)` turns down too (no id, unknown type…).
    case notAFact
    /// Not the canonical form CallAudit writes: read it through the tree instead.
    case unsure
}

/// Reads what compliance folds in (`FactEvent`, `judged`) straight from a
/// stored event's canonical bytes: the envelope's `type`, `id`, `source` and
/// `time` are cut out of the bytes (`type` looked up and `time` read where
/// they lie, no `String` made of either), its other members skipped unbuilt, and of
/// a contract event's `data` only the members compliance judges are read, into
/// `JudgedData` (`JudgedDataScanner.judgedData`), no tree built. A rebuild reads every event of the
/// log, and building the whole tree cost more than PostgreSQL takes to hand
/// the bytes over.
///
/// The stored bytes are RFC 8785 as CallAudit wrote them, but a superuser can
/// edit them. So the scanner decides only what it checks as strictly as the
/// tree parser would: members in canonical order (so none twice), ASCII names,
/// strings without escapes, scalars only in the envelope, no whitespace; the
/// whole `data` of CallAudit's own events is parsed by the tree parser, at its depth.
/// Anything else is `unsure`, and the caller parses the whole document, which
/// decides, or throws, as before.
package enum FactScanner {
    /// A stored event's judged `FactEvent`: scanned, or, when the scanner is
    /// unsure, parsed whole, which then decides, or throws, exactly as before.
    package static func factEvent(_ json: String) throws(JSONParseError) -> FactEvent? {
        var buffers = FactScanBuffers()
        return try factEvent(json, reusing: &buffers)
    }

    /// The same, with buffers kept from one event to the next (a page of the log).
    package static func factEvent(_ json: String, reusing buffers: inout FactScanBuffers) throws(JSONParseError) -> FactEvent? {
        switch scan(json, reusing: &buffers) {
        case .event(let facts): facts
        case .notAFact: nil
        case .unsure: FactEvent(try JSONParser.parse(json))?.judged
        }
    }

    package static func scan(_ json: String) -> FactScan {
        var buffers = FactScanBuffers()
        return scan(json, reusing: &buffers)
    }

    package static func scan(_ json: String, reusing buffers: inout FactScanBuffers) -> FactScan {
        var json = json
        return json.withUTF8 { bytes in
            var scanner = EnvelopeScanner(bytes: bytes)
            swap(&scanner.buffers, &buffers)
            defer { swap(&scanner.buffers, &buffers) }
            do { return try scanner.scan() } catch { return .unsure }
        }
    }
}

/// What scanning one event leaves for the next to reuse: the last `source`
/// made a `String` (a log holds few).
package struct FactScanBuffers {
    var lastSource: (bytes: [UInt8], text: String) = ([], "")

    package init() {}

    /// `bytes` as a `String`: the last one made when the bytes are the same.
    mutating func source(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if !lastSource.bytes.withUnsafeBufferPointer({ $0.equals(bytes) }) {
            lastSource = (Array(bytes), String(decoding: bytes, as: UTF8.self))
        }
        return lastSource.text
    }
}

/// The envelope members a `FactEvent` is made of, as found.
private struct EnvelopeFields {
    var id: String?, source: String?
    /// `type`, looked up from its bytes (`EventTypeBytes`): nil when absent or unknown.
    var type: (contract: EventType?, own: OwnEventType?) = (nil, nil)
    /// `time`, read from its bytes: nil when absent or not RFC 3339, as the tree path reads it.
    var time: Timestamp?
    /// A contract event's `data`, typed (shared from the start: moved, not
    /// copied, into the event); nil when absent or built whole instead.
    var judged: SharedJudgedData?
    /// `data` built whole: one of CallAudit's own events, or bytes the typed scan does not decide.
    var whole: JSONValue?
    /// Where `data` starts: one of CallAudit's own events reads it again, whole.
    var dataStart: Int?

    /// What `FactEvent(document)?.judged` makes of a document with these members.
    consuming func scan() -> FactScan {
        guard type.contract != nil || type.own != nil, let id, let source, let time, dataStart != nil else {
            return .notAFact
        }
        if type.own != nil, let whole {
            return .event(FactEvent(type: type.contract, own: type.own, id: id, source: source, time: time, data: whole))
        }
        guard let judged = judged ?? whole.map({ SharedJudgedData(JudgedData($0)) }) else { return .notAFact }
        return .event(FactEvent(type: type.contract, own: type.own, id: id, source: source, time: time, judgedData: judged))
    }
}

private struct EnvelopeScanner: StoredBytesScanning {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var buffers = FactScanBuffers()

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func scan() throws(Unsure) -> FactScan {
        var fields = EnvelopeFields()
        try forEachMember { (scanner, name) throws(Unsure) in try scanner.member(name, into: &fields) }
        guard index == bytes.count else { throw Unsure() }
        // `type` comes after `data` in byte order: only now is it known whose event this is.
        if let start = fields.dataStart, fields.type.own != nil, fields.whole == nil {
            var data = JudgedDataScanner(bytes: bytes, index: start)
            fields.whole = try data.whole(depth: 1)
        }
        return fields.scan()
    }

    private mutating func member(_ name: UnsafeBufferPointer<UInt8>, into fields: inout EnvelopeFields) throws(Unsure) {
        if name.is("data") {
            fields.dataStart = index
            try judgedData(into: &fields)
        } else if name.is("id") {
            fields.id = try text()
        } else if name.is("source") {
            fields.source = buffers.source(try plainString(asciiOnly: false))
        } else if name.is("time") {
            // A plain string's bytes are its UTF-8: read where it lies, no String made.
            fields.time = Timestamp(rfc3339: try plainString(asciiOnly: false))
        } else if name.is("type") {
            fields.type = EventTypeBytes.lookUp(try plainString(asciiOnly: false))
        } else {
            try skipScalar()
        }
    }

    /// What compliance judges of `data`, one level below the root, typed;
    /// built whole by the tree parser where the typed scan is unsure.
    private mutating func judgedData(into fields: inout EnvelopeFields) throws(Unsure) {
        var data = JudgedDataScanner(bytes: bytes, index: index)
        if let judged = try? data.judgedData() {
            fields.judged = SharedJudgedData(judged)
        } else {
            data.index = index
            fields.whole = try data.whole(depth: 1)
        }
        index = data.index
    }

    /// A string member the facts keep. Another kind of value (which the tree
    /// would read as a missing member) is rare enough to leave to the tree.
    private mutating func text() throws(Unsure) -> String {
        String(decoding: try plainString(asciiOnly: false), as: UTF8.self)
    }

    /// An envelope attribute nobody judges: CloudEvents allows only scalars
    /// there. A string, a literal, or an integer a Double holds exactly.
    private mutating func skipScalar() throws(Unsure) {
        switch try peek() {
        case UInt8(ascii: "\""): _ = try plainString(asciiOnly: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipInteger()
        }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes are `literal`'s: the length first, then the bytes,
    /// without walking a `String`'s UTF-8 view for every envelope member.
    func `is`(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        for offset in 0..<count where self[offset] != literal.utf8Start[offset] { return false }
        return true
    }
}
