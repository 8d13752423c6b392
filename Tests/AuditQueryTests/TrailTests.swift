// AuditTrail — read-side tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditStore
import Foundation
import Testing

/// The pair view's accounting of copies the worker stored whole.
@Suite struct TrailTests {
    @Test func aCopyWithTheSameBytesIsADuplicateAndOtherBytesAConflict() throws {
        let directory = NSTemporaryDirectory() + "trail-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try AuditStore(directory: directory).openWriter(topic: "t", partition: 0)
        func half(_ offset: Int64, _ type: NotificationFields.EventType, digest: UInt64) -> StoreRecord {
            let fields = NotificationFields(id: "call-1", eventType: type, eventTime: 1_000, digest: digest)
            return StoreRecord(offset: offset, timestamp: 1, body: .notification(fields, bytes: Array("\(type)\(digest)".utf8)))
        }
        // A redelivery the worker no longer remembered (stored whole), then a conflicting copy.
        try writer.append([half(0, .request, digest: 7), half(1, .response, digest: 8), half(2, .request, digest: 7),
                           half(3, .response, digest: 9)])
        try writer.close()
        let trail = try Trail(directory: directory, window: 0, now: 2_000)
        #expect(trail.statistics.notifications == 3)
        #expect(trail.statistics.duplicates == 1)
        #expect(trail.statistics.conflicts == 1)
        #expect(trail.statistics.pairs == 1)
        #expect(trail.calls.count == 1)
    }
}
