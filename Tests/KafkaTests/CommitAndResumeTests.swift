// AuditTrail — Kafka module tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Kafka
import Testing

@Suite(.timeLimit(.minutes(2)))
struct CommitAndResumeTests {
    /// Polls `consumer` until `count` messages arrived, completing rebalances with committed offsets.
    func consume(_ consumer: Consumer, count: Int) async throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while messages.count < count {
            #expect(ContinuousClock.now < deadline, "only \(messages.count) of \(count) arrived")
            if ContinuousClock.now >= deadline { break }
            let batch = try await consumer.poll(maxMessages: count - messages.count)
            messages += batch.messages
            if let rebalance = batch.rebalance { try consumer.completeRebalance(rebalance) }
        }
        return messages
    }

    @Test func newMemberResumesExactlyAfterTheCommittedOffset() async throws {
        let topic = TestEnvironment.uniqueName("resume")
        let group = TestEnvironment.uniqueName("group")
        try await withMockCluster(topics: [topic: 1]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            for i in 0..<1000 {
                try await producer.enqueue(ProducerRecord(topic: topic, value: Array("\(i)".utf8)))
            }
            try await producer.flush()
            let tp = TopicPartition(topic, 0)

            let first = try Consumer(configuration: TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group))
            try first.subscribe([topic])
            let seen = try await consume(first, count: 400)
            #expect(seen.map(\.offset) == Array(0..<400))
            try await first.commit([tp: 400])
            #expect(try await first.committed([tp])[tp] == 400)
            try await first.close()

            let second = try Consumer(configuration: TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group))
            try second.subscribe([topic])
            let rest = try await consume(second, count: 600)
            #expect(rest.first?.offset == 400)
            #expect(rest.map(\.offset) == Array(400..<1000))
            #expect(rest.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (400..<1000).map(String.init))
            try await second.close()
        }
    }

    @Test func assignAndSeekUseExplicitOffsetsAndReportWatermarks() async throws {
        let topic = TestEnvironment.uniqueName("assign")
        try await withMockCluster(topics: [topic: 2]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            for i in 0..<200 {
                let report = try await producer.send(
                    ProducerRecord(topic: topic, partition: Int32(i % 2), key: [UInt8(i % 256)], value: Array("\(i)".utf8),
                                   headers: [KafkaHeader(key: "h", value: Array("x\(i)".utf8)), KafkaHeader(key: "null", value: nil)]))
                #expect(report.topicPartition == TopicPartition(topic, Int32(i % 2)))
                #expect(report.offset == Int64(i / 2))
            }
            let p0 = TopicPartition(topic, 0)
            let p1 = TopicPartition(topic, 1)
            let consumer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            try consumer.assign([p0: .exact(90), p1: .end])
            #expect(try consumer.assignment() == [p0, p1])
            let messages = try await consume(consumer, count: 10)
            #expect(messages.map(\.offset) == Array(90..<100))
            #expect(messages.allSatisfy { $0.topicPartition == p0 })
            let first = try #require(messages.first)
            #expect(first.headers == [KafkaHeader(key: "h", value: Array("x180".utf8)), KafkaHeader(key: "null", value: nil)])
            #expect(first.key == [180])
            #expect(first.timestamp != nil)
            let marks = try await consumer.watermarks(p1)
            #expect(marks.low == 0 && marks.high == 100)
            try consumer.seek(p0, to: .exact(5))
            let again = try await consume(consumer, count: 3)
            #expect(again.map(\.offset) == [5, 6, 7])
            try consumer.pause([p0])
            try consumer.resume([p0])
            try await consumer.close()
        }
    }
}
