import Crypto

/// The ingest decoder's fast path: a structured-mode message scanned once,
/// from its bytes to its canonical form, columns and subjects, without a
/// `JSONValue` tree, into buffers reused from message to message.
///
/// `EventDecoder` stays the reference. This decoder accepts an event only
/// when it is sure the reference accepts it with the same bytes (the
/// differential test and the `differential` fuzz target hold it to that);
/// everything else is handed to the reference, which decides and words the
/// rejection, so dead-letter reasons are the reference's by construction.
/// Binary mode is scanned as the structured event its headers and value make
/// (`BinaryModeEnvelope`, which hands off what it cannot write exactly).
/// Handed off: every rejection, and rare shapes: non-ASCII member names (the reference
/// compares names as Swift strings, by canonical equivalence), names holding
/// a quote, backslash or control character (their escaped and decoded orders
/// differ), objects of more than 32 members (duplicates are checked here by
/// comparing each name with the ones before), and a `type` written with
/// escapes after `data`.
///
/// Not Sendable: one per thread that decodes (its buffers are its state).
package final class OnePassDecoder {
    package let reference: EventDecoder
    /// True when the vault seals every subject object before events are
    /// stored: an event holding one is then made without its hash (sealing
    /// hashes it again, in its sealed form).
    package let subjectsWillBeSealed: Bool
    // The state below is not checked for exclusive access at run time (`@exclusivity(unchecked)`):
    // one thread uses a decoder, and no method touches a property while an access to that same
    // property is open (the scanner gets its own copies, handed back when it ends). The checks
    // cost about 130 instructions per access, some ten accesses per event.

    /// Raw buffers (`OutputBytes`): this decoder owns them, lends them to each scan and frees them in deinit.
    @exclusivity(unchecked) private var out = OutputBytes(capacity: 4_096)
    private let scratch = ScratchBuffer()
    @exclusivity(unchecked) private var reorderBuffer = OutputBytes(capacity: 1_024)
    @exclusivity(unchecked) private var members: [MemberSpan] = []
    @exclusivity(unchecked) private var captured: [UInt8] = []
    @exclusivity(unchecked) private var slots = CanonicalScanner.Slots()
    @exclusivity(unchecked) private var entry: ContractPlans.Entry?
    /// A binary-mode message written out as its structured event, to scan.
    @exclusivity(unchecked) private var binary = BinaryModeEnvelope()
    /// Canonical ranges of the last scanned event's subject objects, in document order.
    @exclusivity(unchecked) package private(set) var subjectRanges: [Range<Int>] = []

    /// The plausible window's ends as offsets from now, in microseconds: `DecodingLimits.checkPlausible`
    /// adds its `Duration`s to now as `Timestamp.adding` does, which is now plus a fixed offset, so the
    /// offsets are taken once (the `Duration` arithmetic cost about 450 instructions per event).
    private let plausibleWindow: (earliest: Int64, latest: Int64)

    package init(reference: EventDecoder = EventDecoder(), subjectsWillBeSealed: Bool = false) {
        self.reference = reference
        self.subjectsWillBeSealed = subjectsWillBeSealed
        let origin = Timestamp(microseconds: 0)
        plausibleWindow = (
            origin.adding(.zero - reference.limits.maximumAge).microseconds, origin.adding(reference.limits.maximumLead).microseconds
        )
        members.reserveCapacity(64)
        captured.reserveCapacity(1_024)
        subjectRanges.reserveCapacity(8)
    }

    deinit {
        out.deallocate()
        reorderBuffer.deallocate()
    }

    /// Decodes as `EventDecoder.decode` does, scanning once when it can.
    package func decode(_ message: IncomingMessage) -> Result<DecodedEvent, Rejection> {
        guard scan(message) else { return reference.decode(message) }
        let subjects = subjectRanges.isEmpty ? [] : subjectRanges.withUnsafeBufferPointer { [Range<Int>]($0) }
        let hashed = subjects.isEmpty || !subjectsWillBeSealed
        return .success(DecodedEvent(columns: columns(), canonical: canonicalCopy(), subjectRanges: subjects, hashed: hashed))
    }

    /// The canonical bytes in an array of their own size, copied out of the
    /// reused buffer once. (An event must never keep a buffer of the
    /// decoder's capacity: when the output was an array shared with the
    /// event, ingest peaked at 499 MB against the tree decoder's 261.)
    private func canonicalCopy() -> [UInt8] {
        [UInt8](out.bytes)
    }

    /// The fast path alone: true when the message is an event the reference
    /// accepts too; then `canonical`, `columns()` and `subjectRanges` describe
    /// it until the next scan. False: the reference must decide.
    package func scan(_ message: IncomingMessage) -> Bool {
        guard let value = message.value, fitsLimit(message, value) else { return false }
        let accepted: Bool
        if Self.isStructured(message) {
            accepted = value.withUnsafeBufferPointer { (try? scanStructured($0)) != nil }
        } else {
            guard !Self.isStructuredContentType(message), binary.write(message, data: value) else { return false }
            accepted = binary.bytes.withUnsafeBufferPointer { (try? scanStructured($0)) != nil }
        }
        return accepted && isPlausibleAndOurs()
    }

    /// The canonical bytes of the last event scanned.
    package var canonical: [UInt8] { canonicalCopy() }

    /// The columns of the last event scanned. It makes the id's and the
    /// stream's Strings (one allocation each when longer than 15 bytes); the
    /// type's is the contract entry's, and the source's the last event's when
    /// it is the same (a producer sends from a few sources).
    package func columns() -> EventColumns {
        let entry = entry!
        return captured.withUnsafeBufferPointer { bytes in
            func slice(_ slot: CanonicalScanner.Slot) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[slots[slot]!]) }
            return EventColumns(
                stream: Self.stream(entry.category, slice(.streamID)), typeName: entry.typeName, source: source(slice(.source)),
                id: String(decoding: slice(.id), as: UTF8.self), time: time!)
        }
    }

    @exclusivity(unchecked) private var lastSource = (bytes: [UInt8](), text: "")

    private func source(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // `equals`, not the generic `elementsEqual`: this runs for every event.
        if !bytes.equals(lastSource.bytes) { lastSource = (Array(bytes), String(decoding: bytes, as: UTF8.self)) }
        return lastSource.text
    }

    /// `category-id`, written once into its String.
    private static func stream(_ category: [UInt8], _ id: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: category.count + 1 + id.count) { buffer in
            var end = buffer.initialize(fromContentsOf: category)
            buffer[end] = UInt8(ascii: "-")
            end += 1
            return end + UnsafeMutableBufferPointer(rebasing: buffer[end...]).initialize(fromContentsOf: id)
        }
    }

    @exclusivity(unchecked) private var time: Timestamp?

    private func scanStructured(_ input: UnsafeBufferPointer<UInt8>) throws(HandOff) {
        out.removeAll()
        members.removeAll(keepingCapacity: true)
        subjectRanges.removeAll(keepingCapacity: true)
        captured.removeAll(keepingCapacity: true)
        var scanner = CanonicalScanner(
            input: input, out: out, scratch: scratch, reorderBuffer: reorderBuffer, members: members, subjects: subjectRanges,
            captured: captured)
        // The arrays move into the scanner and back, so appending never copies them. The raw
        // buffers are lent: the scanner's copies, which may have grown, are the ones kept.
        (members, subjectRanges, captured) = ([], [], [])
        defer {
            (out, reorderBuffer, members, subjectRanges, captured) =
                (scanner.out, scanner.reorderBuffer, scanner.members, scanner.subjects, scanner.captured)
            (slots, entry) = (scanner.slots, scanner.entry)
        }
        try scanner.root()
        try Self.checkAttributes(scanner)
    }

    private static let identifier = ValuePlan.nonEmpty(maximum: Shape.identifierMaxLength, notPrefixed: nil)

    /// What the reference's `EventColumns` and `validate` require of the attributes.
    private static func checkAttributes(_ scanner: CanonicalScanner) throws(HandOff) {
        guard let entry = scanner.entry, let type = scanner.slots[.type], let version = scanner.slots[.specversion],
            scanner.slots[.time] != nil, scanner.slots[.streamID] != nil
        else { throw HandOff() }
        try scanner.captured.withUnsafeBufferPointer { (bytes) throws(HandOff) in
            func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[range]) }
            guard slice(version).equals("1.0"), slice(type).equals(entry.name) else { throw HandOff() }
            guard let id = scanner.slots[.id], let source = scanner.slots[.source] else { throw HandOff() }
            // Non-empty and bounded like the contract's identifiers (NUL was refused as it was scanned).
            try CanonicalScanner.check(ScannedString(bytes: slice(id), isASCII: true, containsNUL: false), against: identifier)
            try CanonicalScanner.check(ScannedString(bytes: slice(source), isASCII: true, containsNUL: false), against: identifier)
            // CallAudit's own source: the reference refuses it. Non-ASCII sources hand off (Swift compares by characters).
            guard !slice(source).contains(where: { $0 >= 0x80 }), !slice(source).starts(with: OwnEventType.source.utf8) else { throw HandOff() }
        }
    }

    /// The time, read from its bytes where they were captured, within the plausible window.
    private func isPlausibleAndOurs() -> Bool {
        let parsed = captured.withUnsafeBufferPointer { Timestamp(rfc3339: UnsafeBufferPointer(rebasing: $0[slots[.time]!])) }
        let now = reference.clock().microseconds
        // The reference's rule, `now.adding(-maximumAge) <= time <= now.adding(maximumLead)`, on the offsets taken once.
        guard let parsed, parsed.microseconds >= now + plausibleWindow.earliest, parsed.microseconds <= now + plausibleWindow.latest else {
            return false
        }
        time = parsed
        return true
    }

    /// The reference's size rule: key, header names and values, and value.
    private func fitsLimit(_ message: IncomingMessage, _ value: [UInt8]) -> Bool {
        message.keyBytes + value.count + message.headers.textByteCount <= reference.limits.maximumBytes
    }

    /// Structured mode, as the reference decides it: no `ce_specversion` header.
    private static func isStructured(_ message: IncomingMessage) -> Bool {
        message.headers.isEmpty || !message.hasHeaderValue("ce_specversion")
    }

    /// The reference's other sign of structured mode, with a `ce_specversion`
    /// header: a CloudEvents content type. Rare: handed off.
    private static func isStructuredContentType(_ message: IncomingMessage) -> Bool {
        guard let contentType = message.headers.lastValue(lowercasedName: "content-type") else { return false }
        return message.headers.bytes.withUnsafeBufferPointer { hasCloudEventsType(UnsafeBufferPointer(rebasing: $0[contentType])) }
    }

    /// The reference's rule (`EventDecoder.isCloudEventsType`) on the bytes where they lie: read
    /// as text, it made three allocations per binary-mode message. No character but an ASCII letter lowercases to one of the prefix's (the
    /// Kelvin sign gives `k`, which it lacks; `İ` gives `i` and a combining dot, which no `i` of it
    /// is followed by), so the prefix is compared byte by byte. A character after it may join its
    /// last letter into another `Character` only when it is not ASCII: that rare case is read as text.
    static func hasCloudEventsType(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        let prefix = cloudEventsType
        guard value.count >= prefix.count else { return false }
        for index in prefix.indices where ByteWords.lowercasedASCII(value[index]) != prefix[index] { return false }
        guard value.count > prefix.count, value[prefix.count] >= 0x80 else { return true }
        return EventDecoder.isCloudEventsType(value)
    }

    private static let cloudEventsType = Array("application/cloudevents".utf8)
}
