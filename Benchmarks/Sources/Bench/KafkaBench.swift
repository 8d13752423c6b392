// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import Foundation
import Kafka
import Logging

/// Produce and consume throughput against the embedded cluster, next to kcat on the same topic.
struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Produce and consume throughput on the embedded cluster, with `kcat -C -e` for scale.")

    @Option(help: "Messages to produce and consume.")
    var messages: Int = 1_000_000

    @Option(help: "Bytes per message value.")
    var size: Int = 1700

    @Option(help: "Partitions (the mock broker keeps a bounded log per partition; spread the data).")
    var partitions: Int32 = 400

    @Option(help: "Path of kcat, or empty to skip the comparison.")
    var kcat: String = "/usr/bin/kcat"

    @Option(help: "Consume rounds per reader (alternating kcat and AuditTrail; the best of each is compared).")
    var rounds: Int = 3

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let topic = "bench"
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic(topic, partitions: partitions)
        let bootstrap = cluster.bootstrapServers
        let totalMB = Double(messages * size) / 1_000_000
        print("embedded cluster \(bootstrap); \(messages) messages of \(size) B (\(String(format: "%.0f", totalMB)) MB), \(partitions) partitions")

        let summary = try await produce(topic: topic, bootstrap: bootstrap)

        // Consume the same topic with our consumer and with kcat, alternating, best of `rounds`:
        // the first reader after producing pays for the mock broker settling, so order matters.
        let kcatAvailable = !kcat.isEmpty && FileManager.default.isExecutableFile(atPath: kcat)
        if !kcat.isEmpty && !kcatAvailable { print("kcat not found at \(kcat): comparison skipped") }
        var ours: [Double] = []
        var theirs: [Double] = []
        for round in 1...rounds {
            if kcatAvailable {
                theirs.append(try await consumeWithKcat(bootstrap: bootstrap, topic: topic, expected: summary.delivered, round: round))
            }
            ours.append(try await consumeWithConsumer(bootstrap: bootstrap, topic: topic, expected: summary.delivered, round: round))
        }
        if let best = ours.max() {
            print(String(format: "best consume (AuditTrail Consumer): %.0f msgs/s, %.1f MB/s", best, best * Double(size) / 1e6))
        }
        if let bestOurs = ours.max(), let bestTheirs = theirs.max() {
            print(String(format: "best consume (kcat -C -e): %.0f msgs/s, %.1f MB/s", bestTheirs, bestTheirs * Double(size) / 1e6))
            print(String(format: "consume ratio AuditTrail / kcat, best of %d each: %.2fx (goal >= 0.8x)", rounds, bestOurs / bestTheirs))
        }
    }

    /// Reads the whole topic with the Consumer (all partitions assigned from the beginning).
    private func consumeWithConsumer(bootstrap: String, topic: String, expected: Int, round: Int) async throws -> Double {
        let consumer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
        var assignment: [TopicPartition: Offset] = [:]
        for p in 0..<partitions { assignment[TopicPartition(topic, p)] = .beginning }
        try consumer.assign(assignment)
        var consumed = 0
        var bytes = 0
        let start = ContinuousClock.now
        while consumed < expected {
            let batch = try await consumer.poll(maxMessages: 4096, timeout: .seconds(10))
            if batch.isEmpty { break }
            for message in batch.messages { bytes += message.value?.count ?? 0 }
            consumed += batch.messages.count
        }
        let elapsed = start.duration(to: .now)
        try await consumer.close()
        return report("round \(round): consume (AuditTrail Consumer, batches of 4096)", count: consumed, bytes: bytes, elapsed)
    }

    /// Reads the whole topic with `kcat -C -e` in a process of its own.
    private func consumeWithKcat(bootstrap: String, topic: String, expected: Int, round: Int) async throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kcat)
        process.arguments = ["-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning", "-f", "%o\\n"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let start = ContinuousClock.now
        try process.run()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        return report("round \(round): consume (kcat -C -e, same topic)", count: expected, bytes: expected * size, start.duration(to: .now))
    }

    /// Produces the corpus and waits for every delivery; the producer is gone when this returns.
    private func produce(topic: String, bootstrap: String) async throws -> DeliverySummary {
        var configuration = KafkaConfiguration(bootstrapServers: bootstrap)
        configuration.set("linger.ms", "20")
        configuration.set("batch.size", "1000000")
        let producer = try Producer(configuration: configuration)
        var value = [UInt8](repeating: UInt8(ascii: "a"), count: size)
        let start = ContinuousClock.now
        for i in 0..<messages {
            withUnsafeBytes(of: UInt64(i).littleEndian) { value.replaceSubrange(0..<8, with: $0) }
            try await producer.enqueue(ProducerRecord(topic: topic, partition: Int32(i % Int(partitions)), value: value))
        }
        let summary = try await producer.flush(timeout: .seconds(600))
        report("produce (idempotent, acks=all, delivery confirmed)", count: summary.delivered, bytes: summary.delivered * size, start.duration(to: .now))
        if summary.failed > 0 { print("  \(summary.failed) deliveries failed") }
        return summary
    }

    @discardableResult
    private func report(_ what: String, count: Int, bytes: Int, _ duration: Duration) -> Double {
        reportRate(what, count: count, unit: "msgs", bytes: bytes, duration)
    }
}
