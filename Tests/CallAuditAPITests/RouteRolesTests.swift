import CallAuditDomain
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import CallAuditAPI

/// The router walked against `openapi.yaml`: every documented operation is
/// served with its documented roles, every route served is documented, and
/// nothing but the documented public operations answers without a token.
@Suite("Route groups per role, walked against the OpenAPI document")
struct RouteRolesTests {
    private static let documented = DocumentedOperation.all()

    /// A documented path served by another route: the report's formats are suffixes of its id.
    private static func servingPath(_ documented: String) -> String {
        documented.replacingOccurrences(of: "{id}.csv", with: "{id}").replacingOccurrences(of: "{id}.html", with: "{id}")
    }

    @Test("the document is read: every operation has x-roles")
    func documentIsRead() {
        #expect(Self.documented.count == 32, "\(Self.documented)")
        #expect(Self.documented.allSatisfy { !$0.roles.isEmpty })
        #expect(Set(Self.documented.flatMap(\.roles)) == Set(["public"] + APIRole.allCases.map(\.rawValue)))
    }

    @Test("every registered route is documented, and every documented operation is registered")
    func routesAreDocumented() throws {
        let harness = try APIHarness()
        let registered = Set(harness.router.routes.map { "\($0.method) \($0.path)" })
        let documented = Set(Self.documented.map { "\($0.method) \(Self.servingPath($0.path))" })
        #expect(registered == documented, "registered only: \(registered.subtracting(documented)); documented only: \(documented.subtracting(registered))")
    }

    @Test("the 405 table (Allow) names exactly the registered methods of each path")
    func methodTableMatchesRouter() throws {
        let harness = try APIHarness()
        var registered: [String: Set<HTTPRequest.Method>] = [:]
        for route in harness.router.routes { registered["\(route.path)", default: []].insert(route.method) }
        for (path, methods) in registered {
            let concrete = path.replacingOccurrences(of: "{n}", with: "1").replacingOccurrences(of: "{id}", with: "r-1")
            #expect(Routes.methods(for: concrete).map(Set.init) == methods, "\(path)")
        }
        #expect(Routes.table.count == registered.count)
    }

    @Test("the paths authentication leaves alone are exactly the documented public ones")
    func publicPathsAreDocumented() {
        let documentedPublic = Set(Self.documented.filter(\.isPublic).map(\.path))
        #expect(Authentication.publicPaths.union(Authentication.optionalPaths) == documentedPublic)
        #expect(Authentication.publicPaths.isDisjoint(with: Authentication.optionalPaths))
    }

    @Test("without a token: 401 everywhere but the public operations")
    func anonymous() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            for operation in Self.documented {
                let response = try await client.send(operation.method, operation.example)
                if operation.isPublic {
                    #expect(![401, 403, 404, 405].contains(response.status.code), "\(operation): \(response.status)")
                } else {
                    #expect(response.status == .unauthorized, "\(operation): \(response.status)")
                    #expect(response.problemKind == "unauthorized", "\(operation)")
                    #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"callaudit\"", "\(operation)")
                }
            }
        }
    }

    @Test("each role against each operation: its documented roles get past the gate, the others 403", arguments: APIRole.allCases)
    func roleMatrix(_ role: APIRole) async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            for operation in Self.documented where !operation.isPublic {
                let response = try await client.send(operation.method, operation.example, as: role)
                if operation.roles.contains(role.rawValue) {
                    // Past the gate the handler runs: it may find nothing or no database, but it neither refuses nor misses the route.
                    #expect(![401, 403, 405].contains(response.status.code), "\(role) \(operation): \(response.status) \(response.text)")
                    #expect(response.json?["detail"]?.stringValue != "no such resource", "\(role) \(operation)")
                } else {
                    #expect(response.status == .forbidden, "\(role) \(operation): \(response.status)")
                    #expect(response.problemKind == "forbidden", "\(role) \(operation)")
                    #expect(
                        response.json?["detail"]?.stringValue
                            == "role \(role.rawValue) may not do this; allowed: \(operation.roles.joined(separator: ", "))",
                        "\(role) \(operation)")
                }
            }
        }
    }

    @Test("a 403 is the problem it always was, byte for byte")
    func forbiddenBytes() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let response = try await client.send(.get, "/v1/reports", as: .dpo)
            #expect(response.status == .forbidden)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(
                response.text
                    == #"{"detail":"role dpo may not do this; allowed: auditor, admin","instance":"/v1/reports","status":403,"title":"Forbidden","type":"https://callaudit.example/problems/forbidden"}"#)
        }
    }
}
