// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Kafka

/// Headers that carry a forwarded notification's origin on the by-id topic (FORMAT.md §3:
/// the by-id log records it as the record's origin).
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
