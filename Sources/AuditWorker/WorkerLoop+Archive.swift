// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditArchive
import AuditModel
import AuditStore
import CoreMetrics
import Kafka
import Logging

/// The object-store tier (DESIGN §9), for a worker configured with an ``Archive``.
extension WorkerLoop {
    /// Takes the log of `tp` in the object store before its writer opens: the local directory
    /// then holds the log as the bucket has it, so the writer continues it (and the partition
    /// resumes from it) even when another machine wrote it last.
    mutating func claimArchived(_ tp: TopicPartition) async throws {
        guard let archive = configuration.archive else { return }
        let log = try await fenceAware(tp) {
            try await ArchivedLog.claim(archive, topic: tp.topic, partition: tp.partition, data: configuration.dataDirectory)
        }
        archived[tp] = log
        switch log.reconciliation {
        case .kept: break
        case .downloaded(let segments):
            logger.info("\(tp): continuing the object store's log (epoch \(log.epoch)): \(segments) segments downloaded")
        case .replaced(let aside, let segments):
            logger.warning(
                "\(tp): another machine continued this log; the local copy was set aside as \(aside), the object store's \(segments) segments downloaded (epoch \(log.epoch))")
        }
    }

    /// Uploads the segments the logs sealed since the last call (no-op for logs with none).
    mutating func publishArchived(_ partitions: some Sequence<TopicPartition>) async throws {
        for tp in partitions {
            guard let archivedLog = archived[tp], let log = logs[tp] else { continue }
            let uploaded = try await fenceAware(tp) { try await archivedLog.publish(log.writer) }
            if uploaded > 0 { metrics.uploadedSegments.increment(by: uploaded) }
        }
    }

    /// Housekeeping: uploads new seals; every ``WorkerConfiguration/checkpointInterval`` a signed
    /// checkpoint per log, and retention.
    mutating func archiveHousekeeping() async throws {
        guard configuration.archive != nil else { return }
        try await publishArchived(Array(logs.keys))
        guard ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval else { return }
        lastCheckpoint = .now
        try await checkpointArchived(Array(logs.keys))
        if let retention = configuration.retention {
            for tp in logs.keys {
                guard let archivedLog = archived[tp] else { continue }
                let removed = try await fenceAware(tp) {
                    try await archivedLog.applyRetention(retainMilliseconds: Int64(retention.inSeconds * 1000))
                }
                if !removed.isEmpty {
                    metrics.retiredSegments.increment(by: removed.count)
                    logger.info("\(tp): retention removed \(removed.count) segments before offset \(removed.last!.next)")
                }
            }
        }
    }

    mutating func checkpointArchived(_ partitions: [TopicPartition]) async throws {
        for tp in partitions {
            guard let archivedLog = archived[tp], let log = logs[tp] else { continue }
            if try await fenceAware(tp, { try await archivedLog.checkpoint(log.writer) }) != nil {
                metrics.checkpoints.increment()
            }
        }
    }

    /// Before logs are let go (a revoke, the shutdown): seals their active segments and
    /// uploads them, so the object store alone holds everything this worker made durable and
    /// the next owner goes on from there without consuming it again. Then a last checkpoint.
    mutating func sealAndPublish(_ partitions: [TopicPartition]) async throws {
        guard configuration.archive != nil else { return }
        for tp in partitions { try logs[tp]?.writer.seal() }
        try await publishArchived(partitions)
        try await checkpointArchived(partitions)
    }

    /// Runs an object-store step of `tp`'s log; a fenced log is counted and logged, and the
    /// error ends the worker: another owner holds the log now.
    func fenceAware<T>(_ tp: TopicPartition, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ArchiveError {
            if case .fenced = error {
                metrics.fenced.increment()
                logger.error("\(tp): \(error); stopping: another owner holds this log")
            }
            throw error
        }
    }
}
