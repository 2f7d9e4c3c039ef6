/// What `Timestamp(rfc3339:)` promises, checked on any text (and on the raw
/// bytes, for the byte reader the decoders use): it accepts exactly
/// what an independent reading of RFC 3339 §5.6 accepts (with the documented
/// limits: years from 0001, no leap second, within the representable range),
/// at the same instant, and its own output reads back unchanged.
/// Shared by the `timestamp` fuzz target and its regression test.
package enum TimestampProperties {
    package static func check(_ input: [UInt8]) throws(PropertyViolation) {
        let text = String(decoding: input, as: UTF8.self)
        let parsed = Timestamp(rfc3339: text)
        let expected = ReferenceRFC3339.microseconds(text)
        try PropertyViolation.require(
            parsed?.microseconds == expected,
            "parses to \(parsed.map { "\($0.microseconds)" } ?? "nil"), the reference reading gives \(expected.map { "\($0)" } ?? "nil")")
        // The byte reader the decoders use, on the raw bytes (invalid UTF-8 included), reads the same.
        let fromBytes = input.withUnsafeBufferPointer { Timestamp(rfc3339: $0) }
        try PropertyViolation.require(
            fromBytes?.microseconds == expected,
            "the bytes parse to \(fromBytes.map { "\($0.microseconds)" } ?? "nil"), the reference reading gives \(expected.map { "\($0)" } ?? "nil")")
        guard let parsed else { return }
        try PropertyViolation.require(Timestamp.representable.contains(parsed), "a parsed instant is representable")
        let written = parsed.rfc3339
        try PropertyViolation.require(Timestamp(rfc3339: written) == parsed, "\(written) reads back as the instant it was written from")
        try PropertyViolation.require(Timestamp(rfc3339: written)?.rfc3339 == written, "the written form is a fixed point")
        try PropertyViolation.require(
            written.utf8.count == (parsed.microseconds % 1_000_000 == 0 ? 20 : 27) && written.hasSuffix("Z"),
            "\(written) is UTC with six fraction digits or none")
    }
}

/// RFC 3339 `date-time` read from the grammar, apart from `Timestamp`: scalar
/// by scalar, with day counting from year 1 (not the era arithmetic `Timestamp`
/// uses), returning microseconds since 1970 or nil.
package enum ReferenceRFC3339 {
    package static func microseconds(_ text: String) -> Int64? {
        let s = Array(text.unicodeScalars)
        // Every position of the fixed part: d = digit, other = that character (T and Z in either case).
        let layout = Array("dddd-dd-ddTdd:dd:dd".unicodeScalars)
        guard s.count > layout.count else { return nil }
        for (scalar, expected) in zip(s, layout) {
            switch expected {
            case "d": guard ("0"..."9").contains(scalar) else { return nil }
            case "T": guard scalar == "T" || scalar == "t" else { return nil }
            default: guard scalar == expected else { return nil }
            }
        }
        func value(_ range: Range<Int>) -> Int { Int(String(String.UnicodeScalarView(s[range])))! }
        let (year, month, day) = (value(0..<4), value(5..<7), value(8..<10))
        let (hour, minute, second) = (value(11..<13), value(14..<16), value(17..<19))
        let monthDays = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard year >= 1, (1...12).contains(month), (1...monthDays[month - 1]).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var rest = s[19...]
        var fraction: Int64 = 0
        if rest.first == "." {
            let digits = rest.dropFirst().prefix { ("0"..."9").contains($0) }
            guard !digits.isEmpty else { return nil }
            // Microseconds: the first six digits, padded; later ones are dropped (truncation, as documented).
            let six = (Array(digits.prefix(6)) + Array(repeating: "0", count: 6)).prefix(6)
            fraction = Int64(String(String.UnicodeScalarView(six)))!
            rest = rest.dropFirst(1 + digits.count)
        }
        var offsetSeconds = 0
        if rest.count == 1, rest.first == "Z" || rest.first == "z" {
            offsetSeconds = 0
        } else if rest.count == 6, rest.first == "+" || rest.first == "-", rest[rest.startIndex + 3] == ":" {
            let digits = [1, 2, 4, 5].map { rest[rest.startIndex + $0] }
            guard digits.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
            let number = digits.map { Int($0.value - 0x30) }
            let (offsetHour, offsetMinute) = (number[0] * 10 + number[1], number[2] * 10 + number[3])
            guard offsetHour < 24, offsetMinute < 60 else { return nil }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (rest.first == "-" ? -1 : 1)
        } else {
            return nil
        }
        // Days from 0001-01-01 (proleptic Gregorian), then from 1970-01-01 (day 719,162).
        let previousYears = year - 1
        let dayOfYear = monthDays[..<(month - 1)].reduce(0, +) + day - 1
        let days = previousYears * 365 + previousYears / 4 - previousYears / 100 + previousYears / 400 + dayOfYear - 719_162
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        // In UTC the instant must still be one a four-digit year can write: 0001-01-01 to 9999-12-31.
        let first: Int64 = -62_135_596_800
        let end: Int64 = 253_402_300_800
        guard seconds >= first, seconds < end else { return nil }
        return seconds * 1_000_000 + fraction
    }

    private static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }
}
