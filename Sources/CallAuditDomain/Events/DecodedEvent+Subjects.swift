/// The subject objects of an event, and the event with them replaced: what
/// the vault reads identifiers from and seals. Two ways, giving the same
/// bytes (`DecoderDifferential` holds them to it): an event the one-pass
/// decoder wrote has its subjects' canonical ranges, so each is parsed alone
/// and replaced by splicing bytes; an event made from a tree is walked.
extension DecodedEvent {
    /// Every subject object in the event's data, in the order the message
    /// holds them (the order of `PersonalData.subjectPaths` over the
    /// reference's tree; not always the canonical bytes' order).
    package var subjectObjects: [JSONValue] {
        if let ranges = subjectRanges { return ranges.map(subjectObject(at:)) }
        let document = document
        return PersonalData.subjectPaths(in: document).compactMap { document.value(at: $0) }
    }

    /// The subject object at one of `subjectRanges`, parsed alone: the subject
    /// is small; the event is not walked.
    package func subjectObject(at range: Range<Int>) -> JSONValue {
        // The decoder checked these bytes: they parse.
        // swiftlint:disable:next force_try
        try! JSONParser.parse(canonical[range])
    }

    /// The event with its subject objects, in `subjectObjects`' order,
    /// replaced by `replacements` (one each), its canonical bytes and content
    /// hash made again. The replaced event has no subject ranges: what is
    /// there now is sealed.
    package func replacingSubjects(with replacements: [JSONValue]) -> DecodedEvent {
        if subjectRanges != nil {
            return replacingSubjects(withCanonical: replacements.map(\.canonicalBytes))
        }
        var document = document
        for (path, replacement) in zip(PersonalData.subjectPaths(in: document), replacements) {
            document = document.replacing(at: path[...], with: replacement)
        }
        return DecodedEvent(columns: columns, document: document)
    }

    /// The same for an event the one-pass decoder wrote (`subjectRanges` not
    /// nil), the replacements given in their canonical bytes: spliced in, no
    /// value serialised again (the vault writes a sealed subject's bytes directly).
    package func replacingSubjects(withCanonical replacements: [[UInt8]]) -> DecodedEvent {
        guard let ranges = subjectRanges else { preconditionFailure("only an event with its subjects' ranges is spliced") }
        precondition(ranges.count == replacements.count, "one replacement for each subject object")
        // The ranges are in the message's order (the reference's), which sorting objects may
        // have moved: spliced in the order of the bytes. (No fall-back to the tree here: the
        // canonical tree lists the subjects in the bytes' order, not the message's.)
        let spliced = zip(ranges, replacements).sorted { $0.0.lowerBound < $1.0.lowerBound }
        precondition(Self.disjoint(spliced.map(\.0)), "subject objects do not overlap")
        return DecodedEvent(columns: columns, canonical: splicing(spliced), subjectRanges: nil)
    }

    /// `canonical` with each range's bytes replaced, into one buffer of the
    /// result's size. Still canonical: a member's value changed, not its
    /// name, so no object's order moves.
    private func splicing(_ replacements: [(Range<Int>, [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(canonical.count + replacements.reduce(0) { $0 + $1.1.count - $1.0.count })
        var next = 0
        for (range, replacement) in replacements {
            bytes.append(contentsOf: canonical[next..<range.lowerBound])
            bytes.append(contentsOf: replacement)
            next = range.upperBound
        }
        bytes.append(contentsOf: canonical[next...])
        return bytes
    }

    /// Sorted ranges that do not overlap (a subject inside a subject is part of it, never listed).
    private static func disjoint(_ ranges: [Range<Int>]) -> Bool {
        zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }
    }
}

extension JSONValue {
    /// The value at `path`, nil when a step names nothing.
    fileprivate func value(at path: [JSONPathStep]) -> JSONValue? {
        var node = self
        for step in path {
            switch step {
            case .key(let name): guard let next = node[name] else { return nil }; node = next
            case .index(let position): guard let elements = node.arrayValue, elements.indices.contains(position) else { return nil }; node = elements[position]
            }
        }
        return node
    }

    /// This value with the one at `path` replaced (unchanged when a step names nothing).
    fileprivate func replacing(at path: ArraySlice<JSONPathStep>, with value: JSONValue) -> JSONValue {
        guard let step = path.first else { return value }
        let rest = path.dropFirst()
        switch (step, self) {
        case (.key(let name), .object(var members)):
            guard let index = members.firstIndex(where: { $0.key == name }) else { return self }
            members[index].value = members[index].value.replacing(at: rest, with: value)
            return .object(members)
        case (.index(let position), .array(var elements)):
            guard elements.indices.contains(position) else { return self }
            elements[position] = elements[position].replacing(at: rest, with: value)
            return .array(elements)
        default:
            return self
        }
    }
}
