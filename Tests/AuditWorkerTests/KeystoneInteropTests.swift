// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Testing

/// The producers in the field: keystonemiddleware's audit middleware publishing through
/// oslo.messaging's own Kafka driver (Python venv from PyPI), unkeyed, into the embedded broker.
@Suite(.timeLimit(.minutes(6)))
struct KeystoneInteropTests {
    struct Published: Decodable {
        var calls: Int
        var requests: [String]
        var responses: [String]
    }

    @Test func workersStoreEveryPairPublishedByKeystonemiddlewareAndOsloMessaging() async throws {
        let calls = 1_200
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("keystone")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let python = try Interop.python()
        try await withMockCluster(topics: [topic: 6, "\(group).by-id": 6]) { cluster in
            let bootstrap = cluster.bootstrapServers
            var published = Published(calls: 0, requests: [], responses: [])
            _ = try await runWorkers(count: 2, bootstrap: bootstrap, topic: topic, group: group, data: data) { _ in
                let result = try await Interop.runAsync(
                    python, [Interop.repositoryRoot.appendingPathComponent("interop/keystone_kafka_publisher.py").path, bootstrap, String(calls)])
                #expect(result.status == 0, "\(result.stderr.suffix(2000))")
                published = try JSONDecoder().decode(Published.self, from: Data(result.stdout.utf8))
                #expect(published.calls == calls)
                #expect(published.requests.count == calls && published.responses.count == calls)
                return 2 * calls
            }

            // From the store alone: every call published is a stored pair, nothing else.
            let trail = try Trail(directory: data, window: 0, now: Int64.max / 2)
            #expect(trail.statistics.pairs == calls)
            #expect(trail.statistics.notifications == 2 * calls)
            #expect(trail.statistics.orphanRequests == 0 && trail.statistics.orphanResponses == 0)
            #expect(trail.statistics.quarantined == 0 && trail.statistics.conflicts == 0)
            #expect(trail.statistics.forwarded == 2 * calls, "oslo.messaging publishes unkeyed")
            #expect(Set(trail.calls.filter(\.isPair).map(\.id)) == Set(published.requests))
            #expect(Set(published.requests) == Set(published.responses))
            // Several services published (one oslo transport each), each publisher_id kept.
            let publishers = Set(trail.calls.compactMap { $0.request?.record.fields?.publisher })
            #expect(publishers.count >= 3, "\(publishers)")
            let report = StoreVerifier(directory: data).verify()
            #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
        }
    }
}
