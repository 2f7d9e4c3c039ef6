import Foundation
import Testing

@testable import CallAuditDomain

@Suite("RFC 3339 timestamps")
struct TimestampTests {
    @Test(
        "accepts RFC 3339 date-times and normalises them to UTC",
        arguments: [
            ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"),
            ("2026-11-24t10:00:00z", "2026-11-24T10:00:00Z"),
            ("2026-11-24T10:00:00.5Z", "2026-11-24T10:00:00.500000Z"),
            ("2026-11-24T10:00:00.1234567Z", "2026-11-24T10:00:00.123456Z"),
            ("2026-11-24T12:30:00+02:30", "2026-11-24T10:00:00Z"),
            ("2026-11-24T00:00:00-01:00", "2026-11-24T01:00:00Z"),
            ("2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z"),
            ("2000-02-29T23:59:59Z", "2000-02-29T23:59:59Z"),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ])
    func accepts(_ text: String, _ normalised: String) throws {
        let timestamp = try #require(Timestamp(rfc3339: text))
        #expect(timestamp.rfc3339 == normalised)
        #expect(Array(text.utf8).withUnsafeBufferPointer { Timestamp(rfc3339: $0) } == timestamp)
    }

    @Test(
        "rejects what RFC 3339 does not allow",
        arguments: [
            "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-11-24T24:00:00Z", "2026-11-24T10:60:00Z", "2026-11-24T23:59:60Z", "2026-11-24 10:00:00Z",
            "2026-11-24T10:00:00", "2026-11-24T10:00:00+2:00", "2026-11-24T10:00:00+24:00", "2026-11-24T10:00:00.Z",
            "0000-01-01T00:00:00Z", "26-11-24T10:00:00Z", "2026-11-24", "yesterday", "2026-11-24T10:00:00Zjunk",
        ])
    func rejects(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
        #expect(Array(text.utf8).withUnsafeBufferPointer { Timestamp(rfc3339: $0) } == nil)
    }

    @Test("the byte reader agrees with the independent reading of RFC 3339 on edits of valid times, and on bytes that are not UTF-8")
    func byteReaderAgreesWithReference() throws {
        let seeds = ["2026-11-24T10:00:00Z", "2026-11-24t10:00:00.123456789z", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+01:00"]
        let edits: [UInt8] = Array("0123456789-:.+TtZz ".utf8) + [0x00, 0x80, 0xC3, 0xFF]
        var checked = 0
        for seed in seeds.map({ Array($0.utf8) }) {
            for offset in 0...seed.count {
                for byte in edits {
                    var replaced = seed
                    if offset < seed.count { replaced[offset] = byte }
                    var inserted = seed
                    inserted.insert(byte, at: offset)
                    for input in [replaced, inserted, Array(seed.prefix(offset))] {
                        try TimestampProperties.check(input)
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 1_000)
    }

    @Test(
        "writes an instant outside years 1 to 9999 (a forged row or cursor) without trapping, in a form no parser accepts",
        arguments: [Int64.min, -100_000_000_000_000_000, -62_167_219_200_000_000, 253_402_300_800_000_000, Int64.max])
    func outOfRangeIsWrittenNotTrapped(_ microseconds: Int64) {
        let instant = Timestamp(microseconds: microseconds)
        #expect(!Timestamp.representable.contains(instant))
        let text = instant.rfc3339
        #expect(text == "\(microseconds)us-since-1970")
        #expect(Timestamp(rfc3339: text) == nil, "\(text)")
        #expect(!instant.humanUTC.isEmpty)
    }

    @Test("writes every instant as C's gmtime_r reads it, with the fraction only when there is one")
    func writesWhatGmtimeReads() throws {
        var generator = SystemRandomNumberGenerator()
        let range = Timestamp.representable
        let edges = [range.lowerBound.microseconds, range.upperBound.microseconds - 1, 0, -1, 951_782_400_000_000, 1_700_000_000_000_001]
        let random = (0..<20_000).map { _ in Int64.random(in: range.lowerBound.microseconds..<range.upperBound.microseconds, using: &generator) }
        for microseconds in edges + random + random.map({ $0 / 1_000_000 * 1_000_000 }) {
            var seconds = time_t(microseconds / 1_000_000 - (microseconds % 1_000_000 < 0 ? 1 : 0))
            var parts = tm()
            try #require(gmtime_r(&seconds, &parts) != nil)
            let fraction = microseconds - Int64(seconds) * 1_000_000
            let expected =
                String(format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
                + (fraction == 0 ? "" : String(format: ".%06lld", fraction)) + "Z"
            #expect(Timestamp(microseconds: microseconds).rfc3339 == expected)
        }
    }

    @Test("converts between days and civil dates across eras")
    func civilRoundTrip() {
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let (y, m, d) = Timestamp.civilFromDays(days)
            #expect(Timestamp.daysFromCivil(year: y, month: m, day: d) == days)
        }
    }
}
