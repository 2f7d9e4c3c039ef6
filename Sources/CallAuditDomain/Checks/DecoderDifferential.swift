/// The one-pass decoder against the reference, on any Kafka message:
///
/// - when its fast path accepts, the reference accepts too, with the same
///   canonical bytes and columns, and the fast path's subject ranges are the
///   reference's subject objects (what the vault seals, and reads the
///   identifiers from) in the same order, byte for byte;
/// - `decode` gives what the reference gives: the same event (bytes, content
///   hash, columns), or the same rejection (reason and detail);
/// - the vault's view of that event is the same: the same subject objects,
///   and, with each replaced by a sealed form, the same bytes, whether they
///   are spliced into the canonical bytes (the fast path's event) or put in
///   the tree (the reference's).
///
/// Shared by the `differential` fuzz target and the differential tests.
package enum DecoderDifferential {
    /// Checks one message; true when the fast path took it (for coverage counts).
    @discardableResult
    package static func check(_ message: IncomingMessage, with fast: OnePassDecoder) throws(PropertyViolation) -> Bool {
        let expected = fast.reference.decode(message)
        let took = fast.scan(message)
        if took {
            guard case .success(let event) = expected else {
                throw PropertyViolation("the fast path accepts only what the reference accepts")
            }
            try PropertyViolation.require(fast.canonical == event.canonical, "the fast path writes the reference's canonical bytes")
            try PropertyViolation.require(fast.columns() == event.columns, "the fast path derives the reference's columns")
            let subjects = fast.subjectRanges.map { Array(fast.canonical[$0]) }
            try PropertyViolation.require(subjects == referenceSubjects(of: event), "the fast path finds the reference's subject objects, in order")
        }
        switch (fast.decode(message), expected) {
        case (.success(let got), .success(let want)):
            try PropertyViolation.require(
                got.canonical == want.canonical && got.contentHash == want.contentHash && got.columns == want.columns,
                "decode gives the reference's event")
            // What the vault stores: each subject replaced by its sealed form, spliced into the bytes
            // on the fast path's event, put in the tree on the reference's.
            try PropertyViolation.require(
                got.subjectObjects.map(\.canonicalBytes) == want.subjectObjects.map(\.canonicalBytes),
                "the vault reads the reference's subject objects")
            let standIns = want.subjectObjects.indices.map { index -> JSONValue in
                ["subject_ref": .string("sub_\(index)"), "sealed": .string(String(repeating: "A", count: index * 7 + 3))]
            }
            let (gotSealed, wantSealed) = (got.replacingSubjects(with: standIns), want.replacingSubjects(with: standIns))
            try PropertyViolation.require(
                gotSealed.canonical == wantSealed.canonical && gotSealed.contentHash == wantSealed.contentHash
                    && gotSealed.columns == wantSealed.columns,
                "subjects sealed in the bytes give the bytes of subjects sealed in the tree")
        case (.failure(let got), .failure(let want)):
            try PropertyViolation.require(got == want, "decode gives the reference's rejection")
        default:
            throw PropertyViolation("decode gives the reference's verdict")
        }
        return took
    }

    /// The fuzz input as a message (`EventDecoderProperties.message`), checked with the fixed clock.
    /// The fuzz target passes one decoder for the whole run, so what a message leaves in its
    /// buffers (grown, or cut short by a throw) meets the next, as on the polling thread.
    package static func check(
        fuzzInput input: [UInt8], with decoder: OnePassDecoder = OnePassDecoder(reference: EventDecoderProperties.decoder)
    ) throws(PropertyViolation) {
        try check(EventDecoderProperties.message(fromFuzzInput: input), with: decoder)
    }

    /// The canonical bytes of each subject object the vault would seal, in the reference's order.
    package static func referenceSubjects(of event: DecodedEvent) -> [[UInt8]] {
        PersonalData.subjectPaths(in: event.document).compactMap { path in
            var node: JSONValue? = event.document
            for step in path {
                switch step {
                case .key(let name): node = node?[name]
                case .index(let position): node = node?.arrayValue.flatMap { $0.indices.contains(position) ? $0[position] : nil }
                }
            }
            return node?.canonicalBytes
        }
    }
}
