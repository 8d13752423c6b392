// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import CoreMetrics
import Kafka
import Logging

/// What a message's bytes alone decide: the decoded notification, and the content hash of
/// an audit notification (``WorkerLoop/prepare(_:)``).
struct Prepared: Sendable {
    var decoded: DecodedNotification
    var hash: ContentHash?
}

/// What one consumed message becomes.
enum Planned: Sendable {
    /// A record to store, with the content hash of its bytes where the worker took one.
    case record(StoreRecord, ContentHash? = nil)
    case forward(StoreRecord, ProducerRecord)
}

/// Plans a consumed batch, partition by partition: what each message becomes (``Planner``),
/// with the gaps before it and the redeliveries already durable, counted and reported.
///
/// Partitions share nothing while they are planned: each has its own ``PartitionLog`` (the
/// halves it remembers) and its own offsets; the metrics and the logger are safe to share. So
/// the partitions of a batch are planned on the decode lanes, about a sixth of a worker's time
/// on one thread before (`bench worker`, 400k keyed over 500 partitions: 2.0 s of 13).
struct BatchPlanning: Sendable {
    let metrics: WorkerMetrics
    let logger: Logger
    let byIDTopic: String
    let deadLetterTopic: String?

    /// One partition's share of a batch, planned in offset order.
    struct Share {
        let topicPartition: TopicPartition
        let log: PartitionLog
        /// The indexes of the batch's messages of this partition, in order.
        var messages: [Int] = []
        var planned: [Planned] = []
        var deadLetters: [ProducerRecord] = []
        var counts = Worker.Counts()

        /// Whether the share sends copies (forwarded notifications, dead letters): it may be
        /// stored only once they are acknowledged, and each marker records where its copy went.
        /// (Planning counts each forward it plans, so no item needs to be looked at again.)
        var waitsForCopies: Bool { counts.forwarded > 0 || !deadLetters.isEmpty }
    }

    /// Plans `messages` (with what ``WorkerLoop/prepare(_:)`` made of each) on `lanes` threads,
    /// one partition per thread at a time, and returns a share per partition of `logs` in the
    /// order each first appears. A message of a partition without a log is counted and dropped
    /// from the batch (its offset is not committed: the partition's new owner consumes it).
    func plan(
        _ messages: [KafkaMessage], _ prepared: [Prepared?], logs: [TopicPartition: PartitionLog], lanes: Int
    ) -> [Share] {
        var shares: [Share] = []
        var shareOf: [TopicPartition: Int] = [:]
        for (i, message) in messages.enumerated() {
            let tp = message.topicPartition
            if let share = shareOf[tp] {
                shares[share].messages.append(i)
            } else if let log = logs[tp] {
                shareOf[tp] = shares.count
                shares.append(Share(topicPartition: tp, log: log, messages: [i]))
            } else {
                metrics.unassignedMessages.increment()
            }
        }
        let lanes = messages.count >= laneWorthyBatch && shares.count > 1 ? lanes : 1
        // Each share, with its log, is taken by exactly one lane (``onLanes`` hands each index out once).
        nonisolated(unsafe) let unplanned = shares
        return onLanes(unplanned.count, lanes: lanes) { (_, i) -> Share in
            var share = unplanned[i]
            plan(&share, messages, prepared)
            return share
        }
    }

    private func plan(_ share: inout Share, _ messages: [KafkaMessage], _ prepared: [Prepared?]) {
        let tp = share.topicPartition
        var next = share.log.nextToPlan
        share.planned.reserveCapacity(share.messages.count)
        for i in share.messages {
            let message = messages[i]
            if let expected = next, message.offset < expected {
                // Already durable in the log (redelivered after a rebalance or restart).
                metrics.redelivered.increment()
                continue
            }
            let gapStart = next ?? 0
            if message.offset > gapStart {
                recordLoss(tp, gapStart..<message.offset, counts: &share.counts)
                share.planned.append(.record(StoreRecord(offset: gapStart, timestamp: -1, body: .gap(to: message.offset))))
            }
            share.planned.append(
                plan(message, prepared[i], log: share.log, deadLetters: &share.deadLetters, counts: &share.counts))
            next = message.offset + 1
        }
        share.log.nextToPlan = next
    }

    /// How a worker's log treats `message`'s notification: stored in a by-id log, forwarded
    /// from a source log unless keyed by its CADF id.
    static func routing(of message: KafkaMessage, byIDTopic: String) -> Planner.Routing {
        message.topic == byIDTopic ? .store : .forwardUnlessKeyed(key: message.key, byIDTopic: byIDTopic)
    }

    /// Decides what a message becomes (``Planner``), and counts and reports it.
    private func plan(
        _ message: KafkaMessage, _ prepared: Prepared?, log: PartitionLog, deadLetters: inout [ProducerRecord],
        counts: inout Worker.Counts
    ) -> Planned {
        let isByID = message.topic == byIDTopic
        let decision = Planner.decide(
            prepared?.decoded, value: message.value, hash: prepared?.hash, offset: message.offset, timestamp: message.timestamp,
            origin: isByID ? OriginHeader.origin(of: message) : nil, routing: Self.routing(of: message, byIDTopic: byIDTopic)
        ) { id, eventType, digest in
            log.admit(id: id, eventType: eventType, digest: digest, now: currentMicroseconds())
        }
        switch decision {
        case .notification(let record, let hash, let conflict):
            if conflict { metrics.conflicts.increment() }
            metrics.stored.increment()
            (record.fields?.eventType == .request ? metrics.requests : metrics.responses).increment()
            counts.stored += 1
            return .record(record, hash)
        case .duplicate(let record):
            metrics.duplicates.increment()
            counts.duplicates += 1
            return .record(record)
        case .forward(let marker, let id):
            metrics.forwarded.increment()
            counts.forwarded += 1
            let copy = ProducerRecord(
                topic: byIDTopic, key: Array(id.utf8), value: message.value ?? [], headers: OriginHeader.headers(of: message))
            return .forward(marker, copy)
        case .skipped(let record):
            metrics.skipped.increment()
            counts.skipped += 1
            return .record(record)
        case .quarantined(let record, let reason, let detail):
            metrics.quarantined(reason).increment()
            counts.quarantined += 1
            logger.warning("quarantined \(message.topicPartition)@\(message.offset): \(detail)", metadata: ["audit.reason": "\(reason)"])
            if let topic = deadLetterTopic {
                deadLetters.append(ProducerRecord(
                    topic: topic, key: message.key, value: record.bytes ?? [],
                    headers: [KafkaHeader(key: "audit.reason", value: Array(detail.utf8))]
                        + OriginHeader.headers(of: message).filter { $0.key != OriginHeader.timestamp }))
            }
            return .record(record)
        }
    }

    /// Counts and reports offsets of `tp` that Kafka no longer had when the worker reached them.
    ///
    /// They are recorded as a `gap` (so verify proves the log contiguous) and are a loss: of
    /// source notifications that were never read, or, on the by-id topic, of forwarded copies
    /// the broker deleted before they were stored (`audit-trail verify` names each source offset
    /// whose copy is missing, and `audit-trail repair` fetches it again from its source). A loss
    /// is an error, never a warning line alone: it is counted in `audit_lost_total{reason}`.
    private func recordLoss(_ tp: TopicPartition, _ offsets: Range<Int64>, counts: inout Worker.Counts) {
        let count = Int(offsets.upperBound - offsets.lowerBound)
        metrics.gapOffsets.increment(by: Int64(count))
        counts.gapOffsets += count
        if tp.topic == byIDTopic {
            metrics.lost("by_id_gap").increment(by: Int64(count))
            counts.lostCopies += count
            logger.error(
                "lost \(count) forwarded cop\(count == 1 ? "y" : "ies"): offsets \(offsets.lowerBound)..<\(offsets.upperBound) of \(tp) were deleted by the broker before they were stored; `audit-trail verify` names their source offsets and `audit-trail repair` fetches them again (check the retention of \(tp.topic))",
                metadata: ["audit.partition": "\(tp)"])
        } else {
            metrics.lost("source_gap").increment(by: Int64(count))
            counts.lostSource += count
            logger.error(
                "lost \(count) notification(s): offsets \(offsets.lowerBound)..<\(offsets.upperBound) of \(tp) no longer exist in Kafka (deleted before the workers read them)",
                metadata: ["audit.partition": "\(tp)"])
        }
    }
}
