/// Builds the judged parts of a stored event's `data` (`JudgedMembers`)
/// straight from its bytes, skipping the rest unbuilt, for `FactScanner`.
///
/// It decides only what it checks as strictly as the tree parser does in
/// what it skips: members in byte order (so none twice) with ASCII names,
/// strings without escapes or control bytes, numbers without an exponent and
/// with at most 15 integer digits (so a Double holds them), no whitespace,
/// the depth limit. What it keeps whole, the tree parser parses itself, at
/// its depth. Anything else is `Unsure`: `FactScanner` then builds `data`
/// whole with the tree parser and prunes the tree.
struct JudgedDataScanner: StoredBytesScanning {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    /// Where objects and arrays gather their kept parts before taking them at their size.
    var buffers = FactScanBuffers()

    init(bytes: UnsafeBufferPointer<UInt8>, index: Int) {
        self.bytes = bytes
        self.index = index
    }

    /// The value at `index`, `depth` levels below the document's root, kept as `keep` says.
    mutating func value(_ keep: JudgedMembers, depth: Int) throws(Unsure) -> JSONValue {
        switch (keep, try peek()) {
        case (.members(let members), UInt8(ascii: "{")): try object(keeping: members, depth: depth)
        case (.elements(let element), UInt8(ascii: "[")): try array(keeping: element, depth: depth)
        default: try whole(depth: depth)
        }
    }

    /// A value kept whole: the tree parser's own, at the same depth.
    mutating func whole(depth: Int) throws(Unsure) -> JSONValue {
        do {
            let (value, end) = try JSONParser.value(in: bytes, at: index, depth: depth)
            index = end
            return value
        } catch {
            throw Unsure()
        }
    }

    /// Nested objects gather above their parent's members in the one buffer,
    /// and leave it as they found it.
    private mutating func object(keeping kept: [JudgedMember], depth: Int) throws(Unsure) -> JSONValue {
        let start = buffers.members.count
        // Names come in byte order (`forEachMember` checks it), and `kept` is
        // in byte order too: one walk through both, not a search per member.
        var next = 0
        try forEachMember(depth: depth) { (scanner, name) throws(Unsure) in
            while next < kept.count, kept[next].bytes.lexicographicallyPrecedes(name) { next += 1 }
            if next < kept.count, same(name, kept[next].bytes) {
                let value = try scanner.value(kept[next].keep, depth: depth + 1)
                scanner.buffers.members.append((kept[next].name, value))
            } else {
                try scanner.skip(depth: depth + 1)
            }
        }
        // Copied through a pointer: a slice would still hold the buffer when
        // `removeLast` runs, which then copied the whole buffer first.
        let members = buffers.members.withUnsafeBufferPointer { Array($0[start...]) }
        // One at a time: `removeSubrange(start...)` and `removeLast(k)` go through
        // the generic range replacement, about a thousand instructions a call.
        while buffers.members.count > start { buffers.members.removeLast() }
        return .object(members)
    }

    private mutating func array(keeping element: JudgedMembers, depth: Int) throws(Unsure) -> JSONValue {
        let start = buffers.elements.count
        try forEachElement(depth: depth) { (scanner) throws(Unsure) in
            let value = try scanner.value(element, depth: depth + 1)
            scanner.buffers.elements.append(value)
        }
        let elements = buffers.elements.withUnsafeBufferPointer { Array($0[start...]) }
        while buffers.elements.count > start { buffers.elements.removeLast() }
        return .array(elements)
    }

    /// Checks a value nobody judges, building nothing.
    private mutating func skip(depth: Int) throws(Unsure) {
        // The tree parser refuses any value this deep, scalars too.
        guard depth < JSONParser.maximumDepth else { throw Unsure() }
        switch try peek() {
        case UInt8(ascii: "{"): try forEachMember(depth: depth) { (scanner, _) throws(Unsure) in try scanner.skip(depth: depth + 1) }
        case UInt8(ascii: "["): try forEachElement(depth: depth) { (scanner) throws(Unsure) in try scanner.skip(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try plainString(asciiOnly: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    /// The object at `index`, members in byte order (`StoredBytesScanning.forEachMember`), within the depth limit.
    private mutating func forEachMember(
        depth: Int, _ body: (inout JudgedDataScanner, UnsafeBufferPointer<UInt8>) throws(Unsure) -> Void
    ) throws(Unsure) {
        guard depth < JSONParser.maximumDepth else { throw Unsure() }
        try forEachMember(body)
    }

    /// The array at `index`, with the scanner at each element for `body` to read.
    private mutating func forEachElement(depth: Int, _ body: (inout JudgedDataScanner) throws(Unsure) -> Void) throws(Unsure) {
        guard depth < JSONParser.maximumDepth else { throw Unsure() }
        try expect(UInt8(ascii: "["))
        if try peek() == UInt8(ascii: "]") { index += 1; return }
        while true {
            try body(&self)
            if try next(closing: UInt8(ascii: "]")) { return }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 15 integer digits: a finite
    /// Double whatever the fraction. Exponents are left to the tree.
    mutating func skipNumber() throws(Unsure) {
        try skipInteger()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return }
        index += 1
        let fraction = index
        skipDigits()
        guard index > fraction else { throw Unsure() }
    }
}

private func same(_ name: UnsafeBufferPointer<UInt8>, _ bytes: [UInt8]) -> Bool {
    guard name.count == bytes.count else { return false }
    for offset in 0..<bytes.count where name[offset] != bytes[offset] { return false }
    return true
}
