// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Testing

/// DESIGN §6.1–6.4, 6.8 under churn: worker processes of one group join, leave gracefully and
/// are killed with SIGKILL at random moments while unkeyed traffic streams in, so the group
/// rebalances dozens of times mid-stream, with copies in flight on the by-id topic. Afterwards
/// the store alone must hold every notification exactly once and verify clean.
///
/// `AUDIT_CHURN_CALLS` and `AUDIT_CHURN_EVENTS` run it larger.
@Suite(.timeLimit(.minutes(20)))
struct ChurnTests {
    @Test func fiftyMembershipChangesMidStreamLoseAndDuplicateNothing() async throws {
        let environment = ProcessInfo.processInfo.environment
        let calls = environment["AUDIT_CHURN_CALLS"].flatMap(Int.init) ?? 50_000
        let events = environment["AUDIT_CHURN_EVENTS"].flatMap(Int.init) ?? 50
        let seed = environment["AUDIT_CHURN_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...1_000_000)
        print("churn run: \(calls) calls, \(events) membership changes, seed \(seed)")
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("churn")
        let byID = "\(group).by-id"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("churn-data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let trail = PublishedTrail(calls: calls, keyed: false, seed: seed)
        var random = SeededRandom(seed: seed)
        let partitionCount: Int32 = 12

        try await withMockCluster(topics: [topic: partitionCount, byID: partitionCount]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let partitions = (0..<partitionCount).flatMap { p in [TopicPartition(topic, p), TopicPartition(byID, p)] }
            var producerConfiguration = KafkaConfiguration(bootstrapServers: bootstrap)
            producerConfiguration.set("sticky.partitioning.linger.ms", "0")
            let producer = try Producer(configuration: producerConfiguration)
            let probe = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))

            var members = try (0..<3).map { _ in try WorkerProcess(bootstrap: bootstrap, group: group, data: data) }
            defer { for member in members { member.kill() } }
            var counts = (joined: 0, left: 0, killed: 0)
            let chunk = max(1, trail.values.count / events)
            var published = 0
            for event in 0..<events {
                // A chunk of traffic, then a membership change at a random moment while it streams.
                let end = event == events - 1 ? trail.values.count : min(trail.values.count, published + chunk)
                for (key, value) in trail.values[published..<end] {
                    try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value))
                }
                published = end
                try await Task.sleep(for: .milliseconds(Int.random(in: 0..<1_500, using: &random)))
                let choice = members.count <= 2 ? 0 : members.count >= 4 ? Int.random(in: 1...2, using: &random)
                    : Int.random(in: 0...2, using: &random)
                switch choice {
                case 0:
                    members.append(try WorkerProcess(bootstrap: bootstrap, group: group, data: data))
                    counts.joined += 1
                case 1:
                    let leaving = members.remove(at: Int.random(in: 0..<members.count, using: &random))
                    #expect(await leaving.terminate() == 0, "a member did not leave cleanly (\(leaving.ending)):\n\(leaving.logTail())")
                    counts.left += 1
                default:
                    members.remove(at: Int.random(in: 0..<members.count, using: &random)).kill()
                    counts.killed += 1
                }
                // The embedded broker keeps ~5 MiB per partition: the traffic stays a few chunks
                // ahead of what the group made durable, so nothing is deleted unread.
                try await producer.flush(timeout: .seconds(60))
                let marks = try await highWatermarks(probe, partitions.filter { $0.topic == topic })
                try await waitUntilDurable(members, marks.mapValues { $0 - Int64(3 * chunk) / Int64(partitionCount) })
            }
            print("churn run: \(counts.joined) joined, \(counts.left) left, \(counts.killed) killed")
            #expect(counts.joined + counts.left + counts.killed == events)
            #expect(try await producer.flush(timeout: .seconds(120)).failed == 0)
            // Everything published, and the copies forwarded from it, durable in the store.
            try await waitUntilEverythingDurable(probe, partitions) { try await waitUntilDurable(members, $0) }
            for member in members {
                #expect(await member.terminate() == 0, "a member did not drain cleanly (\(member.ending)):\n\(member.logTail())")
            }
            members = []
            try await probe.close()
        }

        // Every invariant from the store alone.
        #expect(try trail.mismatches(inStoreAt: data) == [])
        #expect(try Trail(directory: data, window: 0, now: 0, indexOnly: true).statistics.gaps == 0)
        #expect(try HopAccount(directory: data).forwarded >= trail.values.count)
    }

    /// Until the group's store holds every offset below `marks` durably, as the live members
    /// report it (a partition's owner reports its durable offset; a former owner's older value
    /// is lower, so the largest is the owner's).
    private func waitUntilDurable(_ members: [WorkerProcess], _ marks: [TopicPartition: Int64]) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while true {
            var durable: [String: Int64] = [:]
            for member in members {
                for (name, value) in await member.metrics() ?? [:] where name.hasPrefix("audit_durable_offset{") {
                    durable[name] = max(durable[name] ?? 0, value)
                }
            }
            if marks.allSatisfy({ tp, high in (durable["audit_durable_offset{partition=\"\(tp)\"}"] ?? 0) >= high }) { return }
            if ContinuousClock.now >= deadline {
                throw WorkerError("timed out waiting for the group to make \(marks.count) partitions durable:\n\(members.last?.logTail() ?? "")")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
