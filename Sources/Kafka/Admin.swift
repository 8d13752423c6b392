// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka

/// The few admin requests AuditTrail makes, on the handle of an existing ``Producer``: listing
/// topics, creating one, reading a topic's configuration.
///
/// Each call blocks a Dispatch thread (never the cooperative pool) for at most its timeout.
/// A broker that does not implement a request fails the call with librdkafka's error, which
/// callers handle: librdkafka 2.0.2's mock cluster answers no CreateTopics or DescribeConfigs
/// (they wait for a controller until their timeout) and no DeleteRecords (`_UNSUPPORTED_FEATURE`).
public struct Admin: Sendable {
    let handle: KafkaHandle

    /// Admin requests through `producer`'s connections.
    public init(using producer: Producer) {
        handle = producer.handle
    }

    /// Every topic the cluster has, with its partition count. Lists all topics: naming one
    /// would let a broker with `auto.create.topics.enable` create it.
    ///
    /// - Throws: ``KafkaError`` when the metadata request fails or times out.
    public func topics(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [String: Int32] {
        let handle = handle
        return try await runBlocking { () throws(KafkaError) -> [String: Int32] in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            try KafkaError.check(
                rd_kafka_metadata(handle.pointer, 1, nil, &metadata, Int32(timeout.milliseconds)),
                function: "rd_kafka_metadata")
            guard let metadata else { return [:] }
            defer { rd_kafka_metadata_destroy(metadata) }
            var out: [String: Int32] = [:]
            for i in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[i]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                out[String(cString: topic.topic)] = topic.partition_cnt
            }
            return out
        }
    }

    /// Creates `topic` with `partitions` partitions, the broker's default replication factor and
    /// the given topic configuration (e.g. `retention.ms`).
    ///
    /// - Throws: ``KafkaError`` with the broker's or librdkafka's error (`TOPIC_ALREADY_EXISTS`,
    ///   `_UNSUPPORTED_FEATURE`, `_TIMED_OUT`, …).
    public func createTopic(
        _ topic: String, partitions: Int32, configuration: [String: String], timeout: Duration = .seconds(10)
    ) async throws(KafkaError) {
        let handle = handle
        try await runBlocking { () throws(KafkaError) in
            var errorText = [CChar](repeating: 0, count: 512)
            guard let newTopic = rd_kafka_NewTopic_new(topic, partitions, -1, &errorText, errorText.count) else {
                let text = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(.invalidArgument, "rd_kafka_NewTopic_new: \(text) (\(topic))")
            }
            defer { rd_kafka_NewTopic_destroy(newTopic) }
            for (key, value) in configuration {
                try KafkaError.check(rd_kafka_NewTopic_set_config(newTopic, key, value), function: "rd_kafka_NewTopic_set_config", key)
            }
            let result = try Self.request(handle, timeout: timeout, expecting: RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
                options, queue in
                var topics: [OpaquePointer?] = [newTopic]
                rd_kafka_CreateTopics(handle.pointer, &topics, 1, options, queue)
            }
            defer { rd_kafka_event_destroy(result) }
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(result), &count)
            for i in 0..<count {
                let err = rd_kafka_topic_result_error(results![i])
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let text = rd_kafka_topic_result_error_string(results![i]).map { String(cString: $0) } ?? ""
                    throw KafkaError.resp(err, function: "rd_kafka_CreateTopics", "\(topic): \(text)")
                }
            }
        }
    }

    /// The configuration entries of `topic` as the broker reports them.
    ///
    /// - Throws: ``KafkaError`` with the broker's or librdkafka's error.
    public func configuration(ofTopic topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [String: String] {
        let handle = handle
        return try await runBlocking { () throws(KafkaError) -> [String: String] in
            guard let resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic) else {
                throw KafkaError(.invalidArgument, "rd_kafka_ConfigResource_new (\(topic))")
            }
            defer { rd_kafka_ConfigResource_destroy(resource) }
            let result = try Self.request(handle, timeout: timeout, expecting: RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT) {
                options, queue in
                var resources: [OpaquePointer?] = [resource]
                rd_kafka_DescribeConfigs(handle.pointer, &resources, 1, options, queue)
            }
            defer { rd_kafka_event_destroy(result) }
            var count = 0
            let resources = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(result), &count)
            var out: [String: String] = [:]
            for i in 0..<count {
                let described = resources![i]
                let err = rd_kafka_ConfigResource_error(described)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError.resp(err, function: "rd_kafka_DescribeConfigs", topic)
                }
                var entryCount = 0
                let entries = rd_kafka_ConfigResource_configs(described, &entryCount)
                for j in 0..<entryCount {
                    guard let name = rd_kafka_ConfigEntry_name(entries![j]) else { continue }
                    out[String(cString: name)] = rd_kafka_ConfigEntry_value(entries![j]).map { String(cString: $0) }
                }
            }
            return out
        }
    }

    /// Deletes the records of each partition below its offset (Kafka's DeleteRecords: the
    /// partition's low watermark moves up to it).
    ///
    /// - Throws: ``KafkaError`` with the first partition's error, or the request's.
    public func deleteRecords(before offsets: [TopicPartition: Int64], timeout: Duration = .seconds(10)) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let handle = handle
        let offsets = offsets
        try await runBlocking { () throws(KafkaError) in
            let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (tp, offset) in offsets {
                rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset
            }
            guard let request = rd_kafka_DeleteRecords_new(list) else {
                throw KafkaError(.invalidArgument, "rd_kafka_DeleteRecords_new")
            }
            defer { rd_kafka_DeleteRecords_destroy(request) }
            let result = try Self.request(handle, timeout: timeout, expecting: RD_KAFKA_EVENT_DELETERECORDS_RESULT) {
                options, queue in
                var requests: [OpaquePointer?] = [request]
                rd_kafka_DeleteRecords(handle.pointer, &requests, 1, options, queue)
            }
            defer { rd_kafka_event_destroy(result) }
            guard let deleted = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(result)) else { return }
            for i in 0..<Int(deleted.pointee.cnt) {
                let element = deleted.pointee.elems[i]
                if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError.resp(element.err, function: "rd_kafka_DeleteRecords", "\(String(cString: element.topic))[\(element.partition)]")
                }
            }
        }
    }

    /// Sends one admin request (`send(options, queue)`) and waits on a private queue for its
    /// result event, which the caller destroys.
    private static func request(
        _ handle: KafkaHandle, timeout: Duration, expecting type: Int32,
        _ send: (OpaquePointer?, OpaquePointer?) -> Void
    ) throws(KafkaError) -> OpaquePointer {
        let queue = rd_kafka_queue_new(handle.pointer)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_ANY)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.milliseconds), &errorText, errorText.count)
        send(options, queue)
        // librdkafka answers every admin request, with an error at the latest at its timeout.
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds) + 1000) else {
            throw KafkaError(.timedOut, "admin request not answered within \(timeout)")
        }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            rd_kafka_event_destroy(event)
            throw KafkaError.resp(err, function: "admin request", text)
        }
        guard rd_kafka_event_type(event) == type else {
            rd_kafka_event_destroy(event)
            throw KafkaError(.librdkafka, "admin request: unexpected event type")
        }
        return event
    }
}

extension Duration {
    /// Whole milliseconds, for librdkafka's timeouts.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
