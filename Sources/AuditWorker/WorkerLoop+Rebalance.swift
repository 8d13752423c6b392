// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import CoreMetrics
import Kafka
import Logging

/// Rebalances, completed on the loop before partitions move (STYLE.md §7.5).
extension WorkerLoop {
    // MARK: - Rebalances

    /// Makes the given logs durable with one group barrier (appends since the last interval's
    /// barrier included), closes them (releasing their locks) and returns their resume offsets.
    mutating func closeDurably(_ closing: [(TopicPartition, PartitionLog)]) throws -> [TopicPartition: Int64] {
        let resumes = try LogWriter.sync(closing.map(\.1.writer))
        var offsets: [TopicPartition: Int64] = [:]
        for ((tp, log), resume) in zip(closing, resumes) {
            unsynced.remove(tp)
            if let resume { offsets[tp] = resume }
            try log.writer.close()
        }
        return offsets
    }

    mutating func handle(_ rebalance: Rebalance) async throws {
        // Its commits come first: after a revoke they would move another owner's offsets.
        try await finishFlushing()
        switch rebalance.kind {
        case .revoke:
            // A lost partition may have a new owner already: nothing more is written for it.
            if !rebalance.isLost { try await sealAndPublish(rebalance.partitions.filter { logs[$0] != nil }) }
            let revoked = rebalance.partitions.compactMap { tp in logs.removeValue(forKey: tp).map { (tp, $0) } }
            if rebalance.isLost { await uploader?.release(rebalance.partitions) }
            let offsets = try closeDurably(revoked)
            let committed = rebalance.isLost ? false : try await commit(offsets)
            logger.info("partitions revoked: \(rebalance.partitions.map(\.description).joined(separator: ", "))")
            try consumer.completeRebalance(rebalance)
            metrics.assignedPartitions.record(logs.count)
            worker.publish { progress in
                progress.assigned = Set(logs.keys)
                for (tp, offset) in offsets {
                    progress.durable[tp] = offset
                    if committed { progress.committed[tp] = offset }
                }
            }
        case .assign:
            var starts: [TopicPartition: Offset] = [:]
            for tp in rebalance.partitions {
                try await claimArchived(tp)
                let writer = try await openWriter(tp)
                let log = PartitionLog(topicPartition: tp, writer: writer, now: currentMicroseconds())
                logs[tp] = log
                // Opening sealed what the journal held: it is uploaded in the background.
                if let uploader {
                    await uploader.submit(tp, sealed: writer.sealedSegments, directory: writer.logDirectory)
                }
                starts[tp] = writer.resumeOffset.map { .exact($0) } ?? .beginning
                if let resume = writer.resumeOffset { metrics.durableOffset(tp).record(resume) }
                for damage in writer.recovery.damaged {
                    // Evidence is never deleted: the damaged journal was set aside, its whole
                    // frames before the damage kept, and the log resumes at the damaged offset,
                    // so Kafka delivers the rest again (what it no longer has becomes a counted loss).
                    metrics.damagedJournals.increment()
                    logger.error(
                        "recovered \(tp): journal damaged at byte \(damage.position) (\(damage.reason)), set aside as \(damage.setAsideAs); offsets \(damage.offsets.lowerBound)..<\(damage.offsets.upperBound) are consumed again from Kafka",
                        metadata: ["audit.partition": "\(tp)"])
                }
                if writer.recovery.truncatedBytes > 0 {
                    logger.warning("recovered \(tp): cut a torn tail of \(writer.recovery.truncatedBytes) bytes")
                }
                try preload(log)
            }
            logger.info("partitions assigned: \(starts.map { "\($0.key)@\($0.value)" }.sorted().joined(separator: ", "))")
            try consumer.completeRebalance(rebalance, startOffsets: starts)
            metrics.assignedPartitions.record(logs.count)
            worker.publish { progress in
                progress.assigned = Set(logs.keys)
                for (tp, log) in logs {
                    if let resume = log.writer.resumeOffset { progress.durable[tp] = resume }
                }
            }
        }
    }

    /// Opens a partition's log; waits for a previous local owner to release its lock, then takes
    /// over (fencing it by epoch) if it never does.
    func openWriter(_ tp: TopicPartition) async throws -> LogWriter {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let failure: StoreError
            do {
                return try store.openWriter(topic: tp.topic, partition: tp.partition)
            } catch {
                failure = error
            }
            guard failure.code == .locked else { throw failure }
            if ContinuousClock.now >= deadline {
                logger.warning("\(tp): previous writer still holds the lock; taking over")
                return try store.openWriter(topic: tp.topic, partition: tp.partition, takeOver: true)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Loads the digests of recent notifications of a log, so redeliveries are recognised.
    func preload(_ log: PartitionLog) throws {
        let now = currentMicroseconds()
        let cutoff = now - configuration.duplicateRetention.inMicroseconds
        try store.recentNotifications(
            topic: log.topicPartition.topic, partition: log.topicPartition.partition, sinceTimestamp: cutoff / 1000
        ) { log.preload($0, now: now, cutoff: cutoff) }
    }
}
