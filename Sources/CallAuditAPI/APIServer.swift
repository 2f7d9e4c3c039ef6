import CallAuditDomain
import CallAuditStore
import CallAuditVault
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle

/// The HTTP API as a `Service` for the composition root's group: Hummingbird
/// on its own event loops, with every database call on the pool's threads.
///
/// Middleware, outermost first: HTTP metrics, problem+json for every error,
/// bearer-token authentication (with failed attempts throttled per client
/// address), the per-token rate limit. Then each route's group: anyone's, or a
/// role group that answers 401 without a token and 403 to other roles
/// (`RouteGroups`; the role matrix is `openapi.yaml`'s `x-roles`).
package enum APIServer {
    package static func build(
        configuration: APIConfiguration, database: DatabaseConfiguration, policy: Policy, reportTimeZone: String,
        keyEncryption: KeyEncryptionKeys, reloadKeys: SubjectVault.KeySource?, operations: OperationsAccess, logger: Logger
    ) throws -> (service: some Service, pool: DatabasePool, recorder: ReadRecorder) {
        var sessions = database
        // A request's database work is bounded by the request timeout.
        sessions.statementTimeout = configuration.requestTimeout
        let pool = DatabasePool(database: sessions, size: configuration.databaseConnections)
        let recorder = ReadRecorder(database: database, logger: logger)
        let services = APIServices(
            pool: pool, recorder: recorder, tokens: TokenLookups(pool: pool), vaults: VaultAccess(keys: keyEncryption, reload: reloadKeys),
            operations: operations, policy: policy, reportTimeZone: reportTimeZone)
        let router = Self.router(configuration: configuration, services: services)

        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(60)))
        let server = try configuration.tls.map { files in
            try HTTPServerBuilder.tls(http1, tlsConfiguration: try tlsConfiguration(files))
        } ?? http1
        let application = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "callaudit"),
            logger: logger)
        return (application, pool, recorder)
    }

    /// Every middleware and route, over `services`: what `build` serves, and
    /// what the in-process tests (`CallAuditAPITests`) drive without a socket.
    package static func router(configuration: APIConfiguration, services: APIServices) -> Router<APIContext> {
        let pool = services.pool
        let reports = ReportAccess(
            pool: pool, policy: services.policy, keyDirectory: configuration.keyDirectory, timeZone: services.reportTimeZone,
            cacheBytes: configuration.reportCacheBytes, generationQueue: configuration.reportQueue)
        let failures = FailedAuthentications(perMinute: configuration.authFailuresPerMinute, burst: configuration.authFailureBurst)

        let router = Router(context: APIContext.self)
        router.add(middleware: HTTPMetrics())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: Authentication(lookups: services.tokens, cache: TokenCache(), failures: failures))
        router.add(middleware: RateLimit(buckets: TokenBuckets(rate: configuration.rateLimit, burst: configuration.rateBurst)))
        let groups = RouteGroups(router: router)
        SystemRoutes(reports: reports).register(on: groups)
        OperationsRoutes(pool: pool, operations: services.operations, keyDirectory: configuration.keyDirectory).register(on: groups)
        ConsoleRoutes().register(on: groups)
        SealRoutes(pool: pool).register(on: groups)
        ReportRoutes(pool: pool, recorder: services.recorder, reports: reports, maxRangeDays: configuration.reportMaxRangeDays)
            .register(on: groups)
        RequestRoutes(pool: pool, vaults: services.vaults, policy: services.policy, keyDirectory: configuration.keyDirectory)
            .register(on: groups)
        return router
    }

    private static func tlsConfiguration(_ files: APIConfiguration.TLSFiles) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    }
}

/// What the routes work with besides the configuration: `build` makes them
/// for `serve`; a test makes them over its own database, or over none.
package struct APIServices: Sendable {
    /// The sessions every handler's queries run on.
    package var pool: DatabasePool
    /// Where report reads are recorded before a report is served.
    package var recorder: ReadRecorder
    /// Who a token hash belongs to (`api_tokens`, in batched rounds).
    package var tokens: TokenLookups
    /// The vault the request desk opens personal data with.
    package var vaults: VaultAccess
    package var operations: OperationsAccess
    package var policy: Policy
    /// The time zone reports are generated in.
    package var reportTimeZone: String

    package init(
        pool: DatabasePool, recorder: ReadRecorder, tokens: TokenLookups, vaults: VaultAccess, operations: OperationsAccess, policy: Policy,
        reportTimeZone: String
    ) {
        self.pool = pool
        self.recorder = recorder
        self.tokens = tokens
        self.vaults = vaults
        self.operations = operations
        self.policy = policy
        self.reportTimeZone = reportTimeZone
    }
}
