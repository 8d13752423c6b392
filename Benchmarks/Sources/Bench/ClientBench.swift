// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditClient
import AuditMiddleware
import AuditModel
import AuditTesting
import Foundation
import Hummingbird
import Kafka
import Logging

/// Client throughput (events published with delivery confirmed) and the latency the
/// middleware adds to a request, measured with wrk against a real Hummingbird server.
struct ClientBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "AuditClient events/s with delivery confirmed, and the p99 latency AuditMiddleware adds (needs wrk).")

    @Option(help: "Events (notifications) to publish.")
    var events: Int = 1_000_000

    @Option(help: "Seconds wrk runs against each server.")
    var seconds: Int = 5

    @Option(help: "Path of wrk, or empty to skip the latency figures.")
    var wrk: String = "/usr/bin/wrk"

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("notifications.info", partitions: 12)
        print("embedded cluster \(cluster.bootstrapServers), topic notifications.info with 12 partitions")
        try await publishThroughput(bootstrap: cluster.bootstrapServers)
        if !wrk.isEmpty { try await middlewareLatency(bootstrap: cluster.bootstrapServers) }
        withExtendedLifetime(cluster) {}
    }

    /// Builds, serialises and publishes `events` notifications, then waits for every delivery.
    private func publishThroughput(bootstrap: String) async throws {
        var configuration = AuditPublisher.Configuration(bootstrapServers: bootstrap, publisherID: "bench-api")
        configuration.kafka.set("linger.ms", "20")
        configuration.kafka.set("batch.size", "1000000")
        configuration.kafka.set("compression.type", "lz4")
        let publisher = try AuditPublisher(configuration: configuration)
        // A pool of HTTP calls as a service's middleware would see them; the timed loop builds
        // the CADF events (fresh ids, times), serialises and publishes them.
        var traffic = SampleTraffic(seed: 7)
        let pool = (0..<4096).map { _ in traffic.nextHTTPCall() }
        let bytes = traffic.next().request.envelope.count
        let start = ContinuousClock.now
        for i in 0..<events / 2 {
            let call = pool[i % pool.count]
            let now = currentMicroseconds()
            let request = call.builder.requestEvent(for: call.request, time: now)
            let response = AuditEventBuilder.responseEvent(for: request, status: call.status, time: now + 100)
            try await publisher.enqueue(publisher.notification(request, eventType: .request, time: now))
            try await publisher.enqueue(publisher.notification(response, eventType: .response, time: now + 100))
        }
        let statistics = try await publisher.flush(timeout: .seconds(600))
        let elapsed = start.duration(to: .now)
        let secondsElapsed = elapsed.inSeconds
        print(String(
            format: "publish (build CADF + oslo envelope + keyed idempotent produce, delivery confirmed): %d events in %.2f s = %.0f events/s (goal >= 150000), envelope ~%d B",
            statistics.delivered, secondsElapsed, Double(statistics.delivered) / secondsElapsed, bytes))
        if statistics.failed > 0 { print("  \(statistics.failed) deliveries failed") }
    }

    /// Runs wrk (one connection, so it measures latency, not contention) against the same
    /// handler with and without the middleware.
    private func middlewareLatency(bootstrap: String) async throws {
        let publisher = try AuditPublisher(
            configuration: AuditPublisher.Configuration(bootstrapServers: bootstrap, publisherID: "bench-api"))
        let auditMap = AuditMap(pathKeywords: ["servers": "server"], serviceEndpoints: ["compute": "service/compute"])
        let service = ServiceInfo(id: "nova", name: "nova", type: "compute", adminURL: "http://a", internalURL: "http://i", publicURL: "http://p")
        var results: [String: (p50: String, p99: String)] = [:]
        for audited in [false, true] {
            let router = Router()
            if audited { router.add(middleware: AuditMiddleware(publisher: publisher, auditMap: auditMap, service: service)) }
            router.get("/v2.1/servers") { _, _ in "[]" }
            let port = PortBox()
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in port.set(channel.localAddress?.port ?? 0) })
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                let bound = await port.wait()
                let output = try await runWrk(url: "http://127.0.0.1:\(bound)/v2.1/servers")
                results[audited ? "with" : "without"] = parseLatency(output)
                group.cancelAll()
            }
        }
        try await publisher.flush(timeout: .seconds(60))
        let without = results["without"] ?? ("?", "?")
        let with = results["with"] ?? ("?", "?")
        print("latency per request (wrk -t1 -c1 -d\(seconds)s): without middleware p50 \(without.p50) p99 \(without.p99); with AuditMiddleware p50 \(with.p50) p99 \(with.p99)")
        print("  (the p99 difference is what the middleware adds: 2 notifications built, serialised and queued per request)")
    }

    private func runWrk(url: String) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        process.arguments = ["-t1", "-c1", "-d\(seconds)s", "--latency", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }

    /// The 50% and 99% lines of wrk's latency distribution.
    private func parseLatency(_ output: String) -> (p50: String, p99: String) {
        func value(_ label: String) -> String {
            output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }
                .map { $0.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init) ?? "?" } ?? "?"
        }
        return (value("50%"), value("99%"))
    }
}

/// The port the server bound, handed from its start-up callback to the benchmark.
private final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?
    private var waiter: CheckedContinuation<Int, Never>?

    func set(_ value: Int) {
        let waiter = lock.withLock { () -> CheckedContinuation<Int, Never>? in
            port = value
            defer { self.waiter = nil }
            return self.waiter
        }
        waiter?.resume(returning: value)
    }

    func wait() async -> Int {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Int? in
                if let port { return port }
                waiter = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }
}
