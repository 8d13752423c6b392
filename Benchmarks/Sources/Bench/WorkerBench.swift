// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditClient
import AuditQuery
import AuditStore
import AuditTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Logging
import Synchronization

/// End-to-end throughput of one worker process (poll, decode, validate, correlate, store,
/// fsync, commit) next to `kcat -C -e > file` on the same topic, and the worker's peak RSS
/// with a million requests whose responses never come.
struct WorkerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "One worker end to end on the embedded cluster vs `kcat -C -e > file`, and its peak RSS with pending requests.")

    @Option(help: "Notifications to publish and store (request/response pairs, keyed by payload.id).")
    var notifications: Int = 1_000_000

    @Option(help: "Unanswered requests for the peak-RSS run (0 skips it).")
    var pending: Int = 1_000_000

    @Option(help: "Partitions of the throughput run (the mock broker keeps ~5 MiB per partition, so the whole topic must be spread).")
    var partitions: Int32 = 500

    @Option(help: "Partitions of the pending run, published while the worker stores (so the mock's ~5 MiB per partition is no limit).")
    var pendingPartitions: Int32 = 12

    @Option(help: """
        Notifications of the unkeyed run, published as oslo.messaging publishes them (no key, \
        so a request and its response land on different partitions and take the by-id hop); 0 skips it.
        """)
    var unkeyed: Int = 100_000

    @Option(help: "Partitions of the unkeyed run (and of its by-id topic).")
    var unkeyedPartitions: Int32 = 64

    @Option(help: """
        Notifications of the object-store run: keyed, stored by a worker that uploads its sealed \
        segments to moto's S3 server on loopback (needs the interop venv), next to the same \
        worker without it on the same topic; 0 skips it.
        """)
    var objectStore: Int = 100_000

    @Option(help: "Segment size of the object-store run (the worker's --segment-bytes).")
    var objectStoreSegmentBytes: String = "8MiB"

    @Option(help: "Path of kcat, or empty to skip the comparison.")
    var kcat: String = "/usr/bin/kcat"

    @Option(help: """
        Rounds of each throughput run: kcat, then a worker of a new group, on the same topic; \
        the ratio is of the best of each (both vary by a third between runs on a 2-core machine).
        """)
    var rounds: Int = 1

    @Option(help: """
        The `audit-trail` executable whose worker is measured (default: $AUDIT_TRAIL_BIN, else \
        .build/release/audit-trail of the package above this one; `make bench` builds it).
        """)
    var auditTrail: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let executable = try releaseAuditTrail(auditTrail)
        print("worker: \(executable.path)")
        let cluster = try MockCluster(brokers: 1)
        let bootstrap = cluster.bootstrapServers
        try cluster.createTopic("pairs", partitions: partitions)
        try cluster.createTopic("bench-pairs.by-id", partitions: partitions)
        try cluster.createTopic("pending", partitions: pendingPartitions)
        try cluster.createTopic("bench-pending.by-id", partitions: pendingPartitions)
        print("embedded cluster \(bootstrap), \(partitions) partitions for the keyed run")
        try await throughput(executable, topic: "pairs", count: notifications, keyed: true, goal: 0.8, cluster: cluster)
        if unkeyed > 0 {
            try cluster.createTopic("unkeyed", partitions: unkeyedPartitions)
            try cluster.createTopic("bench-unkeyed.by-id", partitions: unkeyedPartitions)
            print("\(unkeyedPartitions) partitions for the unkeyed run (the by-id hop included)")
            try await throughput(executable, topic: "unkeyed", count: unkeyed, keyed: false, goal: 0.4, cluster: cluster)
        }

        if objectStore > 0 {
            try cluster.createTopic("archived", partitions: unkeyedPartitions)
            try cluster.createTopic("bench-archived.by-id", partitions: unkeyedPartitions)
            try cluster.createTopic("bench-archived-s3.by-id", partitions: unkeyedPartitions)
            try await objectStoreRun(executable, bootstrap: bootstrap)
        }

        if pending > 0 {
            // The worker runs while the requests are published, at most `lag` behind, so each
            // partition's log in the mock stays within what it keeps.
            let lag = 1_000 * Int(pendingPartitions)
            let run = try await runWorker(executable, topic: "pending", count: pending, bootstrap: bootstrap) { stored in
                _ = try await publish(topic: "pending", count: pending, requestsOnly: true, bootstrap: bootstrap) { published in
                    while published - stored() > lag { try await Task.sleep(for: .milliseconds(20)) }
                }
            }
            print(String(format: "peak RSS with %d unanswered requests pending (%d partitions): %.0f MiB (goal <= 256 MiB)",
                         pending, pendingPartitions, Double(run.peakRSS) / 1_048_576))
        }
        withExtendedLifetime(cluster) {}
    }

    /// One throughput run: `count` notifications published to `topic`, then ``rounds`` rounds of
    /// `kcat -C -e > file` on it and a worker (of a group of its own) on it; prints each rate,
    /// the ratio of the best worker to the best kcat against `goal`, and each worker's peak RSS
    /// and time by phase.
    private func throughput(
        _ executable: URL, topic: String, count: Int, keyed: Bool, goal: Double, cluster: MockCluster
    ) async throws {
        let bootstrap = cluster.bootstrapServers
        let partitions = keyed ? partitions : unkeyedPartitions
        let bytes = try await publish(
            topic: topic, count: count, requestsOnly: false, keyed: keyed, partitions: keyed ? nil : Int(partitions),
            bootstrap: bootstrap)
        let measureKcat = !kcat.isEmpty && FileManager.default.isExecutableFile(atPath: kcat)
        var kcatRates: [Double] = []
        var workerRates: [Double] = []
        // Each worker run's CPU per notification, its own and the bench process's.
        var workerCPU: [CPUShare?] = []
        for round in 1...max(1, rounds) {
            if measureKcat { kcatRates.append(try kcatToFile(topic: topic, count: count, bytes: bytes, bootstrap: bootstrap)) }
            let group = round == 1 ? "bench-\(topic)" : "bench-\(topic)-\(round)"
            if round > 1 { try cluster.createTopic("\(group).by-id", partitions: partitions) }
            let run = try await runWorker(executable, topic: topic, count: count, bootstrap: bootstrap, group: group)
            workerRates.append(reportRate(
                "worker end to end, \(keyed ? "keyed" : "unkeyed, by-id hop included") (decode, validate, correlate, store, fsync, commit)",
                count: count, unit: "notifications", bytes: bytes, run.elapsed))
            print(String(format: "  worker peak RSS %.0f MiB", Double(run.peakRSS) / 1_048_576))
            let cpu = run.cpu.map { CPUShare(own: $0.worker / Double(count), broker: $0.bench / Double(count)) }
            workerCPU.append(cpu)
            if let cpu {
                print(String(format: "  CPU per notification: worker %.1f µs, this bench process (the embedded broker) %.1f µs",
                             cpu.own * 1e6, cpu.broker * 1e6))
            }
            if !run.phases.isEmpty {
                // From the partitions' assignment to the end of the run, as the rate is.
                let order = ["wait", "poll", "decode", "plan", "forward", "append", "barrier", "rebalance"]
                let shown = order.filter { run.phases[$0] != nil } + run.phases.keys.filter { !order.contains($0) }.sorted()
                print("  worker loop, seconds by phase: " + shown.map { "\($0) " + String(format: "%.2f", run.phases[$0]!) }.joined(separator: ", "))
            }
        }
        if let kcatRate = kcatRates.max(), let rate = workerRates.max() {
            let of = rounds > 1 ? String(format: " (best of %d each)", rounds) : ""
            print(String(format: "end-to-end ratio worker / kcat, %@%@: %.2fx (goal >= %.1fx)", keyed ? "keyed" : "unkeyed", of, rate / kcatRate, goal))
            // The broker runs on the same cores: the CPU both take per notification bounds the
            // rate, however well the worker's phases overlap.
            let cores = ProcessInfo.processInfo.activeProcessorCount
            if let cpu = workerCPU.compactMap({ $0 }).min(by: { $0.own + $0.broker < $1.own + $1.broker }), cpu.own + cpu.broker > 0 {
                let bound = Double(cores) / (cpu.own + cpu.broker)
                print(String(format: "  CPU bound: the worker's %.1f µs and the broker's %.1f µs per notification on %d cores allow at most %.0f notifications/s, %.2fx the best kcat",
                             cpu.own * 1e6, cpu.broker * 1e6, cores, bound, bound / kcatRate))
            }
        }
    }

    /// The worker with and without the object store on the same topic: both rates, what it
    /// uploaded while it stored, and what was left to upload when it was done (sealed and
    /// uploaded at SIGTERM). Uploads keep up when that rest is no more than the active segments.
    private func objectStoreRun(_ executable: URL, bootstrap: String) async throws {
        let bytes = try await publish(topic: "archived", count: objectStore, requestsOnly: false, keyed: true, bootstrap: bootstrap)
        let plain = try await runWorker(executable, topic: "archived", count: objectStore, bootstrap: bootstrap)
        let plainRate = reportRate(
            "worker end to end, keyed, local disk only", count: objectStore, unit: "notifications", bytes: bytes, plain.elapsed)
        let moto = try await MotoS3.start(bucket: "bench")
        defer { moto.stop() }
        let archived = try await runWorker(
            executable, topic: "archived", count: objectStore, bootstrap: bootstrap, group: "bench-archived-s3",
            arguments: [
                "--object-store", "s3://bench/trail", "--s3-endpoint", moto.endpoint,
                "--segment-bytes", objectStoreSegmentBytes, "--checkpoint-interval", "5s",
            ],
            environment: moto.environment)
        let rate = reportRate(
            "worker end to end, keyed, sealed segments uploaded to moto on loopback (--segment-bytes \(objectStoreSegmentBytes))",
            count: objectStore, unit: "notifications", bytes: bytes, archived.elapsed)
        let uploaded = Double(archived.uploadedBytes) / 1e6
        let total = Double(archived.sealedBytes) / 1e6
        print(String(format: "  with the object store / without: %.2fx", rate / plainRate))
        print(String(format: "  uploaded while storing: %d segments, %.1f MB (%.1f MB/s over the run); left at the end: %.1f MB of %.1f MB, sealed and uploaded at SIGTERM in %.2f s",
                     archived.uploadedSegments, uploaded, uploaded / archived.elapsed.inSeconds, total - uploaded, total, archived.drain.inSeconds))
    }

    /// Publishes sample traffic keyed by payload.id (as AuditClient does), or without a key and
    /// spread over every partition (as oslo.messaging does); the bytes published.
    /// `pace` is called every 1,000 notifications with the count published so far.
    ///
    /// Unkeyed traffic goes to a uniformly random one of `partitions`, chosen here: librdkafka
    /// 2.0's partitioner, left to choose for null keys, gave partition 0 twice its share (3,094
    /// of 100k over 64 partitions, against about 1,560 for each other), and the mock cluster,
    /// which keeps 5 MiB per partition, then deleted its first offsets before the worker read
    /// them (the run failed on the loss, as it must).
    private func publish(
        topic: String, count: Int, requestsOnly: Bool, keyed: Bool = true, partitions: Int? = nil, bootstrap: String,
        pace: (Int) async throws -> Void = { _ in }
    ) async throws -> Int {
        var configuration = KafkaConfiguration(bootstrapServers: bootstrap)
        configuration.set("linger.ms", "20")
        configuration.set("batch.size", "1000000")
        let producer = try Producer(configuration: configuration)
        var spread = SeededRandom(seed: 12)
        var traffic = SampleTraffic(seed: requestsOnly ? 11 : 10)
        var bytes = 0
        var published = 0
        var progress = Progress("publishing \(topic)", total: count)
        while published < count {
            let call = traffic.next()
            let key: [UInt8]? = keyed ? Array(call.request.payload.id.utf8) : nil
            for half in requestsOnly ? [call.request] : [call.request, call.response] where published < count {
                let partition = partitions.map { Int32(spread.next(below: $0)) }
                try await producer.enqueue(ProducerRecord(topic: topic, partition: partition, key: key, value: half.envelope))
                bytes += half.envelope.count
                published += 1
            }
            if published % 10_000 == 0 { progress.update(published) }
            if published % 1_000 == 0 { try await pace(published) }
        }
        let summary = try await producer.flush(timeout: .seconds(600))
        progress.finish(summary.delivered)
        guard summary.delivered == count else { throw ValidationError("only \(summary.delivered) of \(count) delivered") }
        print(String(format: "published %d notifications to %@ (%.0f MB)", count, topic, Double(bytes) / 1e6))
        return bytes
    }

    private func kcatToFile(topic: String, count: Int, bytes: Int, bootstrap: String) throws -> Double {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-kcat-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kcat)
        process.arguments = ["-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        let start = ContinuousClock.now
        let (children, bench) = (waitedChildrenCPUTime(), processCPUTime(getpid()))
        try process.run()
        process.waitUntilExit()
        let elapsed = start.duration(to: .now)
        let rate = reportRate("kcat -C -e > file (same topic)", count: count, unit: "notifications", bytes: bytes, elapsed)
        if let bench, let benchNow = processCPUTime(getpid()) {
            print(String(format: "  CPU per notification: kcat %.1f µs, this bench process (the embedded broker) %.1f µs",
                         (waitedChildrenCPUTime() - children) / Double(count) * 1e6, (benchNow - bench) / Double(count) * 1e6))
        }
        return rate
    }

    /// Runs `executable worker` on `topic` until its log says everything is stored; the time
    /// from its partitions being assigned to the last notification durable, and its peak RSS.
    /// `feed`, if given, runs once the partitions are assigned, with the stored count at hand.
    private func runWorker(
        _ executable: URL, topic: String, count: Int, bootstrap: String, group: String? = nil, arguments: [String] = [],
        environment: [String: String] = [:], feed: (@escaping @Sendable () -> Int) async throws -> Void = { _ in }
    ) async throws -> WorkerRun {
        let group = group ?? "bench-\(topic)"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("bench-worker-\(getpid())-\(group)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let process = Process()
        process.executableURL = executable
        let metricsPort = TestEnvironment.freePort()
        process.arguments = [
            "worker", "--brokers", bootstrap, "--topic", topic, "--group", group, "--data", data, "--log-level", "debug",
            "--metrics-port", String(metricsPort),
        ] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let state = WorkerProgress()
        let pid = process.processIdentifier
        let reader = Thread {
            var progress = Progress("worker storing \(topic)", total: count)
            var unread: [UInt8] = []
            let handle = pipe.fileHandleForReading
            while !state.isDone {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                unread.append(contentsOf: chunk)
                while let newline = unread.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: unread[..<newline], as: UTF8.self)
                    unread.removeSubrange(...newline)
                    if line.contains("partitions assigned") { state.assigned(cpu: Self.cpuSample(worker: pid)) }
                    if line.contains(" error ") && line.contains("] lost ") { state.lost(line) }
                    if let range = line.range(of: "audit.stored_total=") {
                        let stored = Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
                        progress.update(stored)
                        let done = stored >= count
                        state.stored(stored, peak: Self.peakRSS(of: pid), done: done, cpu: done ? Self.cpuSample(worker: pid) : nil)
                    }
                }
            }
            state.stored(state.storedCount, peak: Self.peakRSS(of: pid), done: true)
            progress.finish(state.storedCount)
        }
        reader.start()
        while !state.isAssigned && !state.isDone { try await Task.sleep(for: .milliseconds(20)) }
        // What the loop spent before the assignment (joining the group) is not part of the run.
        let beforeAssignment = await Self.phaseSeconds(port: metricsPort)
        try await feed { state.storedCount }
        while !state.isDone { try await Task.sleep(for: .milliseconds(20)) }
        let result = state.result
        let phases = await Self.phaseSeconds(port: metricsPort).merging(beforeAssignment.mapValues { -$0 }) { $0 + $1 }
        let counters = await Self.counters(port: metricsPort)
        let stopping = ContinuousClock.now
        process.terminate()
        process.waitUntilExit()
        let drain = stopping.duration(to: .now)
        if let loss = result.loss {
            throw ValidationError("the run lost notifications, so no rate is printed: \(loss)")
        }
        guard let assigned = result.assigned, let done = result.done, result.stored >= count else {
            throw ValidationError("the worker stopped before storing \(count) notifications")
        }
        // The run proves its result from the store before a rate is printed for it.
        let account = try HopAccount(directory: data)
        let statistics = try Trail(directory: data, window: 0, now: 0, indexOnly: true).statistics
        guard account.lost == 0, account.inFlight.isEmpty, statistics.notifications + statistics.duplicates == count else {
            throw ValidationError(
                "the store does not hold the run's \(count) notifications (stored \(statistics.notifications) + \(statistics.duplicates) repeats, lost \(account.lost), in flight \(account.inFlight.count)): no rate is printed")
        }
        var cpu: CPUSample?
        if let start = result.cpuAtAssignment, let end = result.cpuAtDone {
            cpu = CPUSample(worker: end.worker - start.worker, bench: end.bench - start.bench)
        }
        return WorkerRun(
            elapsed: assigned.duration(to: done), peakRSS: result.peak, cpu: cpu, phases: phases, drain: drain,
            uploadedSegments: Int(counters["audit_archive_uploaded_segments_total"] ?? 0),
            uploadedBytes: Int(counters["audit_archive_uploaded_bytes_total"] ?? 0), sealedBytes: Self.sealedBytes(data))
    }

    /// One worker run's figures.
    struct WorkerRun {
        var elapsed: Duration
        var peakRSS: Int
        /// CPU seconds over `elapsed`, of the worker and of this process (where the broker runs).
        var cpu: CPUSample?
        var phases: [String: Double]
        /// From SIGTERM to the exit (with an object store: sealing and uploading what was left).
        var drain: Duration
        /// Uploaded when the run was done, before SIGTERM.
        var uploadedSegments: Int
        var uploadedBytes: Int
        /// Sealed segments and indexes on disk after the exit.
        var sealedBytes: Int
    }

    private static func sealedBytes(_ data: String) -> Int {
        var total = 0
        let enumerator = FileManager.default.enumerator(atPath: data)
        while let name = enumerator?.nextObject() as? String {
            guard name.hasSuffix(".seg") || name.hasSuffix(".idx") else { continue }
            total += ((try? FileManager.default.attributesOfItem(atPath: data + "/" + name)[.size]) as? NSNumber)?.intValue ?? 0
        }
        return total
    }

    /// The worker's counters from its metrics endpoint, by name (without labels).
    private static func counters(port: Int) async -> [String: Double] {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
              let (body, _) = try? await URLSession.shared.data(from: url) else { return [:] }
        var values: [String: Double] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") && !line.contains("{") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    /// The worker's `audit_worker_seconds_total{phase}` from its metrics endpoint (empty when
    /// it cannot be read).
    private static func phaseSeconds(port: Int) async -> [String: Double] {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
              let (body, _) = try? await URLSession.shared.data(from: url) else { return [:] }
        var phases: [String: Double] = [:]
        let prefix = "audit_worker_seconds_total{phase=\""
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            guard let quote = rest.firstIndex(of: "\""), let space = rest.lastIndex(of: " "),
                  let seconds = Double(rest[rest.index(after: space)...]) else { continue }
            phases[String(rest[..<quote])] = seconds
        }
        return phases
    }

    /// The CPU seconds the worker `pid` and this process have consumed so far; `nil` when the
    /// worker is gone.
    private static func cpuSample(worker pid: Int32) -> CPUSample? {
        guard let worker = processCPUTime(pid), let bench = processCPUTime(getpid()) else { return nil }
        return CPUSample(worker: worker, bench: bench)
    }

    /// The process's peak resident set (VmHWM), in bytes.
    private static func peakRSS(of pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }
}

/// CPU seconds of a worker process and of the bench process (the embedded broker's threads).
struct CPUSample: Sendable {
    var worker: Double
    var bench: Double
}

/// CPU seconds per notification: a process's own, and the broker's over the same run.
struct CPUShare {
    var own: Double
    var broker: Double
}

/// What the bench has read from a worker's log lines, shared by the reading thread and the bench.
private final class WorkerProgress: Sendable {
    struct State {
        var assigned: ContinuousClock.Instant?
        var done: ContinuousClock.Instant?
        var cpuAtAssignment: CPUSample?
        var cpuAtDone: CPUSample?
        var stored = 0
        var peak = 0
        /// The worker's first log line reporting a loss (DESIGN §6.8), if any.
        var loss: String?
    }

    private let state = Mutex(State())

    var isAssigned: Bool { state.withLock { $0.assigned != nil } }
    var isDone: Bool { state.withLock { $0.done != nil } }
    var storedCount: Int { state.withLock { $0.stored } }
    var result: State { state.withLock { $0 } }

    func assigned(cpu: CPUSample?) {
        state.withLock {
            if $0.assigned == nil {
                $0.assigned = .now
                $0.cpuAtAssignment = cpu
            }
        }
    }

    /// A loss ends the run: no rate is printed for it.
    func lost(_ line: String) {
        state.withLock {
            if $0.loss == nil { $0.loss = line }
            if $0.done == nil { $0.done = .now }
        }
    }

    func stored(_ stored: Int, peak: Int, done: Bool, cpu: CPUSample? = nil) {
        state.withLock {
            $0.stored = max($0.stored, stored)
            $0.peak = max($0.peak, peak)
            if done && $0.done == nil {
                $0.done = .now
                $0.cpuAtDone = cpu
            }
        }
    }
}
