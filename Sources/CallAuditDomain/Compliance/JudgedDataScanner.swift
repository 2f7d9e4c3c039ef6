/// Reads a stored event's `data` from its bytes for `FactScanner`: a contract
/// event's judged members into `JudgedData` (`judgedData()`), skipping the
/// rest unbuilt; one of CallAudit's own events' whole (`whole`).
///
/// It decides only what it checks as strictly as the tree parser does in
/// what it skips: members in byte order (so none twice) with ASCII names,
/// strings without escapes or control bytes, numbers without an exponent and
/// with at most 15 integer digits (so a Double holds them), no whitespace,
/// the depth limit. Anything else is `Unsure`: `FactScanner` then builds
/// `data` whole with the tree parser and reads `JudgedData` from the tree.
struct JudgedDataScanner: StoredBytesScanning {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int

    init(bytes: UnsafeBufferPointer<UInt8>, index: Int) {
        self.bytes = bytes
        self.index = index
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

    /// Checks a value nobody judges, building nothing.
    mutating func skip(depth: Int) throws(Unsure) {
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
    mutating func forEachMember(
        depth: Int, _ body: (inout JudgedDataScanner, UnsafeBufferPointer<UInt8>) throws(Unsure) -> Void
    ) throws(Unsure) {
        guard depth < JSONParser.maximumDepth else { throw Unsure() }
        try forEachMember(body)
    }

    /// The array at `index`, with the scanner at each element for `body` to read.
    mutating func forEachElement(depth: Int, _ body: (inout JudgedDataScanner) throws(Unsure) -> Void) throws(Unsure) {
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
