// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import AuditWorker
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Testing

/// A worker process killed with SIGKILL at random moments while notifications stream in, and
/// restarted each time: afterwards the store alone must show every notification exactly once.
///
/// The default run (in the suite) kills 10 times over 50,000 calls (~100k notifications).
/// `scripts/crash-run.sh` runs the same test longer through `AUDIT_CRASH_CALLS` and
/// `AUDIT_CRASH_KILLS`.
@Suite(.timeLimit(.minutes(60)))
struct CrashRecoveryTests {
    @Test func workerKilledAtRandomMomentsLosesNothingAndDuplicatesNothing() async throws {
        let environment = ProcessInfo.processInfo.environment
        let calls = environment["AUDIT_CRASH_CALLS"].flatMap(Int.init) ?? 50_000
        let kills = environment["AUDIT_CRASH_KILLS"].flatMap(Int.init) ?? 10
        let seed = environment["AUDIT_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...1_000_000)
        print("crash run: \(calls) calls, \(kills) kills, seed \(seed)")
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("crash")
        let byID = "\(group).by-id"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("crash-data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        // Unkeyed, as oslo.messaging publishes: every notification also crosses the by-id topic,
        // so kills land between forwarding and storing too.
        let trail = PublishedTrail(calls: calls, keyed: false, seed: seed)
        var random = SeededRandom(seed: seed)

        try await withMockCluster(topics: [topic: 6, byID: 6]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let partitions = (0..<6).flatMap { p in [TopicPartition(topic, Int32(p)), TopicPartition(byID, Int32(p))] }
            var producerConfiguration = KafkaConfiguration(bootstrapServers: bootstrap)
            producerConfiguration.set("sticky.partitioning.linger.ms", "0")
            let producer = try Producer(configuration: producerConfiguration)
            let probe = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))

            var worker = try WorkerProcess(bootstrap: bootstrap, group: group, data: data)
            defer { worker.kill() }  // a failed run leaves no worker behind
            var published = 0
            // The mock broker keeps ~5 MiB per partition: publishing goes in chunks small enough
            // that what is not yet durable stays in the log across a kill and a restart.
            let chunk = max(1, min(8_000, trail.values.count / (kills + 1) + 1))
            var killed = 0
            while published < trail.values.count {
                try await worker.waitUntilAssigned(partitions.count)
                let end = min(trail.values.count, published + chunk)
                for (key, value) in trail.values[published..<end] {
                    try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value))
                }
                published = end
                if killed < kills {
                    // A random moment while the chunk is being consumed, forwarded and stored.
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0..<1_500, using: &random)))
                    worker.kill()
                    killed += 1
                    worker = try WorkerProcess(bootstrap: bootstrap, group: group, data: data)
                }
                // Before the next chunk, the worker makes everything published durable, so
                // nothing waits in the broker long enough to be deleted unread.
                try await producer.flush(timeout: .seconds(60))
                let marks = try await highWatermarks(probe, partitions)
                try await worker.waitUntilDurable(marks, timeout: .seconds(300))
            }
            #expect(killed == kills)
            let summary = try await producer.flush(timeout: .seconds(120))
            #expect(summary.failed == 0)
            try await waitUntilEverythingDurable(probe, partitions) { try await worker.waitUntilDurable($0, timeout: .seconds(300)) }
            #expect(await worker.terminate() == 0, "the last worker did not drain cleanly (\(worker.ending)):\n\(worker.logTail())")
            try await probe.close()
            print("crash run: \(killed) kills, \(published) notifications published")
        }

        // Every invariant from the store alone.
        // Redeliveries after a kill are recognised and recorded as duplicates, never stored twice.
        #expect(try trail.mismatches(inStoreAt: data) == [])
        let stored = try Trail(directory: data, window: 0, now: 0, indexOnly: true)
        print("crash run: \(stored.statistics.duplicates - trail.duplicates) redelivery(ies) recognised after kills")
    }
}
