// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditArchive
import AuditModel
import AuditStore
import Kafka

/// The object-store tier (DESIGN §9), for a worker configured with an ``Archive``: the loop's
/// side of ``ArchiveUploader``.
extension WorkerLoop {
    /// Takes the log of `tp` in the object store before its writer opens: the local directory
    /// then holds the log as the bucket has it, so the writer continues it (and the partition
    /// resumes from it) even when another machine wrote it last.
    func claimArchived(_ tp: TopicPartition) async throws {
        try await uploader?.claim(tp)
    }

    /// Hands the logs' sealed segments to the uploader (it uploads what is new, in the
    /// background); every ``WorkerConfiguration/checkpointInterval`` a checkpoint and retention
    /// too. Throws what stopped the uploader (fencing).
    mutating func archiveHousekeeping() async throws {
        guard let uploader else { return }
        try await uploader.check()
        let checkpointDue = ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval
        if checkpointDue { lastCheckpoint = .now }
        let retain = configuration.retention.map { Int64($0.inSeconds * 1000) }
        for (tp, log) in logs {
            await uploader.submit(
                tp, sealed: log.writer.sealedSegments, directory: log.writer.logDirectory,
                checkpoint: checkpointDue ? .some(ArchivedLog.durableOffset(log.writer)) : nil,
                retainMilliseconds: checkpointDue ? retain : nil)
        }
    }

    /// Before logs are let go (a revoke, the shutdown): seals their active segments and puts them
    /// in the bucket with a last checkpoint, so the bucket alone holds everything this worker made
    /// durable and the next owner goes on from there without consuming anything again.
    mutating func sealAndPublish(_ partitions: [TopicPartition]) async throws {
        guard let uploader else { return }
        var jobs: [TopicPartition: ArchiveUploader.Job] = [:]
        for tp in partitions {
            guard let writer = logs[tp]?.writer else { continue }
            try writer.seal()
            jobs[tp] = ArchiveUploader.Job(
                sealed: writer.sealedSegments, directory: writer.logDirectory,
                checkpoint: .some(ArchivedLog.durableOffset(writer)))
        }
        try await uploader.drain(jobs)
        await uploader.release(partitions)
    }
}
