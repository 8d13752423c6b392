// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import CRdKafka
import Logging
import Synchronization

/// The outcome of one delivered message.
public struct DeliveryReport: Sendable {
    /// Topic and partition the message was written to.
    public var topicPartition: TopicPartition
    /// The offset the broker assigned.
    public var offset: Int64
}

/// A message queued with ``Producer/enqueueTracked(_:)``, whose report ``Producer/takeDelivery(_:)`` takes.
public struct DeliveryTicket: Sendable, Hashable {
    let id: UInt
}

/// What ``Producer/flush(timeout:)`` observed since the producer started.
public struct DeliverySummary: Sendable {
    /// Messages acknowledged by the broker.
    public var delivered: Int
    /// Messages that failed permanently.
    public var failed: Int
    /// The most recent failures (at most 100 are kept).
    public var recentFailures: [KafkaError]
}

/// An idempotent producer (`acks=all` by default) whose delivery reports are observed.
///
/// Delivery reports arrive as events on librdkafka's background thread
/// (`rd_kafka_conf_set_background_event_cb`): no poll loop runs in Swift, and a per-message
/// ``send(_:)`` resumes as soon as its report arrives, without a polling-interval floor.
/// Bulk publishers use ``enqueue(_:)`` and ``flush(timeout:)``.
///
/// - Important: call ``flush(timeout:)`` before releasing the producer, or queued messages
///   are dropped when the handle is destroyed.
public final class Producer: Sendable {
    let handle: KafkaHandle
    private var context: ProducerContext { handle.context as! ProducerContext }

    /// Creates a producer.
    ///
    /// - Throws: ``KafkaError/Code/configuration`` for a property librdkafka rejects,
    ///   ``KafkaError/Code/unsafeConfiguration`` for settings that can lose data.
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "kafka.producer")) throws(KafkaError) {
        let context = ProducerContext(logger: logger)
        self.handle = try KafkaHandle(
            role: .producer, configuration: configuration.withDefaults(for: .producer), context: context
        ) { conf in
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR))
            rd_kafka_conf_set_background_event_cb(conf, producerEventCallback)
        }
        // Route the main queue (delivery reports, errors) to the background queue, which
        // librdkafka's own background thread serves by calling producerEventCallback.
        let main = rd_kafka_queue_get_main(handle.pointer)
        let background = rd_kafka_queue_get_background(handle.pointer)
        rd_kafka_queue_forward(main, background)
        rd_kafka_queue_destroy(main)
        rd_kafka_queue_destroy(background)
    }

    /// Produces one message and waits for the broker's acknowledgement.
    ///
    /// - Returns: where the message was written.
    /// - Throws: ``KafkaError/Code/delivery`` with librdkafka's code when delivery failed,
    ///   ``KafkaError/Code/librdkafka`` when the message could not be queued.
    @discardableResult
    public func send(_ record: ProducerRecord) async throws -> DeliveryReport {
        try await context.awaitDelivery(try await enqueueTracked(record).id)
    }

    /// Queues one message whose delivery report is kept for ``takeDelivery(_:)``: a bulk
    /// publisher that must know where each message was written (the worker records where each
    /// forwarded copy went) queues many, flushes once, then takes each report.
    ///
    /// - Returns: the ticket to take the report with.
    public func enqueueTracked(_ record: ProducerRecord) async throws -> DeliveryTicket {
        let id = context.registerWaiter()
        do {
            try await enqueue(record, opaque: UnsafeMutableRawPointer(bitPattern: id))
        } catch {
            context.abandonWaiter(id)
            throw error
        }
        return DeliveryTicket(id: id)
    }

    /// The outcome of a message queued with ``enqueueTracked(_:)``, once librdkafka reported it
    /// (after ``flush(timeout:)`` returned, every report has arrived); `nil` before. A report is
    /// taken once: later calls return `nil`.
    public func takeDelivery(_ ticket: DeliveryTicket) -> Result<DeliveryReport, KafkaError>? {
        context.takeResult(ticket.id)
    }

    /// Suspends until librdkafka reported each of `tickets` (delivered or failed), without
    /// waiting for anything else in flight; false when `timeout` passed first. The reports stay
    /// to be taken with ``takeDelivery(_:)``.
    public func waitForDeliveries(_ tickets: [DeliveryTicket], timeout: Duration) async -> Bool {
        await context.waitForReports(tickets.map(\.id), timeout: timeout)
    }

    /// Forgets a tracked message whose report is no longer wanted.
    public func abandon(_ ticket: DeliveryTicket) {
        context.abandonWaiter(ticket.id)
    }

    /// Queues one message for delivery without waiting for the broker.
    ///
    /// When librdkafka's queue is full this suspends until deliveries free space (no sleep).
    /// Outcomes are counted and reported by ``flush(timeout:)`` and ``summary``.
    public func enqueue(_ record: ProducerRecord) async throws {
        try await enqueue(record, opaque: nil)
    }

    /// Queues one message, waiting at most `budget` for space in librdkafka's queue.
    ///
    /// - Returns: false when the queue stayed full for the whole budget (the message was not
    ///   queued); callers count that as a drop.
    public func enqueue(_ record: ProducerRecord, waitingAtMost budget: Duration) async throws -> Bool {
        try await produce(topic: record.topic, waitingAtMost: budget) { try produceOnce(record, opaque: nil) }
    }

    /// Queues one message whose value the producer takes over instead of copying: `value` must
    /// have been allocated with `malloc`. librdkafka sends it as it is and frees it after
    /// delivery; when it is not queued (an error is thrown, or the queue stayed full for the
    /// whole `budget`) it is freed here. Either way the caller must not touch it afterwards.
    ///
    /// - Parameter budget: the longest to wait for queue space; nil waits as long as needed.
    /// - Returns: false when the budget expired (the message was not queued).
    public func enqueue(
        topic: String, key: String, takingValue value: UnsafeMutableBufferPointer<UInt8>, waitingAtMost budget: Duration? = nil
    ) async throws -> Bool {
        var queued = false
        defer { if !queued { free(value.baseAddress) } }
        var key = key
        queued = try await produce(topic: topic, waitingAtMost: budget) {
            try key.withUTF8 { key in
                try produceOnce(
                    topic: topic, partition: nil, key: UnsafeRawBufferPointer(key), value: UnsafeRawBufferPointer(value),
                    valueFlags: RD_KAFKA_MSG_F_FREE, headers: [], timestamp: nil, opaque: nil)
            }
        }
        return queued
    }

    private func enqueue(_ record: ProducerRecord, opaque: UnsafeMutableRawPointer?) async throws {
        _ = try await produce(topic: record.topic, waitingAtMost: nil) { try produceOnce(record, opaque: opaque) }
    }

    /// Calls `attempt` until librdkafka takes the message, waiting for queue space in between
    /// (until `budget` expires; nil: without end).
    ///
    /// - Returns: false when the budget expired.
    private func produce(
        topic: String, waitingAtMost budget: Duration?, _ attempt: () throws -> rd_kafka_resp_err_t
    ) async throws -> Bool {
        let deadline = budget.map { ContinuousClock.now + $0 }
        while true {
            let err = try attempt()
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return true }
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                throw KafkaError.resp(err, function: "rd_kafka_producev", "topic \(topic)")
            }
            guard let deadline else {
                await context.waitForSpace(timeout: .seconds(1))
                continue
            }
            let now = ContinuousClock.now
            if now >= deadline { return false }
            await context.waitForSpace(timeout: deadline - now)
        }
    }

    private func produceOnce(_ record: ProducerRecord, opaque: UnsafeMutableRawPointer?) throws -> rd_kafka_resp_err_t {
        try record.value.withUnsafeBytes { value in
            try withOptionalBytes(record.key) { key in
                try produceOnce(
                    topic: record.topic, partition: record.partition, key: key, value: value, valueFlags: RD_KAFKA_MSG_F_COPY,
                    headers: record.headers, timestamp: record.timestamp, opaque: opaque)
            }
        }
    }

    /// One `rd_kafka_producev`; the message is counted in flight while librdkafka holds it.
    private func produceOnce(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, valueFlags: Int32,
        headers recordHeaders: [KafkaHeader], timestamp: Int64?, opaque: UnsafeMutableRawPointer?
    ) throws -> rd_kafka_resp_err_t {
        try context.messageQueued()
        var headers: OpaquePointer?
        if !recordHeaders.isEmpty {
            headers = rd_kafka_headers_new(recordHeaders.count)
            for header in recordHeaders {
                if let value = header.value {
                    value.withUnsafeBytes { _ = rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
            }
        }
        let err = audit_produce(
            handle.pointer, topic, partition ?? RD_KAFKA_PARTITION_UA, key?.baseAddress, key?.count ?? 0,
            value.baseAddress, value.count, headers, timestamp ?? 0, opaque, valueFlags)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.messageNotQueued()
            if let headers { rd_kafka_headers_destroy(headers) }
        }
        return err
    }

    /// Waits until every queued message has been delivered or has failed.
    ///
    /// - Returns: the counts since the producer started.
    /// - Throws: ``KafkaError/Code/timedOut`` when messages are still in flight at the deadline.
    @discardableResult
    public func flush(timeout: Duration = .seconds(60)) async throws -> DeliverySummary {
        sendQueued()
        if await !context.waitUntilIdle(timeout: timeout) {
            throw KafkaError(.timedOut, "\(context.inFlight) message(s) still in flight after \(timeout)")
        }
        return summary
    }

    /// Asks librdkafka to send what it lingers on now rather than after `linger.ms`, without
    /// waiting for anything.
    public func sendQueued() {
        _ = rd_kafka_flush(handle.pointer, 0)
    }

    /// Counts of delivered and failed messages so far.
    public var summary: DeliverySummary { context.summary }

    /// Messages queued but not yet acknowledged or failed.
    public var inFlight: Int { context.inFlight }

    /// Errors librdkafka reported for the client as a whole (e.g. `_TRANSPORT`, `_ALL_BROKERS_DOWN`),
    /// as observed so far: a test can await a broker outage being noticed.
    public var clientErrors: [KafkaError] { context.clientErrors }

    /// Waits until a client-level error with the given librdkafka name was reported.
    public func waitForClientError(named names: Set<String>, timeout: Duration) async -> Bool {
        await context.waitForClientError(names, timeout: timeout)
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    if let bytes { return try bytes.withUnsafeBytes { try body($0) } }
    return try body(nil)
}

/// librdkafka's background event callback for producers: delivery reports and client errors.
/// File-scope, as C callbacks must be. It destroys every event it is given *before* waking
/// anyone: a flush that returns must find librdkafka's message count already at zero.
private func producerEventCallback(rk: OpaquePointer?, event: OpaquePointer?, opaque: UnsafeMutableRawPointer?) {
    guard let event else { return }
    guard let opaque else {
        rd_kafka_event_destroy(event)
        return
    }
    let context = Unmanaged<HandleContext>.fromOpaque(opaque).takeUnretainedValue() as! ProducerContext
    switch rd_kafka_event_type(event) {
    case RD_KAFKA_EVENT_DR:
        // Plain successes (no one awaits them) are only counted: most messages of a bulk publisher.
        var delivered = 0
        var outcomes: [(UnsafeMutableRawPointer?, Result<DeliveryReport, KafkaError>)] = []
        while let message = rd_kafka_event_message_next(event) {
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR && m._private == nil {
                delivered += 1
                continue
            }
            let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                outcomes.append((m._private, .success(DeliveryReport(topicPartition: TopicPartition(topic, m.partition), offset: m.offset))))
            } else {
                outcomes.append((m._private, .failure(.resp(m.err, function: "delivery report", "topic \(topic)", code: .delivery))))
            }
        }
        rd_kafka_event_destroy(event)
        context.delivered(count: delivered, outcomes)
    case RD_KAFKA_EVENT_ERROR:
        let err = rd_kafka_event_error(event)
        let fatal = rd_kafka_event_error_is_fatal(event) != 0
        var error = KafkaError.resp(err, function: "producer", String(cString: rd_kafka_event_error_string(event)))
        error.isFatal = fatal
        rd_kafka_event_destroy(event)
        context.clientError(error)
    default:
        rd_kafka_event_destroy(event)
    }
}
