// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Testing

@Suite(.timeLimit(.minutes(6)))
struct BrokerOutageTests {
    /// The only broker goes down for 30 s while the workers are consuming, storing and forwarding
    /// (their group sessions expire, forwarded copies wait in the producer); when it is back they
    /// rejoin, resume from their stores, and nothing is lost or stored twice.
    @Test func workersResumeAfterThirtySecondsWithoutBrokerAndLoseNothing() async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("outage")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let trail = PublishedTrail(calls: 4_000, keyed: false, seed: 3)
        try await withMockCluster(topics: [topic: 6, "\(group).by-id": 6]) { cluster in
            let run = try await runWorkers(
                count: 2, bootstrap: cluster.bootstrapServers, topic: topic, group: group, data: data, trail: trail,
                midStream: {
                    try cluster.setBrokerDown(1)
                    // The outage itself is the scenario: 30 s of no broker at all.
                    try await Task.sleep(for: .seconds(30))
                    try cluster.setBrokerUp(1)
                })
            #expect(run.total(\.gapOffsets) == 0)
            let errors = run.metrics.joined()
            #expect(errors.contains("audit_kafka_errors_total{reason=\"_TRANSPORT\"}"), "the workers never saw the outage")
        }
        let stored = try Trail(directory: data, window: 0, now: Int64.max / 2)
        #expect(stored.statistics.notifications == trail.notifications)
        #expect(stored.statistics.pairs == trail.pairs)
        #expect(stored.statistics.orphanRequests == trail.missingResponses)
        #expect(stored.statistics.orphanResponses == 0)
        #expect(stored.statistics.conflicts == 0 && stored.statistics.quarantined == 0)
        #expect(stored.statistics.duplicates >= trail.duplicates)
        let report = StoreVerifier(directory: data).verify()
        #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
    }
}
