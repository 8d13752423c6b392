// AuditTrail — Kafka module tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import CRdKafka
import Kafka
import Testing

@Suite(.timeLimit(.minutes(3)))
struct ProducerOutageTests {
    @Test func idempotentProducerDeliversEverythingOnceAcrossABrokerOutage() async throws {
        let topic = TestEnvironment.uniqueName("outage")
        let total = 20_000
        try await withMockCluster(topics: [topic: 3]) { cluster in
            let bootstrap = cluster.bootstrapServers
            var configuration = KafkaConfiguration(bootstrapServers: bootstrap)
            configuration.set("reconnect.backoff.max.ms", "200")
            let producer = try Producer(configuration: configuration)
            for i in 0..<total / 2 {
                try await producer.enqueue(ProducerRecord(topic: topic, partition: Int32(i % 3), value: Array("\(i)".utf8)))
            }
            // The broker goes away with the first half still in flight.
            try cluster.setBrokerDown(1)
            for i in total / 2..<total {
                try await producer.enqueue(ProducerRecord(topic: topic, partition: Int32(i % 3), value: Array("\(i)".utf8)))
            }
            let noticed = await producer.waitForClientError(named: ["_TRANSPORT", "_ALL_BROKERS_DOWN"], timeout: .seconds(30))
            #expect(noticed, "the producer never noticed the outage")
            #expect(producer.inFlight > 0, "everything was delivered before the outage began")
            try cluster.setBrokerUp(1)
            let summary = try await producer.flush(timeout: .seconds(90))
            #expect(summary.delivered == total)
            #expect(summary.failed == 0)

            let consumer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            try consumer.assign([TopicPartition(topic, 0): .beginning, TopicPartition(topic, 1): .beginning, TopicPartition(topic, 2): .beginning])
            var values: [Int] = []
            var highest: [Int32: Int64] = [:]
            while values.count < total {
                let batch = try await consumer.poll(timeout: .seconds(5))
                if batch.isEmpty { break }
                for message in batch.messages {
                    values.append(Int(String(decoding: message.value ?? [], as: UTF8.self)) ?? -1)
                    highest[message.partition] = message.offset
                }
            }
            // A few more polls would reveal duplicates written past the expected end.
            let extra = try await consumer.poll(timeout: .milliseconds(500))
            #expect(extra.messages.isEmpty, "duplicates beyond the expected count")
            #expect(values.count == total)
            #expect(Set(values) == Set(0..<total))
            for p in Int32(0)..<3 {
                let mine = values.filter { $0 % 3 == Int(p) }
                #expect(mine.count == total / 3 + (Int(p) < total % 3 ? 1 : 0))
            }
            try await consumer.close()
        }
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
