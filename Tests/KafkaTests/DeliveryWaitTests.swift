// AuditTrail — Kafka module tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Kafka
import Testing

@Suite(.timeLimit(.minutes(2)))
struct DeliveryWaitTests {
    /// `waitForDeliveries` waits for the messages it is given and for nothing else in flight:
    /// a worker waits for one batch's copies while the next batch's are on their way.
    @Test func waitsForItsOwnMessagesOnlyAndKeepsTheirReports() async throws {
        let near = TestEnvironment.uniqueName("near")
        let far = TestEnvironment.uniqueName("far")
        try await withMockCluster(brokers: 2, topics: [near: 1, far: 1]) { cluster in
            try cluster.setPartitionLeader(topic: near, partition: 0, broker: 1)
            try cluster.setPartitionLeader(topic: far, partition: 0, broker: 2)
            var configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
            configuration.set("reconnect.backoff.max.ms", "200")
            let producer = try Producer(configuration: configuration)
            #expect(await producer.waitForDeliveries([], timeout: .seconds(1)))
            // Both leaders known before one of them goes away.
            _ = try await producer.send(ProducerRecord(topic: near, partition: 0, value: Array("warm".utf8)))
            _ = try await producer.send(ProducerRecord(topic: far, partition: 0, value: Array("warm".utf8)))

            try cluster.setBrokerDown(2)
            let stuck = try await producer.enqueueTracked(ProducerRecord(topic: far, partition: 0, value: Array("stuck".utf8)))
            let first = try await producer.enqueueTracked(ProducerRecord(topic: near, partition: 0, value: Array("first".utf8)))
            let second = try await producer.enqueueTracked(ProducerRecord(topic: near, partition: 0, value: Array("second".utf8)))
            producer.sendQueued()

            #expect(await producer.waitForDeliveries([first, second], timeout: .seconds(20)))
            #expect(producer.inFlight == 1, "the message to the broker that is down is still in flight")
            #expect(!(await producer.waitForDeliveries([stuck, first], timeout: .milliseconds(300))))
            // The reports are kept until taken, once.
            guard case .success(let report)? = producer.takeDelivery(first) else {
                Issue.record("no report for the first message")
                return
            }
            #expect(report.topicPartition == TopicPartition(near, 0) && report.offset == 1)
            #expect(producer.takeDelivery(first).map { _ in true } == nil, "a report is taken once")

            try cluster.setBrokerUp(2)
            #expect(await producer.waitForDeliveries([stuck, second], timeout: .seconds(30)))
            guard case .success(let late)? = producer.takeDelivery(stuck), case .success(let next)? = producer.takeDelivery(second) else {
                Issue.record("no report for the late or the second message")
                return
            }
            #expect(late.topicPartition == TopicPartition(far, 0) && late.offset == 1)
            #expect(next.offset == 2)
        }
    }
}
