import CallAuditDomain
import CallAuditIntegrity
import Hummingbird

/// The seal chain, for auditors to fetch and check offline.
struct SealRoutes {
    let pool: DatabasePool
    /// The largest number JSON carries exactly (2^53 - 1), as the OpenAPI document says.
    static let largest: Int64 = 9_007_199_254_740_991

    func register(on groups: RouteGroups) {
        let readers = groups.callers(.auditor, .ops, .admin)
        readers.get("/v1/seals") { request, _ in try await list(request) }
        // Registered before `{n}`, which it would otherwise be a malformed number of.
        readers.get("/v1/seals/head") { _, _ in
            // Seals are numbered from 1 without gaps (each names the one before; verify-store checks the chain),
            // so the head's number is the chain's length: no count over a table that grows for good.
            let head = try await pool.withConnection { try SealStore(connection: $0).head() }
            return json(["count": .number(Double(head?.sealNo ?? 0)), "head": head?.json ?? .null])
        }
        readers.get("/v1/seals/{n}") { _, context in
            guard let text = context.parameters.get("n"), let number = Int64(text), (1...Self.largest).contains(number) else {
                throw Problem.badRequest("a seal number is 1 or more")
            }
            guard let seal = try await pool.withConnection({ try SealStore(connection: $0).seal(number)?.json }) else {
                throw Problem.notFound("no seal \(number)")
            }
            return json(seal)
        }
    }

    /// The seals numbered after `after` and before `before`, oldest first (the default) or newest first
    /// (`order=newest`): each order pages with its bound, `after` oldest first, `before` newest first.
    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let newest = try query["order"].map { text in
            guard ["oldest", "newest"].contains(text) else { throw Problem.badRequest("order must be oldest or newest") }
            return text == "newest"
        } ?? false
        let after = try query["after"].map { try Self.number(String($0), name: "after") } ?? 0
        let before = try query["before"].map { try Self.number(String($0), name: "before") } ?? Self.largest
        let limit = try query["limit"].map { text in
            guard let value = Int(text), (1...1000).contains(value) else { throw Problem.badRequest("limit must be between 1 and 1000") }
            return value
        } ?? 100
        let seals = try await pool.withConnection { try SealStore(connection: $0).list(after: after, before: before, newestFirst: newest, limit: limit) }
        return json(["seals": .array(seals.map(\.json))])
    }

    private static func number(_ text: String, name: String) throws -> Int64 {
        guard let value = Int64(text), (0...largest).contains(value) else { throw Problem.badRequest("\(name) must be a seal number (0 or more)") }
        return value
    }
}
