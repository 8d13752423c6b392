// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import AuditWorker
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka

/// The high watermark of each of `partitions`.
func highWatermarks(_ probe: Consumer, _ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    var marks: [TopicPartition: Int64] = [:]
    for tp in partitions { marks[tp] = try await probe.watermarks(tp).high }
    return marks
}

/// Waits (`waitUntilDurable`) until the store holds every offset below the partitions' high
/// watermarks, and again until they stop moving: forwarded copies reach the by-id topic only
/// after their source batch was stored.
func waitUntilEverythingDurable(
    _ probe: Consumer, _ partitions: [TopicPartition], _ waitUntilDurable: ([TopicPartition: Int64]) async throws -> Void
) async throws {
    var marks = try await highWatermarks(probe, partitions)
    while true {
        try await waitUntilDurable(marks)
        let now = try await highWatermarks(probe, partitions)
        if now == marks { return }
        marks = now
    }
}

/// `audit-trail worker` as a child process with its log in a file and its metrics on a port.
struct WorkerProcess {
    let process = Process()
    let port = TestEnvironment.freePort()
    let logPath: String

    /// - Parameters:
    ///   - arguments: more options (e.g. `--object-store`).
    ///   - environment: more variables (e.g. the object store's credentials).
    init(bootstrap: String, group: String, data: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        logPath = data + ".worker.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)  // opening it reports a failure
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.executableURL = TestEnvironment.auditTrailExecutable
        process.arguments = [
            "worker", "--brokers", bootstrap, "--group", group, "--data", data, "--metrics-port", String(port),
            "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500", "-X", "topic.metadata.refresh.interval.ms=1000",
        ] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then the exit status. The signal waits until the worker serves its metrics: its
    /// service group, which turns SIGTERM into a graceful shutdown, runs by then. (A SIGTERM in
    /// the first moments of a process, before any of its code ran, ends it as the default action
    /// does: nothing was consumed yet, so there is nothing to drain.)
    func terminate() async -> Int32 {
        try? await waitFor(.seconds(60), "the metrics endpoint") { _ in true }
        process.terminate()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
        }
    }

    /// The exit status once the worker exits by itself, or `nil` if it still runs after `timeout`.
    func exitStatus(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return process.terminationStatus
    }

    /// How the process ended, for a failure message: `exit 1`, `signal 6`.
    var ending: String {
        if process.isRunning { return "still running" }
        return process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
    }

    func logTail() -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    /// The worker's whole-number metrics as `name{labels}` → value, nil while it is not serving
    /// yet (gauges are rendered as floating point, `12.0`).
    func metrics() async -> [String: Int64]? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
              let (body, _) = try? await URLSession.shared.data(from: url) else { return nil }
        var values: [String: Int64] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let number = Double(line[line.index(after: space)...]),
                  let value = Int64(exactly: number) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }

    func waitUntilAssigned(_ count: Int, timeout: Duration = .seconds(120)) async throws {
        try await waitFor(timeout, "\(count) partitions assigned") { metrics in
            metrics["audit_assigned_partitions"] == Int64(count)
        }
    }

    /// Until the worker's store holds every offset below `marks` durably (the by-id topic may
    /// have grown since `marks` were read).
    func waitUntilDurable(_ marks: [TopicPartition: Int64], timeout: Duration) async throws {
        try await waitFor(timeout, "durable up to \(marks.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" })") { metrics in
            marks.allSatisfy { tp, high in (metrics["audit_durable_offset{partition=\"\(tp)\"}"] ?? 0) >= high }
        }
    }

    /// Until the worker's metrics satisfy `condition`.
    func waitUntil(_ what: String, timeout: Duration = .seconds(120), _ condition: ([String: Int64]) -> Bool) async throws {
        try await waitFor(timeout, what, condition)
    }

    /// Polls the metrics endpoint until `condition` holds: the worker is another process, so its
    /// progress stream is out of reach, and the endpoint is what an operator watches too.
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
