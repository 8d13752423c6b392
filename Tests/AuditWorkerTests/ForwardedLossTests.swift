// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import CRdKafka
import Kafka
import Testing

/// DESIGN §6.8: a forwarded notification is accounted for until its copy is stored. Copies the
/// broker deletes from the by-id topic before a worker reads them make `verify` fail at each
/// source offset, are counted as lost, and `repair` brings every one back.
@Suite(.timeLimit(.minutes(6)))
struct ForwardedLossTests {
    /// Runs one worker until `done` holds for its progress, then stops it; `publish` runs once
    /// the worker started. Returns the worker's last progress.
    func runWorker(
        bootstrap: String, topic: String, group: String, data: String,
        until done: @escaping @Sendable (Worker.Progress) -> Bool,
        publish: (() async throws -> Void)? = nil
    ) async throws -> Worker.Progress {
        let worker = try makeWorkers(count: 1, bootstrap: bootstrap, topic: topic, group: group, data: data)[0]
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await worker.run() }
            try await publish?()
            try await worker.waitForProgress(timeout: .seconds(120), "the worker got there", until: done)
            worker.stop()
            try await tasks.waitForAll()
        }
        return worker.progress
    }

    @Test func deletedCopiesFailVerifyAreCountedAndRepairBringsThemBack() async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("loss")
        let byID = "\(group).by-id"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        // ~7 MB of unkeyed notifications: under 2 MB per source partition, under the embedded
        // broker's cap of 5 MiB per partition; all of it forwarded into one by-id partition, over the cap.
        let trail = PublishedTrail(calls: 2_000, keyed: false, seed: 16)
        let total = trail.values.count
        try await withMockCluster(brokers: 2, topics: [topic: 4, byID: 1]) { cluster in
            let bootstrap = cluster.bootstrapServers
            // The by-id partition on a broker of its own, which refuses the worker's fetches for
            // a while (as a broker does that lost leadership): the worker forwards every copy but
            // reads none back meanwhile, so the broker's size cap deletes the oldest unread.
            for partition in Int32(0)..<4 { try cluster.setPartitionLeader(topic: topic, partition: partition, broker: 1) }
            try cluster.setPartitionLeader(topic: byID, partition: 0, broker: 2)
            try cluster.setCoordinator(group: group, broker: 1)
            try cluster.failRequests(
                broker: 2, apiKey: 1, with: RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, count: 20, milliseconds: 250)
            let second = try await runWorker(
                bootstrap: bootstrap, topic: topic, group: group, data: data,
                until: { $0.stored + $0.duplicates + $0.lostCopies >= total }
            ) {
                var configuration = KafkaConfiguration(bootstrapServers: bootstrap)
                configuration.set("sticky.partitioning.linger.ms", "0")
                let producer = try Producer(configuration: configuration)
                for (key, value) in trail.values { try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value)) }
                #expect(try await producer.flush(timeout: .seconds(60)).failed == 0)
            }
            let deleted = second.lostCopies
            // The copies the broker still had are stored; the rest is a gap, counted and logged as lost.
            #expect(deleted > 0, "the embedded broker deleted no copy: the test lost its subject")

            // From the store alone: verify names each source offset whose copy is missing.
            let report = StoreVerifier(directory: data).verify()
            let lost = report.findings.filter { $0.code == .lostForward }
            #expect(lost.count == deleted)
            #expect(report.findings.count == lost.count, "\(report.findings.filter { $0.code != .lostForward }.prefix(3))")
            #expect(Set(lost.map(\.topic)) == [topic])
            let account = try HopAccount(directory: data)
            #expect(account.lost == Int64(deleted))
            #expect(account.inFlight.isEmpty)
            #expect(Set(account.missing.map { "\($0.topic)/\($0.partition)/\($0.offset)" })
                == Set(lost.map { "\($0.topic)/\($0.partition)/\($0.offset!)" }))
            #expect(account.missing.allSatisfy { $0.copyTopic == byID && $0.copy.map { $0.offset < Int64(deleted) } == true })
            let before = try Trail(directory: data, window: 0, now: Int64.max / 2).statistics
            #expect(before.notifications + before.duplicates == total - deleted)

            // 3. repair forwards each missing copy again; the worker stores it where it would have.
            let repair = Repair(kafka: KafkaConfiguration(bootstrapServers: bootstrap), dataDirectory: data, byIDTopic: byID)
            let summary = try await repair.run()
            #expect(summary.resent.count == deleted)
            #expect(summary.unrecoverable.isEmpty)
            _ = try await runWorker(bootstrap: bootstrap, topic: topic, group: group, data: data) {
                $0.stored + $0.duplicates >= deleted
            }
            // Idempotent: nothing left to repair.
            #expect(try await repair.run().resent.isEmpty)
        }

        // Every notification stored once, from the store alone, and verify clean.
        let after = try Trail(directory: data, window: 0, now: Int64.max / 2).statistics
        #expect(after.notifications == trail.notifications)
        #expect(after.duplicates == trail.duplicates)
        #expect(after.pairs == trail.pairs)
        #expect(after.orphanRequests == trail.missingResponses)
        #expect(after.orphanResponses == 0)
        #expect(after.conflicts == 0)
        let report = StoreVerifier(directory: data).verify()
        #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
        #expect(try HopAccount(directory: data).lost == 0)
    }
}
