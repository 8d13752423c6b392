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
            // The forwarded copies reach the by-id topic only after their source batch; wait
            // until the by-id high watermarks stop moving and are durable too.
            var marks = try await highWatermarks(probe, partitions)
            while true {
                try await worker.waitUntilDurable(marks, timeout: .seconds(300))
                let now = try await highWatermarks(probe, partitions)
                if now == marks { break }
                marks = now
            }
            #expect(await worker.terminate() == 0, "the last worker did not drain cleanly:\n\(worker.logTail())")
            try await probe.close()
            print("crash run: \(killed) kills, \(published) notifications published")
        }

        // Every invariant from the store alone.
        let stored = try Trail(directory: data, window: 0, now: Int64.max / 2)
        #expect(stored.statistics.notifications == trail.notifications, "lost or duplicated notifications")
        #expect(stored.statistics.pairs == trail.pairs)
        #expect(stored.statistics.orphanRequests == trail.missingResponses)
        #expect(stored.statistics.orphanResponses == 0)
        #expect(stored.statistics.conflicts == 0)
        #expect(stored.statistics.quarantined == 0)
        // Redeliveries after a kill are recognised and recorded as duplicates, never stored twice.
        #expect(stored.statistics.duplicates >= trail.duplicates)
        print("crash run: \(stored.statistics.duplicates - trail.duplicates) redelivery(ies) recognised after kills")
        let report = StoreVerifier(directory: data).verify()
        #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
    }

    private func highWatermarks(_ probe: Consumer, _ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        var marks: [TopicPartition: Int64] = [:]
        for tp in partitions { marks[tp] = try await probe.watermarks(tp).high }
        return marks
    }
}

/// `audit-trail worker` as a child process with its log in a file and its metrics on a port.
struct WorkerProcess {
    let process = Process()
    let port = TestEnvironment.freePort()
    let logPath: String

    init(bootstrap: String, group: String, data: String) throws {
        logPath = data + ".worker.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.executableURL = TestEnvironment.auditTrailExecutable
        process.arguments = [
            "worker", "--brokers", bootstrap, "--group", group, "--data", data, "--metrics-port", String(port),
            "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500", "-X", "topic.metadata.refresh.interval.ms=1000",
        ]
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then the exit status.
    func terminate() async -> Int32 {
        process.terminate()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
        }
    }

    func logTail() -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    /// The worker's metrics as `name{labels}` → value, nil while it is not serving yet.
    func metrics() async -> [String: Int64]? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
              let (body, _) = try? await URLSession.shared.data(from: url) else { return nil }
        var values: [String: Int64] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Int64(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }

    func waitUntilAssigned(_ count: Int, timeout: Duration = .seconds(120)) async throws {
        try await waitFor(timeout, "\(count) partitions assigned") { metrics in
            metrics["audit_assigned_partitions{partition=\"all\"}"] == Int64(count)
        }
    }

    /// Until the worker's store holds every offset below `marks` durably (the by-id topic may
    /// have grown since `marks` were read).
    func waitUntilDurable(_ marks: [TopicPartition: Int64], timeout: Duration) async throws {
        try await waitFor(timeout, "durable up to \(marks.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" })") { metrics in
            marks.allSatisfy { tp, high in (metrics["audit_durable_offset{partition=\"\(tp)\"}"] ?? 0) >= high }
        }
    }

    /// Polls the metrics endpoint (the worker is another process) until `condition` holds.
    private func waitFor(_ timeout: Duration, _ what: String, _ condition: ([String: Int64]) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw WorkerError("the worker exited (\(process.terminationStatus)):\n\(logTail())") }
            if let metrics = await metrics(), condition(metrics) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WorkerError("timed out waiting for: \(what)\n\(logTail())")
    }
}
