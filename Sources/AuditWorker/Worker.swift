// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import Dispatch
public import Logging
public import ServiceLifecycle
import Synchronization

/// One member of the workers' consumer group: poll → decode → route → store, exactly once.
///
/// **Routing.** A notification whose Kafka key is its `payload.id` is stored in its source
/// partition's log: its partner landed on the same partition. Any other (oslo.messaging sends
/// them unkeyed) is re-keyed by `payload.id` onto the group's by-id topic and a `forwarded`
/// marker is stored in the source log; the by-id topic is consumed by the same group, so both
/// halves of a call meet in one by-id log whatever partition and worker they arrived at.
/// Non-audit notifications become `skipped` records, invalid input `quarantined` records with
/// the original bytes (and, optionally, a copy on a dead-letter topic).
///
/// **Exactly once.** Every consumed offset becomes exactly one record (gaps in the source become
/// `gap` records), appended in offset order. After each batch the logs are made durable and only
/// then are offsets committed; on assignment each partition resumes from its log's durable
/// offset (DESIGN §6.3), never from Kafka's. Forwarded copies are produced and acknowledged before
/// their markers become durable; a crash in between re-forwards, and the by-id log recognises the
/// redelivered copy by its digest and stores it once.
///
/// **Lifecycle.** A worker is a swift-service-lifecycle `Service`: in a `ServiceGroup`, a graceful
/// shutdown (SIGTERM, SIGINT) makes it finish its batch, make everything durable, commit and
/// leave the group before ``run()`` returns. ``progressUpdates()`` tells what it made durable.
///
/// - Important: one task runs ``run()``. Disk I/O (fsync) happens on that task's own thread,
///   never on the cooperative pool.
public final class Worker: Service {
    public let configuration: WorkerConfiguration
    /// Where the worker records its metrics (swift-metrics, through the factory it was given).
    public let metrics: WorkerMetrics
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private let validator: SchemaValidator
    let progressState = Mutex(ProgressState())

    /// Creates a worker.
    ///
    /// - Parameters:
    ///   - metrics: where counters, gauges and the fsync histogram go; by default the process-wide
    ///     `MetricsSystem`. Give each worker of one process its own (``WorkerMetrics/init(registry:)``)
    ///     to tell their counts apart.
    /// - Throws: when the schemas cannot be loaded or the data directory cannot be created.
    public init(configuration: WorkerConfiguration, metrics: WorkerMetrics = WorkerMetrics(),
                logger: Logger = Logger(label: "audit.worker")) throws {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.validator = try SchemaValidator.bundled()
    }

    /// Asks ``run()`` to finish its batch, make everything durable, commit and leave the group
    /// (what a graceful shutdown of its `ServiceGroup` does).
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Runs until ``stop()``, a graceful shutdown or cancellation, then shuts down cleanly.
    ///
    /// - Throws: `WorkerError`, `StoreError` (the worker stops without a commit) or `KafkaError`
    ///   (fatal client errors).
    public func run() async throws {
        defer { publish { $0.finished = true } }
        let executor = ThreadTaskExecutor(label: "audit.worker.\(configuration.group)")
        try await withGracefulShutdownHandler {
            try await withTaskExecutorPreference(executor) {
                var loop = try WorkerLoop(worker: self, validator: validator, logger: logger)
                try await loop.run { self.stopRequested.load(ordering: .acquiring) }
            }
        } onGracefulShutdown: {
            self.logger.info("graceful shutdown: draining")
            self.stop()
        }
    }
}
