// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditServer
import AuditStore
import AuditTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The server keeps readers between requests; none of them may hide what was stored since.
@Suite struct ReaderPoolTests {
    @Test func aRequestSeesWhatWasStoredSinceTheLastOne() async throws {
        let directory = NSTemporaryDirectory() + "audit-server-pool-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = try Logs(directory: directory)
        let tokens = try TokenFile(parsing: #"{"token": "admin", "cloud_admin": true}"#)
        let server = ReadServer(configuration: .init(data: directory, tokens: tokens))
        try logs.append(0..<10)
        try await server.application().test(.router) { client in
            let first = logs.notifications[0].id
            let appended = try logs.newID(10..<20)
            #expect(try await client.get("/v1/events/\(first)", token: "admin").status == .ok)
            #expect(try await client.get("/v1/events/\(appended)", token: "admin").status == .notFound)
            // A frame appended to the journal.
            try logs.append(10..<20)
            #expect(try await client.get("/v1/events/\(appended)", token: "admin").status == .ok)
            // A seal (the journal becomes a segment and its index), then a new journal.
            try logs.writers[0].seal()
            #expect(try await client.get("/v1/events/\(appended)", token: "admin").status == .ok)
            let afterSeal = try logs.newID(20..<30)
            try logs.append(20..<30)
            #expect(try await client.get("/v1/events/\(afterSeal)", token: "admin").status == .ok)
            // Another log.
            let otherLog = try logs.newID(30..<40)
            #expect(try await client.get("/v1/events/\(otherLog)", token: "admin").status == .notFound)
            try logs.append(30..<40, partition: 1)
            #expect(try await client.get("/v1/events/\(otherLog)", token: "admin").status == .ok)
            #expect(try await client.get("/v1/events/\(first)", token: "admin").status == .ok)
        }
        for writer in logs.writers { try writer.close() }
    }
}

/// The pair view the server keeps between requests (``TrailCache``): never older than the store,
/// nor than the correlation window.
@Suite struct TrailCacheTests {
    @Test func aKeptPairViewHidesNeitherNewCallsNorAWindowThatEnds() async throws {
        let directory = NSTemporaryDirectory() + "audit-server-views-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        var generator = SyntheticNotifications(seed: 9, start: now)
        let notifications = generator.next(40)
        let lone = try #require(notifications.first { $0.isRequest })
        let others = notifications.filter { $0.id != lone.id }
        let log = try OneLog(directory: directory)
        try log.store([lone])
        let window: Int64 = 2_000_000
        var configuration = ReadServer.Configuration(
            data: directory, tokens: try TokenFile(parsing: #"{"token": "admin", "cloud_admin": true}"#), window: window)
        let metrics = ServerMetrics()
        configuration.metrics = metrics
        try await ReadServer(configuration: configuration).application().test(.router) { client in
            func calls(_ query: String) async throws -> [(id: String, state: String)] {
                let reply = try await client.get("/v1/calls?" + query, token: "admin")
                #expect(reply.status == .ok, "\(reply.body)")
                return (reply.object["calls"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["state"] as? String ?? "") }
            }
            #expect(try await calls("").map(\.id) == [lone.id])
            #expect(try await calls("").map(\.state) == ["pending"])
            #expect(try await calls("orphans=true").isEmpty)
            #expect(ServerMetricsTests.sample(metrics.exposition(), "audit_pair_views_total", ["result": "kept"]) == 2)
            #expect(ServerMetricsTests.sample(metrics.exposition(), "audit_pair_views_total", ["result": "built"]) == 1)

            // Calls stored since: seen by the next request.
            try log.store(others)
            #expect(try await calls("limit=1000").count == Set(notifications.map(\.id)).count)

            // The lone request's window ends with the store unchanged: it is an orphan now.
            let ends = lone.eventTime + window + 300_000
            try await Task.sleep(for: .microseconds(max(0, ends - Int64(Date().timeIntervalSince1970 * 1_000_000))))
            #expect(try await calls("orphans=true&limit=1000").contains { $0.id == lone.id && $0.state == "orphanRequest" })
        }
        try log.writer.close()
    }
}

/// One log of a store, written by one task at a time.
private final class OneLog: @unchecked Sendable {
    let writer: LogWriter
    private var offset: Int64 = 0

    init(directory: String) throws {
        writer = try AuditStore(directory: directory).openWriter(topic: "notifications.info", partition: 0)
    }

    /// Stores `notifications` durably.
    func store(_ notifications: [SyntheticNotification]) throws {
        try writer.append(notifications.map { n in
            defer { offset += 1 }
            return StoreRecord(offset: offset, timestamp: n.timestamp, body: .notification(n.fields, bytes: n.bytes))
        })
        try writer.sync()
    }
}

/// Two logs of a store and the notifications the test writes into them, used by one task at a
/// time.
private final class Logs: @unchecked Sendable {
    let notifications: [SyntheticNotification]
    let writers: [LogWriter]
    private var next: [Int64] = [0, 0]

    init(directory: String) throws {
        var generator = SyntheticNotifications(seed: 7)
        notifications = generator.next(40)
        let store = try AuditStore(directory: directory)
        writers = try (0..<2).map { try store.openWriter(topic: "notifications.info", partition: Int32($0)) }
    }

    /// Stores `notifications[range]` in `partition`, durably.
    func append(_ range: Range<Int>, partition: Int = 0) throws {
        let records = notifications[range].map { n in
            defer { next[partition] += 1 }
            return StoreRecord(
                offset: next[partition], timestamp: n.timestamp, body: .notification(n.fields, bytes: n.bytes))
        }
        try writers[partition].append(records)
        try writers[partition].sync()
    }

    /// An id first stored in `range`.
    func newID(_ range: Range<Int>) throws -> String {
        let earlier = Set(notifications[..<range.lowerBound].map(\.id))
        return try #require(notifications[range].first { !earlier.contains($0.id) }?.id)
    }
}
