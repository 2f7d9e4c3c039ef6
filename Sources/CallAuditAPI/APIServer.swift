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
/// address), the per-token rate limit. Routes check roles themselves
/// (the role matrix is in `schemas/openapi.yaml`).
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
        let reports = ReportAccess(
            pool: pool, policy: policy, keyDirectory: configuration.keyDirectory, timeZone: reportTimeZone,
            cacheBytes: configuration.reportCacheBytes, generationQueue: configuration.reportQueue)
        let failures = FailedAuthentications(perMinute: configuration.authFailuresPerMinute, burst: configuration.authFailureBurst)

        let router = Router(context: APIContext.self)
        router.add(middleware: HTTPMetrics())
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: Authentication(lookups: TokenLookups(pool: pool), cache: TokenCache(), failures: failures))
        router.add(middleware: RateLimit(buckets: TokenBuckets(rate: configuration.rateLimit, burst: configuration.rateBurst)))
        SystemRoutes(reports: reports).register(on: router)
        OperationsRoutes(pool: pool, operations: operations, keyDirectory: configuration.keyDirectory).register(on: router)
        SealRoutes(pool: pool).register(on: router)
        ReportRoutes(
            pool: pool, recorder: recorder, reports: reports, maxBodyBytes: configuration.maxBodyBytes, maxRangeDays: configuration.reportMaxRangeDays
        ).register(on: router)
        RequestRoutes(
            pool: pool, vaults: VaultAccess(keys: keyEncryption, reload: reloadKeys), policy: policy, keyDirectory: configuration.keyDirectory,
            maxBodyBytes: configuration.maxBodyBytes
        ).register(on: router)

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

    private static func tlsConfiguration(_ files: APIConfiguration.TLSFiles) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    }
}
