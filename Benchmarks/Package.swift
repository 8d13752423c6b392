// swift-tools-version:6.2
// AuditTrail benchmarks: a package of its own, so the main package's build and CI never compile
// the benchmark dependency graph. It links the main package by path.

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "AuditTrailBenchmarks",
    platforms: [.macOS(.v15)],
    products: [.executable(name: "bench", targets: ["Bench"])],
    dependencies: [
        // Named, so the products below resolve whatever the checkout's directory is called.
        .package(name: "AuditTrail", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // Whole-pipeline figures (a store, the embedded cluster, a worker process, a web server),
        // printed by `bench <kafka|client|decode|store|worker|read|serve>`; never gated.
        .executableTarget(
            name: "Bench",
            dependencies: [
                .product(name: "AuditClient", package: "AuditTrail"),
                .product(name: "AuditMiddleware", package: "AuditTrail"),
                .product(name: "AuditModel", package: "AuditTrail"),
                .product(name: "AuditQuery", package: "AuditTrail"),
                .product(name: "AuditStore", package: "AuditTrail"),
                .product(name: "AuditTesting", package: "AuditTrail"),
                .product(name: "Kafka", package: "AuditTrail"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
    ]
)

// Micro benchmarks, one target per area (`swift package benchmark`): wall clock, throughput,
// instructions and allocations per operation.
let benchmarkTargets: [(name: String, dependencies: [String])] = [
    ("DecodeBenchmarks", ["AuditModel", "AuditTesting"]),
    ("ClientBenchmarks", ["AuditClient", "AuditTesting"]),
    ("StoreBenchmarks", ["AuditStore", "AuditTesting"]),
]
for target in benchmarkTargets {
    package.targets.append(
        .executableTarget(
            name: target.name,
            dependencies: [.product(name: "Benchmark", package: "benchmark")]
                + target.dependencies.map { .product(name: $0, package: "AuditTrail") },
            path: "Benchmarks/\(target.name)",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}
