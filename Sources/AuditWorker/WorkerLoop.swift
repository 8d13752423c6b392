// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import CLinux
import Dispatch
import Kafka
import Logging
import Synchronization

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
    var lastHousekeeping = ContinuousClock.now
    /// Partitions whose logs were appended to since the last durability barrier.
    var unsynced: Set<TopicPartition> = []
    var lastBarrier = ContinuousClock.now
    /// The barrier being flushed while the next batches are appended (``makeDurable()``).
    var flushing: Flushing?
    /// Where barriers are flushed: a thread of its own, off the cooperative pool (STYLE.md §7.5).
    let flusher = ThreadTaskExecutor(label: "audit.worker.flush")
    var lastExpiry = ContinuousClock.now
    /// By-id offsets durable in the store and committed: their copies may be deleted from Kafka.
    var purgeable: [TopicPartition: Int64] = [:]
    var lastPurge = ContinuousClock.now
    /// False once the broker refused DeleteRecords (librdkafka's mock cluster does).
    var purgeSupported = true

    var configuration: WorkerConfiguration { worker.configuration }
    var metrics: WorkerMetrics { worker.metrics }

    init(worker: Worker, validator: SchemaValidator, logger: Logger) throws {
        self.worker = worker
        self.logger = logger
        let configuration = worker.configuration
        store = try AuditStore(directory: configuration.dataDirectory, options: configuration.storeOptions)
        var consumerConfiguration = configuration.kafka
        consumerConfiguration.set("group.id", configuration.group)
        // The prefetch must hold more than a second of work: librdkafka 2.0 (Debian 12's) stops
        // fetching *every* partition for a whole second once the consumer queue reaches
        // `queued.max.messages.kbytes` (newer releases make that `fetch.queue.backoff.ms`).
        // With 16 MiB the worker waited in poll 60 % of the time and stored half as fast
        // (`audit-trail bench worker`); 64 MiB is librdkafka's own default.
        if consumerConfiguration["queued.max.messages.kbytes"] == nil {
            consumerConfiguration.set("queued.max.messages.kbytes", "65536")
        }
        consumer = try Consumer(configuration: consumerConfiguration, logger: logger)
        var producerConfiguration = Repair.producerConfiguration(configuration.kafka)
        producerConfiguration.set("linger.ms", "5")
        // A forwarded copy is retried for as long as the broker is away: its batch waits for it
        // (``delivered(until:)``), and giving up would only make the batch fail.
        producerConfiguration.set("message.timeout.ms", "0")
        producer = try Producer(configuration: producerConfiguration, logger: logger)
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
                let wait = unsynced.isEmpty && flushing == nil
                    ? configuration.idleTick : min(configuration.idleTick, configuration.syncInterval)
                var phase = ContinuousClock.now
                let batch = try await consumer.poll(maxMessages: configuration.batchSize, timeout: wait)
                metrics.addTime("poll", phase.duration(to: .now))
                for error in batch.errors { try handle(error) }
                if !batch.messages.isEmpty { try await process(batch.messages, until: stop) }
                if batch.messages.isEmpty || ContinuousClock.now - lastBarrier >= configuration.syncInterval {
                    phase = .now
                    try await makeDurable()
                    metrics.addTime("barrier", phase.duration(to: .now))
                }
                if let rebalance = batch.rebalance {
                    phase = .now
                    try await handle(rebalance)
                    metrics.addTime("rebalance", phase.duration(to: .now))
                }
                if ContinuousClock.now - lastHousekeeping >= configuration.idleTick { try await housekeeping() }
            }
        } catch {
            // A store error (a full disk, EIO) ends the worker without a commit: only recovery,
            // reading the files, can say what is durable (FORMAT.md §8).
            if let error = error as? StoreError { metrics.add("store_errors", label: error.code.description) }
            logger.error("worker stopping on error: \(error)")
            throw error
        }
        try await shutDown()
    }

    /// The settings of the by-id topic that keep every copy until a worker stored it: those
    /// Kafka Streams gives its repartition topics (no time or size retention).
    static let byIDTopicSettings = ["retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"]

    /// Makes sure the by-id topic exists and keeps its copies (DESIGN §6.8), before anything is
    /// produced into it: a broker would otherwise create it on the fly with its defaults (a few
    /// partitions, a week's or a few MiB's retention), and delete copies before they are read.
    ///
    /// A missing topic is created with the largest source topic's partition count and
    /// ``byIDTopicSettings``; where the broker cannot create it, the worker refuses to start and
    /// says how to create it. An existing topic whose retention can delete unread copies is
    /// refused unless ``WorkerConfiguration/allowByIDRetention`` is set; where the broker cannot
    /// describe it, the worker warns and relies on the accounting: a copy deleted unread is
    /// counted as lost and fails `verify`.
    ///
    /// - Returns: false when asked to stop while the cluster could not be reached.
    private func ensureByIDTopic(until stop: () -> Bool) async throws -> Bool {
        let admin = Admin(using: producer)
        let topic = configuration.byIDTopic
        var listed: [String: Int32]?
        while listed == nil {
            do {
                listed = try await admin.topics(timeout: .seconds(5))
            } catch {
                logger.warning("cannot list the cluster's topics yet, trying again: \(error)")
                if stop() || Task.isCancelled { return false }
            }
        }
        let topics = listed ?? [:]
        guard topics[topic] != nil else {
            let partitions = configuration.topics.compactMap { topics[$0] }.max() ?? 1
            do {
                try await admin.createTopic(topic, partitions: partitions, configuration: Self.byIDTopicSettings)
            } catch {
                let settings = Self.byIDTopicSettings.sorted { $0.key < $1.key }.map { "--config \($0.key)=\($0.value)" }
                throw WorkerError(
                    "the by-id topic \(topic) does not exist and the broker did not create it (\(error)); create it first: kafka-topics.sh --bootstrap-server \(configuration.kafka["bootstrap.servers"] ?? "B") --create --topic \(topic) --partitions \(partitions) \(settings.joined(separator: " "))")
            }
            logger.notice("created the by-id topic \(topic) with \(partitions) partitions, retention.ms=-1")
            return true
        }
        let settings: [String: String]
        do {
            // A broker answers in milliseconds; librdkafka 2.0.2's mock cluster never does (its
            // request waits for a controller until the timeout), and every start pays that wait.
            settings = try await admin.configuration(ofTopic: topic, timeout: .seconds(2))
        } catch {
            logger.warning(
                "cannot read the retention of the by-id topic \(topic) (\(error)): it must keep copies until they are stored (retention.ms=-1, retention.bytes=-1); a copy deleted unread is counted as lost and fails `audit-trail verify`")
            return true
        }
        let deletes = ["retention.ms", "retention.bytes"].filter { key in settings[key].flatMap(Int64.init).map { $0 >= 0 } ?? false }
        guard !deletes.isEmpty else { return true }
        let found = deletes.map { "\($0)=\(settings[$0]!)" }.joined(separator: ", ")
        guard configuration.allowByIDRetention else {
            throw WorkerError(
                "the by-id topic \(topic) can delete copies before they are stored (\(found)); set retention.ms=-1 and retention.bytes=-1 on it (kafka-configs.sh --alter --entity-type topics --entity-name \(topic) --add-config retention.ms=-1,retention.bytes=-1), or start with --allow-by-id-retention")
        }
        logger.warning("the by-id topic \(topic) can delete copies before they are stored (\(found)); allowed by --allow-by-id-retention")
        return true
    }

    // MARK: - Batches

    /// What one consumed message becomes.
    private enum Planned {
        /// A record to store, with the content hash of its bytes where the worker took one.
        case record(StoreRecord, ContentHash? = nil)
        case forward(StoreRecord, ProducerRecord)
    }

    /// What a message's bytes alone decide: the decoded notification, and the content hash of
    /// an audit notification.
    private struct Prepared {
        var decoded: DecodedNotification
        var hash: ContentHash?
    }

    /// Decodes, validates and hashes the values of `messages` on every core: the part of a
    /// message's work that depends on its bytes alone (about half of it). Planning, which
    /// correlates and must see messages in order, stays on the loop's task.
    private mutating func prepare(_ messages: [KafkaMessage]) -> [Prepared?] {
        // Below a few hundred messages, waking other threads costs more than it saves.
        let lanes = messages.count >= 256 ? decoders.count : 1
        return decoders.withUnsafeMutableBufferPointer { decoders in
            // A lane decodes one message at a time, with its own decoder.
            nonisolated(unsafe) let decoders = decoders
            return onLanes(messages.count, lanes: lanes) { (lane, i) -> Prepared? in
                guard let value = messages[i].value else { return nil }
                let decoded = decoders[lane].decode(value)
                guard case .audit = decoded else { return Prepared(decoded: decoded) }
                return Prepared(decoded: decoded, hash: ContentHash(of: value))
            }
        }
    }

    private mutating func process(_ messages: [KafkaMessage], until stop: () -> Bool) async throws {
        var phase = ContinuousClock.now
        let prepared = prepare(messages)
        metrics.addTime("decode", phase.duration(to: .now))
        phase = .now
        var planned: [TopicPartition: [Planned]] = [:]
        var order: [TopicPartition] = []
        var next: [TopicPartition: Int64?] = [:]
        var deadLetters: [ProducerRecord] = []
        for (message, prepared) in zip(messages, prepared) {
            let tp = message.topicPartition
            guard let log = logs[tp] else {
                metrics.add("unassigned_messages")
                continue
            }
            if planned[tp] == nil {
                planned[tp] = []
                order.append(tp)
                next[tp] = log.writer.nextOffset
            }
            let expected = next[tp] ?? nil
            if let expected, message.offset < expected {
                // Already durable in the log (redelivered after a rebalance or restart).
                metrics.add("redelivered")
                continue
            }
            let gapStart = expected ?? 0
            if message.offset > gapStart {
                recordLoss(tp, gapStart..<message.offset)
                planned[tp]!.append(.record(StoreRecord(offset: gapStart, timestamp: -1, body: .gap(to: message.offset))))
            }
            let item = plan(message, prepared, log: log, deadLetters: &deadLetters)
            planned[tp]!.append(item)
            next[tp] = message.offset + 1
        }
        metrics.addTime("plan", phase.duration(to: .now))
        phase = .now
        // Forwarded copies and dead letters are acknowledged before any marker becomes durable,
        // and each marker records where its copy was written (DESIGN §6.8: the copy is
        // accounted for until it is stored).
        var produced = false
        var tickets: [TopicPartition: [Int: DeliveryTicket]] = [:]
        for tp in order {
            for (i, item) in planned[tp]!.enumerated() {
                guard case .forward(_, let record) = item else { continue }
                tickets[tp, default: [:]][i] = try await producer.enqueueTracked(record)
                produced = true
            }
        }
        for record in deadLetters {
            try await producer.enqueue(record)
            produced = true
        }
        if produced, try await !delivered(until: stop) {
            // Asked to stop while the broker does not acknowledge: the batch is not stored, so
            // its offsets are not committed and it is consumed again after a restart (copies
            // forwarded twice are stored once).
            for ticket in tickets.values.flatMap(\.values) { producer.abandon(ticket) }
            logger.notice("stopping before the batch's forwarded copies were acknowledged; it will be consumed again")
            return
        }
        metrics.addTime("forward", phase.duration(to: .now))
        phase = .now
        var appends: [LogAppend] = []
        for tp in order {
            guard let log = logs[tp], let items = planned[tp], !items.isEmpty else { continue }
            var append = LogAppend(writer: log.writer)
            append.records.reserveCapacity(items.count)
            append.hashes.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                switch item {
                case .record(let record, let hash):
                    append.records.append(record)
                    append.hashes.append(hash)
                case .forward(var record, _):
                    // Every copy was acknowledged (``delivered(until:)`` throws otherwise).
                    if let ticket = tickets[tp]?[i], case .success(let report)? = producer.takeDelivery(ticket),
                        case .forwarded(let topic, let key, _) = record.body
                    {
                        let copy = CopyPosition(partition: report.topicPartition.partition, offset: report.offset)
                        record.body = .forwarded(topic: topic, key: key, copy: copy)
                    }
                    append.records.append(record)
                    append.hashes.append(nil)
                }
            }
            appends.append(append)
            unsynced.insert(tp)
            metrics.add(tp.topic == configuration.byIDTopic ? "by_id_consumed" : "source_consumed", items.count)
        }
        try Self.append(appends, lanes: decoders.count)
        metrics.addTime("append", phase.duration(to: .now))
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
        // Below a few hundred records, waking other threads costs more than it saves.
        guard lanes > 1, appends.count > 1, total >= 256 else {
            for append in appends { try append.writer.append(append.records, hashes: append.hashes) }
            return
        }
        // Each log is taken by exactly one lane (``onLanes`` hands each index out once).
        nonisolated(unsafe) let appends = appends
        let failures = onLanes(appends.count, lanes: lanes) { (_, i) -> StoreError? in
            do throws(StoreError) {
                try appends[i].writer.append(appends[i].records, hashes: appends[i].hashes)
                return nil
            } catch {
                return error
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }

    /// A durability barrier in flight, and the partitions it covers.
    struct Flushing {
        var partitions: [TopicPartition]
        var barrier: LogWriter.Barrier
        var flush: Task<Void, any Error>
        var started: ContinuousClock.Instant
    }

    /// Begins the durability barrier of every log appended to since the last one; its flush
    /// runs on ``flusher`` while the loop appends the next batches, and the next call (or a
    /// rebalance, or the shutdown) waits for it and commits the resume offsets it made durable
    /// (DESIGN §6.3: an offset is committed only once everything before it is durable). A crash
    /// loses nothing: a log's resume offset moves only once its barrier's flush returned, and what
    /// follows it is consumed again.
    ///
    /// Flushing in the background: with 500 logs, 45 barriers of one `syncfs` each (~45 ms)
    /// kept the worker waiting a fifth of its time (`audit-trail bench worker`).
    private mutating func makeDurable() async throws {
        lastBarrier = .now
        try await finishFlushing()
        guard !unsynced.isEmpty else { return }
        let partitions = Array(unsynced.filter { logs[$0] != nil })
        unsynced = []
        let barrier = try LogWriter.Barrier(partitions.map { logs[$0]!.writer })
        let flush = Task(executorPreference: flusher) { try barrier.flush() }
        flushing = Flushing(partitions: partitions, barrier: barrier, flush: flush, started: .now)
    }

    /// Waits for the barrier in flight, if any, then commits the resume offsets it made durable.
    private mutating func finishFlushing() async throws {
        guard let flushing else { return }
        self.flushing = nil
        try await flushing.flush.value
        metrics.observeFsync(seconds: flushing.started.duration(to: .now).inSeconds)
        var commits: [TopicPartition: Int64] = [:]
        for (tp, resume) in zip(flushing.partitions, flushing.barrier.finish()) {
            guard let resume else { continue }
            commits[tp] = resume
            metrics.set("durable_offset", label: tp.description, resume)
        }
        if try await commit(commits) {
            for (tp, offset) in commits where tp.topic == configuration.byIDTopic { purgeable[tp] = offset }
        }
        // Each thread that allocates (the decode and append lanes, the flusher, librdkafka's)
        // may get a malloc arena of its own, and glibc keeps an arena's freed memory for it: with
        // the flush in the background, peak RSS with 1M pending requests rose from 229 to
        // 247-260 MiB (`bench worker`; 224 MiB with MALLOC_ARENA_MAX=1, which cost 7 % of the
        // throughput). Handing the free memory back at each barrier: 215-221 MiB, no cost seen.
        malloc_trim(0)
        logger.debug(
            "batch durable",
            metadata: ["audit.logs": "\(flushing.partitions.count)", "audit.stored_total": "\(metrics.value("stored"))",
                       "audit.duplicates_total": "\(metrics.value("duplicates"))"])
        metrics.changed()
    }

    /// Counts and reports offsets of `tp` that Kafka no longer had when the worker reached them.
    ///
    /// They are recorded as a `gap` (so verify proves the log contiguous) and are a loss: of
    /// source notifications that were never read, or, on the by-id topic, of forwarded copies
    /// the broker deleted before they were stored (`audit-trail verify` names each source offset
    /// whose copy is missing, and `audit-trail repair` fetches it again from its source). A loss
    /// is an error, never a warning line alone: it is counted in `audit_lost_total{reason}`.
    private func recordLoss(_ tp: TopicPartition, _ offsets: Range<Int64>) {
        let count = Int(offsets.upperBound - offsets.lowerBound)
        metrics.add("gap_offsets", count)
        if tp.topic == configuration.byIDTopic {
            metrics.add("lost", label: "by_id_gap", count)
            logger.error(
                "lost \(count) forwarded cop\(count == 1 ? "y" : "ies"): offsets \(offsets.lowerBound)..<\(offsets.upperBound) of \(tp) were deleted by the broker before they were stored; `audit-trail verify` names their source offsets and `audit-trail repair` fetches them again (check the retention of \(tp.topic))",
                metadata: ["audit.partition": "\(tp)"])
        } else {
            metrics.add("lost", label: "source_gap", count)
            logger.error(
                "lost \(count) notification(s): offsets \(offsets.lowerBound)..<\(offsets.upperBound) of \(tp) no longer exist in Kafka (deleted before the workers read them)",
                metadata: ["audit.partition": "\(tp)"])
        }
    }

    /// Decides what a message becomes.
    private mutating func plan(
        _ message: KafkaMessage, _ prepared: Prepared?, log: PartitionLog, deadLetters: inout [ProducerRecord]
    ) -> Planned {
        let timestamp = message.timestamp ?? -1
        guard let value = message.value, let prepared else {
            return quarantine(message, reason: "nullValue", detail: "record without a value (tombstone)", bytes: [], deadLetters: &deadLetters)
        }
        switch prepared.decoded {
        case .audit(let notification):
            let isByID = message.topic == configuration.byIDTopic
            let id = notification.id
            guard isByID || message.key.map({ $0.elementsEqual(id.utf8) }) == true else {
                metrics.add("forwarded")
                let headers = OriginHeader.headers(of: message)
                return .forward(
                    StoreRecord(offset: message.offset, timestamp: timestamp, body: .forwarded(topic: configuration.byIDTopic, key: id)),
                    ProducerRecord(topic: configuration.byIDTopic, key: Array(id.utf8), value: value, headers: headers))
            }
            let eventType: NotificationFields.EventType = notification.eventType == .request ? .request : .response
            // The same SHA-256 gives the digest and the journal frame's link (FORMAT.md §2).
            let hash = prepared.hash ?? ContentHash(of: value)
            let digest = hash.digest
            switch log.admit(id: id, eventType: eventType, digest: digest, now: currentMicroseconds()) {
            case .duplicate:
                metrics.add("duplicates")
                return .record(StoreRecord(
                    offset: message.offset, timestamp: timestamp, origin: isByID ? OriginHeader.origin(of: message) : nil,
                    body: .skipped(eventType: DuplicateMarker.eventType(eventType, id: id))))
            case .conflict:
                metrics.add("conflicts")
            case .new:
                break
            }
            metrics.add("stored")
            metrics.add(eventType == .request ? "requests" : "responses")
            let fields = NotificationFields(notification, digest: digest)
            return .record(
                StoreRecord(
                    offset: message.offset, timestamp: timestamp, origin: isByID ? OriginHeader.origin(of: message) : nil,
                    body: .notification(fields, bytes: value)),
                hash)
        case .nonAudit(let other):
            metrics.add("skipped")
            return .record(StoreRecord(offset: message.offset, timestamp: timestamp, body: .skipped(eventType: other.eventType)))
        case .quarantined(let bad):
            return quarantine(message, reason: bad.reason.code.description, detail: bad.reason.description, bytes: bad.original, deadLetters: &deadLetters)
        }
    }

    private func quarantine(_ message: KafkaMessage, reason: String, detail: String, bytes: [UInt8],
                            deadLetters: inout [ProducerRecord]) -> Planned {
        metrics.add("quarantined", label: reason)
        logger.warning("quarantined \(message.topicPartition)@\(message.offset): \(detail)", metadata: ["audit.reason": "\(reason)"])
        if let topic = configuration.deadLetterTopic {
            deadLetters.append(ProducerRecord(
                topic: topic, key: message.key, value: bytes,
                headers: [KafkaHeader(key: "audit.reason", value: Array(detail.utf8))]
                    + [KafkaHeader(key: OriginHeader.topic, value: Array(message.topic.utf8)),
                       KafkaHeader(key: OriginHeader.partition, value: Array(String(message.partition).utf8)),
                       KafkaHeader(key: OriginHeader.offset, value: Array(String(message.offset).utf8))]))
        }
        return .record(StoreRecord(
            offset: message.offset, timestamp: message.timestamp ?? -1,
            origin: message.topic == configuration.byIDTopic ? OriginHeader.origin(of: message) : nil,
            body: .quarantined(reason: reason, detail: detail, bytes: bytes)))
    }

    /// Waits until the forwarded copies and dead letters queued so far are acknowledged, for as
    /// long as the broker is away (its copies never time out: `message.timeout.ms=0`), but
    /// returns `false` as soon as `stop` holds. A copy that fails for good throws.
    ///
    /// A batch cannot be stored before its copies are acknowledged (their markers record where
    /// they went), so an outage of any length is ridden out here, warning every
    /// ``deliveryWarningInterval``; the store, not Kafka, is where the partitions resume.
    private func delivered(until stop: () -> Bool) async throws -> Bool {
        let before = producer.summary.failed
        let start = ContinuousClock.now
        var warned = start
        while true {
            do {
                let summary = try await producer.flush(timeout: .seconds(1))
                if summary.failed > before {
                    throw WorkerError("\(summary.failed - before) forwarded notification(s) were not delivered: \(summary.recentFailures.last.map { "\($0)" } ?? "")")
                }
                if warned != start { logger.notice("forwarded copies acknowledged after \(start.duration(to: .now).components.seconds) s") }
                return true
            } catch let error as KafkaError where error.code == .timedOut {
                if stop() { return false }
                if warned.duration(to: .now) >= Self.deliveryWarningInterval {
                    warned = .now
                    logger.warning("forwarded copies not acknowledged for \(start.duration(to: .now).components.seconds) s: waiting for the broker (\(error))")
                }
            }
        }
    }

    /// How often a batch waiting for its forwarded copies says so.
    static let deliveryWarningInterval = Duration.seconds(30)
    /// How long a commit (at a barrier, a revoke or the shutdown) may wait for the group
    /// coordinator. The store, not the commit, is the resume point: a commit that times out is
    /// only later, and the worker stays responsive (during a broker outage a barrier, a revoke
    /// or a SIGTERM would otherwise wait for the session timeout).
    static let commitTimeout = Duration.seconds(5)

    /// Commits durable offsets. Kafka may refuse during a rebalance; the store, not the
    /// commit, is the resume point, so a refusal only costs a redelivery that is skipped.
    @discardableResult
    private func commit(_ offsets: [TopicPartition: Int64]) async throws -> Bool {
        guard !offsets.isEmpty else { return true }
        do {
            try await consumer.commit(offsets, timeout: Self.commitTimeout)
            return true
        } catch {
            metrics.add("commit_deferred")
            logger.info("commit deferred: \(error)")
            return false
        }
    }

    /// How often copies stored and committed are deleted from the by-id topic.
    static let purgeInterval = Duration.seconds(30)

    /// Deletes from the by-id topic the copies this worker stored durably and committed
    /// (DeleteRecords, as Kafka Streams purges its repartition topics), so a topic without
    /// retention does not grow forever. Where the broker refuses, the worker says so once and
    /// stops trying: the topic then keeps every copy.
    private mutating func purgeStoredCopies() async {
        lastPurge = .now
        guard purgeSupported, !purgeable.isEmpty else { return }
        let offsets = purgeable.filter { logs[$0.key] != nil }
        purgeable = [:]
        do {
            try await Admin(using: producer).deleteRecords(before: offsets, timeout: .seconds(5))
            metrics.add("purges")
        } catch {
            let unsupported = ["_UNSUPPORTED_FEATURE", "UNSUPPORTED_VERSION", "INVALID_REQUEST"].contains(error.name ?? "")
            if unsupported {
                purgeSupported = false
                logger.notice("the broker does not delete records (\(error)): \(configuration.byIDTopic) keeps every copy, so give it room or purge it by other means")
            } else {
                logger.warning("purging stored copies from \(configuration.byIDTopic) failed, tried again later: \(error)")
                for (tp, offset) in offsets where purgeable[tp] == nil { purgeable[tp] = offset }
            }
        }
    }

    private func handle(_ error: ConsumerError) throws {
        metrics.add("kafka_errors", label: error.error.name ?? "\(error.error.code)")
        if error.error.isFatal { throw error.error }
        logger.warning("kafka: \(error)")
    }

    // MARK: - Rebalances

    /// Makes the given logs durable with one group barrier (appends since the last interval's
    /// barrier included), closes them (releasing their locks) and returns their resume offsets.
    private mutating func closeDurably(_ closing: [(TopicPartition, PartitionLog)]) throws -> [TopicPartition: Int64] {
        let resumes = try LogWriter.sync(closing.map(\.1.writer))
        var offsets: [TopicPartition: Int64] = [:]
        for ((tp, log), resume) in zip(closing, resumes) {
            unsynced.remove(tp)
            if let resume { offsets[tp] = resume }
            try log.writer.close()
        }
        return offsets
    }

    private mutating func handle(_ rebalance: Rebalance) async throws {
        // Its commits come first: after a revoke they would move another owner's offsets.
        try await finishFlushing()
        switch rebalance.kind {
        case .revoke:
            let revoked = rebalance.partitions.compactMap { tp in logs.removeValue(forKey: tp).map { (tp, $0) } }
            let offsets = try closeDurably(revoked)
            if !rebalance.isLost { try await commit(offsets) }
            logger.info("partitions revoked: \(rebalance.partitions.map(\.description).joined(separator: ", "))")
            try consumer.completeRebalance(rebalance)
            metrics.set("assigned_partitions", label: "all", Int64(logs.count))
            metrics.changed()
        case .assign:
            var starts: [TopicPartition: Offset] = [:]
            for tp in rebalance.partitions {
                let writer = try await openWriter(tp)
                let log = PartitionLog(topicPartition: tp, writer: writer, now: currentMicroseconds())
                logs[tp] = log
                starts[tp] = writer.resumeOffset.map { .exact($0) } ?? .beginning
                if let resume = writer.resumeOffset { metrics.set("durable_offset", label: tp.description, resume) }
                for damage in writer.recovery.damaged {
                    // Evidence is never deleted: the damaged journal was set aside, its whole
                    // frames before the damage kept, and the log resumes at the damaged offset,
                    // so Kafka delivers the rest again (what it no longer has becomes a counted loss).
                    metrics.add("damaged_journals")
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
            metrics.set("assigned_partitions", label: "all", Int64(logs.count))
            metrics.changed()
        }
    }

    /// Opens a partition's log; waits for a previous local owner to release its lock, then takes
    /// over (fencing it by epoch) if it never does.
    private func openWriter(_ tp: TopicPartition) async throws -> LogWriter {
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
    private func preload(_ log: PartitionLog) throws {
        let now = currentMicroseconds()
        let cutoff = now - configuration.duplicateRetention.inMicroseconds
        try store.recentNotifications(
            topic: log.topicPartition.topic, partition: log.topicPartition.partition, sinceTimestamp: cutoff / 1000
        ) { log.preload($0, now: now, cutoff: cutoff) }
    }

    // MARK: - Periodic work and shutdown

    private mutating func housekeeping() async throws {
        lastHousekeeping = .now
        if ContinuousClock.now - lastPurge >= Self.purgeInterval { await purgeStoredCopies() }
        for log in logs.values { try log.writer.rollIfDue() }
        if ContinuousClock.now - lastExpiry >= .seconds(60) {
            lastExpiry = .now
            let cutoff = currentMicroseconds() - configuration.duplicateRetention.inMicroseconds
            for log in logs.values { log.expire(before: cutoff) }
        }
        if let lag = try? consumer.lag() {
            for (tp, value) in lag { metrics.set("consumer_lag", label: tp.description, value) }
        }
    }

    private mutating func shutDown() async throws {
        try await finishFlushing()
        let offsets = try closeDurably(Array(logs))
        logs = [:]
        // The resume offsets are durable in the store, which is what an assignment resumes from;
        // the commit only tells the group. With the coordinator unreachable it would wait for the
        // session timeout (45 s), longer than a supervisor's stop grace: it gets a few seconds.
        try await commit(offsets)
        // Every stored batch had its forwarded copies acknowledged before it was stored; what
        // is still in flight belongs to a batch given up on a stop, consumed again after restart.
        _ = try? await producer.flush(timeout: .seconds(2))
        do {
            // Leaving the group needs the coordinator too; without it, librdkafka would wait for
            // the session timeout. The group then sees this member leave as after a crash.
            try await consumer.close(timeout: .seconds(10))
        } catch {
            logger.warning("left the consumer group without its coordinator: \(error)")
        }
        let phases = metrics.phaseSeconds().sorted { $0.key < $1.key }
        logger.info(
            "worker stopped cleanly",
            metadata: ["audit.loop_seconds": "\(phases.map { "\($0.key)=\((($0.value * 100).rounded() / 100))" }.joined(separator: " "))"])
    }
}

/// Runs `body(lane, index)` for each index below `count` on `lanes` threads at once
/// (`concurrentPerform`) and returns the results in index order. Indexes are handed out one at a
/// time, so no lane waits for a slower lane's share, and a lane runs one `body` at a time, so
/// what `lane` selects (a decoder) is used by one thread at a time. With one lane it runs on the
/// calling thread.
private func onLanes<T>(_ count: Int, lanes: Int, _ body: @Sendable (_ lane: Int, _ index: Int) -> T) -> [T] {
    guard lanes > 1, count > 1 else { return (0..<count).map { body(0, $0) } }
    let next = Atomic<Int>(0)
    return Array(unsafeUninitializedCapacity: count) { buffer, initialized in
        // Each index is handed out once, so each slot is initialised once, by one lane.
        nonisolated(unsafe) let slots = buffer
        DispatchQueue.concurrentPerform(iterations: min(lanes, count)) { lane in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < count else { return }
                (slots.baseAddress! + i).initialize(to: body(lane, i))
            }
        }
        initialized = count
    }
}

/// Headers that carry a forwarded notification's origin on the by-id topic.
enum OriginHeader {
    static let topic = "audit.origin.topic"
    static let partition = "audit.origin.partition"
    static let offset = "audit.origin.offset"
    static let timestamp = "audit.origin.timestamp"

    /// The headers of the copy of `message` forwarded onto the by-id topic.
    static func headers(of message: KafkaMessage) -> [KafkaHeader] {
        [
            KafkaHeader(key: topic, value: Array(message.topic.utf8)),
            KafkaHeader(key: partition, value: Array(String(message.partition).utf8)),
            KafkaHeader(key: offset, value: Array(String(message.offset).utf8)),
            KafkaHeader(key: timestamp, value: Array(String(message.timestamp ?? -1).utf8)),
        ]
    }

    static func origin(of message: KafkaMessage) -> Origin? {
        func header(_ key: String) -> String? {
            message.headers.first { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
        }
        guard let topic = header(topic), let partition = header(partition).flatMap(Int32.init),
              let offset = header(offset).flatMap(Int64.init) else { return nil }
        return Origin(topic: topic, partition: partition, offset: offset, timestamp: header(timestamp).flatMap(Int64.init) ?? -1)
    }
}

/// How a redelivered duplicate is recorded: a `skipped` record whose event type says so.
public enum DuplicateMarker {
    /// The prefix of a duplicate's `skipped` event type: `duplicate request <id>`.
    public static let prefix = "duplicate "

    /// The `skipped` event type recording a duplicate of half `eventType` of call `id`.
    public static func eventType(_ eventType: NotificationFields.EventType, id: String) -> String {
        "\(prefix)\(eventType == .request ? "request" : "response") \(id)"
    }
}

/// A failure of the worker itself.
public struct WorkerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Microseconds since the epoch.
func currentMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
