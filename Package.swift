// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Insights",
    platforms: [.macOS(.v15)],
    products: [
        // What a platform links: the tracker, the event model and the Redis client it is given
        // (the README's snippet imports all three), with the Lua scripts compiled in.
        .library(name: "InsightsTracker", targets: ["InsightsTracker", "InsightsModel", "RedisClient", "InsightsScripts"]),
        .executable(name: "insights", targets: ["InsightsCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // SHA-256 of API keys, HMAC-SHA256 of webhook bodies, constant-time comparison.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"4.0.0"),
        // OTLP/HTTP trace ingest: the runtime of the code generated from Sources/OTLPProto/otlp_traces.proto.
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        // The service's own metrics (GET /metrics): swift-metrics' API everywhere, Prometheus' registry in the front.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        // One ServiceGroup and one shutdown path for every command (already resolved through Hummingbird).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // hiredis from Debian's libhiredis-dev; only RedisClient imports it.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The thin Swift layer over hiredis: connections, pool, pipelining, scripts.
        .target(
            name: "RedisClient",
            dependencies: ["CHiredis", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        // zlib from Debian's zlib1g-dev (compacted journeys, gzip request bodies); only InsightsModel imports it.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The event model, validation, the Redis key schema and storage formats (no I/O).
        .target(name: "InsightsModel", dependencies: ["CZlib"], swiftSettings: swiftSettings),
        // The Lua scripts of lua/, compiled into the binary (lua/LuaScripts.swift); INSIGHTS_LUA_DIR overrides them.
        .target(
            name: "InsightsScripts",
            dependencies: ["RedisClient"],
            path: "lua",
            resources: ["common", "ingest", "alerts", "worker_lib", "worker_apply", "worker_sweep", "worker_compact", "worker_prune"]
                .map { .embedInCode("\($0).lua") },
            swiftSettings: swiftSettings
        ),
        // The tracker a chat platform links: buffered, batched, atomic ingest.
        .target(
            name: "InsightsTracker",
            dependencies: ["RedisClient", "InsightsModel", "InsightsScripts", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        // The worker group: journeys, session outcomes, recovery, trimming (docs/worker.md).
        .target(
            name: "InsightsWorker",
            dependencies: ["RedisClient", "InsightsModel", "InsightsScripts", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "InsightsCLI",
            dependencies: [
                "InsightsTracker",
                "InsightsWorker",
                "InsightsAlerts",
                "InsightsServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The OTLP trace messages, generated once from otlp_traces.proto (generate.sh) and committed.
        .target(
            name: "OTLPProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["otlp_traces.proto", "generate.sh"]
        ),
        // The query layer: metrics from bucket hashes and outcome counters (docs/metrics.md).
        .target(name: "InsightsQuery", dependencies: ["RedisClient", "InsightsModel"], swiftSettings: swiftSettings),
        // Alert rules, their evaluation once a minute and webhook delivery (docs/alerts.md).
        .target(
            name: "InsightsAlerts",
            dependencies: [
                "InsightsQuery", "InsightsTracker", "InsightsScripts", "RedisClient", "InsightsModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP front: the analytics API and HTTP ingest on Hummingbird 2.
        .target(
            name: "InsightsServer",
            dependencies: [
                "InsightsQuery", "InsightsTracker", "InsightsWorker", "InsightsAlerts", "InsightsScripts", "RedisClient", "InsightsModel",
                "OTLPProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The OpenAPI document, compiled in (OpenAPIDocument.swift).
            resources: [.embedInCode("Resources/openapi.json")],
            swiftSettings: swiftSettings
        ),
        // Test-only helpers: a private redis-server per suite.
        .target(name: "InsightsTestSupport", dependencies: ["RedisClient", "InsightsModel"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RedisClientTests",
            dependencies: ["RedisClient", "InsightsTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InsightsModelTests",
            dependencies: ["InsightsModel"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InsightsTrackerTests",
            dependencies: ["InsightsTracker", "InsightsTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InsightsWorkerTests",
            dependencies: ["InsightsWorker", "InsightsTracker", "InsightsTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InsightsQueryTests",
            dependencies: ["InsightsQuery", "InsightsWorker", "InsightsTracker", "InsightsTestSupport"],
            exclude: ["Legacy"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InsightsAlertsTests",
            dependencies: ["InsightsAlerts", "InsightsQuery", "InsightsWorker", "InsightsTracker", "InsightsTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InsightsServerTests",
            dependencies: [
                "InsightsServer", "InsightsQuery", "InsightsWorker", "InsightsTracker", "InsightsAlerts", "InsightsTestSupport", "OTLPProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
