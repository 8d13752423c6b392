// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Foundation
import Testing

/// What a worker taking a log over reads to recognise redeliveries: the newest segments only.
@Suite struct RecentNotificationsTests {
    @Test func onlyTheNewestSegmentsAreReadNewestFirst() throws {
        let directory = NSTemporaryDirectory() + "recent-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = StoreOptions()
        options.segmentMaxBytes = 1  // every append seals a segment of its own
        let store = try AuditStore(directory: directory, options: options)
        let writer = try store.openWriter(topic: "t", partition: 0)
        let now: Int64 = 1_800_000_000_000  // ms
        // Kafka timestamps rise with offsets: three old segments, then two recent ones, then one
        // whose timestamp is unknown.
        let timestamps: [Int64] = [now - 3_600_000, now - 3_000_000, now - 2_000_000, now - 60_000, now - 1_000, -1]
        for (offset, timestamp) in timestamps.enumerated() {
            let fields = NotificationFields(id: "id-\(offset)", eventType: offset % 2 == 0 ? .request : .response, eventTime: 0, digest: UInt64(offset + 1))
            try writer.append([StoreRecord(offset: Int64(offset), timestamp: timestamp, body: .notification(fields, bytes: Array("{}".utf8)))])
        }
        try writer.close()
        // The two oldest segments' indexes are unreadable: reading them would throw.
        let log = directory + "/t/0"
        for name in try FileManager.default.contentsOfDirectory(atPath: log).sorted() where name.hasSuffix(".idx") {
            if name.hasPrefix("00000000000000000000") || name.hasPrefix("00000000000000000001") {
                try Data("not an index".utf8).write(to: URL(fileURLWithPath: log + "/" + name))
            }
        }
        var seen: [AuditStore.IndexedNotification] = []
        try store.recentNotifications(topic: "t", partition: 0, sinceTimestamp: now - 600_000) { seen.append($0) }
        // Newest first, down to and including the first segment wholly before the cutoff (offset 2).
        #expect(seen.map(\.id) == ["id-5", "id-4", "id-3", "id-2"])
        #expect(seen.map(\.digest) == [6, 5, 4, 3])
        #expect(seen.map(\.eventType) == [.response, .request, .response, .request])
        #expect(seen.map(\.timestamp) == [-1, now - 1_000, now - 60_000, now - 2_000_000])
        // Reaching the unreadable indexes is an error, not silence.
        #expect(throws: StoreError.self) {
            try store.recentNotifications(topic: "t", partition: 0, sinceTimestamp: now - 86_400_000) { _ in }
        }
        var none = 0
        try store.recentNotifications(topic: "other", partition: 0, sinceTimestamp: 0) { _ in none += 1 }
        #expect(none == 0)
    }
}
