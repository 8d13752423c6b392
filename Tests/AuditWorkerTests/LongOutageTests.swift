// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Testing

@Suite(.timeLimit(.minutes(15)))
struct LongOutageTests {
    /// The only broker is gone for 6 minutes while two workers consume, store and forward and
    /// an AuditClient publisher keeps publishing: longer than the group session, librdkafka's
    /// default message timeout (5 min) and its max poll interval (5 min). When it is back, the
    /// workers resume from their stores and the publisher delivers what it queued: from the
    /// store alone, nothing is lost and nothing is stored twice.
    @Test func workersAndAnAuditClientRideOutSixMinutesWithoutTheBroker() async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("long-outage")
        let byID = "\(group).by-id"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let outage = Duration.seconds(ProcessInfo.processInfo.environment["AUDIT_OUTAGE_SECONDS"].flatMap(Int64.init) ?? 360)
        let trail = PublishedTrail(calls: 3_000, keyed: false, seed: 5)
        let clientCalls = 300
        try await withMockCluster(topics: [topic: 6, byID: 6]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let partitions = (Int32(0)..<6).flatMap { p in [TopicPartition(topic, p), TopicPartition(byID, p)] }
            let workers = try makeWorkers(count: 2, bootstrap: bootstrap, topic: topic, group: group, data: data)
            /// The next offset durable in the store, per partition, whichever worker wrote it.
            @Sendable func durable(_ progress: [Worker.Progress], _ tp: TopicPartition) -> Int64 {
                progress.map { $0.durable[tp] ?? 0 }.max() ?? 0
            }
            var producerConfiguration = KafkaConfiguration(bootstrapServers: bootstrap)
            producerConfiguration.set("sticky.partitioning.linger.ms", "0")
            let producer = try Producer(configuration: producerConfiguration)
            let probe = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            func highWatermarks() async throws -> [TopicPartition: Int64] {
                var marks: [TopicPartition: Int64] = [:]
                for tp in partitions { marks[tp] = try await probe.watermarks(tp).high }
                return marks
            }
            func waitUntilDurable(_ what: String) async throws {
                var marks = try await highWatermarks()
                while true {
                    let target = marks
                    try await Worker.waitForProgress(of: workers, timeout: .seconds(300), what) { progress in
                        target.allSatisfy { durable(progress, $0.key) >= $0.value }
                    }
                    let now = try await highWatermarks()
                    if now == marks { return }
                    marks = now
                }
            }

            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for worker in workers { tasks.addTask { try await worker.run() } }
                let half = trail.values.count / 2
                for (key, value) in trail.values[..<half] { try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value)) }
                #expect(try await producer.flush(timeout: .seconds(60)).failed == 0)
                // Mid-stream: the first half is being consumed, forwarded and stored.
                try await Worker.waitForProgress(of: workers, timeout: .seconds(120), "the workers storing") { progress in
                    partitions.contains { durable(progress, $0) > 0 }
                }

                try cluster.setBrokerDown(1)
                var configuration = AuditPublisher.Configuration(bootstrapServers: bootstrap, publisherID: "nova-api")
                configuration.enqueueBudget = .seconds(1)
                let publisher = try AuditPublisher(configuration: configuration)
                var traffic = SampleTraffic(seed: 55)
                var outcomes: [AuditPublisher.PublishOutcome] = []
                for _ in 0..<clientCalls {
                    let call = traffic.next()
                    outcomes.append(await publisher.publish(call.request.payload, eventType: .request))
                    outcomes.append(await publisher.publish(call.response.payload, eventType: .response))
                }
                #expect(outcomes.allSatisfy { $0 == .queued }, "the publisher dropped while Kafka was away")
                // The outage itself is the scenario: minutes of no broker at all.
                try await Task.sleep(for: outage)
                try cluster.setBrokerUp(1)

                for (key, value) in trail.values[half...] { try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value)) }
                #expect(try await producer.flush(timeout: .seconds(120)).failed == 0)
                let statistics = try await publisher.flush(timeout: .seconds(120))
                #expect(statistics.delivered == 2 * clientCalls && statistics.failed == 0 && statistics.dropped == 0, "\(statistics)")
                try await waitUntilDurable("everything published durable in the store")
                for worker in workers { worker.stop() }
                try await tasks.waitForAll()
            }
            #expect(workers.map(\.progress.gapOffsets).reduce(0, +) == 0)
            try await probe.close()
        }
        #expect(try trail.mismatches(inStoreAt: data, clientCalls: clientCalls) == [])
    }
}
