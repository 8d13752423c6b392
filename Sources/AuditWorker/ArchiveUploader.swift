// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditArchive
import AuditModel
import AuditStore
import CoreMetrics
import Kafka
import Logging

/// The worker's object-store side (DESIGN §9), on a task of its own so the loop never waits for
/// the bucket while it stores: the loop hands it what its logs sealed and made durable (values:
/// the sealed segments' list, the durable offset), and it uploads segments, manifests,
/// checkpoints and retention in the background, one log at a time, in order.
///
/// - Claims are awaited: a log opens only once its lease is taken and its directory follows the
///   bucket.
/// - ``drain(_:)`` waits until what was handed over for some logs is in the bucket (a revoke,
///   the shutdown).
/// - A fenced log (another owner took it), or a manifest that does not follow the local log, is
///   fatal: ``check()`` throws it at the loop's next housekeeping and the worker stops.
/// - A bucket that does not answer is not: the segments stay on disk, the failure is logged and
///   counted (`audit_archive_errors_total`), and the next hand-over tries again.
actor ArchiveUploader {
    let archive: Archive
    let data: String
    let metrics: WorkerMetrics
    let logger: Logger
    private var logs: [TopicPartition: ArchivedLog] = [:]
    private var pending: [TopicPartition: Job] = [:]
    private var running: Task<Void, Never>?
    private var fatal: (any Error)?

    /// What the loop handed over for a log since it was last processed: the latest wins.
    struct Job {
        var sealed: [Manifest.Segment]?
        var directory: String
        /// Write a checkpoint of this durable offset after the upload.
        var checkpoint: Int64??
        /// Apply retention with this age (milliseconds) after the upload.
        var retainMilliseconds: Int64?
    }

    init(archive: Archive, data: String, metrics: WorkerMetrics, logger: Logger) {
        self.archive = archive
        self.data = data
        self.metrics = metrics
        self.logger = logger
    }

    /// Takes `tp`'s log in the bucket before its writer opens (see ``ArchivedLog/claim(_:topic:partition:data:)``).
    func claim(_ tp: TopicPartition) async throws {
        let log: ArchivedLog
        do {
            log = try await ArchivedLog.claim(archive, topic: tp.topic, partition: tp.partition, data: data)
        } catch {
            throw counted(error, tp)
        }
        logs[tp] = log
        switch log.reconciliation {
        case .kept: break
        case .downloaded(let segments):
            logger.info("\(tp): continuing the object store's log (epoch \(log.epoch)): \(segments) segments downloaded")
        case .replaced(let aside, let segments):
            logger.warning(
                "\(tp): another machine continued this log; the local copy was set aside as \(aside), the object store's \(segments) segments downloaded (epoch \(log.epoch))")
        }
    }

    /// Hands over a log's state; returns at once.
    func submit(
        _ tp: TopicPartition, sealed: [Manifest.Segment], directory: String, checkpoint: Int64?? = nil,
        retainMilliseconds: Int64? = nil
    ) {
        guard logs[tp] != nil, fatal == nil else { return }
        var job = pending[tp] ?? Job(directory: directory)
        job.sealed = sealed
        if let checkpoint { job.checkpoint = checkpoint }
        if let retainMilliseconds { job.retainMilliseconds = retainMilliseconds }
        pending[tp] = job
        if running == nil { running = Task { await self.run() } }
    }

    private func run() async {
        while let tp = pending.keys.first, fatal == nil {
            let job = pending.removeValue(forKey: tp)!
            guard let log = logs[tp] else { continue }
            do {
                try await process(job, log, tp)
            } catch let error as ArchiveError {
                fatal = counted(error, tp)
            } catch {
                metrics.archiveErrors.increment()
                logger.error("object store, \(tp): \(error); the sealed segments stay on disk and are uploaded at the next attempt")
            }
        }
        running = nil
    }

    private func process(_ job: Job, _ log: ArchivedLog, _ tp: TopicPartition) async throws {
        if let sealed = job.sealed {
            let uploaded = try await log.publish(sealed: sealed, directory: job.directory)
            if !uploaded.isEmpty {
                metrics.uploadedSegments.increment(by: uploaded.count)
                metrics.uploadedBytes.increment(by: Int(uploaded.reduce(0) { $0 + $1.segmentBytes + $1.indexBytes }))
            }
        }
        if let durable = job.checkpoint, try await log.checkpoint(durableOffset: durable) != nil {
            metrics.checkpoints.increment()
        }
        if let retain = job.retainMilliseconds {
            let removed = try await log.applyRetention(retainMilliseconds: retain)
            if let last = removed.last {
                metrics.retiredSegments.increment(by: removed.count)
                logger.info("\(tp): retention removed \(removed.count) segments before offset \(last.next)")
            }
        }
    }

    private func counted(_ error: any Error, _ tp: TopicPartition) -> any Error {
        if case .fenced? = error as? ArchiveError {
            metrics.fenced.increment()
            logger.error("\(tp): \(error); stopping: another owner holds this log")
        }
        return error
    }

    /// Throws what ended the object-store side, if anything did.
    func check() throws {
        if let fatal { throw fatal }
    }

    /// Puts the final state of some logs in the bucket before the worker lets them go (a revoke,
    /// the shutdown): waits for the background work, then uploads `jobs` itself. Unlike the
    /// background work, any failure here is thrown: the caller must not report these logs as
    /// handed over.
    func drain(_ jobs: [TopicPartition: Job]) async throws {
        // Only the job in flight is waited for: the loop hands every log over again at its next
        // tick, so a bucket that does not answer costs one job's retries here, not one per log.
        pending.removeAll()
        while let running { await running.value }
        try check()
        for (tp, job) in jobs {
            guard let log = logs[tp] else { continue }
            do {
                try await process(job, log, tp)
            } catch {
                throw counted(error, tp)
            }
        }
    }

    /// Forgets logs the worker no longer owns.
    func release(_ partitions: [TopicPartition]) {
        for tp in partitions {
            logs[tp] = nil
            pending[tp] = nil
        }
    }
}
