// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditArchive
import AuditModel
import AuditStore
import CoreMetrics
import Kafka
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The state the worker's one task owns: the Kafka handles, the open logs and the decoders.
struct WorkerLoop {
    let worker: Worker
    let logger: Logger
    let store: AuditStore
    let consumer: Consumer
    let producer: Producer
    /// One decoder per core: a batch is decoded on all of them (``prepare(_:)``).
    var decoders: [NotificationDecoder]
    var logs: [TopicPartition: PartitionLog] = [:]
    /// The object-store side, when the worker has one (``WorkerConfiguration/archive``).
    let uploader: ArchiveUploader?
    var lastCheckpoint = ContinuousClock.now
    var lastHousekeeping = ContinuousClock.now
    /// Partitions whose logs were appended to since the last durability barrier.
    var unsynced: Set<TopicPartition> = []
    var lastBarrier = ContinuousClock.now
    /// The barrier being flushed while the next batches are appended (``makeDurable()``).
    var flushing: Flushing?
    /// The shares of the last batch that wait for their forwarded copies (``process(_:until:)``).
    var forwarding: Forwarding?
    /// Where barriers are flushed: a thread of its own, off the cooperative pool (STYLE.md §7.5).
    let flusher = ThreadTaskExecutor(label: "audit.worker.flush")
    var lastExpiry = ContinuousClock.now
    /// By-id offsets durable in the store and committed: their copies may be deleted from Kafka.
    var purgeable: [TopicPartition: Int64] = [:]
    var lastPurge = ContinuousClock.now
    /// False once the broker refused DeleteRecords (librdkafka's mock cluster does).
    var purgeSupported = true
    /// The last commit went unanswered for its whole timeout: the group coordinator is out of
    /// reach, and the shutdown does not wait for it in full again (``shutDown()``).
    var coordinatorUnanswered = false
    /// Records appended since the worker started, by what they became (``Worker/Progress``).
    var appended = Worker.Counts()
    /// Seconds spent in each phase of the loop, for the log line at shutdown.
    var phaseSeconds: [String: Double] = [:]

    var configuration: WorkerConfiguration { worker.configuration }
    var metrics: WorkerMetrics { worker.metrics }
    var planning: BatchPlanning {
        BatchPlanning(
            metrics: metrics, logger: logger, byIDTopic: configuration.byIDTopic, deadLetterTopic: configuration.deadLetterTopic)
    }

    init(worker: Worker, validator: SchemaValidator, logger: Logger) throws {
        self.worker = worker
        self.logger = logger
        let configuration = worker.configuration
        store = try AuditStore(directory: configuration.dataDirectory, options: configuration.storeOptions)
        var consumerConfiguration = configuration.kafka
        consumerConfiguration.set("group.id", configuration.group)
        // librdkafka 2.0 (Debian 12's) stops fetching once the consumer queue reaches
        // `queued.max.messages.kbytes`, until its broker thread next wakes: the consumer wakes it
        // when the queue has drained to half (`FetchWaker`), and the other half must cover the
        // fetch that refills it. 16 MiB (about 10,000 notifications) stored as fast as 64 MiB,
        // librdkafka's default, with 40 MiB less peak RSS (`bench worker`).
        if consumerConfiguration["queued.max.messages.kbytes"] == nil {
            consumerConfiguration.set("queued.max.messages.kbytes", "16384")
        }
        consumer = try Consumer(configuration: consumerConfiguration, logger: logger)
        var producerConfiguration = Repair.producerConfiguration(configuration.kafka)
        producerConfiguration.set("linger.ms", "5")
        // A forwarded copy is retried for as long as the broker is away: its batch waits for it
        // (``delivered(_:until:)``), and giving up would only make the batch fail.
        producerConfiguration.set("message.timeout.ms", "0")
        producer = try Producer(configuration: producerConfiguration, logger: logger)
        uploader = configuration.archive.map {
            ArchiveUploader(archive: $0, data: configuration.dataDirectory, metrics: worker.metrics, logger: logger)
        }
        decoders = (0..<max(1, min(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 8))).map { _ in NotificationDecoder(validator: validator) }
    }

    /// Connection and security settings a producer shares with the consumer's configuration.
    static func sharedKeys(_ key: String) -> Bool {
        key.hasPrefix("security.") || key.hasPrefix("sasl.") || key.hasPrefix("ssl.") || key == "client.id"
            || key.hasPrefix("socket.") || key.hasPrefix("reconnect.") || key == "debug"
    }

    mutating func run(until stop: () -> Bool) async throws {
        guard try await ensureByIDTopic(until: stop) else { return try await shutDown() }
        try consumer.subscribe(configuration.topics + [configuration.byIDTopic])
        logger.info("worker started", metadata: ["kafka.group.id": "\(configuration.group)", "audit.topics": "\(configuration.topics)"])
        do {
            while !stop() && !Task.isCancelled {
                // With appended records waiting for their barrier, wake up in time for it.
                let wait = unsynced.isEmpty && flushing == nil && forwarding == nil
                    ? configuration.idleTick : min(configuration.idleTick, configuration.syncInterval)
                var phase = ContinuousClock.now
                let batch = try await consumer.poll(maxMessages: configuration.batchSize, timeout: wait)
                addTime("wait", batch.waited)
                addTime("poll", phase.duration(to: .now) - batch.waited)
                for error in batch.errors { try handle(error) }
                if !batch.messages.isEmpty { try await process(batch.messages, until: stop) }
                // A batch's copies travel while the next batch is polled and decoded; anything
                // else (a barrier after an idle poll, a rebalance, housekeeping, the shutdown)
                // first waits for them and appends what waited.
                let housekeepingDue = ContinuousClock.now - lastHousekeeping >= configuration.idleTick
                if batch.messages.isEmpty || batch.rebalance != nil || housekeepingDue || stop() {
                    try await completeForwarding(until: stop)
                }
                if batch.messages.isEmpty || ContinuousClock.now - lastBarrier >= configuration.syncInterval {
                    phase = .now
                    try await makeDurable()
                    addTime("barrier", since: phase)
                }
                if let rebalance = batch.rebalance {
                    phase = .now
                    try await handle(rebalance)
                    addTime("rebalance", since: phase)
                }
                if !stop() && housekeepingDue { try await housekeeping() }
            }
        } catch {
            // A store error (a full disk, EIO) ends the worker without a commit: only recovery,
            // reading the files, can say what is durable (FORMAT.md §8).
            if let error = error as? StoreError { metrics.storeErrors(error.code.description).increment() }
            logger.error("worker stopping on error: \(error)")
            throw error
        }
        try await shutDown()
    }

    // MARK: - Batches

    /// Decodes, validates and hashes the values of `messages` on every core: the part of a
    /// message's work that depends on its bytes alone (about half of it). A notification to be
    /// forwarded is not hashed: its copy is, in the by-id log that stores it. Planning, which
    /// correlates and must see a partition's messages in order, follows partition by partition
    /// (``BatchPlanning``).
    private mutating func prepare(_ messages: [KafkaMessage]) -> [Prepared?] {
        let lanes = messages.count >= laneWorthyBatch ? decoders.count : 1
        let byIDTopic = configuration.byIDTopic
        return decoders.withUnsafeMutableBufferPointer { decoders in
            // A lane decodes one message at a time, with its own decoder.
            nonisolated(unsafe) let decoders = decoders
            return onLanes(messages.count, lanes: lanes) { (lane, i) -> Prepared? in
                guard let value = messages[i].value else { return nil }
                let decoded = decoders[lane].decode(value)
                guard case .audit(let notification) = decoded,
                      BatchPlanning.routing(of: messages[i], byIDTopic: byIDTopic).forwardTopic(id: notification.id) == nil
                else { return Prepared(decoded: decoded) }
                return Prepared(decoded: decoded, hash: ContentHash(of: value))
            }
        }
    }

    /// Stores a batch: decodes it, plans it, sends its copies (forwarded notifications, dead
    /// letters), appends every share that sends none, and then appends what waited for the
    /// previous batch's copies. The shares that send copies are appended once those are
    /// acknowledged, after the next batch was polled, decoded, planned and partly appended
    /// (``completeForwarding(until:)``): waiting for the acknowledgements was the unkeyed
    /// worker's longest phase (`bench worker`). The planner keeps each log's next offset itself
    /// (``PartitionLog/nextToPlan``), so planning does not wait for those appends.
    ///
    /// Nothing is durable before the barrier that follows its append, and a share that sends
    /// copies is appended only after every one of them was acknowledged, its markers recording
    /// where they went (DESIGN §6.8: the copy is accounted for until it is stored). A log's
    /// shares are appended in offset order: a share that sends no copies still waits while an
    /// earlier share of its log does.
    mutating func process(_ messages: [KafkaMessage], until stop: () -> Bool) async throws {
        var phase = ContinuousClock.now
        let prepared = prepare(messages)
        addTime("decode", since: phase)
        phase = .now
        let shares = planning.plan(messages, prepared, logs: logs, lanes: decoders.count)
        addTime("plan", since: phase)
        phase = .now
        var sent = Forwarding(shares: shares.filter(\.waitsForCopies))
        for share in sent.shares {
            for (i, item) in share.planned.enumerated() {
                guard case .forward(_, let record) = item else { continue }
                sent.tickets[share.topicPartition, default: [:]][i] = try await producer.enqueueTracked(record)
            }
            for record in share.deadLetters { sent.deadLetters.append(try await producer.enqueueTracked(record)) }
        }
        if !sent.shares.isEmpty { producer.sendQueued() }
        addTime("forward", since: phase)
        let waiting = Set(forwarding?.shares.map(\.topicPartition) ?? [])
        phase = .now
        try append(shares.filter { !$0.waitsForCopies && !waiting.contains($0.topicPartition) }, reports: [:])
        addTime("append", since: phase)
        // Stopping while the broker does not acknowledge the previous batch's copies, the shares
        // that wait for them, or behind them, are not stored: their partitions consume them again.
        guard try await completeForwarding(until: stop) else {
            sent.abandon(producer)
            return
        }
        phase = .now
        try append(shares.filter { !$0.waitsForCopies && waiting.contains($0.topicPartition) }, reports: [:])
        addTime("append", since: phase)
        if !sent.shares.isEmpty { forwarding = sent }
    }

    /// The shares of a batch that wait for their copies, and the tickets of those copies.
    struct Forwarding {
        var shares: [BatchPlanning.Share]
        /// The forwarded notifications', by the share's partition and the item's index in it.
        var tickets: [TopicPartition: [Int: DeliveryTicket]] = [:]
        var deadLetters: [DeliveryTicket] = []

        var allTickets: [DeliveryTicket] { tickets.values.flatMap(\.values) + deadLetters }

        func abandon(_ producer: Producer) {
            for ticket in allTickets { producer.abandon(ticket) }
        }
    }

    /// Waits until the last batch's copies are acknowledged, then appends the shares that waited
    /// for them. Asked to stop while the broker does not acknowledge, it appends nothing and
    /// returns false: those shares' offsets are not committed, and they are consumed again
    /// after a restart (copies forwarded twice are stored once).
    @discardableResult
    mutating func completeForwarding(until stop: () -> Bool) async throws -> Bool {
        guard let forwarding else { return true }
        self.forwarding = nil
        var phase = ContinuousClock.now
        guard let reports = try await delivered(forwarding, until: stop) else {
            forwarding.abandon(producer)
            logger.notice("stopping before a batch's forwarded copies were acknowledged; the partitions that forwarded them consume it again")
            return false
        }
        addTime("forward", since: phase)
        phase = .now
        try append(forwarding.shares, reports: reports)
        addTime("append", since: phase)
        return true
    }

    /// Appends the planned records of `shares` to their logs, on the lanes, with each forwarded
    /// copy's position (its acknowledgement, by the share's partition and the item's index, in
    /// `reports`) in its marker; the logs then wait for the next barrier.
    private mutating func append(_ shares: [BatchPlanning.Share], reports: [TopicPartition: [Int: DeliveryReport]]) throws {
        var counts = Worker.Counts()
        var appends: [LogAppend] = []
        for share in shares {
            counts += share.counts
            guard !share.planned.isEmpty else { continue }
            let (tp, items) = (share.topicPartition, share.planned)
            var append = LogAppend(writer: share.log.writer)
            append.records.reserveCapacity(items.count)
            append.hashes.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                switch item {
                case .record(let record, let hash):
                    append.records.append(record)
                    append.hashes.append(hash)
                case .forward(var record, _):
                    // Every copy was acknowledged (``delivered(_:until:)`` throws otherwise).
                    if let report = reports[tp]?[i], case .forwarded(let topic, let key, _) = record.body {
                        let copy = CopyPosition(partition: report.topicPartition.partition, offset: report.offset)
                        record.body = .forwarded(topic: topic, key: key, copy: copy)
                    }
                    append.records.append(record)
                    append.hashes.append(nil)
                }
            }
            appends.append(append)
            unsynced.insert(tp)
            if tp.topic == configuration.byIDTopic {
                metrics.byIDConsumed.increment(by: Int64(items.count))
            } else {
                metrics.sourceConsumed.increment(by: Int64(items.count))
                counts.sourceConsumed += items.count
            }
        }
        try Self.append(appends, lanes: decoders.count)
        appended += counts
    }

    /// One log's share of a batch.
    private struct LogAppend {
        let writer: LogWriter
        var records: [StoreRecord] = []
        var hashes: [ContentHash?] = []
    }

    /// Appends each log's share of a batch, the logs spread over `lanes` threads.
    ///
    /// Appending (encoding, the journal, hashing, compression, indexing) is about half of a
    /// worker's time, and logs share nothing but the store's compression contexts (one per
    /// core): each writer has its own files and one owner at a time, here the lane that took it.
    /// A failure is thrown once every lane is done, the first in the batch's order; logs
    /// appended meanwhile are not yet durable, so nothing of the batch is committed.
    private static func append(_ appends: [LogAppend], lanes: Int) throws(StoreError) {
        let total = appends.reduce(0) { $0 + $1.records.count }
        guard lanes > 1, appends.count > 1, total >= laneWorthyBatch else {
            for append in appends { try append.writer.append(append.records, hashes: append.hashes) }
            return
        }
        // Each log is taken by exactly one lane (``onLanes`` hands each index out once).
        nonisolated(unsafe) let appends = appends
        try eachOnLanes(appends.count, lanes: lanes) { (i) throws(StoreError) in
            try appends[i].writer.append(appends[i].records, hashes: appends[i].hashes)
        }
    }

    func handle(_ error: ConsumerError) throws {
        metrics.kafkaErrors(error.error.name ?? "\(error.error.code)").increment()
        if error.error.isFatal { throw error.error }
        logger.warning("kafka: \(error)")
    }

    // MARK: - Periodic work and shutdown

    /// Adds the time since `start` to a phase of the loop (``WorkerMetrics/phaseNames``).
    mutating func addTime(_ phase: String, since start: ContinuousClock.Instant) {
        addTime(phase, start.duration(to: .now))
    }

    mutating func addTime(_ phase: String, _ duration: Duration) {
        metrics.addTime(phase, duration)
        phaseSeconds[phase, default: 0] += duration.inSeconds
    }

    mutating func housekeeping() async throws {
        lastHousekeeping = .now
        if ContinuousClock.now - lastPurge >= Self.purgeInterval { await purgeStoredCopies() }
        for log in logs.values { try log.writer.rollIfDue() }
        try await archiveHousekeeping()
        if ContinuousClock.now - lastExpiry >= .seconds(60) {
            lastExpiry = .now
            let cutoff = currentMicroseconds() - configuration.duplicateRetention.inMicroseconds
            for log in logs.values { log.expire(before: cutoff) }
        }
        if let lag = try? consumer.lag() {
            for (tp, value) in lag { metrics.consumerLag(tp).record(value) }
        }
    }

    mutating func shutDown() async throws {
        try await completeForwarding(until: { true })
        try await finishFlushing()
        try await sealAndPublish(Array(logs.keys))
        let offsets = try closeDurably(Array(logs))
        logs = [:]
        // The resume offsets are durable in the store, which is what an assignment resumes from;
        // the commit only tells the group. With the coordinator unreachable it would wait for the
        // session timeout (45 s), longer than a supervisor's stop grace: it gets 5 s. When the
        // last commit went unanswered the coordinator is most likely still gone, and the stop
        // gives the commit 1 s and leaving the group 2 s instead of 5 and 10.
        let unreachable = coordinatorUnanswered
        let committed = try await commit(offsets, timeout: unreachable ? .seconds(1) : Self.commitTimeout)
        // Every stored batch had its forwarded copies acknowledged before it was stored; what
        // is still in flight belongs to a batch given up on a stop, consumed again after restart.
        _ = try? await producer.flush(timeout: .seconds(2))
        do {
            // Leaving the group needs the coordinator too; without it, librdkafka would wait for
            // the session timeout. The group then sees this member leave as after a crash.
            try await consumer.close(timeout: unreachable && !committed ? .seconds(2) : .seconds(10))
        } catch {
            logger.warning("left the consumer group without its coordinator: \(error)")
        }
        worker.publish { progress in
            progress.assigned = []
            progress.set(appended)
            for (tp, offset) in offsets {
                progress.durable[tp] = offset
                if committed { progress.committed[tp] = offset }
            }
        }
        let phases = phaseSeconds.sorted { $0.key < $1.key }
        logger.info(
            "worker stopped cleanly",
            metadata: [
                "audit.loop_seconds": "\(phases.map { "\($0.key)=\((($0.value * 100).rounded() / 100))" }.joined(separator: " "))",
                "kafka.fetch_wakes": "\(consumer.fetchWakes)",
            ])
    }
}
