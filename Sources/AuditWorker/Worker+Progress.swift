// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import Kafka
import Synchronization

extension Worker {
    /// What a worker has made durable so far: a snapshot, taken after each durability barrier,
    /// each rebalance and the shutdown.
    ///
    /// Counts are of records durable in the store (a batch given up on a stop is not counted),
    /// since the worker started. Tests and the demo await these rather than read metrics: a
    /// metric says what an operator graphs, a progress snapshot what is safe on disk.
    public struct Progress: Sendable, Equatable {
        /// Partitions (source and by-id) the worker owns.
        public var assigned: Set<TopicPartition> = []
        /// Per partition the worker owns or owned, the next offset its log holds durably.
        public var durable: [TopicPartition: Int64] = [:]
        /// Per partition, the last offset committed to Kafka after it was durable.
        public var committed: [TopicPartition: Int64] = [:]
        /// Audit notifications stored.
        public var stored = 0
        /// Redelivered copies recognised (stored as duplicate markers).
        public var duplicates = 0
        /// Notifications re-keyed onto the by-id topic.
        public var forwarded = 0
        /// Non-audit notifications skipped.
        public var skipped = 0
        /// Invalid notifications quarantined.
        public var quarantined = 0
        /// Source offsets consumed (every record of a source log: notifications, markers, gaps).
        public var sourceConsumed = 0
        /// Offsets recorded as gaps (Kafka no longer had them).
        public var gapOffsets = 0
        /// Forwarded copies the broker deleted before they were stored.
        public var lostCopies = 0
        /// Source offsets deleted before they were read.
        public var lostSource = 0
        /// True once the worker has stopped.
        public var finished = false

        /// A worker's state before it ran.
        public init() {}
    }

    /// Counts of records appended (a batch's, or since the worker started).
    struct Counts {
        var stored = 0
        var duplicates = 0
        var forwarded = 0
        var skipped = 0
        var quarantined = 0
        var sourceConsumed = 0
        var gapOffsets = 0
        var lostCopies = 0
        var lostSource = 0

        static func += (total: inout Counts, batch: Counts) {
            total.stored += batch.stored
            total.duplicates += batch.duplicates
            total.forwarded += batch.forwarded
            total.skipped += batch.skipped
            total.quarantined += batch.quarantined
            total.sourceConsumed += batch.sourceConsumed
            total.gapOffsets += batch.gapOffsets
            total.lostCopies += batch.lostCopies
            total.lostSource += batch.lostSource
        }
    }

    /// The latest progress snapshot.
    public var progress: Progress { progressState.withLock { $0.latest } }

    /// Progress snapshots as the worker makes them: the current one first, then each new one.
    /// The stream ends when ``run()`` returns.
    ///
    /// Each call makes a stream of its own. A slow reader sees the newest snapshot, not every one:
    /// each holds everything before it.
    public func progressUpdates() -> AsyncStream<Progress> {
        let (stream, continuation) = AsyncStream.makeStream(of: Progress.self, bufferingPolicy: .bufferingNewest(1))
        let id = progressState.withLock { state -> Int? in
            continuation.yield(state.latest)
            guard !state.latest.finished else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.progressState.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Publishes a new snapshot to every stream (the last one, `finished`, ends them).
    func publish(_ update: (inout Progress) -> Void) {
        let ending = progressState.withLock { state -> [AsyncStream<Progress>.Continuation] in
            update(&state.latest)
            for continuation in state.subscribers.values { continuation.yield(state.latest) }
            guard state.latest.finished else { return [] }
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        // Outside the lock: finishing runs the stream's termination handler, which takes it.
        for continuation in ending { continuation.finish() }
    }

    /// The latest snapshot and the streams that receive the next ones.
    struct ProgressState {
        var latest = Progress()
        var subscribers: [Int: AsyncStream<Progress>.Continuation] = [:]
        var nextID = 0
    }
}

extension Worker.Progress {
    /// Takes the counts of the records made durable.
    mutating func set(_ counts: Worker.Counts) {
        stored = counts.stored
        duplicates = counts.duplicates
        forwarded = counts.forwarded
        skipped = counts.skipped
        quarantined = counts.quarantined
        sourceConsumed = counts.sourceConsumed
        gapOffsets = counts.gapOffsets
        lostCopies = counts.lostCopies
        lostSource = counts.lostSource
    }
}
