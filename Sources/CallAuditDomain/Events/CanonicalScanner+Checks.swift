extension CanonicalScanner {
    /// A string against its plan: the checks of `Shape.validate`, on bytes.
    /// NUL anywhere hands off (the reference refuses it in every string).
    static func check(_ text: ScannedString, against plan: ValuePlan) throws(HandOff) {
        guard !text.containsNUL else { throw HandOff() }
        switch plan {
        case .any:
            return
        case .nonEmpty(let maximum, let prefix):
            guard !text.bytes.isEmpty, fits(text, maximum) else { throw HandOff() }
            // A prefix compared by bytes could differ from Swift's `hasPrefix` (by characters) only on non-ASCII text.
            if let prefix { guard text.isASCII, !text.bytes.starts(with: prefix) else { throw HandOff() } }
        case .string(let maximum):
            guard fits(text, maximum) else { throw HandOff() }
        case .oneOf(let words):
            guard words.contains(where: { text.bytes.equals($0) }) else { throw HandOff() }
        case .pattern(let pattern):
            guard pattern.matches(utf8: text.bytes) else { throw HandOff() }
        default:
            throw HandOff()
        }
    }

    /// A number against its plan.
    static func check(_ number: Double, against plan: ValuePlan) throws(HandOff) {
        switch plan {
        case .any: return
        case .integer(let minimum): guard number.rounded(.towardZero) == number, number >= Double(minimum) else { throw HandOff() }
        case .number(let minimum): guard number >= minimum else { throw HandOff() }
        default: throw HandOff()
        }
    }

    /// At most `maximum` code points, counted only when the bytes could exceed it.
    private static func fits(_ text: ScannedString, _ maximum: Int) -> Bool {
        text.bytes.count <= maximum || UTF8Validation.scalarCount(text.bytes) <= maximum
    }

    // MARK: Member order

    /// Whether a name (of ASCII without escapes, so its bytes are its UTF-16 code units) sorts before another's.
    private func precedes(_ a: MemberSpan, _ b: MemberSpan) -> Bool {
        out[(a.start + 1)..<(a.nameEnd - 1)].lexicographicallyPrecedes(out[(b.start + 1)..<(b.nameEnd - 1)])
    }

    func isDuplicate(_ span: MemberSpan, from base: Int) -> Bool {
        let name = out[span.start..<span.nameEnd]
        return members[base...].contains { out[$0.start..<$0.nameEnd].equals(name) }
    }

    func isSorted(from base: Int) -> Bool {
        var index = base + 1
        while index < members.count {
            if !precedes(members[index - 1], members[index]) { return false }
            index += 1
        }
        return true
    }

    /// Rewrites an object's members (from `objectStart`'s brace to the end of
    /// `out`) in RFC 8785 order, and moves the subject ranges inside them along.
    mutating func sortMembers(from base: Int, objectStart: Int, subjectBase: Int) {
        // Insertion sort: objects are small (`maximumMembers`), and often nearly sorted.
        for index in (base + 1)..<members.count {
            let moving = members[index]
            var slot = index
            while slot > base, precedes(moving, members[slot - 1]) {
                members[slot] = members[slot - 1]
                slot -= 1
            }
            members[slot] = moving
        }
        let regionStart = objectStart + 1
        // Where each member goes, first: a subject is moved by its member's offset, once.
        var position = regionStart
        for index in base..<members.count {
            if index > base { position += 1 }
            members[index].target = position
            position += members[index].end - members[index].start
        }
        for subject in subjectBase..<subjects.count {
            let range = subjects[subject]
            guard let span = members[base...].first(where: { $0.start <= range.lowerBound && range.lowerBound < $0.end }) else { continue }
            subjects[subject] = (range.lowerBound + span.target - span.start)..<(range.upperBound + span.target - span.start)
        }
        reorderBuffer.removeAll()
        reorderBuffer.append(out[regionStart..<out.count])
        for index in base..<members.count {
            let span = members[index]
            if index > base { out.overwrite(at: span.target - 1, with: UInt8(ascii: ",")) }
            out.overwrite(at: span.target, with: reorderBuffer[(span.start - regionStart)..<(span.end - regionStart)])
        }
    }
}

/// Finds the root's `type` when `data` comes before it, skipping values
/// without checking them: the main pass checks everything, and compares the
/// type it reads with the one found here.
struct TypeLookahead {
    let input: UnsafeBufferPointer<UInt8>
    var index: Int

    /// The type when the root's last member is `"type":"…"`, as in every
    /// event in canonical form (`type` sorts last of the attributes): read
    /// from the end, without passing over `data`. Nil when the tail is not that.
    static func entryFromTail(of input: UnsafeBufferPointer<UInt8>) -> ContractPlans.Entry? {
        var end = input.count - 1
        while end > 0, input[end] == 0x20 || input[end] == 0x0A || input[end] == 0x0D || input[end] == 0x09 { end -= 1 }
        guard end > 0, input[end] == UInt8(ascii: "}"), input[end - 1] == UInt8(ascii: "\"") else { return nil }
        var start = end - 2
        while start > 0, input[start] != UInt8(ascii: "\""), input[start] != UInt8(ascii: "\\") { start -= 1 }
        let prefix: StaticString = "\"type\":"
        let length = prefix.utf8CodeUnitCount
        guard start >= length, input[start] == UInt8(ascii: "\""),
            UnsafeBufferPointer(rebasing: input[(start - length)..<start]).equals(prefix)
        else { return nil }
        return ContractPlans.shared.entry(named: UnsafeBufferPointer(rebasing: input[(start + 1)..<(end - 1)]))
    }

    /// `index` is just past a root member's name.
    mutating func entry() throws(HandOff) -> ContractPlans.Entry {
        skipWhitespace()
        guard index < input.count, input[index] == UInt8(ascii: ":") else { throw HandOff() }
        index += 1
        skipWhitespace()
        while true {
            try skipValue(depth: 1)
            skipWhitespace()
            guard index < input.count, input[index] == UInt8(ascii: ",") else { throw HandOff() }
            index += 1
            skipWhitespace()
            let name = try plainString()
            skipWhitespace()
            guard index < input.count, input[index] == UInt8(ascii: ":") else { throw HandOff() }
            index += 1
            skipWhitespace()
            if name.equals("type") {
                guard let entry = ContractPlans.shared.entry(named: try plainString()) else { throw HandOff() }
                return entry
            }
        }
    }

    private mutating func skipWhitespace() {
        while index < input.count, input[index] == 0x20 || input[index] == 0x0A || input[index] == 0x0D || input[index] == 0x09 { index += 1 }
    }

    /// A string without escapes (else a hand-off), its bytes.
    private mutating func plainString() throws(HandOff) -> UnsafeBufferPointer<UInt8> {
        guard index < input.count, input[index] == UInt8(ascii: "\"") else { throw HandOff() }
        let start = index + 1
        index = start
        while index < input.count, input[index] != UInt8(ascii: "\"") {
            guard input[index] != UInt8(ascii: "\\") else { throw HandOff() }
            index += 1
        }
        guard index < input.count else { throw HandOff() }
        index += 1
        return UnsafeBufferPointer(rebasing: input[start..<(index - 1)])
    }

    private mutating func skipValue(depth: Int) throws(HandOff) {
        guard depth < JSONParser.maximumDepth, index < input.count else { throw HandOff() }
        switch input[index] {
        case UInt8(ascii: "\""):
            index += 1
            while index < input.count, input[index] != UInt8(ascii: "\"") { index += input[index] == UInt8(ascii: "\\") ? 2 : 1 }
            guard index < input.count else { throw HandOff() }
            index += 1
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = input[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            while true {
                skipWhitespace()
                guard index < input.count else { throw HandOff() }
                if input[index] == close { index += 1; return }
                if input[index] == UInt8(ascii: ",") || input[index] == UInt8(ascii: ":") { index += 1; continue }
                try skipValue(depth: depth + 1)
            }
        default:
            // A number or literal: the run of bytes that can make one.
            let start = index
            while index < input.count, Self.isScalarByte(input[index]) { index += 1 }
            guard index > start else { throw HandOff() }
        }
    }

    private static func isScalarByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "E")
    }
}
