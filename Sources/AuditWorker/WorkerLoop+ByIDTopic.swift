// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import CoreMetrics
import Kafka
import Logging

/// The by-id hop: its topic kept without retention, copies acknowledged before their markers,
/// losses counted, stored copies purged (DESIGN §6.8).
extension WorkerLoop {
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
    func ensureByIDTopic(until stop: () -> Bool) async throws -> Bool {
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
                    "the by-id topic \(topic) does not exist and the broker did not create it (\(error)); create it first: kafka-topics.sh --bootstrap-server \(configuration.kafka["bootstrap.servers"] ?? "B") --create --topic \(topic) --partitions \(partitions) \(settings.joined(separator: " ")) (with `audit-trail broker`, which cannot create topics on request: start it with --group \(configuration.group))")
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

    /// Waits until the copies a batch sent (`forwarding`'s forwarded notifications and dead
    /// letters) are acknowledged, for as long as the broker is away (its copies never time out:
    /// `message.timeout.ms=0`), and returns each forwarded copy's position by the share's
    /// partition and the item's index; returns nil as soon as `stop` holds. A copy that fails for
    /// good throws. Copies sent since, by the next batch, are not waited for.
    ///
    /// A share of a batch that sends copies cannot be stored before they are acknowledged (its
    /// markers record where they went), so an outage of any length is ridden out here, warning
    /// every ``deliveryWarningInterval``; the store, not Kafka, is where the partitions resume.
    func delivered(_ forwarding: Forwarding, until stop: () -> Bool) async throws -> [TopicPartition: [Int: DeliveryReport]]? {
        let start = ContinuousClock.now
        var warned = start
        while !(await producer.waitForDeliveries(forwarding.allTickets, timeout: .seconds(1))) {
            if stop() { return nil }
            if warned.duration(to: .now) >= Self.deliveryWarningInterval {
                warned = .now
                logger.warning(
                    "forwarded copies not acknowledged for \(start.duration(to: .now).components.seconds) s: waiting for the broker (\(producer.inFlight) message(s) in flight)")
            }
        }
        if warned != start { logger.notice("forwarded copies acknowledged after \(start.duration(to: .now).components.seconds) s") }
        var reports: [TopicPartition: [Int: DeliveryReport]] = [:]
        var failures: [KafkaError] = []
        for (tp, byItem) in forwarding.tickets {
            for (i, ticket) in byItem {
                switch producer.takeDelivery(ticket) {
                case .success(let report)?: reports[tp, default: [:]][i] = report
                case .failure(let error)?: failures.append(error)
                case nil: failures.append(KafkaError(.delivery, "no delivery report for a copy forwarded from \(tp)"))
                }
            }
        }
        for ticket in forwarding.deadLetters {
            if case .failure(let error)? = producer.takeDelivery(ticket) { failures.append(error) }
        }
        if let last = failures.last {
            throw WorkerError("\(failures.count) forwarded notification(s) or dead letter(s) were not delivered: \(last)")
        }
        return reports
    }

    /// How often a batch waiting for its forwarded copies says so.
    static let deliveryWarningInterval = Duration.seconds(30)
    /// How often copies stored and committed are deleted from the by-id topic.
    static let purgeInterval = Duration.seconds(30)

    /// Deletes from the by-id topic the copies this worker stored durably and committed
    /// (DeleteRecords, as Kafka Streams purges its repartition topics), so a topic without
    /// retention does not grow forever. Where the broker refuses, the worker says so once and
    /// stops trying: the topic then keeps every copy.
    mutating func purgeStoredCopies() async {
        lastPurge = .now
        guard purgeSupported, !purgeable.isEmpty else { return }
        let offsets = purgeable.filter { logs[$0.key] != nil }
        purgeable = [:]
        do {
            try await Admin(using: producer).deleteRecords(before: offsets, timeout: .seconds(2))
            metrics.purges.increment()
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
}
