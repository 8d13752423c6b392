// AuditTrail — AuditWorker tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Foundation
import Kafka
import Testing

@testable import AuditWorker

/// The worker's memory of stored halves: what makes a redelivery a duplicate and other bytes a
/// conflict, and how it forgets.
@Suite struct PartitionLogTests {
    private func makeLog(now: Int64) throws -> (PartitionLog, String) {
        let directory = NSTemporaryDirectory() + "partition-log-" + UUID().uuidString
        let writer = try AuditStore(directory: directory).openWriter(topic: "t", partition: 0)
        return (PartitionLog(topicPartition: TopicPartition("t", 0), writer: writer, now: now), directory)
    }

    @Test func halvesAreNewThenDuplicatesOrConflicts() throws {
        let (log, directory) = try makeLog(now: 0)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(log.admit(id: "a", eventType: .request, digest: 10, now: 0) == .new)
        #expect(log.admit(id: "a", eventType: .response, digest: 11, now: 0) == .new)
        #expect(log.admit(id: "a", eventType: .request, digest: 10, now: 0) == .duplicate)
        #expect(log.admit(id: "a", eventType: .response, digest: 12, now: 0) == .conflict)
        #expect(log.admit(id: "b", eventType: .request, digest: 10, now: 0) == .new)
        // A digest of 0 is a digest like any other, not "no half yet".
        #expect(log.admit(id: "c", eventType: .request, digest: 0, now: 0) == .new)
        #expect(log.admit(id: "c", eventType: .request, digest: 0, now: 0) == .duplicate)
        #expect(log.halves.count == 3)
    }

    @Test func idsNotSeenWithinTheRetentionAreForgotten() throws {
        let start: Int64 = 1_700_000_000_000_000
        let (log, directory) = try makeLog(now: start)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for i in 0..<1_000 {
            _ = log.admit(id: "id-\(i)", eventType: .request, digest: UInt64(i), now: start + Int64(i) * 1_000_000)
        }
        _ = log.admit(id: "id-0", eventType: .response, digest: 1, now: start + 999_000_000)  // seen again
        log.expire(before: start + 500_000_000)
        #expect(log.halves.count == 501)
        #expect(log.admit(id: "id-0", eventType: .request, digest: 0, now: start) == .duplicate)
        #expect(log.admit(id: "id-1", eventType: .request, digest: 1, now: start) == .new)
        #expect(log.admit(id: "id-999", eventType: .request, digest: 999, now: start) == .duplicate)
    }

    @Test func preloadKeepsWhatWasConsumedWithinTheRetentionWhateverItsEventTime() throws {
        let now: Int64 = 1_800_000_000_000_000
        let directory = NSTemporaryDirectory() + "partition-log-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AuditStore(directory: directory)
        let ancient: Int64 = 1_000_000_000_000_000  // an eventTime from 2001: replayed old traffic
        var offset: Int64 = 0
        func record(_ id: String, consumedSecondsAgo: Int64) -> StoreRecord {
            let fields = NotificationFields(id: id, eventType: .request, eventTime: ancient, digest: 5)
            let timestamp = consumedSecondsAgo < 0 ? -1 : (now / 1000 - consumedSecondsAgo * 1000)
            defer { offset += 1 }
            return StoreRecord(offset: offset, timestamp: timestamp, body: .notification(fields, bytes: []))
        }
        let first = try store.openWriter(topic: "t", partition: 0)
        try first.append([record("old", consumedSecondsAgo: 7_200), record("recent", consumedSecondsAgo: 60),
                          record("unknown", consumedSecondsAgo: -1)])
        try first.close()
        // A worker taking the log over remembers what the store holds, as WorkerLoop does.
        let log = PartitionLog(topicPartition: TopicPartition("t", 0), writer: try store.openWriter(topic: "t", partition: 0), now: now)
        let cutoff = now - 600_000_000
        try store.recentNotifications(topic: "t", partition: 0, sinceTimestamp: cutoff / 1000) { log.preload($0, now: now, cutoff: cutoff) }
        #expect(log.admit(id: "recent", eventType: .request, digest: 5, now: now) == .duplicate)
        #expect(log.admit(id: "unknown", eventType: .request, digest: 5, now: now) == .duplicate)
        #expect(log.admit(id: "old", eventType: .request, digest: 5, now: now) == .new)
    }

    @Test func distinctIdsKeepDistinctEntries() throws {
        let (log, directory) = try makeLog(now: 0)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var generator = SystemRandomNumberGenerator()
        var ids = Set<String>()
        while ids.count < 100_000 { ids.insert(UUID().uuidString.lowercased() + "\(generator.next() % 10)") }
        for id in ids { #expect(log.admit(id: id, eventType: .request, digest: 7, now: 0) == .new) }
        #expect(log.halves.count == ids.count)
    }
}
