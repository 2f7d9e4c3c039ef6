import CallAuditDomain
import CallAuditOperations
import CallAuditStore
import CallAuditVault
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Synchronization
import Testing

@testable import CallAuditAPI

/// The API's router in-process, over fakes: one token per role from a fixed
/// table (no `api_tokens`), a database nobody listens at (a route that gets
/// past its checks to a query answers 503), and a key folder of its own.
/// What needs no database (roles, problems, limits, the public files) is
/// tested here in milliseconds; what needs stored reports or requests stays
/// with the end-to-end suites.
struct APIHarness {
    /// The bearer token of each role's caller.
    static func token(_ role: APIRole) -> String { "ca_test-\(role.rawValue)" }
    static let unknownToken = "ca_nobody-has-this-one"

    static func caller(_ role: APIRole) -> Caller {
        Caller(name: "test-\(role.rawValue)", role: role, token: TokenID(sha256: APITokenStore.hash(token(role))))
    }

    let keyDirectory: URL
    let board: StatusBoard
    /// The valid tokens: one per role to begin with; a test may add and revoke more.
    let tokens = FakeTokenTable(APIRole.allCases.map { (APITokenStore.hash(APIHarness.token($0)), APIHarness.caller($0)) })
    let router: Router<APIContext>

    // Nothing listens on port 1: a session fails at once, as PostgreSQL being away does.
    private static let nowhere = DatabaseConfiguration(url: "postgresql://nobody@127.0.0.1:1/nowhere?connect_timeout=1")
    // One pool and one recorder for every harness, alive for the whole run: a recorder's thread
    // reads it unowned, so one dropped before its thread starts would crash the process.
    private static let pool = DatabasePool(database: nowhere, size: 2)
    private static let recorder = ReadRecorder(database: nowhere, logger: Logger(label: "callaudit-api-tests"))

    init(configure: (inout APIConfiguration) -> Void = { _ in }) throws {
        keyDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-api-tests-\(UUID().uuidString)")
        var configuration = APIConfiguration(keyDirectory: keyDirectory)
        configure(&configuration)
        board = StatusBoard()
        let key = [UInt8](repeating: 7, count: 32)
        let services = APIServices(
            pool: Self.pool,
            recorder: Self.recorder,
            tokens: TokenLookups { [tokens] hashes in tokens.valid(among: hashes) },
            vaults: VaultAccess(keys: try KeyEncryptionKeys(currentID: KeyEncryptionKeys.id(of: key), keys: [KeyEncryptionKeys.id(of: key): key]), reload: nil),
            operations: OperationsAccess(board: board, registry: PrometheusCollectorRegistry()),
            policy: .default, reportTimeZone: "UTC")
        router = APIServer.router(configuration: configuration, services: services)
    }

    /// Runs `test` against the router, with no socket.
    func test<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        defer { try? FileManager.default.removeItem(at: keyDirectory) }
        // Routes that reach the missing database log a warning each; the tests read the answers instead.
        var quiet = Logger(label: "callaudit-api-tests")
        quiet.logLevel = .critical
        return try await Application(router: router, logger: quiet).test(.router, test)
    }
}

/// What `api_tokens` would hold: token hashes and their callers, revocable.
final class FakeTokenTable: Sendable {
    private let callers: Mutex<[[UInt8]: Caller]>

    init(_ callers: [([UInt8], Caller)]) { self.callers = Mutex(Dictionary(uniqueKeysWithValues: callers)) }

    func add(_ secret: String, name: String, role: APIRole) {
        let hash = APITokenStore.hash(secret)
        callers.withLock { $0[hash] = Caller(name: name, role: role, token: TokenID(sha256: hash)) }
    }

    func revoke(_ secret: String) { _ = callers.withLock { $0.removeValue(forKey: APITokenStore.hash(secret)) } }

    func valid(among hashes: [[UInt8]]) -> [[UInt8]: Caller] { callers.withLock { table in table.filter { hashes.contains($0.key) } } }
}

extension TestClientProtocol {
    /// One request, as `role`'s caller (nil: no Authorization header).
    func send(
        _ method: HTTPRequest.Method, _ uri: String, as role: APIRole? = nil, authorization: String? = nil, body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let role { headers[.authorization] = "Bearer \(APIHarness.token(role))" }
        if let authorization { headers[.authorization] = authorization }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: body)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as JSON; nil when it is not.
    var json: JSONValue? { try? JSONParser.parse(Array(buffer: body)) }

    /// The problem's slug (the end of its `type`), if this is an RFC 9457 problem of ours.
    var problemKind: String? {
        guard headers[.contentType] == "application/problem+json", let type = json?["type"]?.stringValue,
            type.hasPrefix(Problem.typeBase)
        else { return nil }
        return String(type.dropFirst(Problem.typeBase.count))
    }

    /// Expects a page's embedded file (`/ops`, `/console`) of `type`, under their shared policy, with a body.
    func expectStaticFile(_ path: String, type: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status == .ok, "\(path)", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == type, "\(path)", sourceLocation: sourceLocation)
        #expect(headers[.cacheControl] == "no-store", sourceLocation: sourceLocation)
        #expect(
            headers[.contentSecurityPolicy] == "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            sourceLocation: sourceLocation)
        #expect(headers[.init("X-Content-Type-Options")!] == "nosniff", sourceLocation: sourceLocation)
        #expect(headers[.init("Referrer-Policy")!] == "no-referrer", sourceLocation: sourceLocation)
        #expect(body.readableBytes > 0, sourceLocation: sourceLocation)
    }
}

/// The OpenAPI document's operations: path, method and `x-roles`, read line by
/// line (the document keeps one operation's keys at fixed indentation).
struct DocumentedOperation: Hashable, CustomStringConvertible {
    var path: String
    var method: HTTPRequest.Method
    /// `[public]` for an operation anyone may call.
    var roles: [String]

    var isPublic: Bool { roles == ["public"] }
    var description: String { "\(method) \(path)" }

    static func all() -> [DocumentedOperation] {
        var operations: [DocumentedOperation] = []
        var path: String?
        var method: HTTPRequest.Method?
        var inPaths = false
        for line in String(decoding: PackageResources.openapi_yaml, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if !line.hasPrefix(" "), !line.isEmpty { break }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
                method = nil
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"),
                let verb = HTTPRequest.Method(String(line.dropFirst(4).dropLast()).uppercased()),
                ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(verb.rawValue)
            {
                method = verb
            } else if line.hasPrefix("      x-roles: ["), let path, let method {
                let list = line.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }
                operations.append(DocumentedOperation(path: path, method: method, roles: list.split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }))
            }
        }
        return operations
    }

    /// A concrete URI for the path: every `{parameter}` filled with a value of its shape.
    var example: String {
        path.replacingOccurrences(of: "{n}", with: "1").replacingOccurrences(of: "{id}", with: "r-1")
    }
}
