// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Foundation
import Kafka
import Logging

/// `audit-trail demo`: a self-contained run on the embedded cluster.
///
/// Until the worker pipeline lands this shows the Kafka layer end to end: it starts the
/// embedded cluster, publishes keyed messages, consumes them with a group of two members that
/// hand partitions over through a cooperative rebalance, and reports what it saw.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a self-contained round trip on the embedded Kafka cluster and report it.")

    @Option(help: "Messages to publish.")
    var messages: Int = 20_000

    @Option(help: "Partitions of the demo topic.")
    var partitions: Int32 = 6

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let topic = "notifications.info"
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic(topic, partitions: partitions)
        print("embedded Kafka at \(cluster.bootstrapServers), topic \(topic) with \(partitions) partitions")
        print("note: the worker pipeline is not built yet; this demo runs a produce/consume round trip")

        let start = ContinuousClock.now
        let pc = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try Producer(configuration: pc)
        for i in 0..<messages {
            let key = "service-\(i % 17)"
            try await producer.enqueue(
                ProducerRecord(topic: topic, key: Array(key.utf8), value: Array("{\"seq\":\(i),\"key\":\"\(key)\"}".utf8)))
        }
        let summary = try await producer.flush()
        print("published \(summary.delivered) messages (\(summary.failed) failed) in \(start.duration(to: .now))")

        let counts = ConsumedCounts(target: messages)
        try await withThrowingTaskGroup(of: (Int, [Rebalance]).self) { group in
            for _ in 0..<2 {
                group.addTask {
                    var configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
                    configuration.set("group.id", "demo")
                    let consumer = try Consumer(configuration: configuration)
                    try consumer.subscribe([topic])
                    var seen = 0
                    var rebalances: [Rebalance] = []
                    var processed: [TopicPartition: Int64] = [:]
                    while !counts.done {
                        let batch = try await consumer.poll(timeout: .milliseconds(200))
                        for message in batch.messages { processed[message.topicPartition] = message.offset + 1 }
                        seen += batch.messages.count
                        counts.add(batch.messages.count)
                        if !batch.messages.isEmpty {
                            // Commit what this member processed; during a rebalance the broker
                            // refuses (REBALANCE_IN_PROGRESS) and the next batch commits again.
                            do { try await consumer.commit(processed) } catch { print("commit deferred: \(error)") }
                        }
                        if let rebalance = batch.rebalance {
                            rebalances.append(rebalance)
                            if rebalance.kind == .revoke && !rebalance.isLost {
                                let mine = processed.filter { rebalance.partitions.contains($0.key) }
                                try await consumer.commit(mine)
                            }
                            try consumer.completeRebalance(rebalance)
                        }
                    }
                    try await consumer.close()
                    return (seen, rebalances)
                }
            }
            var member = 0
            for try await (seen, rebalances) in group {
                member += 1
                print("consumer \(member): \(seen) messages, rebalances: \(rebalances.map(\.description).joined(separator: "; "))")
            }
        }
        print("consumed \(counts.value) of \(messages) messages in \(start.duration(to: .now)) total")
        withExtendedLifetime(cluster) {}
    }
}

/// A shared counter the demo's consumers stop on.
private final class ConsumedCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    let target: Int
    init(target: Int) { self.target = target }
    func add(_ n: Int) { lock.withLock { count += n } }
    var value: Int { lock.withLock { count } }
    var done: Bool { value >= target }
}
