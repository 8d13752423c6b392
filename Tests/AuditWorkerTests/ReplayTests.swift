// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Testing

/// `replay`: a topic range into a case store reproduces what the workers stored for it, and
/// republish-then-replay round-trips byte for byte.
@Suite(.timeLimit(.minutes(5)))
struct ReplayTests {
    /// What a store kept of a source topic, by source offset (`partition:offset`): notification
    /// bodies, and the offsets kept as redelivered copies (duplicate markers). A by-id record
    /// counts at its origin, so a worker store and a case store compare offset by offset.
    struct Kept {
        var bodies: [String: [UInt8]] = [:]
        var duplicates: Set<String> = []

        init(_ directory: String, sourceTopic: String) throws {
            var query = StoreQuery()
            query.kinds = [.notification, .skipped]
            for stored in try AuditStore(directory: directory).reader().records(matching: query) {
                let record = stored.record
                let key: String
                if let origin = record.origin {
                    guard origin.topic == sourceTopic else { continue }
                    key = "\(origin.partition):\(origin.offset)"
                } else if stored.topic == sourceTopic {
                    key = "\(stored.partition):\(record.offset)"
                } else {
                    continue
                }
                switch record.body {
                case .notification(_, let bytes): bodies[key] = bytes
                case .skipped(let eventType) where eventType.hasPrefix(DuplicateMarker.prefix): duplicates.insert(key)
                default: break
                }
            }
        }

        /// How `other` differs (an empty string when it holds the same): the same bodies, the same
        /// bytes at every offset both kept whole, and where one kept a copy the other kept the
        /// other copy (which copy of a redelivery arrives first is a race between partitions).
        func difference(_ other: Kept) -> String {
            let onlyHere = Set(bodies.keys).subtracting(other.bodies.keys)
            let onlyThere = Set(other.bodies.keys).subtracting(bodies.keys)
            let changed = bodies.keys.filter { other.bodies[$0] != nil && other.bodies[$0] != bodies[$0] }
            var problems: [String] = []
            if Set(bodies.values) != Set(other.bodies.values) { problems.append("different bodies") }
            if !changed.isEmpty { problems.append("other bytes at \(changed.sorted().prefix(5))") }
            if !onlyHere.isSubset(of: other.duplicates) { problems.append("only first: \(onlyHere.subtracting(other.duplicates).sorted().prefix(5))") }
            if !onlyThere.isSubset(of: duplicates) { problems.append("only second: \(onlyThere.subtracting(duplicates).sorted().prefix(5))") }
            return problems.joined(separator: "; ")
        }
    }

    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName(name)).path
    }

    @Test func aReplayedRangeEqualsWhatTheWorkersStoredAndRepublishingRoundTrips() async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("workers")
        let data = Self.temporary("data")
        let caseStore = Self.temporary("case")
        let partial = Self.temporary("partial")
        let again = Self.temporary("again")
        defer { for path in [data, caseStore, partial, again] { try? FileManager.default.removeItem(atPath: path) } }
        let trail = PublishedTrail(calls: 1500, keyed: false, seed: 9)
        try await withMockCluster(topics: [topic: 6, "\(group).by-id": 6, "republished": 3]) { cluster in
            let bootstrap = cluster.bootstrapServers
            _ = try await runWorkers(count: 2, bootstrap: bootstrap, topic: topic, group: group, data: data, trail: trail)
            let committedBefore = try await committedOffsets(bootstrap: bootstrap, group: group, topic: topic)

            // The whole topic: every notification the workers stored, byte for byte, at its source offset.
            let kafka = KafkaConfiguration(bootstrapServers: bootstrap)
            let whole = try await Replay(kafka: kafka, topic: topic, range: .times(since: nil, until: nil), dataDirectory: caseStore).run()
            #expect(whole.notifications == trail.notifications)
            #expect(whole.quarantined == 0 && whole.gapOffsets == 0)
            let stored = try Kept(data, sourceTopic: topic)
            let replayed = try Kept(caseStore, sourceTopic: topic)
            #expect(stored.bodies.count == trail.notifications && stored.duplicates.count == trail.duplicates)
            #expect(replayed.difference(stored) == "")
            // The case store correlates like the workers' store.
            let workersView = try Trail(directory: data, window: 0, now: .max / 2, indexOnly: true).statistics
            let caseView = try Trail(directory: caseStore, window: 0, now: .max / 2, indexOnly: true).statistics
            #expect(caseView.pairs == workersView.pairs && caseView.orphanRequests == workersView.orphanRequests)
            #expect(StoreVerifier(directory: caseStore).verify().isValid)

            // An offset range: exactly those offsets.
            let ranges: [Int32: Range<Int64>] = [0: 10..<160, 3: 0..<125]
            let some = try await Replay(kafka: kafka, topic: topic, range: .offsets(ranges), dataDirectory: partial).run()
            #expect(some.ranges == ranges)
            // Every offset of the range is kept (whole or as a copy), with the workers' bytes.
            let partialKept = try Kept(partial, sourceTopic: topic)
            let inRange = { (key: String) -> Bool in
                let parts = key.split(separator: ":").map { Int64($0)! }
                return ranges[Int32(parts[0])]?.contains(parts[1]) ?? false
            }
            #expect(Set(partialKept.bodies.keys).union(partialKept.duplicates) == Set(stored.bodies.keys.filter(inRange)).union(stored.duplicates.filter(inRange)))
            #expect(partialKept.bodies.allSatisfy { key, bytes in stored.bodies[key] == bytes || stored.duplicates.contains(key) })
            #expect(partialKept.bodies.count > 50)

            // The workers' group was not disturbed: its committed offsets did not move.
            #expect(try await committedOffsets(bootstrap: bootstrap, group: group, topic: topic) == committedBefore)

            // Republish the case store, replay that topic: the same bodies, byte for byte.
            let delivered = try await Replay.republish(from: caseStore, filters: [], to: "republished", kafka: kafka)
            #expect(delivered == trail.notifications)
            let back = try await Replay(kafka: kafka, topic: "republished", range: .times(since: nil, until: nil), dataDirectory: again).run()
            #expect(back.notifications == trail.notifications && back.duplicates == 0)
            let original = replayed.bodies.values.map { Data($0) }.sorted { $0.lexicographicallyPrecedes($1) }
            let roundTripped = try Kept(again, sourceTopic: "republished").bodies.values.map { Data($0) }
                .sorted { $0.lexicographicallyPrecedes($1) }
            #expect(roundTripped == original, "\(roundTripped.count) vs \(original.count) bodies")
        }
    }

    @Test func aTimeRangeHoldsTheMessagesOfThatRange() async throws {
        let topic = "timed"
        let caseStore = Self.temporary("timed")
        defer { try? FileManager.default.removeItem(atPath: caseStore) }
        try await withMockCluster(topics: [topic: 2]) { cluster in
            let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
            let producer = try Producer(configuration: kafka)
            var traffic = SampleTraffic(seed: 3)
            // Three bursts with explicit timestamps an hour apart.
            let base: Int64 = 1_795_000_000_000
            var sent: [Int64: [[UInt8]]] = [:]
            for burst in Int64(0)..<3 {
                for _ in 0..<40 {
                    let call = traffic.next()
                    for half in [call.request, call.response] {
                        let value = half.envelope
                        try await producer.enqueue(ProducerRecord(
                            topic: topic, key: Array(half.payload.id.utf8), value: value, timestamp: base + burst * 3_600_000))
                        sent[burst, default: []].append(value)
                    }
                }
            }
            try await producer.flush(timeout: .seconds(30))
            let middle = try await Replay(
                kafka: kafka, topic: topic, range: .times(since: base + 3_000_000, until: base + 2 * 3_600_000 - 1),
                dataDirectory: caseStore
            ).run()
            #expect(middle.notifications == 80)
            let got = try Kept(caseStore, sourceTopic: topic).bodies.values.map { Data($0) }.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(got == sent[1]!.map { Data($0) }.sorted { $0.lexicographicallyPrecedes($1) }, "\(got.count) bodies")
        }
    }

    private func committedOffsets(bootstrap: String, group: String, topic: String) async throws -> [TopicPartition: Int64?] {
        let consumer = try Consumer(configuration: TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group))
        let committed = try await consumer.committed((0..<6).map { TopicPartition(topic, $0) })
        try await consumer.close()
        return committed
    }
}
