// AuditTrail — client tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTesting
import Foundation
import Kafka
import Testing

@Suite(.timeLimit(.minutes(2)))
struct PublisherTests {
    @Test func notificationsAreKeyedByPayloadIDAndLandWithTheirPartner() async throws {
        let calls = try sampleCalls(count: 40)
        try await withMockCluster(topics: ["notifications.info": 6]) { cluster in
            let publisher = try AuditPublisher(
                configuration: AuditPublisher.Configuration(bootstrapServers: cluster.bootstrapServers, publisherID: "nova-api"))
            var partitionOf: [String: Set<Int32>] = [:]
            for call in calls {
                for notification in [call.request, call.response] {
                    let report = try await publisher.publishAndConfirm(notification)
                    partitionOf[notification.payload.id, default: []].insert(report.topicPartition.partition)
                }
            }
            #expect(partitionOf.count == 40)
            #expect(partitionOf.values.allSatisfy { $0.count == 1 }, "a request and its response went to different partitions")
            #expect(Set(partitionOf.values.flatMap { $0 }).count > 1)
            let consumer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<6).map { (TopicPartition("notifications.info", $0), Offset.beginning) }))
            var keys: [String] = []
            while keys.count < 80 {
                let batch = try await consumer.poll(timeout: .seconds(5))
                if batch.isEmpty { break }
                keys += batch.messages.map { String(decoding: $0.key ?? [], as: UTF8.self) }
            }
            #expect(Set(keys) == Set(partitionOf.keys))
            try await consumer.close()
        }
    }

    @Test func anUnreachableKafkaCostsAtMostTheBudgetAndDropsAreCounted() async throws {
        try await withMockCluster(topics: ["notifications.info": 1]) { cluster in
            try cluster.setBrokerDown(1)
            var configuration = AuditPublisher.Configuration(
                bootstrapServers: cluster.bootstrapServers, publisherID: "nova-api",
                enqueueBudget: .milliseconds(100), queueCapacity: 5)
            configuration.kafka.set("reconnect.backoff.max.ms", "100")
            let publisher = try AuditPublisher(configuration: configuration)
            let calls = try sampleCalls(count: 10)
            var outcomes: [AuditPublisher.PublishOutcome] = []
            var slowest = Duration.zero
            for call in calls {
                let start = ContinuousClock.now
                outcomes.append(await publisher.publish(call.request.payload, eventType: .request))
                slowest = max(slowest, start.duration(to: .now))
            }
            #expect(outcomes.filter { $0 == .queued }.count == 5)
            #expect(outcomes.filter { $0 == .dropped }.count == 5)
            #expect(publisher.statistics.dropped == 5)
            // Bounded, not fast: the budget plus scheduling slack.
            #expect(slowest < .milliseconds(100) + .seconds(2), "a publish waited \(slowest)")
            try cluster.setBrokerUp(1)
            let statistics = try await publisher.flush(timeout: .seconds(60))
            #expect(statistics.delivered == 5)
            #expect(statistics.failed == 0)
        }
    }
}
