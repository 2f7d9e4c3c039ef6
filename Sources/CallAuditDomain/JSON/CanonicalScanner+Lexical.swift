/// The fast path met something it does not decide: the reference decoder
/// (`EventDecoder`, over a `JSONValue` tree) decides instead, and words any
/// rejection. Carries nothing, so the fast path cannot leak a value either.
struct HandOff: Error {}

/// A string as scanned: its decoded bytes (in the input, or in the scratch
/// buffer when it had escapes: valid until the next escaped string).
struct ScannedString {
    var bytes: UnsafeBufferPointer<UInt8>
    var isASCII: Bool
    var containsNUL: Bool
    /// Whether the string had escapes. Without, its bytes hold no quote, backslash or control byte.
    var wasEscaped = false
}

extension CanonicalScanner {
    mutating func skipWhitespace() {
        // A local index: the optimiser keeps it in a register, not in `self`.
        var at = index
        while at < input.count, input[at] == 0x20 || input[at] == 0x0A || input[at] == 0x0D || input[at] == 0x09 { at += 1 }
        index = at
    }

    /// The byte at `index`, or a hand-off at the end of the input.
    func peek() throws(HandOff) -> UInt8 {
        guard index < input.count else { throw HandOff() }
        return input[index]
    }

    mutating func expect(_ byte: UInt8) throws(HandOff) {
        guard index < input.count, input[index] == byte else { throw HandOff() }
        index += 1
    }

    /// `true`, `false` or `null`, copied to the output as they are (already canonical).
    mutating func literal(_ text: StaticString) throws(HandOff) {
        let count = text.utf8CodeUnitCount
        guard index + count <= input.count else { throw HandOff() }
        for offset in 0..<count where input[index + offset] != text.utf8Start[offset] { throw HandOff() }
        out.append(UnsafeBufferPointer(start: text.utf8Start, count: count))
        index += count
    }

    // MARK: Strings

    /// Scans a string at `index` (its opening quote) and writes its canonical form.
    mutating func string() throws(HandOff) -> ScannedString {
        let start = index + 1
        // Most of an event's bytes are plain string bytes: skip them a word at a time, and in the
        // word that holds the closing quote go straight to it (a byte loop there cost about 40
        // instructions per string). Only the input's last seven bytes are left to the byte loop.
        var seen: UInt64 = 0
        var at = start
        let base = input.baseAddress!
        while at + 8 <= input.count {
            let word = ByteWords.loadLittleEndian(base, at)
            let plain = ByteWords.firstStringSpecial(in: word)
            guard plain == 8 else {
                // The bytes before the special one are the string's: their high bits say whether it is ASCII.
                seen |= word & ((1 &<< (UInt64(plain) &* 8)) &- 1)
                at += plain
                break
            }
            seen |= word
            at += 8
        }
        var highBits: UInt8 = ByteWords.hasNonASCII(seen) ? 0x80 : 0
        while at < input.count {
            let byte = input[at]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: input[start..<at])
                index = at + 1
                guard highBits < 0x80 || UTF8Validation.isValid(raw) else { throw HandOff() }
                // Unescaped, a string holds no quote, backslash or control byte: it is canonical
                // as it stands, and copied with its quotes in one append.
                out.append(UnsafeBufferPointer(rebasing: input[(start - 1)...at]))
                return ScannedString(bytes: raw, isASCII: highBits < 0x80, containsNUL: false)
            }
            if byte == UInt8(ascii: "\\") {
                index = at
                return try escapedString(from: start)
            }
            guard byte >= 0x20 else { throw HandOff() }
            highBits |= byte
            at += 1
        }
        throw HandOff()
    }

    /// The rest of a string with escapes: decoded into `scratch`, validated as
    /// the reference does (the decoded bytes), then written with RFC 8785's escapes.
    private mutating func escapedString(from start: Int) throws(HandOff) -> ScannedString {
        var length = index - start
        scratch.reserve(input.count)
        let buffer = scratch.pointer
        buffer.update(from: input.baseAddress! + start, count: length)
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                let decoded = UnsafeBufferPointer(start: buffer, count: length)
                guard UTF8Validation.isValid(decoded) else { throw HandOff() }
                JSONValue.writeCanonicalString(utf8: decoded, into: &out)
                return ScannedString(
                    bytes: decoded, isASCII: !decoded.contains { $0 >= 0x80 }, containsNUL: decoded.contains(0), wasEscaped: true)
            }
            if byte == UInt8(ascii: "\\") {
                index += 1
                let escape = try peek()
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer[length] = escape; length += 1
                case UInt8(ascii: "b"): buffer[length] = 0x08; length += 1
                case UInt8(ascii: "f"): buffer[length] = 0x0C; length += 1
                case UInt8(ascii: "n"): buffer[length] = 0x0A; length += 1
                case UInt8(ascii: "r"): buffer[length] = 0x0D; length += 1
                case UInt8(ascii: "t"): buffer[length] = 0x09; length += 1
                case UInt8(ascii: "u"): length += Self.encode(try unicodeEscape(), into: buffer + length)
                default: throw HandOff()
                }
                continue
            }
            guard byte >= 0x20 else { throw HandOff() }
            buffer[length] = byte
            length += 1
            index += 1
        }
        throw HandOff()
    }

    /// A `\u` escape's code point (after the `u`), a surrogate pair joined; a lone surrogate hands off.
    private mutating func unicodeEscape() throws(HandOff) -> UInt32 {
        let code = try hex4()
        if code >= 0xDC00 && code <= 0xDFFF { throw HandOff() }
        guard code >= 0xD800 && code <= 0xDBFF else { return code }
        try expect(UInt8(ascii: "\\"))
        try expect(UInt8(ascii: "u"))
        let low = try hex4()
        guard low >= 0xDC00 && low <= 0xDFFF else { throw HandOff() }
        return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
    }

    private mutating func hex4() throws(HandOff) -> UInt32 {
        guard index + 4 <= input.count else { throw HandOff() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = input[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw HandOff()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Writes `code` (a scalar value, never a surrogate) as UTF-8; returns how many bytes.
    private static func encode(_ code: UInt32, into target: UnsafeMutablePointer<UInt8>) -> Int {
        switch code {
        case 0..<0x80:
            target[0] = UInt8(code)
            return 1
        case 0x80..<0x800:
            target[0] = UInt8(0xC0 | code >> 6)
            target[1] = UInt8(0x80 | code & 0x3F)
            return 2
        case 0x800..<0x10000:
            target[0] = UInt8(0xE0 | code >> 12)
            target[1] = UInt8(0x80 | code >> 6 & 0x3F)
            target[2] = UInt8(0x80 | code & 0x3F)
            return 3
        default:
            target[0] = UInt8(0xF0 | code >> 18)
            target[1] = UInt8(0x80 | code >> 12 & 0x3F)
            target[2] = UInt8(0x80 | code >> 6 & 0x3F)
            target[3] = UInt8(0x80 | code & 0x3F)
            return 4
        }
    }

    // MARK: Numbers

    /// Scans a number and writes its canonical (ECMAScript) form; returns its value for the plan's checks.
    mutating func number() throws(HandOff) -> Double {
        let start = index
        var simple = true
        if input[index] == UInt8(ascii: "-") { index += 1 }
        let first = try peek()
        if first == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(first) {
            digits()
        } else {
            throw HandOff()
        }
        if index < input.count, input[index] == UInt8(ascii: ".") {
            simple = false
            index += 1
            guard index < input.count, isDigit(input[index]) else { throw HandOff() }
            digits()
        }
        if index < input.count, input[index] == UInt8(ascii: "e") || input[index] == UInt8(ascii: "E") {
            simple = false
            index += 1
            if index < input.count, input[index] == UInt8(ascii: "+") || input[index] == UInt8(ascii: "-") { index += 1 }
            guard index < input.count, isDigit(input[index]) else { throw HandOff() }
            digits()
        }
        let literal = UnsafeBufferPointer(rebasing: input[start..<index])
        let negative = literal[0] == UInt8(ascii: "-")
        // An integer of at most 15 digits is exact in a Double, and ECMAScript writes it digit for digit.
        if simple && literal.count - (negative ? 1 : 0) <= 15 {
            var magnitude = 0
            for byte in literal where byte != UInt8(ascii: "-") { magnitude = magnitude * 10 + Int(byte - UInt8(ascii: "0")) }
            if magnitude == 0 {
                out.append(UInt8(ascii: "0"))  // -0 too
            } else {
                out.append(literal)
            }
            return Double(negative ? -magnitude : magnitude)
        }
        // Fractions and exponents: the reference's conversion and writer (these allocate; they are rare in events).
        guard let value = Double(String(decoding: literal, as: UTF8.self)), value.isFinite else { throw HandOff() }
        var text = JSONValue.ecmaScriptString(value)
        text.withUTF8 { out.append($0) }
        return value
    }

    private mutating func digits() {
        while index < input.count, isDigit(input[index]) { index += 1 }
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
