// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

/// A group rebalance handed to the consumer's owner *before* partitions move.
///
/// The owner does its work (on revoke: make data durable and commit; on assign: look up where
/// each partition resumes) and then calls ``Consumer/completeRebalance(_:startOffsets:)``.
/// Until it does, librdkafka holds the rebalance: no other member gets the revoked partitions.
public struct Rebalance: Sendable, CustomStringConvertible {
    /// Whether partitions are being given to or taken from this member.
    public enum Kind: Sendable {
        case assign, revoke
    }

    /// Whether partitions are being given or taken.
    public var kind: Kind
    /// The partitions concerned: for the cooperative protocol only those that change.
    public var partitions: [TopicPartition]
    /// True for the cooperative (incremental) protocol, false for eager.
    public var isCooperative: Bool
    /// On revoke: the assignment was lost (session timeout, fencing). Do not commit: the
    /// partitions may already belong to another member.
    public var isLost: Bool

    public var description: String {
        "\(kind)\(isLost ? " (lost)" : "") \(isCooperative ? "incremental" : "eager") \(partitions.map(\.description).joined(separator: ","))"
    }
}

/// What one ``Consumer/poll(maxMessages:timeout:)`` returned.
///
/// Messages come first and in partition order; a rebalance ends the batch, so the owner handles
/// every message delivered before it and then the rebalance.
public struct ConsumerBatch: Sendable {
    /// Messages, in the order librdkafka delivered them.
    public var messages: [KafkaMessage] = []
    /// A rebalance that must be completed before the next poll.
    public var rebalance: Rebalance?
    /// Errors reported by librdkafka: client-wide ones (topic nil) and per-partition ones such
    /// as `OFFSET_OUT_OF_RANGE` or `_AUTO_OFFSET_RESET`.
    public var errors: [ConsumerError] = []
    /// How long the poll that returned this batch waited for librdkafka with nothing to take:
    /// the rest of its time was spent taking messages out of librdkafka's queue.
    public var waited: Duration = .zero

    /// Nothing arrived before the timeout.
    public var isEmpty: Bool { messages.isEmpty && rebalance == nil && errors.isEmpty }
}

/// An error librdkafka reported through the consumer queue.
public struct ConsumerError: Sendable, CustomStringConvertible {
    /// The error.
    public var error: KafkaError
    /// The partition concerned, if any.
    public var topicPartition: TopicPartition?
    /// The offset concerned, if any.
    public var offset: Int64?

    public var description: String {
        if let topicPartition { return "\(topicPartition)@\(offset ?? -1): \(error)" }
        return error.description
    }
}
