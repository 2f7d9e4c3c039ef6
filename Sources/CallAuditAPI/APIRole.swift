import CallAuditStore

/// Who may call the API: each token has one role. Which roles may call which
/// route is the route groups' business (`RouteGroups`), documented in each
/// operation's `x-roles` in `openapi.yaml`.
package enum APIRole: String, Sendable, CaseIterable, Comparable {
    case auditor, dpo, ops, admin

    package static func < (a: APIRole, b: APIRole) -> Bool { a.order < b.order }

    private var order: Int {
        switch self {
        case .auditor: 0
        case .dpo: 1
        case .ops: 2
        case .admin: 3
        }
    }
}

/// `api_tokens.role` holds one of the raw values (a CHECK constraint keeps it so).
extension APIRole: PostgresTextDecodable {
    package init?(postgresText text: String) { self.init(rawValue: text) }
}
