// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import CoreMetrics
import CLinux
import Kafka
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Durability barriers and the commits that follow them (DESIGN §6.3).
extension WorkerLoop {
    /// A durability barrier in flight, and the partitions it covers.
    struct Flushing {
        var partitions: [TopicPartition]
        var barrier: LogWriter.Barrier
        var flush: Task<Void, any Error>
        var started: ContinuousClock.Instant
        /// What had been appended when it began: durable once it finishes.
        var counts: Worker.Counts
    }

    /// Begins the durability barrier of every log appended to since the last one; its flush
    /// runs on ``flusher`` while the loop appends the next batches, and the next call (or a
    /// rebalance, or the shutdown) waits for it and commits the resume offsets it made durable
    /// (DESIGN §6.3: an offset is committed only once everything before it is durable). A crash
    /// loses nothing: a log's resume offset moves only once its barrier's flush returned, and what
    /// follows it is consumed again.
    ///
    /// Flushing in the background: with 500 logs, 45 barriers of one `syncfs` each (~45 ms)
    /// kept the worker waiting a fifth of its time (`bench worker`).
    mutating func makeDurable() async throws {
        lastBarrier = .now
        try await finishFlushing()
        // A log whose records wait in its pair window (a version 4 journal) needs barriers too:
        // they put what waited too long into the journal, and its resume offset moves.
        unsynced.formUnion(logs.filter { $0.value.writer.isWaiting }.keys)
        guard !unsynced.isEmpty else { return }
        let partitions = Array(unsynced.filter { logs[$0] != nil })
        unsynced = []
        let writers = partitions.map { logs[$0]!.writer }
        // Each log's frame is compressed on the lanes first; the barrier then finds none to write.
        try Self.writeFrames(writers, lanes: decoders.count)
        let barrier = try LogWriter.Barrier(writers)
        let flush = Task(executorPreference: flusher) { try barrier.flush() }
        flushing = Flushing(partitions: partitions, barrier: barrier, flush: flush, started: .now, counts: appended)
    }

    /// Writes each writer's pending frame, the writers spread over `lanes` threads (one writer
    /// per thread at a time); the first failure in `writers`' order is thrown once all are done.
    private static func writeFrames(_ writers: [LogWriter], lanes: Int) throws(StoreError) {
        nonisolated(unsafe) let writers = writers
        try eachOnLanes(writers.count, lanes: writers.count >= 16 ? lanes : 1) { (i) throws(StoreError) in
            try writers[i].writeFrame()
        }
    }

    /// Waits for the barrier in flight, if any, then commits the resume offsets it made durable.
    mutating func finishFlushing() async throws {
        guard let flushing else { return }
        self.flushing = nil
        try await flushing.flush.value
        metrics.fsync.recordSeconds(flushing.started.duration(to: .now).inSeconds)
        var commits: [TopicPartition: Int64] = [:]
        for (tp, resume) in zip(flushing.partitions, flushing.barrier.finish()) {
            guard let resume else { continue }
            commits[tp] = resume
            metrics.durableOffset(tp).record(resume)
        }
        let committed = try await commit(commits)
        if committed {
            for (tp, offset) in commits where tp.topic == configuration.byIDTopic { purgeable[tp] = offset }
        }
        worker.publish { progress in
            progress.set(flushing.counts)
            for (tp, offset) in commits {
                progress.durable[tp] = offset
                if committed { progress.committed[tp] = offset }
            }
        }
        // Each thread that allocates (the decode and append lanes, the flusher, librdkafka's)
        // may get a malloc arena of its own, and glibc keeps an arena's freed memory for it: with
        // the flush in the background, peak RSS with 1M pending requests rose from 229 to
        // 247-260 MiB (`bench worker`; 224 MiB with MALLOC_ARENA_MAX=1, which cost 7 % of the
        // throughput). Handing the free memory back at each barrier: 215-221 MiB, no cost seen.
        malloc_trim(0)
        logger.debug(
            "batch durable",
            metadata: ["audit.logs": "\(flushing.partitions.count)", "audit.stored_total": "\(flushing.counts.stored)",
                       "audit.duplicates_total": "\(flushing.counts.duplicates)"])
    }

    /// How long a commit (at a barrier, a revoke or the shutdown) may wait for the group
    /// coordinator. The store, not the commit, is the resume point: a commit that times out is
    /// only later, and the worker stays responsive (during a broker outage a barrier, a revoke
    /// or a SIGTERM would otherwise wait for the session timeout).
    static let commitTimeout = Duration.seconds(5)

    /// Commits durable offsets. Kafka may refuse during a rebalance; the store, not the
    /// commit, is the resume point, so a refusal only costs a redelivery that is skipped.
    @discardableResult
    mutating func commit(_ offsets: [TopicPartition: Int64], timeout: Duration = Self.commitTimeout) async throws -> Bool {
        guard !offsets.isEmpty else { return true }
        do {
            try await consumer.commit(offsets, timeout: timeout)
            coordinatorUnanswered = false
            return true
        } catch {
            coordinatorUnanswered = error.code == .timedOut
            metrics.commitDeferred.increment()
            logger.info("commit deferred: \(error)")
            return false
        }
    }
}
