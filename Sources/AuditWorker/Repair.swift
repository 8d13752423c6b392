// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
public import Kafka
import Logging

/// Fetches forwarded notifications whose copies were lost again from their source offsets, and
/// forwards them once more (DESIGN §6.8).
///
/// A missing copy (``HopAccount/missing``: the broker deleted it from the by-id topic before a
/// worker stored it) is read at its source (topic, partition, offset) with `assign` under a
/// throwaway group, so no group is disturbed, and produced onto the by-id topic again, keyed by
/// its CADF id and carrying its origin, exactly as the worker forwards it. The worker that owns
/// that by-id partition stores it where it would have stored the first copy, and the account
/// then pairs the marker with it by origin. Nothing is written to the store here, so a repair
/// is safe beside running workers; running it twice only forwards a copy twice, which the by-id
/// log recognises as a redelivery.
public struct Repair: Sendable {
    /// What a repair did.
    public struct Summary: Sendable {
        /// Copies forwarded again.
        public var resent: [HopAccount.Unstored] = []
        /// Missing copies whose source offset Kafka no longer has: lost for good.
        public var unrecoverable: [HopAccount.Unstored] = []
        /// Copies a worker has not reached yet (not repaired: they are on their way).
        public var inFlight = 0
    }

    public var kafka: KafkaConfiguration
    /// The store to account for.
    public var dataDirectory: String
    /// Only copies forwarded to this topic (one group's `<group>.by-id`); `nil`: all.
    public var byIDTopic: String?

    /// A repair of the store at `dataDirectory`, reading from and producing to `kafka`.
    public init(kafka: KafkaConfiguration, dataDirectory: String, byIDTopic: String? = nil) {
        self.kafka = kafka
        self.dataDirectory = dataDirectory
        self.byIDTopic = byIDTopic
    }

    /// Accounts for the store, fetches every missing copy that Kafka still has and forwards it.
    ///
    /// - Throws: ``StoreError`` when the store cannot be read, ``KafkaError`` when Kafka cannot
    ///   be read or a copy was not delivered.
    public func run(logger: Logger = Logger(label: "audit.repair")) async throws -> Summary {
        let account = try HopAccount(directory: dataDirectory)
        let wanted = account.missing.filter { byIDTopic == nil || $0.copyTopic == byIDTopic }
        var summary = Summary()
        summary.inFlight = account.inFlight.filter { byIDTopic == nil || $0.copyTopic == byIDTopic }.count
        guard !wanted.isEmpty else { return summary }
        var byPartition: [TopicPartition: [Int64: HopAccount.Unstored]] = [:]
        for unstored in wanted {
            byPartition[TopicPartition(unstored.topic, unstored.partition), default: [:]][unstored.offset] = unstored
        }

        let consumer = try Consumer(configuration: kafka.forPrivateReader(prefix: "audit-trail-repair"), logger: logger)
        var pending: [TopicPartition: (next: Int64, last: Int64)] = [:]
        var starts: [TopicPartition: Offset] = [:]
        for (tp, offsets) in byPartition {
            let marks = try await consumer.watermarks(tp)
            for (offset, unstored) in offsets where offset < marks.low || offset >= marks.high {
                summary.unrecoverable.append(unstored)
                byPartition[tp]![offset] = nil
            }
            guard let first = byPartition[tp]!.keys.min(), let last = byPartition[tp]!.keys.max() else { continue }
            pending[tp] = (first, last)
            starts[tp] = .exact(first)
        }
        let producer = try Producer(configuration: Self.producerConfiguration(kafka))
        let before = producer.summary.failed
        if !starts.isEmpty { try consumer.assign(starts) }
        while !pending.isEmpty {
            try Task.checkCancellation()
            let batch = try await consumer.poll(maxMessages: 4096, timeout: .milliseconds(500))
            for message in batch.messages {
                let tp = message.topicPartition
                guard let range = pending[tp], message.offset >= range.next else { continue }
                if let unstored = byPartition[tp]?.removeValue(forKey: message.offset), let value = message.value {
                    try await producer.enqueue(ProducerRecord(
                        topic: unstored.copyTopic, key: Array(unstored.key.utf8), value: value,
                        headers: OriginHeader.headers(of: message)))
                    summary.resent.append(unstored)
                }
                pending[tp] = message.offset >= range.last ? nil : (message.offset + 1, range.last)
            }
            // Offsets the partition no longer had when the fetch reached them.
            for (tp, range) in pending {
                guard let position = try consumer.position([tp])[tp] ?? nil, position > range.last else { continue }
                pending[tp] = nil
            }
        }
        for offsets in byPartition.values { summary.unrecoverable += offsets.values }
        try await consumer.close()
        let delivered = try await producer.flush(timeout: .seconds(120))
        if delivered.failed > before {
            throw KafkaError(.delivery, "\(delivered.failed - before) repaired cop(ies) were not delivered: \(delivered.recentFailures.last.map { "\($0)" } ?? "")")
        }
        summary.unrecoverable.sort { ($0.topic, $0.partition, $0.offset) < ($1.topic, $1.partition, $1.offset) }
        return summary
    }

    /// The worker's producer settings, from the consumer-side `kafka` configuration.
    static func producerConfiguration(_ kafka: KafkaConfiguration) -> KafkaConfiguration {
        var producer = KafkaConfiguration(bootstrapServers: kafka["bootstrap.servers"] ?? "")
        for (key, value) in kafka.properties where WorkerLoop.sharedKeys(key) { producer.set(key, value) }
        producer.allowUnsafeSettings = kafka.allowUnsafeSettings
        return producer
    }
}
