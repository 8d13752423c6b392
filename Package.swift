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
        .library(name: "AuditTesting", targets: ["AuditTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(
            name: "Kafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditStore",
            dependencies: ["CZstd", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "AuditTesting",
            dependencies: ["Kafka"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "AuditTrailCLI",
            dependencies: [
                "Kafka",
                "AuditStore",
                "AuditTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditStoreTests",
            dependencies: ["AuditStore", "AuditTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Kafka", "AuditTesting", "AuditTrailCLI"],
            swiftSettings: swiftSettings),
    ]
)
