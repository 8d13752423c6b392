// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka

/// A partition of a topic.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic's name.
    public var topic: String
    /// The partition number.
    public var partition: Int32

    /// A partition of a topic.
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// Where to start consuming a partition.
public enum Offset: Hashable, Sendable {
    /// The first offset the broker still has.
    case beginning
    /// The next offset to be written.
    case end
    /// The group's committed offset (librdkafka's `RD_KAFKA_OFFSET_STORED`), else `auto.offset.reset`.
    case committed
    /// An explicit offset.
    case exact(Int64)

    var rawValue: Int64 {
        switch self {
        case .beginning: Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .end: Int64(RD_KAFKA_OFFSET_END)
        case .committed: Int64(RD_KAFKA_OFFSET_STORED)
        case .exact(let value): value
        }
    }
}

/// Helpers to move partition lists across the C boundary.
///
/// `rd_kafka_topic_partition_list_t` is never kept: it is built, used and destroyed in one call.
enum PartitionList {
    /// Calls `body` with a C list holding `entries` (offset `RD_KAFKA_OFFSET_INVALID` where nil).
    static func with<R, E: Error>(
        _ entries: [(TopicPartition, Int64?)],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(E) -> R
    ) throws(E) -> R {
        let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
            element.pointee.offset = offset ?? Int64(RD_KAFKA_OFFSET_INVALID)
        }
        return try body(list)
    }

    /// Copies a C list into Swift values.
    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        var result: [(TopicPartition, Int64, rd_kafka_resp_err_t)] = []
        result.reserveCapacity(Int(list.pointee.cnt))
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            result.append((TopicPartition(String(cString: element.topic), element.partition), element.offset, element.err))
        }
        return result
    }
}
