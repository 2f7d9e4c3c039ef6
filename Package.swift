// swift-tools-version: 6.1
import PackageDescription

/// The executables allocate through jemalloc (Debian `libjemalloc-dev`; `libjemalloc2` at run time),
/// as Swift servers commonly ship: linked ahead of libc, it takes malloc and free for the whole
/// process (the Swift runtime, libpq, librdkafka). Under glibc's allocator a rebuild took about an
/// eighth more process CPU, much of it in glibc's bins freeing the small objects of each page of
/// events (BENCHMARKS.md, issue 21's thirteenth pass). `AllocatorTests` checks, through the dynamic
/// loader's bindings, that the built binary's allocations go to jemalloc and nowhere else.
let jemalloc: [LinkerSetting] = [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]

let package = Package(
    name: "callaudit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "callaudit", targets: ["callaudit"]),
        .executable(name: "callaudit-bench", targets: ["CallAuditBenchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The default traits would also build swift-configuration, which nothing here uses.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // Hummingbird's own: the API binds its thread pool (NIOPosix) and reads its TLS files (NIOSSL) itself.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries, each wrapped exactly once (CallAuditKafka, CallAuditStore).
        .systemLibrary(
            name: "CRDKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        // The event contract: JSON, CloudEvents, the types of docs/product.md §1. Pure values, no I/O.
        .target(
            name: "CallAuditDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            resources: [.embedInCode("Policy/default-policy.json")]
        ),
        // librdkafka: consumer, producer, mock cluster.
        .target(
            name: "CallAuditKafka",
            // The domain's `MessageHeaders`: a message's headers are made once, in the form the decoder reads.
            dependencies: ["CRDKafka", "CallAuditDomain", .product(name: "Logging", package: "swift-log")]
        ),
        // CSV and HTML for people: formula-safe CSV fields, an escaping HTML page. Reports and access exports write with them.
        .target(name: "CallAuditRendering"),
        // libpq: connections, migrations, the append-only event store, offsets, dead letters.
        .target(
            name: "CallAuditStore",
            dependencies: [
                "CLibPQ", "CallAuditDomain",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Migrations")]
        ),
        // The concurrency primitives every blocking loop is built from: leader election with fencing,
        // a worker with a bounded queue, a one-shot background result, a stop signal, and the one
        // cancellation policy for libpq calls at shutdown.
        .target(
            name: "CallAuditRuntime",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Personal data at rest: per-person data keys under a KEK, blind indexes, sealed subjects and dead letters, erasure.
        .target(
            name: "CallAuditVault",
            dependencies: ["CallAuditDomain", "CallAuditStore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Kafka → decode → seal → store, exactly once.
        .target(
            name: "CallAuditIngest",
            dependencies: [
                "CallAuditDomain", "CallAuditKafka", "CallAuditStore", "CallAuditRuntime", "CallAuditVault", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The projection runner and the read models kept from the log.
        .target(
            name: "CallAuditProjections",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", "CallAuditRuntime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The one read side: findings, store summary, projection status, dead letters, a period's activity and compliance counts.
        .target(
            name: "CallAuditQueries",
            dependencies: ["CallAuditDomain", "CallAuditStore"]
        ),
        // Ed25519 signing keys (a key folder with rotation), detached signatures, PEM: what reports are signed and verified with.
        .target(
            name: "CallAuditSigning",
            dependencies: ["CallAuditDomain", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Integrity: the Merkle-rooted, signed seal chain over the log, and verify-store.
        .target(
            name: "CallAuditIntegrity",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", "CallAuditRuntime", "CallAuditSigning",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Audit reports: periods, the typed report document (read through Queries and the store), signing, versions, the schedule, CSV and HTML.
        .target(
            name: "CallAuditReports",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", "CallAuditRuntime", "CallAuditQueries", "CallAuditSigning", "CallAuditIntegrity",
                "CallAuditRendering",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The DPO's side: subject requests folded from their streams, access exports (signed ZIP), erasure.
        .target(
            name: "CallAuditRequests",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", "CallAuditVault", "CallAuditSigning", "CallAuditProjections", "CallAuditRendering",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            resources: [.embedInCode("export.schema.json")]
        ),
        // What operations watch: the status sample (lag, projections, dead letters, requests, findings), the metrics catalog.
        .target(
            name: "CallAuditOperations",
            dependencies: [
                "CallAuditDomain", "CallAuditKafka", "CallAuditStore", "CallAuditRuntime", "CallAuditQueries", "CallAuditReports",
                "CallAuditProjections", "CallAuditIntegrity",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The HTTP API: tokens and roles (the `api_tokens` table), route groups per role, problem+json, limits,
        // the endpoints over the read side and reports.
        .target(
            name: "CallAuditAPI",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", "CallAuditRuntime", "CallAuditReports", "CallAuditSigning", "CallAuditVault",
                "CallAuditRequests", "CallAuditOperations", "CallAuditIntegrity",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [
                .embedInCode("openapi.yaml"), .embedInCode("Dashboard/ops.html"), .embedInCode("Dashboard/ops.js"),
                .embedInCode("Dashboard/ops.css"), .embedInCode("Console/console.html"), .embedInCode("Console/console-core.js"),
                .embedInCode("Console/console-auditor.js"), .embedInCode("Console/console-dpo.js"), .embedInCode("Console/console.css"),
            ]
        ),
        // The composition root: typed configuration, start-up checks, the service group.
        .target(
            name: "CallAuditApp",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", "CallAuditRuntime", "CallAuditIngest", "CallAuditProjections", "CallAuditReports",
                "CallAuditSigning", "CallAuditAPI", "CallAuditVault", "CallAuditOperations", "CallAuditKafka", "CallAuditIntegrity",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Progress of long commands on a terminal or in a log.
        .target(name: "CallAuditTerminal"),
        // Seeded, realistic traffic for demos, tests and benchmarks.
        .target(
            name: "CallAuditSimulator",
            dependencies: ["CallAuditDomain", "CallAuditKafka", .product(name: "Logging", package: "swift-log")]
        ),
        // The command line: a thin shell over the application and the read side.
        .executableTarget(
            name: "callaudit",
            dependencies: [
                "CallAuditDomain", "CallAuditKafka", "CallAuditStore", "CallAuditIngest", "CallAuditProjections",
                "CallAuditQueries", "CallAuditApp", "CallAuditSimulator", "CallAuditReports", "CallAuditSigning", "CallAuditVault",
                "CallAuditRequests", "CallAuditTerminal", "CallAuditIntegrity", "CallAuditAPI", "CallAuditRendering",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: jemalloc
        ),
        // The benchmarks behind BENCHMARKS.md (not tests): `callaudit-bench ingest | projections | lag | decode`.
        .executableTarget(
            name: "CallAuditBenchmarks",
            dependencies: [
                "CallAuditDomain", "CallAuditStore", "CallAuditIngest", "CallAuditProjections", "CallAuditSimulator",
                "CallAuditReports", "CallAuditSigning", "CallAuditVault", "CallAuditRequests", "CallAuditTerminal", "CallAuditIntegrity",
                "CallAuditAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: jemalloc
        ),

        .testTarget(name: "CallAuditDomainTests", dependencies: ["CallAuditDomain"]),
        .testTarget(name: "CallAuditStoreTests", dependencies: ["CallAuditStore"]),
        .testTarget(name: "CallAuditSigningTests", dependencies: ["CallAuditSigning", "CallAuditDomain"]),
        .testTarget(name: "CallAuditVaultTests", dependencies: ["CallAuditVault", "CallAuditDomain"]),
        // The API's routes in-process (HummingbirdTesting's router mode): roles, problems, limits, formats.
        .testTarget(
            name: "CallAuditAPITests",
            dependencies: [
                "CallAuditAPI", "CallAuditDomain", "CallAuditStore", "CallAuditOperations", "CallAuditVault",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(name: "CallAuditRenderingTests", dependencies: ["CallAuditRendering"]),
        .testTarget(
            name: "CallAuditReportsTests",
            dependencies: ["CallAuditReports", "CallAuditDomain", "CallAuditQueries", "CallAuditSigning"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "CallAuditRuntimeTests",
            dependencies: ["CallAuditRuntime", "CallAuditStore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "CallAuditRequestsTests", dependencies: ["CallAuditRequests", "CallAuditDomain"]),
        // Each module's logic that needs no database or cluster, in milliseconds.
        .testTarget(name: "CallAuditKafkaTests", dependencies: ["CallAuditKafka"]),
        .testTarget(name: "CallAuditIngestTests", dependencies: ["CallAuditIngest", "CallAuditKafka", "CallAuditStore", "CallAuditDomain"]),
        .testTarget(name: "CallAuditProjectionsTests", dependencies: ["CallAuditProjections", "CallAuditDomain"]),
        .testTarget(name: "CallAuditIntegrityTests", dependencies: ["CallAuditIntegrity", "CallAuditDomain", "CallAuditStore"]),
        .testTarget(
            name: "CallAuditIntegrationTests",
            dependencies: [
                "CallAuditDomain", "CallAuditKafka", "CallAuditStore", "CallAuditRuntime", "CallAuditIngest", "CallAuditProjections",
                "CallAuditQueries", "CallAuditApp", "CallAuditSimulator", "CallAuditReports", "CallAuditSigning", "CallAuditAPI",
                "CallAuditVault", "CallAuditRequests", "CallAuditOperations", "CallAuditIntegrity", "CallAuditRendering",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)

// Fuzz targets (FuzzTesting/, run by ./ops/fuzz and docs/fuzzing.md): libFuzzer executables built with
// `-sanitize=fuzzer,address`. Declared only when CALLAUDIT_FUZZ=1, so a normal `swift build` or `swift test`
// never builds or links them; they live in this package so they can call the modules' `package` API.
if Context.environment["CALLAUDIT_FUZZ"] == "1" {
    package.targets.append(.target(name: "FuzzDriver", dependencies: ["CallAuditDomain"], path: "FuzzTesting/Sources/FuzzDriver"))
    let fuzzTargets: [(name: String, module: Target.Dependency)] = [
        ("FuzzJSON", "CallAuditDomain"), ("FuzzCanonicalJSON", "CallAuditDomain"), ("FuzzEventDecoder", "CallAuditDomain"),
        ("FuzzTimestamp", "CallAuditDomain"), ("FuzzIdentifier", "CallAuditVault"), ("FuzzDecoderDifferential", "CallAuditDomain"),
    ]
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(name: target.name, dependencies: [target.module, "FuzzDriver"], path: "FuzzTesting/Sources/\(target.name)"))
    }
}
