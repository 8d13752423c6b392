// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Testing

/// DESIGN §6.8: the worker never produces into a by-id topic the broker would create on the fly
/// with its defaults. librdkafka 2.0.2's embedded cluster answers no CreateTopics or
/// DescribeConfigs request, so these tests see the worker's handling of those errors.
@Suite(.timeLimit(.minutes(2)))
struct ByIDTopicTests {
    @Test func aMissingByIDTopicThatCannotBeCreatedStopsTheWorkerWithTheCommandThatCreatesIt() async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("no-by-id")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        try await withMockCluster(topics: [topic: 5, "other": 8]) { cluster in
            let worker = try makeWorkers(count: 1, bootstrap: cluster.bootstrapServers, topic: topic, group: group, data: data)[0]
            let error = await #expect(throws: WorkerError.self) { try await worker.run() }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("\(group).by-id"))
            #expect(text.contains("--create --topic \(group).by-id --partitions 5"), "\(text)")
            #expect(text.contains("retention.ms=-1"))
            // Nothing was produced into a topic created on the fly.
            let admin = Admin(using: try Producer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)))
            #expect(try await admin.topics()["\(group).by-id"] == nil)
            #expect(worker.progress.forwarded == 0 && worker.progress.finished)
        }
    }

    @Test func adminRequestsTheEmbeddedClusterDoesNotAnswerFailWithAnError() async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("by-id")
        try await withMockCluster(topics: [topic: 2, "\(group).by-id": 2]) { cluster in
            let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            let admin = Admin(using: producer)
            #expect(try await admin.topics()["\(group).by-id"] == 2)
            // The embedded cluster does not describe configurations: the worker only warns then.
            await #expect(throws: KafkaError.self) { _ = try await admin.configuration(ofTopic: "\(group).by-id", timeout: .seconds(2)) }
            await #expect(throws: KafkaError.self) {
                try await admin.createTopic("\(group).new", partitions: 1, configuration: ["retention.ms": "-1"], timeout: .seconds(2))
            }
            // Nor does it purge: the worker then keeps every copy and says so once.
            let refused = await #expect(throws: KafkaError.self) {
                try await admin.deleteRecords(before: [TopicPartition("\(group).by-id", 0): 0])
            }
            print("DeleteRecords on the embedded cluster: \(refused.map { "\($0)" } ?? "-")")
        }
    }
}
