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
        if let leaf = plainLeaf(depth: depth) { return leaf }
        do {
            let (value, end) = try JSONParser.value(in: bytes, at: index, depth: depth)
            index = end
            return value
        } catch {
            throw Unsure()
        }
    }

    /// A string without escapes or a `true`, `false` or `null`, made here as
    /// the tree parser makes it (the bytes are a Swift string's, so valid
    /// UTF-8, and a plain string is its own bytes), without entering the
    /// parser for each kept leaf: that cost about 1,200 instructions per event.
    /// Nil, with `index` unmoved, for anything else: the parser decides it.
    private mutating func plainLeaf(depth: Int) -> JSONValue? {
        // The tree parser refuses any value this deep, scalars too.
        guard depth < JSONParser.maximumDepth, index < bytes.count else { return nil }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "\""):
            if let text = try? plainString(asciiOnly: false) { return .string(String(decoding: text, as: UTF8.self)) }
        case UInt8(ascii: "t"):
            if (try? literal("true")) != nil { return .bool(true) }
        case UInt8(ascii: "f"):
            if (try? literal("false")) != nil { return .bool(false) }
        case UInt8(ascii: "n"):
            if (try? literal("null")) != nil { return .null }
        default:
            break
        }
        index = start
        return nil
    }

    /// Nested objects gather above their parent's members in the one buffer,
    /// and leave it as they found it.
    private mutating func object(keeping kept: [JudgedMember], depth: Int) throws(Unsure) -> JSONValue {
        let start = buffers.members.count
        // Names come in byte order (`forEachMember` checks it), and `kept` is
        // in byte order too: one walk through both, not a search per member.
        var next = 0
        try forEachMember(depth: depth) { (scanner, name) throws(Unsure) in
            var order = 1
            while next < kept.count {
                order = kept[next].bytes.withUnsafeBufferPointer { NameOrder.compare($0, name) }
                if order >= 0 { break }
                next += 1
            }
            if order == 0 {
                let value = try scanner.value(kept[next].keep, depth: depth + 1)
                scanner.buffers.members.append((kept[next].name, value))
            } else {
                try scanner.skip(depth: depth + 1)
            }
        }
        return .object(Self.takeTail(of: &buffers.members, from: start, leaving: ("", .null)))
    }

    /// The buffer's elements from `start` on, moved out into an array of their
    /// size, the buffer left `start` long. Moved, not copied: copying a slice
    /// went through the tuple's generic copy witness and a retain and release
    /// per member. The array is made by `reserveCapacity`, which is
    /// specialised here: `init(unsafeUninitializedCapacity:)` allocated
    /// through the runtime's generic path, about 700 instructions an object.
    /// Each moved element's place takes `placeholder` (a value holding no
    /// reference), so the buffer stays initialised until it is cut back one at
    /// a time: `removeSubrange(start...)` and `removeLast(k)` go through the
    /// generic range replacement, about a thousand instructions a call.
    static func takeTail<Element>(of buffer: inout [Element], from start: Int, leaving placeholder: Element) -> [Element] {
        let count = buffer.count - start
        guard count > 0 else { return [] }
        var tail: [Element] = []
        tail.reserveCapacity(count)
        buffer.withUnsafeMutableBufferPointer { elements in
            // `offset` runs over start..<elements.count, inside the buffer; each
            // place is moved from, then initialised again at once.
            guard let base = elements.baseAddress else { return }
            for offset in start..<elements.count {
                tail.append((base + offset).move())
                (base + offset).initialize(to: placeholder)
            }
        }
        while buffer.count > start { buffer.removeLast() }
        return tail
    }

    private mutating func array(keeping element: JudgedMembers, depth: Int) throws(Unsure) -> JSONValue {
        let start = buffers.elements.count
        try forEachElement(depth: depth) { (scanner) throws(Unsure) in
            let value = try scanner.value(element, depth: depth + 1)
            scanner.buffers.elements.append(value)
        }
        return .array(Self.takeTail(of: &buffers.elements, from: start, leaving: .null))
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
