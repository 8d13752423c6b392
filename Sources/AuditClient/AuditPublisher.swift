// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import Kafka
import Logging
import Synchronization

/// Publishes audit notifications to Kafka in oslo's envelope, keyed by `payload.id`, through
/// an idempotent producer.
///
/// **Bounded queue and an unreachable Kafka.** Messages wait in librdkafka's queue, bounded by
/// ``Configuration/queueCapacity`` messages. While Kafka is unreachable the queue fills; a
/// ``publish(_:eventType:)`` that finds it full waits at most ``Configuration/enqueueBudget`` for
/// space, then drops the notification, counts it (``Statistics/dropped``) and logs it. A request
/// is therefore never blocked for longer than the budget. Queued messages are retried until
/// Kafka takes them, however long it is away (``Configuration/deliveryTimeout`` zero, the
/// default); with a deadline set, those not delivered by it fail and are counted
/// (``Statistics/failed``). ``flush(timeout:)`` and ``close(timeout:)`` wait for what is queued.
public final class AuditPublisher: Sendable {
    /// Settings of a publisher.
    public struct Configuration: Sendable {
        /// Kafka settings; any librdkafka property passes through.
        public var kafka: KafkaConfiguration
        /// Topic, oslo-style `<topic>.<priority>`.
        public var topic: String
        /// `publisher_id` of the notifications, e.g. `nova-api`.
        public var publisherID: String
        /// The longest a publish waits for queue space before dropping.
        public var enqueueBudget: Duration
        /// Messages librdkafka may hold before publishes start waiting.
        public var queueCapacity: Int
        /// How long librdkafka keeps trying to deliver a queued message; zero (the default):
        /// until it is delivered. An audit notification already queued is worth waiting for:
        /// with librdkafka's own default (5 minutes) a longer outage would fail it.
        public var deliveryTimeout: Duration

        public init(
            bootstrapServers: String, topic: String = "notifications.info", publisherID: String,
            enqueueBudget: Duration = .milliseconds(50), queueCapacity: Int = 100_000,
            deliveryTimeout: Duration = .zero
        ) {
            self.kafka = KafkaConfiguration(bootstrapServers: bootstrapServers)
            self.topic = topic
            self.publisherID = publisherID
            self.enqueueBudget = enqueueBudget
            self.queueCapacity = queueCapacity
            self.deliveryTimeout = deliveryTimeout
        }
    }

    /// What a publisher did so far.
    public struct Statistics: Sendable, Equatable {
        /// Handed to Kafka's queue.
        public var queued: Int
        /// Dropped because the queue stayed full for the whole budget.
        public var dropped: Int
        /// Acknowledged by Kafka.
        public var delivered: Int
        /// Failed delivery after being queued.
        public var failed: Int
    }

    /// Whether one notification was handed to Kafka.
    public enum PublishOutcome: Sendable, Equatable {
        case queued, dropped
    }

    public let configuration: Configuration
    private let producer: Producer
    private let logger: Logger
    private let counts = Mutex((queued: 0, dropped: 0))

    /// Creates a publisher.
    ///
    /// - Throws: ``KafkaError`` for a rejected or unsafe Kafka setting.
    public init(configuration: Configuration, logger: Logger = Logger(label: "audit.client")) throws {
        var kafka = configuration.kafka
        if kafka["queue.buffering.max.messages"] == nil {
            kafka.set("queue.buffering.max.messages", String(configuration.queueCapacity))
        }
        if kafka["message.timeout.ms"] == nil {
            kafka.set("message.timeout.ms", String(configuration.deliveryTimeout.components.seconds * 1000))
        }
        if kafka["linger.ms"] == nil { kafka.set("linger.ms", "5") }
        self.configuration = configuration
        self.logger = logger
        self.producer = try Producer(configuration: kafka, logger: logger)
    }

    /// The Kafka record for a notification: keyed by `payload.id`, so a request and its response
    /// land on the same partition and correlate where they land.
    public func record(_ notification: OsloNotification) -> ProducerRecord {
        ProducerRecord(topic: configuration.topic, key: Array(notification.payload.id.utf8), value: notification.envelope)
    }

    /// The notification for an event, stamped now.
    public func notification(_ event: CADFEvent, eventType: AuditEventType, time: Int64 = currentMicroseconds()) -> OsloNotification {
        OsloNotification(
            publisherID: configuration.publisherID, eventType: eventType, payload: event,
            timestamp: Timestamps.oslo(microsecondsSinceEpoch: time))
    }

    /// Queues one notification without waiting for delivery; waits at most the enqueue budget.
    @discardableResult
    public func publish(_ event: CADFEvent, eventType: AuditEventType) async -> PublishOutcome {
        let notification = notification(event, eventType: eventType)
        do {
            if try await enqueue(notification, waitingAtMost: configuration.enqueueBudget) {
                counts.withLock { $0.queued += 1 }
                return .queued
            }
        } catch {
            logger.error("audit notification not queued: \(error)", metadata: ["audit.id": "\(event.id)"])
        }
        counts.withLock { $0.dropped += 1 }
        logger.warning(
            "audit notification dropped: Kafka queue full for \(configuration.enqueueBudget)",
            metadata: ["audit.id": "\(event.id)", "audit.event_type": "\(eventType.rawValue)"])
        return .dropped
    }

    /// Publishes one notification and waits for Kafka's acknowledgement.
    ///
    /// - Throws: ``KafkaError`` when delivery failed.
    @discardableResult
    public func publishAndConfirm(_ notification: OsloNotification) async throws -> DeliveryReport {
        let report = try await producer.send(record(notification))
        counts.withLock { $0.queued += 1 }
        return report
    }

    /// Queues one notification for a bulk publisher (a tool, not a request path): waits for
    /// queue space as long as needed instead of dropping.
    public func enqueue(_ notification: OsloNotification) async throws {
        _ = try await enqueue(notification, waitingAtMost: nil)
        counts.withLock { $0.queued += 1 }
    }

    /// The envelope written straight into a buffer that librdkafka takes over (no copy), keyed
    /// by `payload.id` like ``record(_:)``.
    private func enqueue(_ notification: OsloNotification, waitingAtMost budget: Duration?) async throws -> Bool {
        var writer = OsloNotification.envelopeWriter()
        notification.writeEnvelope(to: &writer)
        return try await producer.enqueue(
            topic: configuration.topic, key: notification.payload.id, takingValue: writer.takeBytes(), waitingAtMost: budget)
    }

    /// Queues a value exactly as given (e.g. a captured notification), with an optional key.
    public func enqueue(value: [UInt8], key: [UInt8]?) async throws {
        try await producer.enqueue(ProducerRecord(topic: configuration.topic, key: key, value: value))
        counts.withLock { $0.queued += 1 }
    }

    /// Counts so far.
    public var statistics: Statistics {
        let (queued, dropped) = counts.withLock { ($0.queued, $0.dropped) }
        let summary = producer.summary
        return Statistics(queued: queued, dropped: dropped, delivered: summary.delivered, failed: summary.failed)
    }

    /// Waits until everything queued was delivered or failed.
    @discardableResult
    public func flush(timeout: Duration = .seconds(30)) async throws -> Statistics {
        try await producer.flush(timeout: timeout)
        return statistics
    }
}

/// Microseconds since the Unix epoch, from the system clock.
public func currentMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
