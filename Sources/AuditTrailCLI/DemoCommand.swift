// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditClient
import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Logging

/// `audit-trail demo`: the whole pipeline on the embedded Kafka.
///
/// Starts librdkafka's mock cluster, publishes realistic audit traffic as OpenStack services do
/// (oslo envelope, unkeyed; some responses missing, some redelivered twice), runs two workers of
/// one group that share a data directory, then prints the stored trail's summary and a query.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole pipeline on an embedded Kafka: publisher, two workers, summary and query.")

    @Option(help: "HTTP calls to publish (each a request and a response).")
    var calls: Int = 5_000

    @Option(help: "Data directory (default: a new temporary directory).")
    var data: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let topic = "notifications.info"
        let group = "audit-demo"
        let dataDirectory = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("audit-trail-demo-\(getpid())").path
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic(topic, partitions: 6)
        try cluster.createTopic("\(group).by-id", partitions: 6)
        let bootstrap = cluster.bootstrapServers
        print("1. embedded Kafka (librdkafka mock cluster) at \(bootstrap): \(topic) with 6 partitions, \(group).by-id with 6")

        // Publish as oslo.messaging does: the 2.0 envelope, no key.
        var traffic = SampleTraffic(seed: UInt64(getpid()))
        let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
        var published = 0
        var missing = 0
        var redelivered = 0
        for i in 0..<calls {
            let call = traffic.next()
            try await producer.enqueue(ProducerRecord(topic: topic, value: call.request.envelope))
            published += 1
            if i % 97 == 13 { missing += 1; continue }
            try await producer.enqueue(ProducerRecord(topic: topic, value: call.response.envelope))
            published += 1
            if i % 89 == 7 {
                try await producer.enqueue(ProducerRecord(topic: topic, value: call.response.envelope))
                published += 1
                redelivered += 1
            }
        }
        try await producer.flush()
        print("2. published \(published) notifications from 5 services: \(calls) calls, \(missing) without a response, \(redelivered) responses sent twice")

        var configuration = WorkerConfiguration(bootstrapServers: bootstrap, topics: [topic], group: group, dataDirectory: dataDirectory)
        configuration.kafka.set("session.timeout.ms", "6000")
        configuration.kafka.set("heartbeat.interval.ms", "500")
        configuration.idleTick = .milliseconds(200)
        let workers = try (0..<2).map { _ in try Worker(configuration: configuration) }
        let expected = published - redelivered
        print("3. two workers of group \(group) storing into \(dataDirectory) ...")
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for worker in workers { tasks.addTask { try await worker.run() } }
            var progress = Progress("   stored", total: expected)
            while true {
                let stored = workers.map { $0.metrics.value("stored") + $0.metrics.value("duplicates") }.reduce(0, +)
                progress.update(stored)
                if stored >= expected || ContinuousClock.now - start > .seconds(120) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            progress.finish(workers.map { $0.metrics.value("stored") + $0.metrics.value("duplicates") }.reduce(0, +))
            for worker in workers { worker.stop() }
            try await tasks.waitForAll()
        }
        for (n, worker) in workers.enumerated() {
            print("   worker \(n + 1): stored \(worker.metrics.value("stored")), forwarded \(worker.metrics.value("forwarded")), duplicates dropped \(worker.metrics.value("duplicates"))")
        }

        let trail = try TrailOptions.parse(["--data", dataDirectory, "--window", "0"]).trail()
        let s = trail.statistics
        print("4. the stored trail: \(s.notifications) notifications, \(s.pairs) pairs, \(s.orphanRequests) orphan requests, \(s.orphanResponses) orphan responses, \(s.duplicates) duplicates recognised, \(s.conflicts) conflicts, \(s.quarantined) quarantined")
        print("5. a query (the first 5 failed calls):")
        for call in trail.calls.filter({ $0.outcome == "failure" }).prefix(5) {
            let fields = (call.request ?? call.response)?.record.fields
            print("   \(call.id)  \(fields?.publisher ?? "-")  \(fields?.action ?? "-")  \(call.status.map(String.init) ?? "-")  \(String(format: "%.1f ms", call.latencyMilliseconds ?? 0))  \(fields?.initiatorName ?? "-")  \(fields?.requestPath ?? "-")")
        }
        print("   more: audit-trail query --data \(dataDirectory) --window 0; audit-trail stats --data \(dataDirectory) --window 0 --json")
        withExtendedLifetime(cluster) {}
    }
}
