import Testing

@testable import CallAuditDomain

/// A message's headers held as records in one byte buffer (`MessageHeaders`).
@Suite("A message's headers in one buffer")
struct MessageHeadersTests {
    static func raw(_ headers: [(name: [UInt8], value: [UInt8]?)]) -> MessageHeaders {
        var result = MessageHeaders()
        result.reserve(headers: headers.count, bytes: headers.reduce(0) { $0 + $1.name.count + ($1.value?.count ?? 0) })
        for (name, value) in headers {
            name.withUnsafeBytes { name in
                guard let value else { return result.append(name: name, value: nil) }
                value.withUnsafeBytes { result.append(name: name, value: $0) }
            }
        }
        return result
    }

    @Test("read as a collection, the headers they were made of: order, text names, a missing value apart from an empty one")
    func roundTrip() {
        let headers: [(key: String, value: [UInt8]?)] = [("content-type", Array("application/json".utf8)), ("ce_id", []), ("x", nil), ("ñame", [0, 0xFF])]
        let held = MessageHeaders(headers)
        #expect(held.count == 4 && held.namesAreUTF8 && held.rawNames == nil)
        #expect(held.map(\.key) == headers.map(\.key))
        #expect(held.map(\.value) == headers.map(\.value))
        #expect(held.bytes.count == 8 * held.count + held.textByteCount)
        #expect(held.textByteCount == headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) })
        #expect(MessageHeaders().isEmpty && MessageHeaders([]).bytes.isEmpty)
    }

    @Test("a name that is not UTF-8: kept as sent, read as text with its bad bytes replaced, counted as that text")
    func nameNotUTF8() {
        let held = Self.raw([(Array("ok".utf8), [1]), ([0x78, 0xFF, 0x2D], Array("v".utf8)), ([0xC0, 0xAF], nil)])
        #expect(!held.namesAreUTF8)
        #expect(held.rawNames == [Array("ok".utf8), [0x78, 0xFF, 0x2D], [0xC0, 0xAF]])
        let text = held.map(\.key)
        #expect(text == ["ok", String(decoding: [0x78, 0xFF, 0x2D], as: UTF8.self), String(decoding: [0xC0, 0xAF], as: UTF8.self)])
        #expect(held.textByteCount == text.reduce(0) { $0 + $1.utf8.count } + 2)
        #expect(held.textByteCount > held.bytes.count - 8 * held.count, "each bad byte counts as U+FFFD's three, as the String did")
        #expect(IncomingMessage(headers: held, value: nil).headerNamesAreUTF8 == false)
        #expect(IncomingMessage(headers: Self.raw([(Array("ñ".utf8), nil)]), value: nil).headerNamesAreUTF8, "valid non-ASCII is UTF-8")
    }

    @Test("the last header of a name, as `header(_:)` answered on text; no value reads as absent")
    func lastValue() {
        let held = Self.raw([
            (Array("CE_ID".utf8), [1]), (Array("Ce_Id".utf8), [3]), (Array("\u{212A}EY".utf8), [4]), (Array("ce_specversion".utf8), nil),
            ([0xFF], [5]),
        ])
        let message = IncomingMessage(headers: held, value: nil)
        #expect(message.header("ce_id") == [3] && message.hasHeaderValue("ce_id"))
        #expect(message.header("key") == [4], "the Kelvin sign lowers to k")
        #expect(message.header("ce_specversion") == nil && !message.hasHeaderValue("ce_specversion"))
        #expect(message.header("\u{FFFD}") == [5], "a repaired name compares as its text")
        #expect(message.header("ce_type") == nil)
    }

    @Test("one buffer: each header a record of two lengths, its name and its value, walked back to the same headers")
    func oneBuffer() {
        let headers: [(key: String, value: [UInt8]?)] = [("a", [1, 2]), ("", nil), ("bc", []), (String(repeating: "n", count: 300), Array(repeating: 7, count: 70_000))]
        let held = MessageHeaders(headers)
        let text = headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        #expect(held.bytes.count == 8 * headers.count + text, "two 4-byte lengths per header, then its bytes: nothing else")
        #expect(held.bytes.capacity == held.bytes.count || held.bytes.capacity < held.bytes.count + 32, "sized once")
        let entries = Array(held.entries)
        #expect(entries.count == 4 && held.count == 4)
        #expect(entries.map { Array(held.bytes[$0.name]) } == headers.map { Array($0.key.utf8) })
        #expect(entries.map { $0.value.map { Array(held.bytes[$0]) } } == headers.map(\.value))
        #expect(entries[1].value == nil && entries[2].value == entries[2].name.upperBound..<entries[2].name.upperBound, "none apart from empty")
        #expect(held.indices.map { held[$0].key } == headers.map(\.key), "the collection walks the same records")
    }
}
