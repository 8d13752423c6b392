// AuditTrail — Kafka module tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import CRdKafka
import Kafka
import Testing

@Suite(.timeLimit(.minutes(3)))
struct ProducerOutageTests {
    /// What the idempotent producer promises across an outage: every message gets exactly one
    /// successful delivery report, each partition's log holds the messages in the order they were
    /// produced, without gaps, and nothing else.
    ///
    /// One limit of the broker we test against: librdkafka 2.0.2's mock cluster checks producer
    /// sequence numbers only for transactional producers (`rd_kafka_mock_validate_records`
    /// returns early without a TransactionalId). A batch it appended just before the connection
    /// dropped, retried by the producer with the same base sequence, is appended again where a
    /// real broker would ack it as a duplicate. The log check therefore accepts exactly that
    /// shape, a whole run repeated right where the producer left off, and counts it; anything
    /// else (a gap, a reordering, a stray value) fails.
    @Test func idempotentProducerDeliversEverythingOnceAndInOrderAcrossABrokerOutage() async throws {
        let topic = TestEnvironment.uniqueName("outage")
        let total = 20_000
        let partitions: Int32 = 3
        try await withMockCluster(topics: [topic: partitions]) { cluster in
            let bootstrap = cluster.bootstrapServers
            var configuration = KafkaConfiguration(bootstrapServers: bootstrap)
            configuration.set("reconnect.backoff.max.ms", "200")
            let producer = try Producer(configuration: configuration)
            for i in 0..<total / 2 {
                try await producer.enqueue(ProducerRecord(topic: topic, partition: Int32(i) % partitions, value: Array("\(i)".utf8)))
            }
            // The broker goes away with the first half still in flight.
            try cluster.setBrokerDown(1)
            for i in total / 2..<total {
                try await producer.enqueue(ProducerRecord(topic: topic, partition: Int32(i) % partitions, value: Array("\(i)".utf8)))
            }
            let noticed = await producer.waitForClientError(named: ["_TRANSPORT", "_ALL_BROKERS_DOWN"], timeout: .seconds(30))
            #expect(noticed, "the producer never noticed the outage")
            #expect(producer.inFlight > 0, "everything was delivered before the outage began")
            try cluster.setBrokerUp(1)
            let summary = try await producer.flush(timeout: .seconds(90))
            #expect(summary.delivered == total)
            #expect(summary.failed == 0)

            let consumer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            var high: [Int32: Int64] = [:]
            var assignment: [TopicPartition: Offset] = [:]
            for p in 0..<partitions {
                high[p] = try await consumer.watermarks(TopicPartition(topic, p)).high
                assignment[TopicPartition(topic, p)] = .beginning
            }
            try consumer.assign(assignment)
            var logs: [Int32: [Int]] = [:]
            var remaining = high.values.reduce(0, +)
            while remaining > 0 {
                let batch = try await consumer.poll(timeout: .seconds(5))
                if batch.isEmpty { break }
                for message in batch.messages {
                    logs[message.partition, default: []].append(Int(String(decoding: message.value ?? [], as: UTF8.self)) ?? -1)
                    remaining -= 1
                }
            }
            #expect(remaining == 0, "the logs end before their high watermarks")
            var repeated = 0
            for p in 0..<partitions {
                let produced = stride(from: Int(p), to: total, by: Int(partitions))
                let shape = RetriedLogShape(log: logs[p] ?? [], produced: Array(produced))
                #expect(shape.problem == nil, "partition \(p): \(shape.problem ?? "")")
                repeated += shape.repeated
            }
            if repeated > 0 {
                print("outage: the mock re-appended \(repeated) retried message(s) a real broker would have deduplicated")
            }
            try await consumer.close()
        }
    }
}

/// Reads a partition log against the sequence produced into it: in order, complete, and with any
/// repetition only as one whole run that restarts earlier and climbs back to where it left off.
struct RetriedLogShape {
    var repeated = 0
    var problem: String?

    init(log: [Int], produced: [Int]) {
        let position = Dictionary(uniqueKeysWithValues: produced.enumerated().map { ($1, $0) })
        var next = 0
        var replay: Int?
        for value in log {
            guard let index = position[value] else {
                problem = "value \(value) was never produced here"
                return
            }
            if let expected = replay {
                guard index == expected else {
                    problem = "a repeated run breaks off at \(value)"
                    return
                }
                repeated += 1
                replay = index + 1 == next ? nil : index + 1
            } else if index == next {
                next += 1
            } else if index < next {
                repeated += 1
                replay = index + 1 == next ? nil : index + 1
            } else {
                problem = "gap: expected \(produced[next]), found \(value)"
                return
            }
        }
        if replay != nil { problem = "the log ends inside a repeated run" }
        else if next != produced.count { problem = "only \(next) of \(produced.count) produced values are in the log" }
    }
}

struct RetriedLogShapeTests {
    @Test func acceptsOnlyInOrderLogsWithWholeRunsRepeatedInPlace() {
        let produced = [0, 3, 6, 9, 12]
        #expect(RetriedLogShape(log: [0, 3, 6, 9, 12], produced: produced).problem == nil)
        let retried = RetriedLogShape(log: [0, 3, 6, 3, 6, 9, 12], produced: produced)
        #expect(retried.problem == nil)
        #expect(retried.repeated == 2)
        #expect(RetriedLogShape(log: [0, 6, 3, 9, 12], produced: produced).problem != nil)
        #expect(RetriedLogShape(log: [0, 3, 9, 12], produced: produced).problem != nil)
        #expect(RetriedLogShape(log: [0, 3, 6, 3, 9, 12], produced: produced).problem != nil)
        #expect(RetriedLogShape(log: [0, 3, 6, 9, 12, 1], produced: produced).problem != nil)
        #expect(RetriedLogShape(log: [0, 3, 6, 9], produced: produced).problem != nil)
    }
}

@Suite(.timeLimit(.minutes(2)))
struct ProducerRequestErrorTests {
    @Test func retriedProduceRequestErrorsLeaveNoDuplicate() async throws {
        let topic = TestEnvironment.uniqueName("errors")
        try await withMockCluster(topics: [topic: 1]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            // Produce (API key 0) fails five times with retriable errors before succeeding.
            cluster.pushRequestErrors(
                apiKey: 0,
                [RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                 RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                 RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION])
            var reports: [DeliveryReport] = []
            for i in 0..<50 {
                reports.append(try await producer.send(ProducerRecord(topic: topic, value: Array("\(i)".utf8))))
            }
            #expect(reports.map(\.offset) == Array(0..<50))
            let consumer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            try consumer.assign([TopicPartition(topic, 0): .beginning])
            var values: [String] = []
            while values.count < 50 {
                let batch = try await consumer.poll(timeout: .seconds(5))
                if batch.isEmpty { break }
                values += batch.messages.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            }
            #expect(values == (0..<50).map(String.init))
            let marks = try await consumer.watermarks(TopicPartition(topic, 0))
            #expect(marks.high == 50)
            try await consumer.close()
        }
    }
}
