#if canImport(Glibc)
import Glibc
#endif

/// An instant with microsecond precision (PostgreSQL's `timestamptz` resolution).
package struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    package var microseconds: Int64

    package init(microseconds: Int64) { self.microseconds = microseconds }

    package init(seconds: Int64) { self.microseconds = seconds * 1_000_000 }

    package static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }

    package func adding(seconds: Int64) -> Timestamp { Timestamp(microseconds: microseconds + seconds * 1_000_000) }

    package func adding(_ duration: Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        return Timestamp(microseconds: microseconds + seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }

    /// The wall clock.
    package static var now: Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000)
    }

    /// The instants RFC 3339 can write with its four-digit year, in UTC.
    package static let representable =
        Timestamp(microseconds: Int64(daysFromCivil(year: 1, month: 1, day: 1)) * 86_400_000_000)
        ..< Timestamp(microseconds: Int64(daysFromCivil(year: 10_000, month: 1, day: 1)) * 86_400_000_000)

    /// Parses an RFC 3339 `date-time` (section 5.6), the form CloudEvents' `time` requires.
    ///
    /// Accepts exactly what JSON Schema's `date-time` format accepts: a four
    /// digit year from 0001, a real calendar day, `T` (or `t`), seconds 00–59
    /// (no leap seconds), any fraction, and `Z` (or `z`) or a ±hh:mm offset.
    /// Digits past the microsecond are truncated.
    package init?(rfc3339 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Timestamp(rfc3339: $0) }) else { return nil }
        self = parsed
    }

    /// `init?(rfc3339:)` over the bytes themselves: the decoders read the time
    /// where it lies, without making a String of it.
    package init?(rfc3339 utf8: UnsafeBufferPointer<UInt8>) {
        guard utf8.count >= 20 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                let d = utf8[i]
                guard d >= 0x30 && d <= 0x39 else { return nil }
                value = value * 10 + Int(d - 0x30)
            }
            return value
        }
        func expect(_ i: Int, _ c: UInt8) -> Bool { utf8[i] == c }
        let isT = utf8[10] == UInt8(ascii: "T") || utf8[10] == UInt8(ascii: "t")
        guard let year = number(0..<4), expect(4, UInt8(ascii: "-")), let month = number(5..<7), expect(7, UInt8(ascii: "-")),
            let day = number(8..<10), isT, let hour = number(11..<13), expect(13, UInt8(ascii: ":")),
            let minute = number(14..<16), expect(16, UInt8(ascii: ":")), let second = number(17..<19)
        else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= Timestamp.daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var i = 19
        var micros: Int64 = 0
        if utf8[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < utf8.count, utf8[i] >= 0x30, utf8[i] <= 0x39 {
                if digits < 6 { micros = micros * 10 + Int64(utf8[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        guard i < utf8.count else { return nil }
        var offsetMinutes = 0
        if utf8[i] == UInt8(ascii: "Z") || utf8[i] == UInt8(ascii: "z") {
            i += 1
        } else if utf8[i] == UInt8(ascii: "+") || utf8[i] == UInt8(ascii: "-") {
            guard i + 6 == utf8.count, let oh = number(i + 1..<i + 3), expect(i + 3, UInt8(ascii: ":")), let om = number(i + 4..<i + 6),
                oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (utf8[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == utf8.count else { return nil }
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        self.microseconds = seconds * 1_000_000 + micros
        // An offset can carry 9999-12-31T23:59-01:00 into year 10000 in UTC, which RFC 3339 cannot write.
        guard Timestamp.representable.contains(self) else { return nil }
    }

    package var civil: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int) {
        let totalSeconds = microseconds.floorDivided(by: 1_000_000)
        let micro = Int(microseconds - totalSeconds * 1_000_000)
        let days = Int(totalSeconds.floorDivided(by: 86_400))
        let secondOfDay = Int(totalSeconds - Int64(days) * 86_400)
        let (y, m, d) = Timestamp.civilFromDays(days)
        return (y, m, d, secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60, micro)
    }

    /// `2026-11-24T10:00:00.123456Z`; the fraction is omitted when zero.
    package var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        writeRFC3339(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `rfc3339`, appended to `bytes`: findings, facts and COPY rows format millions of these.
    ///
    /// Total: an instant outside `representable` (which no parser makes, but a
    /// forged row or cursor could) is written as its microseconds, which RFC
    /// 3339 and PostgreSQL refuse, rather than trapping on a year it has no digits for.
    package func writeRFC3339(into bytes: inout [UInt8]) {
        guard Timestamp.representable.contains(self) else {
            bytes.append(contentsOf: Array("\(microseconds)us-since-1970".utf8))
            return
        }
        let c = civil
        // Written into a fixed 27-byte scratch and appended once: an append per
        // digit, and a Character's asciiValue per separator, cost ten times the
        // date arithmetic (about 3,300 instructions a call, BENCHMARKS.md).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { scratch in
            var end = 0
            func put(_ value: Int, width: Int) {
                var rest = value
                for i in stride(from: end + width - 1, through: end, by: -1) {
                    scratch[i] = UInt8(truncatingIfNeeded: 0x30 + rest % 10)
                    rest /= 10
                }
                end += width
            }
            func put(_ byte: UInt8) {
                scratch[end] = byte
                end += 1
            }
            put(c.year, width: 4)
            put(UInt8(ascii: "-"))
            put(c.month, width: 2)
            put(UInt8(ascii: "-"))
            put(c.day, width: 2)
            put(UInt8(ascii: "T"))
            put(c.hour, width: 2)
            put(UInt8(ascii: ":"))
            put(c.minute, width: 2)
            put(UInt8(ascii: ":"))
            put(c.second, width: 2)
            if c.microsecond != 0 {
                put(UInt8(ascii: "."))
                put(c.microsecond, width: 6)
            }
            put(UInt8(ascii: "Z"))
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<end]))
        }
    }

    package var description: String { rfc3339 }

    package static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    package static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// Howard Hinnant's days_from_civil: days since 1970-01-01 in the proleptic Gregorian calendar.
    package static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    package static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

extension Timestamp: Codable {
    package init(from decoder: any Decoder) throws {
        microseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(microseconds)
    }
}
