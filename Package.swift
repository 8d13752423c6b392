// swift-tools-version:6.2
// AuditTrail: CADF audit notifications from Kafka into verifiable, indexed segment files.

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "AuditTrail",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "audit-trail", targets: ["AuditTrailCLI"]),
        .library(name: "AuditClient", targets: ["AuditClient"]),
        .library(name: "AuditMiddleware", targets: ["AuditMiddleware"]),
        .library(name: "AuditTesting", targets: ["AuditTesting"]),
        // Linked by the benchmarks package (Benchmarks/), which lives apart so that this package's
        // build never compiles the benchmark dependency graph.
        .library(name: "AuditModel", targets: ["AuditModel"]),
        .library(name: "AuditQuery", targets: ["AuditQuery"]),
        .library(name: "AuditStore", targets: ["AuditStore"]),
        .library(name: "Kafka", targets: ["Kafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Up to 4.x: jwt-kit 5 needs swift-crypto 4.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLinux"),
        .target(
            name: "Kafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditModel",
            exclude: ["Schemas/README.md"],
            resources: [.copy("Schemas/cadf-event.schema.json"), .copy("Schemas/notification.schema.json")],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditClient",
            dependencies: ["Kafka", "AuditModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditMiddleware",
            dependencies: [
                "AuditClient", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditStore",
            dependencies: ["CZstd", "CLinux", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "ObjectStore",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditArchive",
            dependencies: ["AuditStore", "ObjectStore"],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditQuery",
            dependencies: ["AuditModel", "AuditStore"],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditServer",
            dependencies: [
                "AuditQuery", "AuditStore", "AuditModel", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/openapi.json"), .copy("Resources/web")],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditWorker",
            dependencies: [
                "Kafka", "AuditModel", "AuditStore", "AuditQuery", "AuditArchive", "CLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditTraffic",
            dependencies: ["AuditClient"],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditTesting",
            dependencies: [
                "Kafka", "AuditClient", "AuditModel", "AuditStore", "AuditWorker", "AuditTraffic", "ObjectStore", "AuditArchive",
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "AuditTrailCLI",
            dependencies: [
                "Kafka", "AuditModel", "AuditStore", "AuditQuery", "AuditServer", "AuditWorker", "AuditClient", "AuditTraffic",
                "AuditArchive", "ObjectStore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditModelTests",
            dependencies: ["AuditModel", "AuditTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditClientTests",
            dependencies: ["AuditClient", "Kafka", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditMiddlewareTests",
            dependencies: [
                "AuditMiddleware", "AuditClient", "AuditWorker", "AuditStore", "Kafka", "AuditTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditStoreTests",
            dependencies: ["AuditStore", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ObjectStoreTests",
            dependencies: ["ObjectStore", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditArchiveTests",
            dependencies: ["AuditArchive", "AuditStore", "ObjectStore", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditQueryTests",
            dependencies: ["AuditQuery", "AuditStore", "AuditModel", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditServerTests",
            dependencies: [
                "AuditServer", "AuditQuery", "AuditStore", "AuditTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditWorkerTests",
            dependencies: [
                "AuditWorker", "AuditStore", "AuditClient", "Kafka", "AuditTesting",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Kafka", "AuditStore", "AuditTesting", "AuditTrailCLI"],
            swiftSettings: swiftSettings),
    ]
)
