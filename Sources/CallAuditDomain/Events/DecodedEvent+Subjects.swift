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
    /// value serialised again.
    package func replacingSubjects(withCanonical replacements: [[UInt8]]) -> DecodedEvent {
        precondition(subjectRanges?.count == replacements.count, "one replacement for each subject object")
        var event = self
        _ = event.replaceSubjects(growth: replacements.reduce(0) { $0 + $1.count }) { subject, _, bytes in
            bytes.append(contentsOf: replacements[subject])
        }
        return event
    }

    /// What sealing an event in place took out of it: its bytes in the clear,
    /// their subject ranges and its tree. Handed back rather than freed where
    /// the event is sealed: ingest frees them on the polling thread, which
    /// allocated them (glibc returns a chunk to the arena it came from).
    package struct Cleartext: Sendable {
        let canonical: [UInt8]
        let subjectRanges: [Range<Int>]?
        let tree: JSONValue?
    }

    /// Replaces, in place, the subject objects of an event the one-pass decoder
    /// wrote (`subjectRanges` not nil): `write` appends each one's replacement
    /// (given its index in `subjectRanges` and its bytes) straight into the new
    /// canonical bytes, which are then hashed. No array per replacement, and the
    /// event is not made again. `growth`: about how many bytes the replacements
    /// add, for the buffer's room. When `write` throws the event is unchanged.
    package mutating func replaceSubjects(
        growth: Int, writing write: (_ subject: Int, _ plaintext: ArraySlice<UInt8>, _ bytes: inout [UInt8]) throws -> Void
    ) rethrows -> Cleartext {
        guard let ranges = subjectRanges else { preconditionFailure("only an event with its subjects' ranges is spliced") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(canonical.count + growth)
        // The ranges are in the message's order (the reference's), which sorting objects may
        // have moved: spliced in the order of the bytes, sorted only when they are not. (No
        // fall-back to the tree here: the canonical tree lists the subjects in the bytes' order.)
        if zip(ranges, ranges.dropFirst()).allSatisfy({ $0.lowerBound <= $1.lowerBound }) {
            try splice(ranges, in: ranges.indices, into: &bytes, writing: write)
        } else {
            try splice(ranges, in: ranges.indices.sorted { ranges[$0].lowerBound < ranges[$1].lowerBound }, into: &bytes, writing: write)
        }
        return takeCleartext(replacingWith: bytes)
    }

    /// The tree-made event's counterpart of `replaceSubjects(growth:writing:)`:
    /// made again with `replacingSubjects(with:)`, its old bytes and tree handed back.
    package mutating func replaceSubjects(with replacements: [JSONValue]) -> Cleartext {
        let sealed = replacingSubjects(with: replacements)
        let cleartext = self.cleartext
        self = sealed
        return cleartext
    }

    /// `canonical` with each subject's bytes replaced by what `write` appends,
    /// visiting the subjects in `order` (ascending in the bytes). Still canonical:
    /// a member's value changed, not its name, so no object's order moves.
    private func splice(
        _ ranges: [Range<Int>], in order: some Collection<Int>, into bytes: inout [UInt8],
        writing write: (Int, ArraySlice<UInt8>, inout [UInt8]) throws -> Void
    ) rethrows {
        var next = 0
        for subject in order {
            let range = ranges[subject]
            // A subject inside a subject is part of it, never listed.
            precondition(range.lowerBound >= next, "subject objects do not overlap")
            bytes.append(contentsOf: canonical[next..<range.lowerBound])
            try write(subject, canonical[range], &bytes)
            next = range.upperBound
        }
        bytes.append(contentsOf: canonical[next...])
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
