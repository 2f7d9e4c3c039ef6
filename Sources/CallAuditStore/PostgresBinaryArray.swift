/// A one-dimensional array parameter in PostgreSQL's binary form (what
/// `array_send` writes and `array_recv` reads), sent as `.bytes`: the vault's
/// arrays of blind indexes, wrapped keys and refs go without a text literal
/// to build, quote and hex-encode, and without one for the server to parse
/// (`array_in`, then `byteain` per element). The statement must name the
/// array type (`$1::bytea[]`), which is what the server reads it as.
package enum PostgresBinaryArray {
    /// pg_type OIDs, fixed since PostgreSQL 7.
    static let byteaOID: UInt32 = 17
    static let textOID: UInt32 = 25

    /// A `bytea[]` of these values (none NULL).
    package static func bytea(_ elements: [[UInt8]]) -> PostgresValue {
        var out = header(elementType: byteaOID, count: elements.count, payload: elements.reduce(0) { $0 + $1.count })
        for element in elements {
            appendBigEndian(UInt32(element.count), to: &out)
            out.append(contentsOf: element)
        }
        return .bytes(out)
    }

    /// A `text[]` of these values (none NULL), as UTF-8.
    package static func text(_ elements: [String]) -> PostgresValue {
        var out = header(elementType: textOID, count: elements.count, payload: elements.reduce(0) { $0 + $1.utf8.count })
        for element in elements {
            appendBigEndian(UInt32(element.utf8.count), to: &out)
            out.append(contentsOf: element.utf8)
        }
        return .bytes(out)
    }

    /// Dimensions, the no-NULLs flag, the element type, and the one dimension's length and lower bound (1);
    /// an empty array has no dimension (`array_recv` reads ndim 0 as `{}`).
    private static func header(elementType: UInt32, count: Int, payload: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20 + 4 * count + payload)
        appendBigEndian(count == 0 ? 0 : 1, to: &out)
        appendBigEndian(0, to: &out)
        appendBigEndian(elementType, to: &out)
        if count > 0 {
            appendBigEndian(UInt32(count), to: &out)
            appendBigEndian(1, to: &out)
        }
        return out
    }

    private static func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
}
