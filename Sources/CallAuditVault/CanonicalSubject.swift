import CallAuditDomain

/// A subject object's identifiers read straight from its canonical bytes (RFC
/// 8785, as the one-pass decoder wrote them): parsing each subject into a tree
/// only to read up to four string members was about 2 k instructions per
/// sealed event (`JSONParser` and freeing the tree), BENCHMARKS.md issue 21.
/// `CanonicalSubjectTests` holds it to `Identifier.all(in:)` over the tree.
enum CanonicalSubject {
    /// The identifiers `Identifier.all(in:)` reads from this object's tree, in
    /// the same order (`Identifier.kinds`', not the bytes'). Nil when it cannot
    /// say without unescaping: an identifier's value holds an escape (the
    /// caller parses the object then), or the bytes are not one object.
    static func identifiers(in bytes: ArraySlice<UInt8>) -> [Identifier]? {
        bytes.withUnsafeBufferPointer { buffer -> [Identifier]? in
            var scan = MemberScan(buffer)
            guard let values = scan.identifierValues() else { return nil }
            var found: [Identifier] = []
            // Room once: grown one identifier at a time, a subject's list was allocated again for its second.
            found.reserveCapacity(values.indices.count(where: { values[$0] != nil }))
            for kind in values.indices {
                guard let value = values[kind] else { continue }
                let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[value]), as: UTF8.self)
                if let identifier = Identifier(kind: Identifier.kinds[kind], value: text) { found.append(identifier) }
            }
            return found
        }
    }
}

/// A walk over one canonical object's members. Canonical form has no
/// whitespace, and a string's only escapes start with a backslash, so a
/// member is `"name":value` and the next is after a comma. Every read is of
/// `bytes[at]` after checking `at < bytes.count` (`peek`), so bytes that are
/// not what the decoder writes end the walk with nil, never a read outside.
private struct MemberScan {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// For each of `Identifier.kinds`, the range of its first member's string
    /// value, without quotes (nil when absent or not a string, as
    /// `subject[kind]?.stringValue` reads it).
    ///
    /// Held inline, one slot per kind: two arrays were two allocations per subject.
    mutating func identifierValues() -> InlineArray<4, Range<Int>?>? {
        var values = InlineArray<4, Range<Int>?>(repeating: nil)
        var seen = InlineArray<4, Bool>(repeating: false)
        guard take(UInt8(ascii: "{")) else { return nil }
        if take(UInt8(ascii: "}")) { return end(values) }
        repeat {
            guard let name = string(), take(UInt8(ascii: ":")) else { return nil }
            let kind = Self.kind(named: UnsafeBufferPointer(rebasing: bytes[name]))
            let valueStart = at
            // A value is at least one byte: `bytes[valueStart]` below is then in bounds.
            guard skipValue(), at > valueStart else { return nil }
            guard let kind, !seen[kind] else { continue }
            seen[kind] = true
            // A string value: the identifier's, unless unescaping it is needed.
            guard bytes[valueStart] == UInt8(ascii: "\"") else { continue }
            let text = valueStart + 1..<at - 1
            guard !bytes[text].contains(UInt8(ascii: "\\")) else { return nil }
            values[kind] = text
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")) else { return nil }
        return end(values)
    }

    /// The values, when nothing follows the object.
    private func end(_ values: InlineArray<4, Range<Int>?>) -> InlineArray<4, Range<Int>?>? { at == bytes.count ? values : nil }

    /// The position of a member name in `Identifier.kinds`. A name with an escape
    /// is none of them: the kinds hold nothing canonical form escapes.
    private static func kind(named name: UnsafeBufferPointer<UInt8>) -> Int? {
        kindBytes.firstIndex { $0.elementsEqual(name) }
    }

    private static let kindBytes = Identifier.kinds.map { Array($0.utf8) }

    private func peek() -> UInt8? { at < bytes.count ? bytes[at] : nil }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        at += 1
        return true
    }

    /// A string from its opening quote: the range between the quotes.
    private mutating func string() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = at
        while let byte = peek() {
            at += 1
            if byte == UInt8(ascii: "\"") { return start..<at - 1 }
            if byte == UInt8(ascii: "\\") {
                // The escaped byte is skipped whatever it is (`\"` does not end the string).
                guard peek() != nil else { return nil }
                at += 1
            }
        }
        return nil
    }

    /// Past one value of any kind: a string, or everything to the comma or
    /// brace that ends it at this depth (strings inside skipped whole).
    private mutating func skipValue() -> Bool {
        var depth = 0
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "\""):
                guard string() != nil else { return false }
                if depth == 0 { return true }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return true }
                depth -= 1
                if depth == 0 {
                    at += 1
                    return true
                }
            case UInt8(ascii: ","):
                if depth == 0 { return true }
            default:
                break
            }
            at += 1
        }
        return depth == 0
    }
}
