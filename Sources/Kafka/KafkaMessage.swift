// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka

/// A header of a Kafka record.
public struct KafkaHeader: Hashable, Sendable {
    /// The header's name.
    public var key: String
    /// The header's value; nil for a null value.
    public var value: [UInt8]?

    /// A header.
    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// A record read from Kafka, its bytes copied out of librdkafka.
///
/// A null key or value (a tombstone) is represented as nil, never as a crash.
public struct KafkaMessage: Sendable {
    /// Source topic.
    public var topic: String
    /// Source partition.
    public var partition: Int32
    /// Offset within the partition.
    public var offset: Int64
    /// The key, nil when the producer set none.
    public var key: [UInt8]?
    /// The value, nil for a tombstone.
    public var value: [UInt8]?
    /// Record timestamp in milliseconds since the epoch, or nil when the broker has none.
    public var timestamp: Int64?
    /// Record headers, in order.
    public var headers: [KafkaHeader]

    /// A message (used by tests and by the replay tool).
    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
                timestamp: Int64?, headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }

    /// The partition this message came from.
    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }

    /// Copies a librdkafka message; `topic` is passed in so callers can cache names.
    init(copying message: UnsafePointer<rd_kafka_message_t>, topic: String) {
        let m = message.pointee
        self.topic = topic
        self.partition = m.partition
        self.offset = m.offset
        self.key = m.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        self.value = m.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.len)) }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(message, &type)
        self.timestamp = type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts
        var headerList: OpaquePointer?
        var headers: [KafkaHeader] = []
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        key: name.map { String(cString: $0) } ?? "",
                        value: value.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) }))
                index += 1
            }
        }
        self.headers = headers
    }
}

/// A record to produce.
public struct ProducerRecord: Sendable {
    /// Destination topic.
    public var topic: String
    /// Destination partition, or nil for librdkafka's partitioner (by key; random for null keys).
    public var partition: Int32?
    /// The key, nil for none.
    public var key: [UInt8]?
    /// The value.
    public var value: [UInt8]
    /// Headers, in order.
    public var headers: [KafkaHeader]
    /// The record's timestamp (CreateTime, ms since the epoch); nil for the time it is produced.
    public var timestamp: Int64?

    /// A record to produce.
    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8], headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
