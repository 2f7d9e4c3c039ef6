/// The contract's `Shape`s compiled for the one-pass decoder: names as bytes,
/// fields looked up by byte comparison, presence as a bit mask. Built once per
/// process; the decoder checks each value against its plan as it scans it.
///
/// A plan only ever says "this value is acceptable" or "hand it to the
/// reference": it does not word rejections (the tree decoder does, so both
/// paths give the same dead-letter reason and detail by construction).
indirect enum ValuePlan: Sendable {
    /// No constraint: an extra member, an unknown attribute.
    case any
    /// `.nonEmptyString`, `.text`, `.identifier`: 1 to `maximum` code points, not beginning with `prefix`.
    case nonEmpty(maximum: Int, notPrefixed: [UInt8]?)
    case string(maximum: Int)
    case boolean
    case integer(minimum: Int)
    case number(minimum: Double)
    case oneOf([[UInt8]])
    case pattern(StringPattern)
    case list(of: ValuePlan, minItems: Int)
    case object(ObjectPlan)
    case nullable(ValuePlan)

    init(_ shape: Shape) {
        switch shape {
        case .nonEmptyString: self = .nonEmpty(maximum: Shape.identifierMaxLength, notPrefixed: nil)
        case .identifier(let prefix): self = .nonEmpty(maximum: Shape.identifierMaxLength, notPrefixed: Array(prefix.utf8))
        case .text: self = .nonEmpty(maximum: Shape.textMaxLength, notPrefixed: nil)
        case .string: self = .string(maximum: Shape.textMaxLength)
        case .boolean: self = .boolean
        case .integer(let minimum): self = .integer(minimum: minimum)
        case .number(let minimum): self = .number(minimum: minimum)
        case .oneOf(let words): self = .oneOf(words.map { Array($0.utf8) })
        case .pattern(let pattern): self = .pattern(pattern)
        case .list(let element, let minItems): self = .list(of: ValuePlan(element), minItems: minItems)
        case .object(let object): self = .object(ObjectPlan(object))
        case .nullable(let inner): self = .nullable(ValuePlan(inner))
        }
    }
}

/// An `ObjectShape` with its names as bytes. Its fields are at most 64 (a
/// presence bit each); the contract's largest object has six.
final class ObjectPlan: Sendable {
    let names: [[UInt8]]
    let plans: [ValuePlan]
    let requiredMask: UInt64
    /// Fields of which at least one must be present (0: no such rule).
    let atLeastOneMask: UInt64
    let reserved: [[UInt8]]

    init(_ shape: ObjectShape) {
        precondition(shape.fields.count <= 64, "an object plan holds at most 64 fields")
        names = shape.fields.map { Array($0.name.utf8) }
        lengths = names.map(\.count)
        plans = shape.fields.map { ValuePlan($0.shape) }
        var required: UInt64 = 0
        var atLeastOne: UInt64 = 0
        for (index, field) in shape.fields.enumerated() {
            if field.required { required |= 1 << index }
            if shape.atLeastOneOf.contains(field.name) { atLeastOne |= 1 << index }
        }
        // A name in atLeastOneOf that is no field could still satisfy the
        // rule as an extra member: the fast path does not model that.
        precondition(shape.atLeastOneOf.allSatisfy { name in shape.fields.contains { $0.name == name } })
        requiredMask = required
        atLeastOneMask = atLeastOne
        reserved = shape.reserved.map { Array($0.utf8) }
    }

    /// Each name's length, so most names are passed over without touching their bytes.
    private let lengths: [Int]

    /// The field named by `key`, if any. An index loop: `firstIndex` with a closure retained and
    /// released each name it passed, about 95 instructions per member of a planned object.
    func field(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        for index in lengths.indices where lengths[index] == key.count && key.equals(names[index]) { return index }
        return nil
    }

    func isReserved(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
        reserved.contains { key.equals($0) }
    }

    /// Whether the members seen (`present`) satisfy the required and at-least-one rules.
    func isComplete(_ present: UInt64) -> Bool {
        present & requiredMask == requiredMask && (atLeastOneMask == 0 || present & atLeastOneMask != 0)
    }
}

/// Each contract type's `data` plan, and its stream's id field, by type name.
struct ContractPlans: Sendable {
    /// A class: the scanner reads its entry at every member of `data`, and one reference is one retain.
    final class Entry: Sendable {
        let name: [UInt8]
        /// `name` as the type column's String, made once (an event's columns share it).
        let typeName: String
        let data: ObjectPlan
        /// `data`'s plan as a value: made once, since making a case of the indirect `ValuePlan` allocates its box.
        let dataPlan: ValuePlan
        let category: [UInt8]
        let idField: [UInt8]

        init(name: [UInt8], data: ObjectPlan, category: [UInt8], idField: [UInt8]) {
            self.name = name
            self.typeName = String(decoding: name, as: UTF8.self)
            self.data = data
            self.dataPlan = .object(data)
            self.category = category
            self.idField = idField
        }
    }

    let entries: [Entry]

    static let shared = ContractPlans()

    private init() {
        entries = EventType.allCases.map { type in
            Entry(
                name: Array(type.rawValue.utf8), data: ObjectPlan(EventContract.data(of: type)),
                category: Array(type.streamCategory.category.utf8), idField: Array(type.streamCategory.idField.utf8))
        }
    }

    func entry(named name: UnsafeBufferPointer<UInt8>) -> Entry? {
        entries.first { name.equals($0.name) }
    }
}
