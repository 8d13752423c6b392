// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka
import Logging

/// librdkafka's mock cluster (`rdkafka_mock.h`): real Kafka brokers' protocol over real TCP on
/// loopback, inside this process. The embedded default broker and the broker of every test.
///
/// Fault injection: ``setBrokerDown(_:)``, ``setBrokerUp(_:)``, ``pushRequestErrors(apiKey:_:)``,
/// ``setRoundTripTime(broker:milliseconds:)``.
///
/// - Note: the mock keeps a bounded log per partition (older messages are deleted, as retention
///   would delete them); keep large backlogs spread over many partitions.
public final class MockCluster: @unchecked Sendable {
    // The mock cluster lives inside a (never-used) producer handle; declared first so it is
    // destroyed after the cluster. librdkafka's mock API is thread-safe (it posts to the
    // cluster's own thread).
    private let owner: KafkaHandle
    private let cluster: OpaquePointer
    /// The number of brokers, with ids 1...brokerCount.
    public let brokerCount: Int32

    /// Starts `brokers` mock brokers listening on loopback.
    public init(brokers: Int32 = 1, logger: Logger = Logger(label: "kafka.mock")) throws(KafkaError) {
        var configuration = KafkaConfiguration()
        configuration.set("log.connection.close", "false")
        self.owner = try KafkaHandle(role: .producer, configuration: configuration, context: HandleContext(logger: logger))
        guard let cluster = rd_kafka_mock_cluster_new(owner.pointer, Int32(brokers)) else {
            throw KafkaError(.librdkafka, "could not start a mock cluster", function: "rd_kafka_mock_cluster_new")
        }
        self.cluster = cluster
        self.brokerCount = brokers
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// The bootstrap address list (`127.0.0.1:port,…`).
    public var bootstrapServers: String {
        String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor),
            function: "rd_kafka_mock_topic_create", name)
    }

    /// Disconnects a broker and refuses new connections (no leader change follows).
    public func setBrokerDown(_ broker: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_down(cluster, broker), function: "rd_kafka_mock_broker_set_down")
    }

    /// Lets a broker accept connections again.
    public func setBrokerUp(_ broker: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_up(cluster, broker), function: "rd_kafka_mock_broker_set_up")
    }

    /// Adds latency to every response of a broker.
    public func setRoundTripTime(broker: Int32, milliseconds: Int32) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_broker_set_rtt(cluster, broker, milliseconds), function: "rd_kafka_mock_broker_set_rtt")
    }

    /// Makes the next requests with Kafka API key `apiKey` fail with `errors`, in order.
    ///
    /// API keys: Produce 0, Fetch 1, ListOffsets 2, Metadata 3, OffsetCommit 8, OffsetFetch 9,
    /// FindCoordinator 10, JoinGroup 11, Heartbeat 12, SyncGroup 14, InitProducerId 22.
    public func pushRequestErrors(apiKey: Int16, _ errors: [rd_kafka_resp_err_t]) {
        var errors = errors
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, errors.count, &errors)
    }

    /// Delays the next response of `broker` to a request with Kafka API key `apiKey` (see
    /// ``pushRequestErrors(apiKey:_:)``) by `milliseconds`, without an error.
    public func delayNextResponse(broker: Int32, apiKey: Int16, milliseconds: Int32) throws(KafkaError) {
        try KafkaError.check(
            audit_mock_delay_next_response(cluster, broker, apiKey, milliseconds),
            function: "rd_kafka_mock_broker_push_request_error_rtts")
    }

    /// Makes the next `count` requests with Kafka API key `apiKey` to `broker` fail with
    /// `error`, each answered after `milliseconds` (see ``pushRequestErrors(apiKey:_:)``).
    public func failRequests(
        broker: Int32, apiKey: Int16, with error: rd_kafka_resp_err_t, count: Int, milliseconds: Int32
    ) throws(KafkaError) {
        try KafkaError.check(
            audit_mock_fail_next_requests(cluster, broker, apiKey, error, Int32(count), milliseconds),
            function: "rd_kafka_mock_broker_push_request_error_rtts")
    }

    /// Makes `broker` the leader of a topic's partition.
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker),
            function: "rd_kafka_mock_partition_set_leader", "\(topic)[\(partition)]")
    }

    /// Makes the group coordinator of `group` be `broker`.
    public func setCoordinator(group: String, broker: Int32) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_coordinator_set(cluster, "group", group, broker), function: "rd_kafka_mock_coordinator_set")
    }
}

/// Runs `body` with a fresh mock cluster that has `topics` created, then stops the cluster.
public func withMockCluster<R>(
    brokers: Int32 = 1, topics: [String: Int32] = [:], logger: Logger = Logger(label: "kafka.mock"),
    _ body: (MockCluster) async throws -> R
) async throws -> R {
    let cluster = try MockCluster(brokers: brokers, logger: logger)
    for (topic, partitions) in topics.sorted(by: { $0.key < $1.key }) {
        try cluster.createTopic(topic, partitions: partitions)
    }
    defer { withExtendedLifetime(cluster) {} }
    return try await body(cluster)
}
