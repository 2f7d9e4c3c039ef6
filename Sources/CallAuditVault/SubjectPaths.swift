import CallAuditDomain

/// Where the vault finds the subject objects it seals.
enum SubjectPaths {
    /// Every subject object in the event's data, wherever it sits and whatever
    /// it holds, in document order (`DecodedEvent.subjectObjects`): the decoder
    /// refuses the vault's own members (`sealed`, `subject_ref`) in incoming
    /// events, so nothing here is sealed already. Given as each one's
    /// identifiers, and the objects themselves only for an event made from a
    /// tree (`DecodedEvent.replacingSubjects` puts them back sealed). An event
    /// the one-pass decoder wrote is sealed in its bytes, so its subjects'
    /// identifiers are read from those bytes, no tree made (`CanonicalSubject`;
    /// a subject it cannot read so is parsed).
    static func found(in event: DecodedEvent) -> FoundSubjects {
        // The one-pass decoder looked already, and found none: nothing to read.
        guard !event.holdsNoSubjects else { return FoundSubjects(trees: [], identifiers: []) }
        guard let ranges = event.subjectRanges else {
            let trees = event.subjectObjects
            return FoundSubjects(trees: trees, identifiers: trees.map(Identifier.all(in:)))
        }
        return found(in: event.canonical, at: ranges)
    }

    /// The same for an event the one-pass decoder wrote, given its bytes and
    /// its subjects' ranges: the seal stage reads just these two from a batch's
    /// events, where passing a whole event copied it out of the batch.
    static func found(in canonical: [UInt8], at ranges: [Range<Int>]) -> FoundSubjects {
        FoundSubjects(trees: [], identifiers: ranges.map {
            // The decoder checked these bytes: they parse (`DecodedEvent.subjectObject(at:)`).
            // swiftlint:disable:next force_try
            CanonicalSubject.identifiers(in: canonical[$0]) ?? Identifier.all(in: try! JSONParser.parse(canonical[$0]))
        })
    }
}

/// One event's subject objects, as `SubjectPaths.found(in:)` reads them.
struct FoundSubjects {
    /// The objects, for an event made from a tree (sealed by walking it); empty otherwise.
    var trees: [JSONValue]
    /// Each subject object's identifiers, one list per object.
    var identifiers: [[Identifier]]

    var count: Int { identifiers.count }
}
