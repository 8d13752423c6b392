// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka

extension Consumer {
    /// The number of partitions of `topic`, asked of the broker (off the cooperative pool).
    /// - Throws: ``KafkaError/Code/librdkafka`` when the metadata request fails or the topic is unknown.
    public func partitionCount(of topic: String, timeout: Duration = .seconds(10)) async throws -> Int32 {
        let handle = self.handle
        let ms = Int32(timeout.components.seconds * 1000)
        return try await runBlocking { () throws(KafkaError) -> Int32 in
            let rkt = rd_kafka_topic_new(handle.pointer, topic, nil)
            defer { if let rkt { rd_kafka_topic_destroy(rkt) } }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            try KafkaError.check(rd_kafka_metadata(handle.pointer, 0, rkt, &metadata, ms), function: "rd_kafka_metadata", topic)
            defer { rd_kafka_metadata_destroy(metadata) }
            guard let metadata, metadata.pointee.topic_cnt > 0 else { throw KafkaError(.librdkafka, "no metadata for topic \(topic)") }
            let entry = metadata.pointee.topics[0]
            if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError.resp(entry.err, function: "rd_kafka_metadata", "topic \(topic)")
            }
            return entry.partition_cnt
        }
    }

    /// For each partition, the first offset whose timestamp is at or after the given time
    /// (milliseconds since the epoch); `nil` when no message is that recent (the caller reads to
    /// the end) or the broker cannot look offsets up by time.
    public func offsets(
        forTimes times: [TopicPartition: Int64], timeout: Duration = .seconds(10)
    ) async throws -> [TopicPartition: Int64?] {
        let handle = self.handle
        let ms = Int32(timeout.components.seconds * 1000)
        let entries = times.map { ($0.key, Optional($0.value)) }
        return try await runBlocking { () throws(KafkaError) -> [TopicPartition: Int64?] in
            try PartitionList.with(entries) { list throws(KafkaError) -> [TopicPartition: Int64?] in
                try KafkaError.check(rd_kafka_offsets_for_times(handle.pointer, list, ms), function: "rd_kafka_offsets_for_times")
                var out: [TopicPartition: Int64?] = [:]
                for (tp, offset, err) in PartitionList.read(list) {
                    out[tp] = err == RD_KAFKA_RESP_ERR_NO_ERROR && offset >= 0 ? offset : nil
                }
                return out
            }
        }
    }
}
