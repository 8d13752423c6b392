// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

@testable import AuditWorker
import CoreMetrics
import Foundation
import Kafka
import Prometheus
import Testing

/// The worker's metrics as `/metrics` renders them, and its progress stream, without a broker.
struct WorkerMetricsTests {
    @Test func metricsRenderWithHelpTypeAndLabelsThatSayWhatTheyAre() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WorkerMetrics(registry: registry)
        metrics.stored.increment(by: 3)
        metrics.lost("by_id_gap").increment(by: 2)
        metrics.quarantined("notJSON").increment()
        metrics.durableOffset(TopicPartition("notifications.info", 4)).record(Int64(1234))
        metrics.assignedPartitions.record(12)
        metrics.fsync.recordSeconds(0.002)
        metrics.addTime("poll", .milliseconds(1500))
        let text = registry.emitToString()
        #expect(text.contains("# HELP audit_stored_total Audit notifications stored"))
        #expect(text.contains("# TYPE audit_stored_total counter\naudit_stored_total 3\n"))
        #expect(text.contains("audit_lost_total{reason=\"by_id_gap\"} 2\n"))
        #expect(text.contains("audit_lost_total{reason=\"source_gap\"} 0\n"))
        #expect(text.contains("audit_quarantined_total{reason=\"notJSON\"} 1\n"))
        #expect(text.contains("audit_durable_offset{partition=\"notifications.info[4]\"} 1234"))
        #expect(text.contains("# TYPE audit_assigned_partitions gauge\naudit_assigned_partitions 12"))
        #expect(text.contains("# TYPE audit_fsync_seconds histogram"))
        #expect(text.contains("audit_fsync_seconds_bucket{le=\"0.0025\"} 1\n"))
        #expect(text.contains("audit_worker_seconds_total{phase=\"poll\"} 1.5\n"))
        #expect(!text.contains("\"all\""))
        // Every metric the worker exports says what it is.
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let name = line.split(separator: " ")[2]
            #expect(text.contains("# HELP \(name) "), "\(name) has no HELP line")
        }
    }

    @Test func workersOfOneProcessKeepTheirCountsApart() {
        let (first, second) = (PrometheusCollectorRegistry(), PrometheusCollectorRegistry())
        WorkerMetrics(registry: first).stored.increment(by: 5)
        WorkerMetrics(registry: second).stored.increment(by: 7)
        #expect(first.emitToString().contains("audit_stored_total 5\n"))
        #expect(second.emitToString().contains("audit_stored_total 7\n"))
    }

    @Test func progressStreamsStartAtTheLatestSnapshotAndEndWithTheWorker() async throws {
        let worker = try Worker(
            configuration: WorkerConfiguration(
                bootstrapServers: "127.0.0.1:1", topics: ["t"], group: "g",
                dataDirectory: FileManager.default.temporaryDirectory.path))
        let tp = TopicPartition("t", 0)
        worker.publish { $0.durable[tp] = 10 }
        var updates = worker.progressUpdates().makeAsyncIterator()
        #expect(await updates.next()?.durable[tp] == 10)
        worker.publish { $0.stored = 3 }
        #expect(await updates.next()?.stored == 3)
        worker.publish { $0.finished = true }
        #expect(await updates.next()?.finished == true)
        #expect(await updates.next() == nil)
        // A stream asked for after the end holds the last snapshot only.
        var late: [Worker.Progress] = []
        for await progress in worker.progressUpdates() { late.append(progress) }
        #expect(late.map(\.stored) == [3])
    }
}
