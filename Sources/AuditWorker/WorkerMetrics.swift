// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
public import CoreMetrics
import Kafka
import Synchronization

/// The worker's counters, gauges and histogram, recorded through swift-metrics.
///
/// A worker records into the `MetricsFactory` it is given, not into the process-wide
/// `MetricsSystem` alone: `MetricsSystem.bootstrap` can run once per process, and a process may
/// run several workers (the tests, the demo) whose counts must stay apart. The `audit-trail
/// worker` command bootstraps the global system once and passes its factory.
///
/// Names and labels are those of the Prometheus exposition (``descriptions`` holds each one's
/// HELP text): `partition` (as `topic[partition]`), `reason` and `phase`.
public final class WorkerMetrics: Sendable {
    private let factory: any MetricsFactory

    let sourceConsumed: Counter
    let byIDConsumed: Counter
    let stored: Counter
    let requests: Counter
    let responses: Counter
    let forwarded: Counter
    let duplicates: Counter
    let conflicts: Counter
    let skipped: Counter
    let gapOffsets: Counter
    let commitDeferred: Counter
    let redelivered: Counter
    let unassignedMessages: Counter
    let damagedJournals: Counter
    let purges: Counter
    let uploadedSegments: Counter
    let uploadedBytes: Counter
    let checkpoints: Counter
    let retiredSegments: Counter
    let fenced: Counter
    let archiveErrors: Counter
    let assignedPartitions: Gauge
    let fsync: Timer
    private let phases: [String: FloatingPointCounter]
    private let labelled = Mutex<[String: AnyObject]>([:])

    /// The loop's phases, in the order ``WorkerLoop`` runs them (`audit_worker_seconds_total{phase}`):
    /// `wait` is the part of a poll spent waiting for librdkafka with its queue empty, `poll` the
    /// part spent taking messages out of it.
    static let phaseNames = ["wait", "poll", "decode", "plan", "forward", "append", "barrier", "rebalance"]

    /// Metrics recorded through `factory` (by default the process-wide `MetricsSystem`'s).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        func counter(_ name: String) -> Counter { Counter(label: "audit_\(name)_total", factory: factory) }
        sourceConsumed = counter("source_consumed")
        byIDConsumed = counter("by_id_consumed")
        stored = counter("stored")
        requests = counter("requests")
        responses = counter("responses")
        forwarded = counter("forwarded")
        duplicates = counter("duplicates")
        conflicts = counter("conflicts")
        skipped = counter("skipped")
        gapOffsets = counter("gap_offsets")
        commitDeferred = counter("commit_deferred")
        redelivered = counter("redelivered")
        unassignedMessages = counter("unassigned_messages")
        damagedJournals = counter("damaged_journals")
        purges = counter("purges")
        uploadedSegments = counter("archive_uploaded_segments")
        uploadedBytes = counter("archive_uploaded_bytes")
        checkpoints = counter("archive_checkpoints")
        retiredSegments = counter("archive_retired_segments")
        fenced = counter("archive_fenced")
        archiveErrors = counter("archive_errors")
        assignedPartitions = Gauge(label: "audit_assigned_partitions", factory: factory)
        fsync = Timer(label: "audit_fsync_seconds", factory: factory)
        phases = Dictionary(uniqueKeysWithValues: Self.phaseNames.map { phase in
            (phase, FloatingPointCounter(label: "audit_worker_seconds_total", dimensions: [("phase", phase)], factory: factory))
        })
        // Known label values are exported from the start, so a rate over them is defined before
        // the first loss.
        for reason in ["by_id_gap", "source_gap"] { _ = lost(reason) }
    }

    /// Adds to the time the loop spent in one of ``phaseNames``.
    func addTime(_ phase: String, _ duration: Duration) {
        phases[phase]?.increment(by: duration.inSeconds)
    }

    /// `audit_lost_total{reason}`: `by_id_gap` (forwarded copies deleted unread), `source_gap`.
    func lost(_ reason: String) -> Counter { labelledCounter("audit_lost_total", ("reason", reason)) }

    /// `audit_quarantined_total{reason}`, by quarantine reason code.
    func quarantined(_ reason: String) -> Counter { labelledCounter("audit_quarantined_total", ("reason", reason)) }

    /// `audit_kafka_errors_total{reason}`, by librdkafka error name.
    func kafkaErrors(_ reason: String) -> Counter { labelledCounter("audit_kafka_errors_total", ("reason", reason)) }

    /// `audit_store_errors_total{reason}`, by store error code.
    func storeErrors(_ reason: String) -> Counter { labelledCounter("audit_store_errors_total", ("reason", reason)) }

    /// `audit_durable_offset{partition}`: the next offset the partition's log holds durably.
    func durableOffset(_ tp: TopicPartition) -> Gauge { labelledGauge("audit_durable_offset", ("partition", tp.description)) }

    /// `audit_consumer_lag{partition}`.
    func consumerLag(_ tp: TopicPartition) -> Gauge { labelledGauge("audit_consumer_lag", ("partition", tp.description)) }

    // Labelled handles are made once per label value: making one takes the factory's lock.
    private func labelledCounter(_ name: String, _ label: (String, String)) -> Counter {
        labelled.withLock { handles in
            let key = "\(name)\u{0}\(label.1)"
            if let counter = handles[key] as? Counter { return counter }
            let counter = Counter(label: name, dimensions: [label], factory: factory)
            handles[key] = counter
            return counter
        }
    }

    private func labelledGauge(_ name: String, _ label: (String, String)) -> Gauge {
        labelled.withLock { handles in
            let key = "\(name)\u{0}\(label.1)"
            if let gauge = handles[key] as? Gauge { return gauge }
            let gauge = Gauge(label: name, dimensions: [label], factory: factory)
            handles[key] = gauge
            return gauge
        }
    }

    /// The HELP text of each metric the worker exports, by name.
    public static let descriptions: [String: String] = [
        "audit_source_consumed_total": "Offsets of the source topics turned into records (notifications, markers, gaps).",
        "audit_by_id_consumed_total": "Offsets of the by-id topic turned into records.",
        "audit_stored_total": "Audit notifications stored (requests and responses).",
        "audit_requests_total": "Request notifications stored.",
        "audit_responses_total": "Response notifications stored.",
        "audit_forwarded_total": "Unkeyed notifications re-keyed onto the by-id topic (a forwarded marker stays in the source log).",
        "audit_duplicates_total": "Redelivered copies recognised and stored as duplicate markers.",
        "audit_conflicts_total": "Halves stored again with other bytes under an id already seen.",
        "audit_skipped_total": "Non-audit notifications recorded as skipped.",
        "audit_gap_offsets_total": "Offsets Kafka no longer had when the worker reached them, recorded as gaps.",
        "audit_commit_deferred_total": "Offset commits refused or timed out (the store, not the commit, is the resume point).",
        "audit_redelivered_total": "Messages skipped because their offset is already durable in the store.",
        "audit_unassigned_messages_total": "Messages dropped because their partition was no longer assigned.",
        "audit_damaged_journals_total": "Journals found damaged on open, set aside and consumed again from Kafka.",
        "audit_purges_total": "Deletions of stored and committed copies from the by-id topic.",
        "audit_archive_uploaded_segments_total": "Sealed segments uploaded to the object store (with their indexes, then the manifest).",
        "audit_archive_uploaded_bytes_total": "Bytes of sealed segments and indexes uploaded to the object store.",
        "audit_archive_checkpoints_total": "Signed checkpoints written to the object store.",
        "audit_archive_retired_segments_total": "Sealed segments removed from the object store by retention (a signed tombstone stays).",
        "audit_archive_errors_total": "Object-store uploads, checkpoints or retention runs that failed after the client's retries (tried again later).",
        "audit_archive_fenced_total": "Logs this worker lost to another owner in the object store (a conditional put failed): the worker stops.",
        "audit_lost_total": "Notifications lost: forwarded copies deleted unread (by_id_gap), source offsets deleted unread (source_gap).",
        "audit_quarantined_total": "Invalid notifications stored as quarantined records, by reason.",
        "audit_kafka_errors_total": "Errors reported by librdkafka, by error name.",
        "audit_store_errors_total": "Store errors that stopped the worker, by error code.",
        "audit_assigned_partitions": "Partitions (source and by-id) this worker owns.",
        "audit_durable_offset": "The next offset the partition's log holds durably (its resume point).",
        "audit_consumer_lag": "Messages in the partition after the consumer's position.",
        "audit_fsync_seconds": "Duration of the durability barriers (fsync or syncfs of the logs appended to).",
        "audit_worker_seconds_total": "Seconds the worker's loop spent in each phase: poll, decode, plan, forward, append, barrier, rebalance.",
    ]

    /// The buckets of ``fsync`` (`audit_fsync_seconds`): 0.5 ms to 1 s.
    public static let fsyncBuckets: [Duration] = ([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as [Double]).map {
        .nanoseconds(Int64($0 * 1e9))
    }
}
