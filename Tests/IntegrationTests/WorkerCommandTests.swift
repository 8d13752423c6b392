// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A child process whose standard error is read line by line as it arrives.
///
/// A thread of its own reads standard error to its end, whether or not a test is waiting for a
/// line: a child that logs more than a pipe holds (64 KiB) while nobody reads would block in
/// its next write, and a stop under test would then hang.
final class ChildProcess: @unchecked Sendable {
    // `@unchecked`: `lines` guards `received`, `ended` and `cursor`.
    let process = Process()
    private let stderr = Pipe()
    private let stdout = Pipe()
    private let lines = NSCondition()
    private var received: [String] = []
    private var ended = false
    /// The first line the next ``waitForLog(_:)`` looks at.
    private var cursor = 0

    init(_ arguments: [String]) throws {
        process.executableURL = TestEnvironment.auditTrailExecutable
        process.arguments = arguments
        process.standardError = stderr
        process.standardOutput = stdout
        try process.run()
        let handle = stderr.fileHandleForReading
        Thread { [self] in
            var line: [UInt8] = []
            while case let chunk = handle.availableData, !chunk.isEmpty {
                for byte in chunk {
                    guard byte == UInt8(ascii: "\n") else {
                        line.append(byte)
                        continue
                    }
                    lines.lock()
                    received.append(String(decoding: line, as: UTF8.self))
                    lines.broadcast()
                    lines.unlock()
                    line = []
                }
            }
            lines.lock()
            ended = true
            lines.broadcast()
            lines.unlock()
        }.start()
    }

    /// The first line of standard output.
    func firstOutputLine() async -> String {
        let handle = stdout.fileHandleForReading
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var line: [UInt8] = []
                while let byte = handle.readData(ofLength: 1).first, byte != UInt8(ascii: "\n") { line.append(byte) }
                continuation.resume(returning: String(decoding: line, as: UTF8.self))
            }
        }
    }

    /// Reads standard error on from the last line a call returned, until a line satisfies
    /// `predicate` (nil at end of file).
    func waitForLog(_ predicate: @escaping @Sendable (String) -> Bool) async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: self.nextLine(where: predicate))
            }
        }
    }

    private func nextLine(where predicate: (String) -> Bool) -> String? {
        lines.lock()
        defer { lines.unlock() }
        while true {
            while cursor < received.count {
                cursor += 1
                if predicate(received[cursor - 1]) { return received[cursor - 1] }
            }
            if ended { return nil }
            lines.wait()
        }
    }

    /// What is left of standard error after the last line ``waitForLog(_:)`` returned, once the
    /// process closed it (call after it exited).
    func remainingLog() -> String {
        lines.lock()
        defer { lines.unlock() }
        while !ended { lines.wait() }
        defer { cursor = received.count }
        return received[cursor...].joined(separator: "\n")
    }

    /// Waits for the process to end; its exit status.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.process.waitUntilExit()
                continuation.resume(returning: self.process.terminationStatus)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(3)))
struct WorkerCommandTests {
    @Test func workerProcessStoresPublishedTrafficServesMetricsAndDrainsOnSigterm() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let broker = try ChildProcess(["broker", "--topic", "notifications.info:3", "--group", "cli"])
        defer { broker.process.terminate() }
        let bootstrap = await broker.firstOutputLine()
        let port = TestEnvironment.freePort()
        let worker = try ChildProcess([
            "worker", "--brokers", bootstrap, "--group", "cli", "--data", data, "--metrics-port", String(port),
            "--log-level", "debug", "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
        ])
        defer { if worker.process.isRunning { worker.process.terminate() } }
        #expect(await worker.waitForLog { $0.contains("partitions assigned") } != nil)

        let publish = try ChildProcess(["publish", "--brokers", bootstrap, "--sample", "200", "-X", "sticky.partitioning.linger.ms=0"])
        #expect(await publish.waitForExit() == 0)
        // 200 calls = 400 notifications keyed by payload.id (AuditClient keys them): stored where they land.
        #expect(await worker.waitForLog { $0.contains("audit.stored_total=400") } != nil)

        let (body, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let metrics = String(decoding: body, as: UTF8.self)
        #expect(metrics.contains("audit_stored_total 400"))
        #expect(metrics.contains("audit_requests_total 200") && metrics.contains("audit_responses_total 200"))
        #expect(metrics.contains("# TYPE audit_fsync_seconds histogram"))
        // Where the loop spent its time: each phase a keyed batch goes through took some.
        for phase in ["poll", "decode", "plan", "append", "barrier"] {
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("audit_worker_seconds_total{phase=\"\(phase)\"} ") }
            let seconds = line.flatMap { Double($0.split(separator: " ").last ?? "") }
            #expect((seconds ?? 0) > 0, "phase \(phase): \(String(describing: line))")
        }

        worker.process.terminate()  // SIGTERM: drain, commit, leave the group
        #expect(await worker.waitForExit() == 0)
        let stats = try Interop.run(TestEnvironment.auditTrailExecutable, ["stats", "--data", data, "--window", "0", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        let counts = object.compactMapValues { $0 as? Int }
        #expect(counts["pairs"] == 200)
        #expect(counts["notifications"] == 400)
        #expect(counts["forwarded"] == 0)
        #expect(counts["duplicates"] == 0 && counts["quarantined"] == 0)
    }

    /// With the broker gone, the group coordinator cannot answer the commit or the leave: the
    /// worker must not wait for its session to time out (45 s by default, longer than a
    /// supervisor's stop grace) but exit 0 with everything it stored durable.
    @Test func workerExitsPromptlyOnSigtermWithTheBrokerGone() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let broker = try ChildProcess(["broker", "--topic", "notifications.info:3", "--group", "gone"])
        defer { if broker.process.isRunning { broker.process.terminate() } }
        let bootstrap = await broker.firstOutputLine()
        let worker = try ChildProcess(["worker", "--brokers", bootstrap, "--group", "gone", "--data", data, "--log-level", "debug"])
        defer { if worker.process.isRunning { worker.process.terminate() } }
        #expect(await worker.waitForLog { $0.contains("partitions assigned") } != nil)
        let publish = try ChildProcess(["publish", "--brokers", bootstrap, "--sample", "200", "-X", "sticky.partitioning.linger.ms=0"])
        #expect(await publish.waitForExit() == 0)
        #expect(await worker.waitForLog { $0.contains("audit.stored_total=400") } != nil)

        broker.process.terminate()
        _ = await broker.waitForExit()
        let start = ContinuousClock.now
        worker.process.terminate()
        #expect(await worker.waitForExit() == 0)
        let took = start.duration(to: .now)
        // 5 s for the commit, 10 s for leaving the group, and slack; the session timeout is 45 s.
        #expect(took < .seconds(25), "the worker took \(took) to stop")
        let stats = try Interop.run(TestEnvironment.auditTrailExecutable, ["stats", "--data", data, "--window", "0", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        #expect(object["pairs"] as? Int == 200)
        #expect(object["notifications"] as? Int == 400)
    }

    /// A broker that dies while unkeyed traffic streams in leaves the worker waiting for its
    /// forwarded copies to be acknowledged (it rides out an outage for up to two minutes) and
    /// its barrier's commit unanswered. A SIGTERM must still stop it within seconds, exit 0,
    /// and leave a store that verifies: the batch it gave up is consumed again after a restart.
    @Test func workerStopsPromptlyOnSigtermWhenTheBrokerDiesMidStream() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        let lines = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("lines")).path
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: lines)
        }
        var traffic = SampleTraffic(seed: 11)
        var file = Data()
        for _ in 0..<5_000 {
            let call = traffic.next()
            for half in [call.request, call.response] { file.append(contentsOf: half.envelope + [10]) }
        }
        try file.write(to: URL(fileURLWithPath: lines))
        let broker = try ChildProcess(["broker", "--topic", "notifications.info:3", "--topic", "midstream.by-id:3"])
        defer { if broker.process.isRunning { broker.process.terminate() } }
        let bootstrap = await broker.firstOutputLine()
        let worker = try ChildProcess(["worker", "--brokers", bootstrap, "--group", "midstream", "--data", data, "--log-level", "debug"])
        defer { if worker.process.isRunning { worker.process.terminate() } }
        #expect(await worker.waitForLog { $0.contains("partitions assigned") } != nil)
        // Unkeyed, as oslo.messaging publishes: every notification is forwarded to the by-id topic.
        let publish = try ChildProcess(["publish", "--brokers", bootstrap, lines])
        defer { if publish.process.isRunning { publish.process.terminate() } }
        #expect(await worker.waitForLog { $0.contains("batch durable") && !$0.contains("audit.stored_total=0") } != nil)

        broker.process.terminate()
        _ = await broker.waitForExit()
        try await Task.sleep(for: .seconds(1))
        let start = ContinuousClock.now
        worker.process.terminate()
        #expect(await worker.waitForExit() == 0)
        let took = start.duration(to: .now)
        // At most 5 s for a barrier's commit already in flight and a second for the forwarded
        // copies; then, the coordinator having not answered, 1 s for the last commit, 2 s for the
        // producer and 2 s for leaving the group; and slack for a loaded machine.
        let log = worker.remainingLog().split(separator: "\n").suffix(30).joined(separator: "\n")
        #expect(took < .seconds(25), "the worker took \(took) to stop:\n\(log)")
        #expect(log.contains("worker stopped cleanly"), "\(log)")
        let verify = try Interop.run(TestEnvironment.auditTrailExecutable, ["verify", "--data", data])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
