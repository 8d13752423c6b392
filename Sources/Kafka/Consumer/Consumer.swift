// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka
import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A consumer (group member or manual assignment) with exactly one owner.
///
/// The owner is the one task that calls ``poll(maxMessages:timeout:)``, ``commit(_:)``,
/// ``completeRebalance(_:startOffsets:)`` and ``close()``; the type is not `Sendable`, so the
/// compiler keeps it with that task. Messages, rebalances and errors arrive on one queue
/// (`rd_kafka_poll_set_consumer`): the owner suspends until librdkafka signals that the queue
/// became non-empty (`rd_kafka_queue_cb_event_enable`), then drains a batch without blocking
/// (`rd_kafka_consume_batch_queue`). A rebalance is recorded by the callback and handed to the
/// owner as a value; librdkafka waits for ``completeRebalance(_:startOffsets:)``, so the owner
/// can await durability and commit before partitions move.
public final class Consumer {
    let handle: KafkaHandle
    private let queue: OpaquePointer
    private let wakeup = WakeupSignal()
    private let logger: Logger
    private let context: ConsumerContext
    private let messageBuffer: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    private static let bufferCapacity = 1024
    private var pendingRebalance: Rebalance?
    private var closed = false
    /// ``subscribe(_:)`` was called: the consumer is a group member.
    private var subscribed = false
    /// The group has given this member an assignment (possibly empty) at least once.
    private var assignedOnce = false
    /// The member was inside #4312's window when it was closed, so its handle must never be
    /// destroyed (see `joinedWithoutAssignment`).
    private var insideJoinWindow = false
    private var topicNames: [OpaquePointer: String] = [:]
    private let fetchWaker: FetchWaker
    /// The most messages the queue held since the fetchers were last woken (``FetchWaker``).
    private var queuedPeak = 0

    /// Creates a consumer. It joins a group only after ``subscribe(_:)``.
    ///
    /// - Throws: ``KafkaError/Code/configuration``, ``KafkaError/Code/unsafeConfiguration``.
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "kafka.consumer")) throws(KafkaError) {
        var configuration = configuration
        // A consumer used only with assign() still needs a group id for librdkafka's offset API.
        if configuration["group.id"] == nil { configuration.set("group.id", "audit-trail-unused") }
        self.logger = logger
        let context = ConsumerContext(logger: logger)
        self.context = context
        self.handle = try KafkaHandle(
            role: .consumer, configuration: configuration.withDefaults(for: .consumer), context: context
        ) { conf in
            rd_kafka_conf_set_rebalance_cb(conf, consumerRebalanceCallback)
            rd_kafka_conf_set_error_cb(conf, consumerErrorCallback)
        }
        self.messageBuffer = .allocate(capacity: Self.bufferCapacity)
        self.fetchWaker = FetchWaker(handle: handle)
        rd_kafka_poll_set_consumer(handle.pointer)
        self.queue = rd_kafka_queue_get_consumer(handle.pointer)
        rd_kafka_queue_cb_event_enable(queue, wakeupCallback, Unmanaged.passUnretained(wakeup).toOpaque())
    }

    deinit {
        if !closed {
            // An owner that let go without closing (it threw) must not abort the process (#4312).
            settleFirstAssignment(until: .now + Self.firstAssignmentWait)
            insideJoinWindow = joinedWithoutAssignment
            if insideJoinWindow {
                // The member leaves its group, so no partition waits for it.
                context.beginClosing()
                _ = rd_kafka_consumer_close(handle.pointer)
            } else {
                handle.destroyFlags = Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
            }
        }
        if insideJoinWindow {
            // Destroying the handle would abort the process (#4312): it is kept instead.
            handle.keepUndestroyed()
            Self.keptUndestroyed.add(1, ordering: .relaxed)
            logger.warning(
                "a consumer that joined its group but was never assigned is left undestroyed: librdkafka before 2.3.0 aborts on destroying it (librdkafka #4312)"
            )
        }
        fetchWaker.finish()
        // Stop callbacks before the signal they point to can go away, then free the queue;
        // the handle is destroyed after (KafkaHandle.deinit), closing the group session if needed.
        rd_kafka_queue_cb_event_enable(queue, nil, nil)
        rd_kafka_queue_destroy(queue)
        messageBuffer.deallocate()
    }

    /// Joins the group (from `group.id`) and subscribes to `topics`.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        try PartitionList.with(topics.map { (TopicPartition($0, RD_KAFKA_PARTITION_UA), nil) }) { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_subscribe(handle.pointer, list), function: "rd_kafka_subscribe")
        }
        subscribed = true
    }

    /// Assigns partitions explicitly, outside any group protocol, each from its offset.
    public func assign(_ partitions: [TopicPartition: Offset]) throws(KafkaError) {
        let entries = partitions.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value.rawValue)) }
        try PartitionList.with(entries) { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_assign(handle.pointer, list), function: "rd_kafka_assign")
        }
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try KafkaError.check(rd_kafka_assignment(handle.pointer, &list), function: "rd_kafka_assignment")
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return PartitionList.read(list).map(\.0).sorted()
    }

    /// Returns the next batch: up to `maxMessages` messages, a rebalance, or errors.
    ///
    /// Suspends (without blocking a thread) until something arrives or `timeout` passes, in
    /// which case the batch is empty; owners use the timeout for periodic work.
    ///
    /// - Important: after a batch that carries a ``ConsumerBatch/rebalance``, call
    ///   ``completeRebalance(_:startOffsets:)`` before polling again.
    public func poll(maxMessages: Int = 1024, timeout: Duration = .seconds(1)) async throws(KafkaError) -> ConsumerBatch {
        precondition(pendingRebalance == nil, "complete the rebalance before polling again")
        if closed { throw KafkaError(.closed, "consumer is closed") }
        var batch = ConsumerBatch()
        let deadline = ContinuousClock.now + timeout
        while true {
            drain(into: &batch, maxMessages: maxMessages)
            let now = ContinuousClock.now
            if !batch.isEmpty || now >= deadline || Task.isCancelled { return batch }
            // A wake-up can be spurious (an event this drain already took): wait again until
            // something arrives or the deadline passes.
            await wakeup.wait(timeout: deadline - now)
            batch.waited += now.duration(to: .now)
        }
    }

    /// Wakes librdkafka's fetchers sent so far (``FetchWaker``).
    public var fetchWakes: Int { fetchWaker.wakes }

    private func drain(into batch: inout ConsumerBatch, maxMessages: Int) {
        defer {
            batch.errors += context.takeErrors()
            // Once the queue has fallen to half of what it held, fetchers librdkafka stopped at
            // its mark are woken, so the other half is processed while they fetch.
            let queued = Int(rd_kafka_queue_length(queue))
            queuedPeak = max(queuedPeak, queued)
            if queuedPeak >= FetchWaker.worthwhilePeak && queued <= queuedPeak / 2 {
                fetchWaker.wake()
                queuedPeak = queued
            }
        }
        while batch.messages.count < maxMessages {
            let want = min(Self.bufferCapacity, maxMessages - batch.messages.count)
            let count = rd_kafka_consume_batch_queue(queue, 0, messageBuffer, want)
            for i in 0..<max(count, 0) {
                guard let message = messageBuffer[i] else { continue }
                append(message, to: &batch)
                rd_kafka_message_destroy(message)
            }
            // The callback yields at a rebalance: the messages above preceded it.
            if let rebalance = context.takeRebalance() {
                pendingRebalance = rebalance
                batch.rebalance = rebalance
                logger.info("rebalance: \(rebalance)")
                return
            }
            if count < want { return }
        }
    }

    private func append(_ message: UnsafePointer<rd_kafka_message_t>, to batch: inout ConsumerBatch) {
        let m = message.pointee
        var topic = ""
        if let rkt = m.rkt {
            if let cached = topicNames[rkt] {
                topic = cached
            } else {
                topic = String(cString: rd_kafka_topic_name(rkt))
                topicNames[rkt] = topic
            }
        }
        if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = m.payload.map {
                String(decoding: UnsafeRawBufferPointer(start: $0, count: m.len), as: UTF8.self)
            } ?? ""
            batch.errors.append(
                ConsumerError(
                    error: .resp(m.err, function: "consumer", text),
                    topicPartition: m.rkt == nil ? nil : TopicPartition(topic, m.partition), offset: m.offset))
            return
        }
        batch.messages.append(KafkaMessage(copying: message, topic: topic))
    }

    /// Completes the rebalance returned by the last poll: assigns (from `startOffsets`, or the
    /// committed offset where none is given) or unassigns its partitions.
    ///
    /// - Important: on revoke, make data durable and ``commit(_:)`` *before* calling this:
    ///   after it returns, another member may start consuming the partitions.
    public func completeRebalance(_ rebalance: Rebalance, startOffsets: [TopicPartition: Offset] = [:]) throws(KafkaError) {
        precondition(pendingRebalance != nil, "no rebalance is pending")
        pendingRebalance = nil
        if rebalance.kind == .assign { assignedOnce = true }
        switch (rebalance.kind, rebalance.isCooperative) {
        case (.assign, true):
            let entries = rebalance.partitions.map { ($0, Optional((startOffsets[$0] ?? .committed).rawValue)) }
            try PartitionList.with(entries) { list throws(KafkaError) in
                try KafkaError.check(rd_kafka_incremental_assign(handle.pointer, list), function: "rd_kafka_incremental_assign")
            }
        case (.revoke, true):
            try PartitionList.with(rebalance.partitions.map { ($0, nil) }) { list throws(KafkaError) in
                try KafkaError.check(rd_kafka_incremental_unassign(handle.pointer, list), function: "rd_kafka_incremental_unassign")
            }
        case (.assign, false):
            let entries = rebalance.partitions.map { ($0, Optional((startOffsets[$0] ?? .committed).rawValue)) }
            try PartitionList.with(entries) { list throws(KafkaError) in
                try KafkaError.check(rd_kafka_assign(handle.pointer, list), function: "rd_kafka_assign")
            }
        case (.revoke, false):
            try KafkaError.check(rd_kafka_assign(handle.pointer, nil), function: "rd_kafka_assign")
        }
    }

    /// Commits `offsets` (the next offset to read, i.e. last processed + 1) and waits for the broker.
    ///
    /// The result arrives on a private queue whose wake-up resumes this call: no thread blocks.
    /// - Parameter timeout: the longest to wait for the result (nil: until librdkafka gives one,
    ///   which with the coordinator unreachable is only after the session times out). After it,
    ///   the commit may still happen; this call no longer waits for it.
    /// - Throws: ``KafkaError/Code/librdkafka`` with the broker's code (e.g. `UNKNOWN_MEMBER_ID`,
    ///   `REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION` when fenced), for the call or any partition;
    ///   ``KafkaError/Code/timedOut`` when `timeout` passed first.
    public func commit(_ offsets: [TopicPartition: Int64], timeout: Duration? = nil) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let resultQueue = rd_kafka_queue_new(handle.pointer)!
        let signal = WakeupSignal()
        rd_kafka_queue_cb_event_enable(resultQueue, wakeupCallback, Unmanaged.passUnretained(signal).toOpaque())
        defer {
            rd_kafka_queue_cb_event_enable(resultQueue, nil, nil)
            rd_kafka_queue_destroy(resultQueue)
            withExtendedLifetime(signal) {}
        }
        let entries = offsets.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value)) }
        try PartitionList.with(entries) { list throws(KafkaError) in
            try KafkaError.check(
                rd_kafka_commit_queue(handle.pointer, list, resultQueue, nil, nil), function: "rd_kafka_commit_queue")
        }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if let event = rd_kafka_queue_poll(resultQueue, 0) {
                defer { rd_kafka_event_destroy(event) }
                guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT else { continue }
                try KafkaError.check(rd_kafka_event_error(event), function: "rd_kafka_commit_queue", "commit \(entries.map { "\($0.0)@\($0.1!)" })")
                if let list = rd_kafka_event_topic_partition_list(event) {
                    for (tp, offset, err) in PartitionList.read(list) where err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        throw KafkaError.resp(err, function: "rd_kafka_commit_queue", "\(tp)@\(offset)")
                    }
                }
                return
            }
            var wait = Duration.seconds(1)
            if let deadline {
                let left = deadline - ContinuousClock.now
                if left <= .zero {
                    throw KafkaError(.timedOut, "commit \(entries.map { "\($0.0)@\($0.1!)" }) not answered within \(timeout!)")
                }
                wait = min(wait, left)
            }
            await signal.wait(timeout: wait)
        }
    }

    /// The group's committed offsets for `partitions` (nil where none is committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws -> [TopicPartition: Int64?] {
        let handle = self.handle
        let ms = Int32(timeout.components.seconds * 1000)
        return try await runBlocking { () throws(KafkaError) -> [TopicPartition: Int64?] in
            try PartitionList.with(partitions.map { ($0, nil) }) { list throws(KafkaError) in
                try KafkaError.check(rd_kafka_committed(handle.pointer, list, ms), function: "rd_kafka_committed")
                var result: [TopicPartition: Int64?] = [:]
                for (tp, offset, _) in PartitionList.read(list) { result[tp] = offset >= 0 ? offset : nil }
                return result
            }
        }
    }

    /// The next offset this consumer will read for each of `partitions` (nil where unknown).
    public func position(_ partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartition: Int64?] {
        try PartitionList.with(partitions.map { ($0, nil) }) { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_position(handle.pointer, list), function: "rd_kafka_position")
            var result: [TopicPartition: Int64?] = [:]
            for (tp, offset, _) in PartitionList.read(list) { result[tp] = offset >= 0 ? offset : nil }
            return result
        }
    }

    /// Pauses fetching from `partitions` (back-pressure); messages already queued still arrive.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        try PartitionList.with(partitions.map { ($0, nil) }) { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_pause_partitions(handle.pointer, list), function: "rd_kafka_pause_partitions")
        }
    }

    /// Resumes fetching from `partitions`.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        try PartitionList.with(partitions.map { ($0, nil) }) { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_resume_partitions(handle.pointer, list), function: "rd_kafka_resume_partitions")
        }
    }

    /// Moves an assigned partition's position to `offset`.
    public func seek(_ partition: TopicPartition, to offset: Offset) throws(KafkaError) {
        try PartitionList.with([(partition, offset.rawValue)]) { list throws(KafkaError) in
            try KafkaError.check(rd_kafka_seek_partitions(handle.pointer, list, 0), function: "rd_kafka_seek_partitions")
        }
    }

    /// Low and high watermarks of a partition, asked of the broker (off the cooperative pool).
    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) async throws -> (low: Int64, high: Int64) {
        let handle = self.handle
        let ms = Int32(timeout.components.seconds * 1000)
        return try await runBlocking { () throws(KafkaError) -> (low: Int64, high: Int64) in
            var low: Int64 = 0
            var high: Int64 = 0
            try KafkaError.check(
                rd_kafka_query_watermark_offsets(handle.pointer, partition.topic, partition.partition, &low, &high, ms),
                function: "rd_kafka_query_watermark_offsets", "\(partition)")
            return (low, high)
        }
    }

    /// Watermarks as last seen in fetch responses, without asking the broker (nil if unknown).
    public func cachedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(handle.pointer, partition.topic, partition.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (low, high)
    }

    /// Lag per assigned partition: cached high watermark minus position.
    public func lag() throws(KafkaError) -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for (tp, position) in try position(try assignment()) {
            guard let wm = cachedWatermarks(tp) else { continue }
            result[tp] = max(0, wm.high - (position ?? wm.low))
        }
        return result
    }

    /// Leaves the group cleanly and stops fetching.
    ///
    /// The owner must have committed what it wants committed: revocations that arrive while
    /// closing are completed by the rebalance callback without handing them back.
    /// - Parameter timeout: the longest to wait (nil: until librdkafka is done, which with the
    ///   group coordinator unreachable is only after the session times out). After it the close
    ///   goes on in the background, holding the handle until librdkafka returns; the group then
    ///   sees this member leave when its session times out, as after a crash. It includes the
    ///   wait, of at most 10 s, for the first assignment of a member still joining (see
    ///   ``awaitFirstAssignment(for:)``).
    /// - Throws: ``KafkaError/Code/timedOut`` when `timeout` passed first.
    public func close(timeout: Duration? = nil) async throws(KafkaError) {
        guard !closed else { return }
        let started = ContinuousClock.now
        await awaitFirstAssignment(for: min(timeout ?? Self.firstAssignmentWait, Self.firstAssignmentWait))
        insideJoinWindow = joinedWithoutAssignment
        closed = true
        context.beginClosing()
        let handle = self.handle
        guard let timeout = timeout.map({ max($0 - started.duration(to: .now), .milliseconds(100)) }) else {
            return try await runBlocking { () throws(KafkaError) in
                try KafkaError.check(rd_kafka_consumer_close(handle.pointer), function: "rd_kafka_consumer_close")
            }
        }
        let outcome = CloseOutcome()
        DispatchQueue.global().async {
            let err = rd_kafka_consumer_close(handle.pointer)
            outcome.code.withLock { $0 = err.rawValue }
            outcome.signal.signal()
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            if let code = outcome.code.withLock({ $0 }) {
                return try KafkaError.check(rd_kafka_resp_err_t(rawValue: code), function: "rd_kafka_consumer_close")
            }
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                throw KafkaError(.timedOut, "rd_kafka_consumer_close did not return within \(timeout); it goes on in the background")
            }
            await outcome.signal.wait(timeout: left)
        }
    }

    /// The longest ``close(timeout:)`` waits for a joining member's first assignment.
    static let firstAssignmentWait = Duration.seconds(10)

    /// librdkafka before 2.3.0 aborts when a cooperative-sticky member is destroyed between a
    /// successful JoinGroup and its first assignment (#4312).
    private static let destroyMidJoinAborts = rd_kafka_version() < 0x0203_0000

    /// Consumers whose handle was left undestroyed (see `deinit`), counted for the process.
    public static var handlesKeptUndestroyed: Int { keptUndestroyed.load(ordering: .relaxed) }
    private static let keptUndestroyed = Atomic<Int>(0)

    /// This member is inside #4312's window: a JoinGroup succeeded (librdkafka chose an assignor,
    /// so `rd_kafka_rebalance_protocol` is no longer `NONE`) and no assignment came since.
    ///
    /// The member id alone does not tell: librdkafka clears it when a SyncGroup or JoinGroup
    /// fails with `UNKNOWN_MEMBER_ID`, and keeps the assignor. Asked just before
    /// `rd_kafka_consumer_close`: a JoinGroup response that arrives after the close began is
    /// discarded, and after the close librdkafka no longer answers (NULL).
    private var joinedWithoutAssignment: Bool {
        guard Self.destroyMidJoinAborts, subscribed, !assignedOnce else { return false }
        // NULL: librdkafka could not say; count the member as inside the window.
        guard let name = rd_kafka_rebalance_protocol(handle.pointer) else { return true }
        return String(cString: name) != "NONE"
    }

    /// Works around librdkafka 2.0's abort (#4312, fixed in 2.3.0) when a cooperative-sticky
    /// member is destroyed after its JoinGroup but before its first assignment
    /// (`rd_kafka_sticky_assignor_state_destroy: Assertion 'assignor_state' failed`): a member
    /// inside that window first polls, for at most `limit`, until its assignment comes, and
    /// takes it. Messages polled meanwhile are dropped: nothing was processed or committed, so
    /// the next owner reads them. A member still inside the window after that is not destroyed
    /// (`deinit`).
    private func awaitFirstAssignment(for limit: Duration) async {
        guard pendingRebalance == nil, joinedWithoutAssignment else { return }
        logger.debug("closing a member that joined its group but has no assignment yet: waiting for it")
        let deadline = ContinuousClock.now + limit
        while !assignedOnce, ContinuousClock.now < deadline {
            // A cancelled task's poll returns at once; the wait must not be skipped for that.
            if Task.isCancelled { return settleFirstAssignment(until: deadline) }
            guard let batch = try? await poll(maxMessages: 1, timeout: deadline - ContinuousClock.now) else { return }
            guard let rebalance = batch.rebalance else { continue }
            guard (try? completeRebalance(rebalance)) != nil else { return }
        }
    }

    /// ``awaitFirstAssignment(for:)`` blocking the calling thread, checking every 10 ms: for a
    /// cancelled owner, and for `deinit` (an owner that let go of the consumer without closing
    /// it, e.g. when it threw). A rebalance the owner left pending is completed first.
    private func settleFirstAssignment(until deadline: ContinuousClock.Instant) {
        guard joinedWithoutAssignment else { return }
        logger.debug("letting go of a member that joined its group but has no assignment yet: waiting for it")
        if let pending = pendingRebalance, (try? completeRebalance(pending)) == nil { return }
        while !assignedOnce, ContinuousClock.now < deadline {
            var batch = ConsumerBatch()
            drain(into: &batch, maxMessages: 256)
            if let rebalance = batch.rebalance {
                guard (try? completeRebalance(rebalance)) != nil else { return }
            } else if batch.messages.isEmpty {
                usleep(10_000)
            }
        }
    }

    /// The member id the group coordinator gave this consumer (empty before joining).
    public var memberID: String {
        guard let id = rd_kafka_memberid(handle.pointer) else { return "" }
        defer { rd_kafka_mem_free(handle.pointer, id) }
        return String(cString: id)
    }
}

/// What a background `rd_kafka_consumer_close` returned, and the wake-up that says it did.
private final class CloseOutcome: Sendable {
    let code = Mutex<Int32?>(nil)
    let signal = WakeupSignal()
}

/// Runs a blocking librdkafka call on a Dispatch thread so it never occupies the cooperative pool.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
    let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            do throws(KafkaError) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}
