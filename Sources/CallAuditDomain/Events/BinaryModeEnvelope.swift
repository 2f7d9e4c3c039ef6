/// A binary-mode message (`ce_*` headers, `data` as the value) written out as
/// the structured event the reference builds from it, so the one-pass
/// decoder scans binary mode as it scans structured mode.
///
/// The reference (`EventDecoder.binaryDocument`) makes an object of the
/// `ce_*` headers (name without the prefix, value as a string), adds
/// `datacontenttype` from `content-type` unless a `ce_datacontenttype` header
/// gave one, and the value, parsed, as `data`. Written here as JSON text, that
/// object scans to the same canonical bytes. Anything whose text could differ
/// from that object is left to the reference (`write` returns false), which
/// then decides and words any rejection:
/// - a header name that is not ASCII (Swift's `lowercased()` maps some
///   non-ASCII letters to ASCII ones, the Kelvin sign to `k`);
/// - an attribute name that is not `[a-z0-9]+` (CloudEvents' own rule), a
///   header without a value (the reference skips it but counts it against
///   duplicates), `content-type` twice;
/// - a value holding a quote, a backslash or a control character (written
///   as they are, they would need escaping; NUL the reference refuses);
/// - a value (`data`) that is not exactly one JSON object. Without that, a
///   value such as `{},"id":"x"` would close `data` early and add members the
///   producer never sent as headers. The scanner then proves the object well
///   formed, and on well-formed JSON this bracket count and the scanner agree
///   on where it ends.
/// Duplicate attribute names (`ce_id` and `CE_ID`, or `ce_data`) become
/// duplicate members, which the scanner hands off.
struct BinaryModeEnvelope {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(4_096) }

    /// Writes `message` as a structured event into `bytes`; false when the reference must decide.
    mutating func write(_ message: IncomingMessage, data: [UInt8]) -> Bool {
        guard message.headerNamesAreUTF8, data.withUnsafeBufferPointer(Self.isOneObject) else { return false }
        bytes.removeAll(keepingCapacity: true)
        bytes.append(UInt8(ascii: "{"))
        // Over the headers' bytes where they lie: no String or array per header.
        let written = message.headers.bytes.withUnsafeBufferPointer { all in
            appendAttributes(of: message.headers.entries, in: all)
        }
        guard written else { return false }
        append(#""data":"#)
        bytes.append(contentsOf: data)
        bytes.append(UInt8(ascii: "}"))
        return true
    }

    /// Each `ce_` header as a member, then `datacontenttype` from `content-type` unless one was given.
    private mutating func appendAttributes(of entries: MessageHeaders.Entries, in all: UnsafeBufferPointer<UInt8>) -> Bool {
        var contentType: UnsafeBufferPointer<UInt8>?
        var hasDataContentType = false
        for entry in entries {
            let name = UnsafeBufferPointer(rebasing: all[entry.name])
            let value = entry.value.map { UnsafeBufferPointer(rebasing: all[$0]) }
            switch Self.kind(of: name) {
            case .other: continue
            case .unsure: return false
            case .contentType:
                guard contentType == nil, let value else { return false }
                contentType = value
            case .attribute:
                let attribute = UnsafeBufferPointer(rebasing: name[3...])
                guard let value, Self.isPlainString(value) else { return false }
                hasDataContentType = hasDataContentType || attribute.equals("datacontenttype")
                appendMember(attribute, value)
            }
        }
        if let contentType, !hasDataContentType {
            guard Self.isPlainString(contentType) else { return false }
            appendMember(Self.buffer("datacontenttype"), contentType)
        }
        return true
    }

    // Every piece is appended as a buffer of bytes: appending a String's UTF-8 view went through
    // the generic, slower path, about 170 instructions each, some twenty per message.
    private mutating func appendMember(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: name)
        append(#"":""#)
        bytes.append(contentsOf: value)
        append(#"","#)
    }

    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: Self.buffer(text))
    }

    private static func buffer(_ text: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// What the reference makes of a header name: `attribute` is `ce_` and the attribute's name after it.
    private enum HeaderKind {
        case other, unsure, contentType, attribute
    }

    /// What the reference makes of a header name, decided over ASCII only.
    private static func kind(of name: UnsafeBufferPointer<UInt8>) -> HeaderKind {
        guard !name.contains(where: { $0 >= 0x80 }) else { return .unsure }
        if name.count == 12, equalsIgnoringASCIICase(name, "content-type") { return .contentType }
        guard name.count >= 3, equalsIgnoringASCIICase(UnsafeBufferPointer(rebasing: name[..<3]), "ce_") else { return .other }
        let attribute = name[3...]
        // Upper-case letters are lowered by the reference; here they hand off (producers write lower
        // case). So does `ce_` alone, which the reference makes a member named "".
        guard !attribute.isEmpty, attribute.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }) else { return .unsure }
        return .attribute
    }

    private static func equalsIgnoringASCIICase(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        for i in 0..<bytes.count where ((0x41...0x5A).contains(bytes[i]) ? bytes[i] | 0x20 : bytes[i]) != expected[i] { return false }
        return true
    }

    /// No quote, backslash or control byte: the bytes are the JSON string's text as they stand.
    private static func isPlainString(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        !value.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }

    /// True when `value` is one bracketed object and nothing after it but
    /// JSON whitespace: its outermost `}` is its last byte that is not.
    static func isOneObject(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        guard let first = value.firstIndex(where: { !isSpace($0) }), value[first] == UInt8(ascii: "{") else { return false }
        var depth = 0
        var i = first
        while i < value.count {
            switch value[i] {
            case UInt8(ascii: "\""):
                i = endOfString(value, from: i + 1)
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return value[(i + 1)...].allSatisfy(isSpace) }
            default: break
            }
            i += 1
        }
        return false
    }

    /// Just past the quote that closes a string whose text starts at `start`, or `value.count` if
    /// none does. A backslash takes the byte after it, whatever it is. Plain runs are passed a word
    /// at a time (byte by byte, this loop was about a quarter of a binary message's cost).
    private static func endOfString(_ value: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = value.baseAddress else { return value.count }
        var at = start
        var seen: UInt64 = 0
        while true {
            // Every byte before `at` is neither a quote nor a backslash (nor a control byte, passed below).
            at = ByteWords.skipStringRun(base, from: at, count: value.count, seen: &seen)
            guard at < value.count else { return value.count }
            switch value[at] {
            case UInt8(ascii: "\""): return at + 1
            case UInt8(ascii: "\\"): at += 2
            default: at += 1
            }
        }
    }
}
