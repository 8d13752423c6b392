// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Prometheus
import Testing

/// `count` workers of one group sharing one data directory, with the tests' short session timeouts.
/// Worker `i` exports its metrics into `registries[i]` where given (one registry per worker: the
/// process-wide metrics system would add up every worker of the test process).
func makeWorkers(
    count: Int, bootstrap: String, topic: String, group: String, data: String,
    registries: [PrometheusCollectorRegistry] = []
) throws -> [Worker] {
    try (0..<count).map { i in
        var configuration = WorkerConfiguration(bootstrapServers: bootstrap, topics: [topic], group: group, dataDirectory: data)
        for (key, value) in TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group).properties {
            configuration.kafka.set(key, value)
        }
        configuration.idleTick = .milliseconds(200)
        let registry = i < registries.count ? registries[i] : PrometheusCollectorRegistry()
        return try Worker(configuration: configuration, metrics: WorkerMetrics(registry: registry))
    }
}

/// What a run of workers left: each worker's last progress, and its metrics in Prometheus' text format.
struct WorkersRun {
    var progress: [Worker.Progress]
    var metrics: [String]

    /// A count summed over the workers.
    func total(_ count: KeyPath<Worker.Progress, Int>) -> Int { progress.map { $0[keyPath: count] }.reduce(0, +) }
}

/// Runs `count` workers sharing one data directory once their group owns every partition of
/// both topics (6 + 6), calls `publish` (given the count of source offsets the workers have
/// made durable so far), and stops them when they have made durable (stored or recognised as
/// duplicates) as many notifications as `publish` returned. Waits on the workers' progress.
func runWorkers(
    count: Int, bootstrap: String, topic: String, group: String, data: String,
    publish: (_ sourceConsumed: Observed<Int>) async throws -> Int
) async throws -> WorkersRun {
    let registries = (0..<count).map { _ in PrometheusCollectorRegistry() }
    let workers = try makeWorkers(count: count, bootstrap: bootstrap, topic: topic, group: group, data: data, registries: registries)
    let latest = Observed(workers.map(\.progress))
    let source = Observed(0)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (i, worker) in workers.enumerated() {
            group.addTask { try await worker.run() }
            // Ends when the worker's run does.
            group.addTask {
                for await progress in worker.progressUpdates() {
                    let all = latest.update { $0[i] = progress; return $0 }
                    source.update { $0 = all.map(\.sourceConsumed).reduce(0, +) }
                }
            }
        }
        try await latest.wait(timeout: .seconds(60), "the group took every partition") { $0.map(\.assigned.count).reduce(0, +) == 12 }
        let total = try await publish(source)
        do {
            try await latest.wait(timeout: .seconds(180), "the workers stored all \(total)") {
                $0.map { $0.stored + $0.duplicates }.reduce(0, +) >= total
            }
        } catch {
            for (n, registry) in registries.enumerated() { print("worker \(n):\n\(registry.emitToString())") }
            throw error
        }
        for worker in workers { worker.stop() }
        try await group.waitForAll()
    }
    return WorkersRun(progress: latest.value, metrics: registries.map { $0.emitToString() })
}

/// Runs `count` workers while `trail` is published, until they stored all of it. Publishing
/// waits after each `chunk` until the workers consumed everything published from the source
/// topic: the embedded broker keeps a bounded log per partition (older messages are deleted, as
/// retention would delete them), so a larger backlog would be lost unread. `midStream` runs once
/// half of the trail is published (for example a broker outage).
func runWorkers(
    count: Int, bootstrap: String, topic: String, group: String, data: String, trail: PublishedTrail, chunk: Int = 6000,
    midStream: (() async throws -> Void)? = nil
) async throws -> WorkersRun {
    try await runWorkers(count: count, bootstrap: bootstrap, topic: topic, group: group, data: data) { source in
        // Unkeyed messages spread randomly over the partitions, one by one (librdkafka's sticky
        // partitioner would otherwise put thousands in a row on one partition).
        var producerConfiguration = KafkaConfiguration(bootstrapServers: bootstrap)
        producerConfiguration.set("sticky.partitioning.linger.ms", "0")
        let producer = try Producer(configuration: producerConfiguration)
        var published = 0
        for (key, value) in trail.values {
            try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value))
            published += 1
            if published == trail.values.count / 2, let midStream {
                try await producer.flush(timeout: .seconds(60))
                try await midStream()
            }
            if published % chunk == 0 {
                try await producer.flush(timeout: .seconds(60))
                let target = published
                try await source.wait(timeout: .seconds(120), "the workers consumed \(target)") { $0 >= target }
            }
        }
        let summary = try await producer.flush(timeout: .seconds(120))
        #expect(summary.failed == 0)
        return trail.values.count
    }
}

@Suite(.timeLimit(.minutes(6)))
struct CorrelationTests {
    func check(keyed: Bool) async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("workers")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let trail = PublishedTrail(calls: 20_000, keyed: keyed, seed: keyed ? 1 : 2)
        try await withMockCluster(topics: [topic: 6, "\(group).by-id": 6]) { cluster in
            let run = try await runWorkers(
                count: 3, bootstrap: cluster.bootstrapServers, topic: topic, group: group, data: data, trail: trail)
            #expect(run.total(\.stored) == trail.pairs * 2 + trail.missingResponses)
            #expect(run.total(\.gapOffsets) == 0)
            #expect(run.metrics.joined().contains("audit_gap_offsets_total 0"))
        }
        // Every invariant is checked from the store alone.
        let stored = try Trail(directory: data, window: 0, now: Int64.max / 2)
        #expect(stored.statistics.pairs == trail.pairs)
        #expect(stored.statistics.orphanRequests == trail.missingResponses)
        #expect(stored.statistics.orphanResponses == 0)
        #expect(stored.statistics.duplicates == trail.duplicates)
        #expect(stored.statistics.conflicts == 0)
        #expect(stored.statistics.notifications == trail.notifications)
        #expect(stored.statistics.quarantined == 0)
        #expect(stored.statistics.forwarded == (keyed ? 0 : trail.values.count))
        let report = StoreVerifier(directory: data).verify()
        #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
    }

    @Test func unkeyedPairsCorrelateThroughTheByIDTopic() async throws {
        try await check(keyed: false)
    }

    @Test func keyedPairsCorrelateWhereTheyLand() async throws {
        try await check(keyed: true)
    }
}
