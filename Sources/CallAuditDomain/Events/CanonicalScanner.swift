/// One pass over a structured-mode event's bytes: checks the JSON grammar and
/// I-JSON's limits, checks each value against its contract plan as it reads
/// it, and writes the RFC 8785 form into `out` as it goes. Objects are
/// written in arrival order and re-sorted in place when they close (events
/// mostly arrive sorted, or nearly). Root attributes and the stream id are
/// copied to `captured`; subject objects are noted by their canonical range.
///
/// It accepts only what it is sure the reference (`EventDecoder` over a
/// `JSONValue` tree) accepts, giving the same bytes; anything else — an
/// error, a rare shape — throws `HandOff`, and the reference decides.
struct CanonicalScanner {
    enum Slot: Int { case specversion, id, source, type, time, streamID }

    /// Where each captured value sits in `captured` (a tuple, not a dictionary: no allocation).
    struct Slots {
        private var ranges: (Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?)

        init() { ranges = (nil, nil, nil, nil, nil, nil) }

        subscript(slot: Slot) -> Range<Int>? {
            get {
                switch slot {
                case .specversion: ranges.0
                case .id: ranges.1
                case .source: ranges.2
                case .type: ranges.3
                case .time: ranges.4
                case .streamID: ranges.5
                }
            }
            set {
                switch slot {
                case .specversion: ranges.0 = newValue
                case .id: ranges.1 = newValue
                case .source: ranges.2 = newValue
                case .type: ranges.3 = newValue
                case .time: ranges.4 = newValue
                case .streamID: ranges.5 = newValue
                }
            }
        }
    }

    /// Where a value sits: inside the root's `data`, inside a subject object there.
    struct Place {
        var insideData = false
        var insideSubject = false
    }

    let input: UnsafeBufferPointer<UInt8>
    var index = 0
    var out: OutputBytes
    let scratch: ScratchBuffer
    var reorderBuffer: OutputBytes
    var members: [MemberSpan]
    var subjects: [Range<Int>]
    var captured: [UInt8]
    var slots = Slots()
    var entry: ContractPlans.Entry?

    /// Objects with more members hand off: duplicate checks here are quadratic, the reference's are not.
    static let maximumMembers = 32

    /// Made once: each `ValuePlan` case made allocates its box (the enum is indirect).
    private static let anyString = ValuePlan.string(maximum: .max)

    // MARK: Values

    mutating func root() throws(HandOff) {
        skipWhitespace()
        guard try peek() == UInt8(ascii: "{") else { throw HandOff() }
        try object(nil, Place(), depth: 0)
        skipWhitespace()
        guard index == input.count else { throw HandOff() }
    }

    mutating func value(_ plan: ValuePlan, _ place: Place, depth: Int, slot: Slot? = nil) throws(HandOff) {
        guard depth < JSONParser.maximumDepth else { throw HandOff() }
        var plan = plan
        let first = try peek()
        if case .nullable(let inner) = plan {
            if first == UInt8(ascii: "n") { return try literal("null") }
            plan = inner
        }
        if slot != nil, first != UInt8(ascii: "\"") { throw HandOff() }
        switch (first, plan) {
        case (UInt8(ascii: "{"), .any): try object(nil, place, depth: depth)
        case (UInt8(ascii: "{"), .object(let objectPlan)): try object(objectPlan, place, depth: depth)
        case (UInt8(ascii: "["), .any): try array(.any, minItems: 0, place, depth: depth)
        case (UInt8(ascii: "["), .list(let element, let minItems)): try array(element, minItems: minItems, place, depth: depth)
        case (UInt8(ascii: "\""), _):
            let text = try string()
            try Self.check(text, against: plan)
            if let slot { capture(text, in: slot) }
        case (UInt8(ascii: "t"), .any), (UInt8(ascii: "t"), .boolean): try literal("true")
        case (UInt8(ascii: "f"), .any), (UInt8(ascii: "f"), .boolean): try literal("false")
        case (UInt8(ascii: "n"), .any): try literal("null")
        case (UInt8(ascii: "-"), _), (UInt8(ascii: "0")...UInt8(ascii: "9"), _):
            try Self.check(try number(), against: plan)
        default: throw HandOff()
        }
    }

    private mutating func array(_ element: ValuePlan, minItems: Int, _ place: Place, depth: Int) throws(HandOff) {
        index += 1
        out.append(UInt8(ascii: "["))
        var count = 0
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            index += 1
        } else {
            while true {
                if count > 0 { out.append(UInt8(ascii: ",")) }
                skipWhitespace()
                try value(element, place, depth: depth + 1)
                count += 1
                skipWhitespace()
                let next = try peek()
                index += 1
                if next == UInt8(ascii: "]") { break }
                guard next == UInt8(ascii: ",") else { throw HandOff() }
            }
        }
        out.append(UInt8(ascii: "]"))
        guard count >= minItems else { throw HandOff() }
    }

    private mutating func object(_ plan: ObjectPlan?, _ place: Place, depth: Int) throws(HandOff) {
        index += 1
        let objectStart = out.count
        out.append(UInt8(ascii: "{"))
        let (base, subjectBase) = (members.count, subjects.count)
        var present: UInt64 = 0
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                try member(of: plan, place, depth: depth, base: base, present: &present)
                skipWhitespace()
                let next = try peek()
                index += 1
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw HandOff() }
            }
        }
        if !isSorted(from: base) { sortMembers(from: base, objectStart: objectStart, subjectBase: subjectBase) }
        members.removeLast(members.count - base)
        out.append(UInt8(ascii: "}"))
        if let plan, !plan.isComplete(present) { throw HandOff() }
    }

    /// One `"name": value` of an object: its name checked (ASCII, not a
    /// duplicate, not personal data outside a subject), its value against the
    /// plan's field of that name.
    private mutating func member(of plan: ObjectPlan?, _ place: Place, depth: Int, base: Int, present: inout UInt64) throws(HandOff) {
        guard members.count - base < Self.maximumMembers else { throw HandOff() }
        if members.count > base { out.append(UInt8(ascii: ",")) }
        skipWhitespace()
        guard try peek() == UInt8(ascii: "\"") else { throw HandOff() }
        let start = out.count
        let name = try string()
        // Non-ASCII names hand off: the reference compares names as Swift
        // strings (canonical equivalence), and sorts them by UTF-16.
        // Unescaped, a name holds none of the bytes refused here: only escaped names are searched.
        guard name.isASCII, !name.wasEscaped || name.bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) else { throw HandOff() }
        let span = MemberSpan(start: start, nameEnd: out.count, end: 0)
        guard !isDuplicate(span, from: base) else { throw HandOff() }
        if !place.insideSubject, Self.isPersonalName(name.bytes) { throw HandOff() }
        var fieldPlan = ValuePlan.any
        var slot: Slot?
        if depth == 0 {
            (fieldPlan, slot) = try rootMember(name.bytes)
        } else if let plan {
            if let field = plan.field(name.bytes) {
                present |= 1 << field
                fieldPlan = plan.plans[field]
            } else if plan.isReserved(name.bytes) {
                throw HandOff()
            }
            if depth == 1, place.insideData, let entry, name.bytes.equals(entry.idField) { slot = .streamID }
        }
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
        out.append(UInt8(ascii: ":"))
        skipWhitespace()
        let next = try peek()
        let opensSubject = place.insideData && !place.insideSubject && next == UInt8(ascii: "{") && name.bytes.equals("subject")
        let inner = Place(
            insideData: place.insideData || (depth == 0 && name.bytes.equals("data")),
            insideSubject: place.insideSubject || opensSubject)
        let valueStart = out.count
        if opensSubject { subjects.append(valueStart..<valueStart) }
        let subjectIndex = subjects.count - 1
        try value(fieldPlan, inner, depth: depth + 1, slot: slot)
        if opensSubject { subjects[subjectIndex] = valueStart..<out.count }
        members.append(MemberSpan(start: span.start, nameEnd: span.nameEnd, end: out.count))
    }

    /// A root member's plan: the CloudEvents attributes the columns come from,
    /// those that must be strings, and `data` by the event's type.
    private mutating func rootMember(_ name: UnsafeBufferPointer<UInt8>) throws(HandOff) -> (ValuePlan, Slot?) {
        // By length first: each name is then compared with at most three of the same length.
        switch name.count {
        case 2 where name.equals("id"): return (.any, .id)
        case 4 where name.equals("type"): return (.any, .type)
        case 4 where name.equals("time"): return (.any, .time)
        case 4 where name.equals("data"):
            if entry == nil { entry = try typeEntry() }
            return (entry!.dataPlan, nil)
        case 6 where name.equals("source"): return (.any, .source)
        case 11 where name.equals("specversion"): return (.any, .specversion)
        case 7 where name.equals("subject"), 10 where name.equals("dataschema"), 15 where name.equals("datacontenttype"):
            return (Self.anyString, nil)
        default: return (.any, nil)
        }
    }

    /// The type's plan, from the `type` already read or, when `data` comes first, from a look ahead.
    private func typeEntry() throws(HandOff) -> ContractPlans.Entry {
        if let range = slots[.type] {
            let found = captured.withUnsafeBufferPointer { ContractPlans.shared.entry(named: UnsafeBufferPointer(rebasing: $0[range])) }
            guard let found else { throw HandOff() }
            return found
        }
        // The main pass compares the type it reads later with this one: a tail misread hands off.
        if let entry = TypeLookahead.entryFromTail(of: input) { return entry }
        var ahead = TypeLookahead(input: input, index: index)
        return try ahead.entry()
    }

    private mutating func capture(_ text: ScannedString, in slot: Slot) {
        let start = captured.count
        captured.append(contentsOf: text.bytes)
        slots[slot] = start..<captured.count
    }

    /// Whether `name` is one of `PersonalData.memberNames`.
    static func isPersonalName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        switch name.count {
        case 4: name.equals("name")
        case 5: name.equals("phone") || name.equals("email")
        case 11: name.equals("customer_id") || name.equals("employee_id")
        default: false
        }
    }
}
