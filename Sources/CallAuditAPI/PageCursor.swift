import CallAuditDomain
import Foundation
import Hummingbird

/// A list's page cursor as clients see it: opaque, base64url (no padding) of
/// the last row's keyset, tagged with the list it pages (`reports`,
/// `requests`), e.g. `reports|1795392000000000|day-2026-11-23`. Read back
/// strictly: anything that is not exactly what `encode` makes, or whose
/// fields the list cannot read, is a 400 naming the parameter, never a query.
struct PageCursor {
    let tag: String
    let fields: [String]

    var encoded: String {
        Data(([tag] + fields).joined(separator: "|").utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The cursor `text` holds for the list `tag`, with `count` fields; `parameter` names it in the 400.
    static func decode(_ text: String, tag: String, count: Int, parameter: String = "after") throws -> PageCursor {
        let refused = Self.refused(parameter)
        guard text.utf8.count <= 4_096, text.utf8.allSatisfy(Self.isBase64URL) else { throw refused }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let plain = String(data: data, encoding: .utf8) else { throw refused }
        // The last field may hold a `|` of its own (a request id a platform chose).
        let parts = plain.split(separator: "|", maxSplits: count, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == count + 1, parts[0] == tag else { throw refused }
        let cursor = PageCursor(tag: tag, fields: Array(parts.dropFirst()))
        // One spelling per cursor: what was sent is what this cursor encodes to.
        guard cursor.encoded == text else { throw refused }
        return cursor
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"),
            UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// Microseconds since 1970 in a cursor field, an instant RFC 3339 can write (years 1 to 9999): the
    /// lists compare it with PostgreSQL timestamps, which refuse the others.
    func microseconds(_ index: Int, parameter: String = "after") throws -> Int64 {
        guard let value = Int64(fields[index]), Timestamp.representable.contains(Timestamp(microseconds: value)) else { throw Self.refused(parameter) }
        return value
    }

    /// An id in a cursor field: not empty, no NUL (PostgreSQL text cannot hold one). Otherwise any
    /// string: a platform chooses its request ids, and the cursor of a page that ends at one must work.
    func identifier(_ index: Int, parameter: String = "after") throws -> String {
        let id = fields[index]
        guard !id.isEmpty, !id.utf8.contains(0) else { throw Self.refused(parameter) }
        return id
    }

    private static func refused(_ parameter: String) -> Problem {
        Problem.badRequest("\(parameter) must be the `next` cursor of an earlier page of this list, unchanged")
    }
}

/// The `limit` query parameter of a paged list: 1 to `maximum`, nil when absent.
func pageLimit(_ request: Request, maximum: Int = 500) throws -> Int? {
    try request.uri.queryParameters["limit"].map { text in
        guard let value = Int(text), (1...maximum).contains(value) else { throw Problem.badRequest("limit must be an integer from 1 to \(maximum)") }
        return value
    }
}

/// A page of a list: its JSON, with `next` also as `Link: rel="next"` (the same path and query, the cursor replaced).
func page(_ body: JSONValue, next: String?, request: Request) -> Response {
    var response = json(body)
    if let next {
        // The query as sent (still percent-encoded), its cursor replaced: a cursor is base64url, safe as it is.
        var query = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("after=") && $0 != "after" }.map(String.init)
        query.append("after=\(next)")
        response.headers[.init("Link")!] = "<\(request.uri.path)?\(query.joined(separator: "&"))>; rel=\"next\""
    }
    return response
}
