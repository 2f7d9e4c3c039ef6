import CallAuditDomain
import Foundation

/// A Swift type a column's text form decodes to.
///
/// libpq hands every value over as text (or SQL NULL); each type says how it
/// reads its own text. `Optional` is the only type that accepts NULL, so a
/// column that may be NULL is decoded as `T?` and every other NULL is an error.
package protocol PostgresDecodable: Sendable {
    /// The value `text` holds (`nil` text is SQL NULL), or nil if it holds none of this type.
    static func decode(postgresText text: String?) -> Self?
}

/// A non-optional type: NULL never decodes to it.
package protocol PostgresTextDecodable: PostgresDecodable {
    init?(postgresText text: String)
}

extension PostgresTextDecodable {
    package static func decode(postgresText text: String?) -> Self? { text.flatMap(Self.init(postgresText:)) }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    package static func decode(postgresText text: String?) -> Wrapped?? {
        guard let text else { return .some(nil) }
        return Wrapped.decode(postgresText: text).map { .some($0) }
    }
}

extension String: PostgresTextDecodable {
    package init?(postgresText text: String) { self = text }
}

extension Int: PostgresTextDecodable {
    package init?(postgresText text: String) { self.init(text) }
}

extension Int64: PostgresTextDecodable {
    package init?(postgresText text: String) { self.init(text) }
}

extension Int32: PostgresTextDecodable {
    package init?(postgresText text: String) { self.init(text) }
}

extension UInt64: PostgresTextDecodable {
    package init?(postgresText text: String) { self.init(text) }
}

extension Double: PostgresTextDecodable {
    package init?(postgresText text: String) { self.init(text) }
}

extension Bool: PostgresTextDecodable {
    /// `boolean`'s output is `t` or `f`; `::text` casts give `true` or `false`.
    package init?(postgresText text: String) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Array: PostgresDecodable where Element == UInt8 {}
extension Array: PostgresTextDecodable where Element == UInt8 {
    /// `bytea` in its hex output form, `\x0a1b…`.
    package init?(postgresText text: String) {
        let digits = text.utf8.dropFirst(2)
        guard text.hasPrefix("\\x"), digits.count.isMultiple(of: 2) else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var high: UInt8?
        for digit in digits {
            guard let nibble = Self.nibble(digit) else { return nil }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        self = bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Bytes a query selects as `encode(column, 'hex')`: plain hex digits, read the
/// same whatever the server's `bytea_output` (a raw `bytea` column's text form
/// depends on it).
package struct HexBytes: PostgresTextDecodable, Hashable {
    package var bytes: [UInt8]

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package init?(postgresText text: String) {
        guard let bytes = [UInt8](hexString: text) else { return nil }
        self.bytes = bytes
    }
}

/// A result that does not have the shape the query's caller expects.
///
/// It names the column and the expected type, never the value: values can be
/// personal data. `FailureClass` reads a wrong column count as schema drift
/// (fatal: this build and the database disagree) and a NULL or unreadable value
/// as bad data (the row, not the program, is wrong).
package struct PostgresDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Reason: Sendable, Equatable {
        /// The row has `found` columns where the caller decodes `expected`.
        case columnCount(expected: Int, found: Int)
        /// SQL NULL in a column decoded as a non-optional type.
        case unexpectedNull
        /// A value that is not of the type the column is decoded as.
        case typeMismatch
        /// No row where the caller reads exactly one (a scalar).
        case noRow
    }

    package var reason: Reason
    /// The column's name, as the result names it (empty for a column-count mismatch).
    package var column: String
    /// The Swift type the column was decoded as.
    package var expected: String

    package init(reason: Reason, column: String, expected: String) {
        self.reason = reason
        self.column = column
        self.expected = expected
    }

    package var isSchemaDrift: Bool {
        if case .columnCount = reason { return true }
        return false
    }

    package var description: String {
        switch reason {
        case .columnCount(let expected, let found):
            "a result has \(found) columns where \(expected) were expected: the database schema does not match this build"
        case .unexpectedNull: "column \(column) is NULL where \(expected) was expected"
        case .typeMismatch: "column \(column) does not hold a \(expected)"
        case .noRow: "a query for one \(expected) returned no row"
        }
    }
}

/// One row of a result copied out as text, with its column names.
package struct PostgresTextRow: Sendable {
    package let columns: [String]
    package let values: [String?]

    package init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// The first `count` columns, to decode a wide row in parts (with `dropFirst`).
    package func prefix(_ count: Int) -> PostgresTextRow {
        PostgresTextRow(columns: Array(columns.prefix(count)), values: Array(values.prefix(count)))
    }

    /// The columns after the first `count`.
    package func dropFirst(_ count: Int) -> PostgresTextRow {
        PostgresTextRow(columns: Array(columns.dropFirst(count)), values: Array(values.dropFirst(count)))
    }

    /// The row as a tuple of `types`, in column order; every column must be decoded.
    package func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws(PostgresDecodingError) -> (repeat each T) {
        var index = 0
        var failure: PostgresDecodingError?
        func next<V: PostgresDecodable>(_ type: V.Type) -> V? {
            defer { index += 1 }
            guard failure == nil, index < values.count else { return nil }
            if let value = V.decode(postgresText: values[index]) { return value }
            failure = PostgresDecodingError(
                reason: values[index] == nil ? .unexpectedNull : .typeMismatch, column: columns[index], expected: "\(V.self)")
            return nil
        }
        let decoded = (repeat next((each T).self))
        if let failure { throw failure }
        guard index == values.count else {
            throw PostgresDecodingError(reason: .columnCount(expected: index, found: values.count), column: "", expected: "")
        }
        // Every element is non-nil here: a nil was either a failure or a missing column, both thrown above.
        return (repeat (each decoded)!)
    }
}

extension PostgresRows {
    /// Each row, with the column names.
    package var typedRows: [PostgresTextRow] { rows.map { PostgresTextRow(columns: columns, values: $0) } }

    /// Every row as a tuple of `types`.
    package func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws(PostgresDecodingError) -> [(repeat each T)] {
        var decoded: [(repeat each T)] = []
        decoded.reserveCapacity(rows.count)
        for values in rows { decoded.append(try PostgresTextRow(columns: columns, values: values).decode(types)) }
        return decoded
    }

    /// The first row as a tuple of `types`, or nil when there is no row.
    package func decodeFirst<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws(PostgresDecodingError) -> (repeat each T)? {
        guard let values = rows.first else { return nil }
        let decoded: (repeat each T) = try PostgresTextRow(columns: columns, values: values).decode(types)
        return decoded
    }

    /// The single value of a one-column result's first row; throws when there is no row.
    package func decodeScalar<T: PostgresDecodable>(_ type: T.Type) throws(PostgresDecodingError) -> T {
        guard let values = rows.first else {
            throw PostgresDecodingError(reason: .noRow, column: "", expected: "\(T.self)")
        }
        return try PostgresTextRow(columns: columns, values: values).decode(T.self)
    }
}

/// Streaming reads (`forEachRow`) of columns that may not be NULL: the hot
/// paths read straight from libpq's buffers, and a NULL there is bad data,
/// thrown like a typed decode's, never a crash.
extension PostgresRow {
    package func requiredInt64(_ column: Int) throws(PostgresDecodingError) -> Int64 {
        guard let value = int64(column) else { throw nullError(column, Int64.self) }
        return value
    }

    package func requiredString(_ column: Int) throws(PostgresDecodingError) -> String {
        guard let value = string(column) else { throw nullError(column, String.self) }
        return value
    }

    /// An 8-byte column of a binary result; NULL or another width throws.
    package func requiredBigEndian(_ column: Int) throws(PostgresDecodingError) -> UInt64 {
        guard let value = bigEndian(column) else {
            throw isNull(column) ? nullError(column, UInt64.self) : PostgresDecodingError(reason: .typeMismatch, column: columnName(column), expected: "UInt64")
        }
        return value
    }

    /// A column of a binary result read as raw bytes; NULL throws (an empty value is not NULL).
    package func requiredBytes(_ column: Int) throws(PostgresDecodingError) -> UnsafeRawBufferPointer {
        guard !isNull(column) else { throw nullError(column, [UInt8].self) }
        return bytes(column)
    }

    private func nullError<T>(_ column: Int, _ type: T.Type) -> PostgresDecodingError {
        PostgresDecodingError(reason: .unexpectedNull, column: columnName(column), expected: "\(T.self)")
    }
}
