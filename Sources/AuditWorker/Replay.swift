// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
public import Kafka
import Logging

/// Reads a range of a topic into a separate case store, with the workers' validation and
/// correlation, without joining or disturbing any consumer group.
///
/// The consumer *assigns* the topic's partitions (no group protocol, nothing committed), so the
/// workers' group never sees it. Each partition's range is contiguous — `[start, end)` by offsets,
/// or for times the first offset at or after `since` up to the first at or after `until`, as
/// Kafka's offsets-for-times defines them — and every message in it is kept, as the worker keeps
/// it: a valid notification whole (its bytes exactly as consumed), bad input quarantined, other
/// notifications as skipped markers, a redelivered copy (same id, event type and bytes) as a
/// duplicate marker, offsets the broker no longer has as a gap. Records go into the case store's
/// log of the source (topic, partition) at their source offsets, so a replayed range compares
/// offset by offset with what the workers stored.
///
/// Where the broker cannot look offsets up by time, the range is found by reading the partition
/// from its beginning and comparing message timestamps (slower, same range).
public struct Replay: Sendable {
    /// Which part of the topic.
    public enum Range: Sendable, Hashable {
        /// Per partition, source offsets `[lower, upper)`; partitions not listed are not read.
        case offsets([Int32: Swift.Range<Int64>])
        /// Kafka timestamps (ms since the epoch) in `[since, until)`; `nil` is open-ended (up to
        /// the end the partition had when the replay started).
        case times(since: Int64?, until: Int64?)
    }

    /// What a replay did.
    public struct Summary: Sendable, Equatable {
        /// Messages read and kept, per kind.
        public var notifications = 0
        public var quarantined = 0
        public var skipped = 0
        public var duplicates = 0
        public var gapOffsets: Int64 = 0
        /// Per partition, the offsets kept.
        public var ranges: [Int32: Swift.Range<Int64>] = [:]

        /// Every message kept.
        public var messages: Int { notifications + quarantined + skipped + duplicates }
    }

    public var kafka: KafkaConfiguration
    public var topic: String
    public var range: Range
    /// The case store's directory (must not be a workers' store: it takes the logs' locks).
    public var dataDirectory: String
    public var storeOptions = StoreOptions()

    /// A replay of `range` of `topic` into `dataDirectory`.
    public init(kafka: KafkaConfiguration, topic: String, range: Range, dataDirectory: String) {
        self.kafka = kafka
        self.topic = topic
        self.range = range
        self.dataDirectory = dataDirectory
    }

    /// Reads the range and stores it; `progress` is called with (messages kept, messages in the
    /// range when known).
    /// - Throws: ``KafkaError``, ``StoreError``; a partition whose range holds offsets the case
    ///   store already has throws ``StoreError/Code/nonContiguous``.
    public func run(logger: Logger = Logger(label: "audit.replay"), progress: (Int, Int?) -> Void = { _, _ in })
        async throws -> Summary
    {
        let consumer = try Consumer(configuration: kafka.forPrivateReader(prefix: "audit-trail-replay"), logger: logger)
        let bounds = try await partitionBounds(consumer)
        var summary = Summary()
        var pending: [TopicPartition: PartitionState] = [:]
        for (partition, bound) in bounds where bound.scanFrom < bound.stop {
            pending[TopicPartition(topic, partition)] = PartitionState(bound: bound)
        }
        let total: Int? = bounds.values.allSatisfy(\.exact)
            ? bounds.values.reduce(0) { $0 + Int(max(0, $1.stop - $1.scanFrom)) } : nil
        let store = try AuditStore(directory: dataDirectory, options: storeOptions)
        var writers: [Int32: LogWriter] = [:]
        defer { for writer in writers.values { try? writer.close() } }
        var keeper = try RecordKeeper()
        try consumer.assign(pending.mapValues { .exact($0.bound.scanFrom) })
        logger.info("replay started", metadata: ["audit.topic": "\(topic)", "audit.partitions": "\(pending.count)"])
        var kept = 0
        while !pending.isEmpty {
            try Task.checkCancellation()
            let batch = try await consumer.poll(maxMessages: 4096, timeout: .milliseconds(500))
            for error in batch.errors where error.topicPartition != nil {
                logger.warning("replay: \(error)")
            }
            // Per partition, each record with the content hash of its bytes where the keeper took one.
            var records: [Int32: [(StoreRecord, ContentHash?)]] = [:]
            for message in batch.messages {
                let tp = message.topicPartition
                guard var state = pending[tp], message.offset < state.bound.stop else { continue }
                defer { pending[tp] = state.done ? nil : state }
                if state.next == nil {
                    // The range starts at the first message at or after `since`.
                    if let since = state.bound.since, (message.timestamp ?? .min) < since {
                        if message.offset + 1 >= state.bound.stop { state.done = true }
                        continue
                    }
                    state.next = message.offset
                }
                if let until = state.bound.until, (message.timestamp ?? .min) >= until {
                    state.done = true
                    continue
                }
                let next = state.next!
                if message.offset > next {
                    records[message.partition, default: []].append(
                        (StoreRecord(offset: next, timestamp: -1, body: .gap(to: message.offset)), nil))
                    summary.gapOffsets += message.offset - next
                }
                let (record, outcome, hash) = keeper.record(
                    message.value, offset: message.offset, timestamp: message.timestamp ?? -1,
                    origin: OriginHeader.origin(of: message))
                switch outcome {
                case .notification: summary.notifications += 1
                case .duplicate: summary.duplicates += 1
                case .skipped: summary.skipped += 1
                case .quarantined: summary.quarantined += 1
                }
                records[message.partition, default: []].append((record, hash))
                state.next = message.offset + 1
                if state.next! >= state.bound.stop { state.done = true }
                summary.ranges[message.partition] = (summary.ranges[message.partition]?.lowerBound ?? record.offset)..<state.next!
                kept += 1
            }
            for (partition, batch) in records {
                if writers[partition] == nil { writers[partition] = try store.openWriter(topic: topic, partition: partition) }
                try writers[partition]!.append(batch.map(\.0), hashes: batch.map(\.1))
            }
            progress(kept, total)
            // A partition read up to its stop without a message at it (a deleted or compacted tail).
            for (tp, state) in pending {
                if let position = try consumer.position([tp])[tp] ?? nil, position >= state.bound.stop { pending[tp] = nil }
            }
        }
        for writer in writers.values { try writer.sync() }
        try await consumer.close()
        logger.info("replay done", metadata: ["audit.kept": "\(summary.messages)", "audit.data": "\(dataDirectory)"])
        return summary
    }

    // MARK: Range

    /// Where reading a partition starts and stops.
    struct Bound {
        var scanFrom: Int64
        var stop: Int64
        /// Timestamps still to compare (the broker could not give the offset).
        var since: Int64?
        var until: Int64?
        /// `[scanFrom, stop)` is exactly the range (no timestamp comparison left).
        var exact: Bool { since == nil && until == nil }
    }

    struct PartitionState {
        var bound: Bound
        var next: Int64?
        var done = false

        init(bound: Bound) {
            self.bound = bound
            next = bound.since == nil ? bound.scanFrom : nil
        }
    }

    private func partitionBounds(_ consumer: Consumer) async throws -> [Int32: Bound] {
        var bounds: [Int32: Bound] = [:]
        switch range {
        case .offsets(let ranges):
            for (partition, offsets) in ranges {
                let marks = try await consumer.watermarks(TopicPartition(topic, partition))
                bounds[partition] = Bound(scanFrom: max(offsets.lowerBound, marks.low), stop: min(offsets.upperBound, marks.high))
            }
        case .times(let since, let until):
            let count = try await consumer.partitionCount(of: topic)
            for partition in 0..<count {
                let tp = TopicPartition(topic, partition)
                let marks = try await consumer.watermarks(tp)
                var bound = Bound(scanFrom: marks.low, stop: marks.high)
                if let since {
                    if let offset = try await consumer.offsets(forTimes: [tp: since])[tp] ?? nil {
                        bound.scanFrom = offset
                    } else {
                        bound.since = since
                    }
                }
                if let until {
                    if let offset = try await consumer.offsets(forTimes: [tp: until])[tp] ?? nil, bound.since == nil {
                        bound.stop = min(bound.stop, offset)
                    } else {
                        bound.until = until
                    }
                }
                bounds[partition] = bound
            }
        }
        return bounds
    }
}

extension Replay {
    /// Publishes stored notifications again, byte for byte, keyed by their CADF id: the calls of
    /// the store at `directory` that pass `filters`, oldest first, each request before its
    /// response. `progress` is called with (notifications queued, notifications to publish).
    /// - Returns: the notifications delivered.
    /// - Throws: ``StoreError``, ``KafkaError``; a delivery that failed throws once all are done.
    public static func republish(
        from directory: String, filters: [CallFilter], to topic: String, kafka: KafkaConfiguration,
        progress: (Int, Int) -> Void = { _, _ in }
    ) async throws -> Int {
        var query = CallQuery()
        query.filters = filters
        let reader = try AuditStore(directory: directory).reader()
        let calls = try query.page(of: Trail(reader: reader, window: 0, now: 0, indexOnly: true, requestIDs: Trail.RequestIDs(filters: filters))).calls
        let total = calls.reduce(0) { $0 + ($1.request == nil ? 0 : 1) + ($1.response == nil ? 0 : 1) }
        let producer = try Producer(configuration: kafka)
        let before = producer.summary
        var queued = 0
        for call in calls {
            let call = try call.loadingBodies(from: reader) { _, _ in nil }
            for half in [call.request, call.response] {
                guard let bytes = half?.record.bytes else { continue }
                try await producer.enqueue(ProducerRecord(topic: topic, key: Array(call.id.utf8), value: bytes))
                queued += 1
                if queued % 1000 == 0 { progress(queued, total) }
            }
        }
        progress(queued, total)
        let summary = try await producer.flush(timeout: .seconds(300))
        if summary.failed > before.failed {
            throw KafkaError(.delivery, "\(summary.failed - before.failed) of \(queued) notification(s) were not delivered: \(summary.recentFailures.last.map { "\($0)" } ?? "")")
        }
        return summary.delivered - before.delivered
    }
}
