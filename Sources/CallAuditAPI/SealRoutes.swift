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
        readers.get("/v1/seals") { request, _ in
            let after = try request.uri.queryParameters.get("after").map { text -> Int64 in
                guard let value = Int64(text), (0...Self.largest).contains(value) else { throw Problem.badRequest("after must be a seal number (0 or more)") }
                return value
            } ?? 0
            let limit = try request.uri.queryParameters.get("limit").map { text -> Int in
                guard let value = Int(text), (1...1000).contains(value) else { throw Problem.badRequest("limit must be between 1 and 1000") }
                return value
            } ?? 100
            let seals = try await pool.withConnection { try SealStore(connection: $0).list(after: after, limit: limit).map(\.json) }
            return json(["seals": .array(seals)])
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
}
