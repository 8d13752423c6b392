// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import AuditTesting
import Foundation
import Synchronization

/// The store `bench serve` reads: `SyntheticNotifications` calls of 120 projects, written with
/// `LogWriter` into several partitions of one topic as keyed publishing and the workers spread
/// them (both halves of a call in the partition of its id's hash), then sealed.
///
/// Built once per size under `<data>/<notifications>/`, and described by `bench-serve.json`
/// written last: a directory without it is a build that did not finish, and is built again.
struct ServeStore: Codable {
    /// Notifications stored.
    var notifications: Int
    /// Partitions of the topic.
    var partitions: Int
    /// Notifications per project.
    var projects: [String: Int]
    /// CADF ids of each project, sampled over the whole time range.
    var ids: [String: [String]]
    /// Raw bytes of the notifications, and what the store takes on disk.
    var rawBytes: Int
    var bytesOnDisk: Int
    /// Wall-clock seconds the build took.
    var buildSeconds: Double

    static let topic = "notifications.info"
    static let descriptionFile = "bench-serve.json"
    /// Ids sampled per project.
    static let sampledIds = 200

    /// The store of `notifications` under `data`, built first if it is not there.
    static func openOrBuild(data: String, notifications: Int, partitions: Int, threads: Int) throws -> (ServeStore, String) {
        let directory = data + "/\(notifications)"
        if let bytes = FileManager.default.contents(atPath: directory + "/" + descriptionFile),
            let store = try? JSONDecoder().decode(ServeStore.self, from: bytes), store.notifications == notifications
        {
            print(String(format: "reusing the store of %d notifications in %@ (%.2f GB on disk, built in %.0f s)",
                         notifications, directory, Double(store.bytesOnDisk) / 1e9, store.buildSeconds))
            return (store, directory)
        }
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try build(directory: directory, notifications: notifications, partitions: partitions, threads: threads)
        try JSONEncoder().encode(store).write(to: URL(fileURLWithPath: directory + "/" + descriptionFile))
        return (store, directory)
    }

    /// Writes the store with `threads` writers at once, each owning every `threads`-th partition
    /// and generating its own calls (another seed, the same users and projects).
    private static func build(directory: String, notifications: Int, partitions: Int, threads: Int) throws -> ServeStore {
        let threads = max(1, min(threads, partitions))
        print("building a store of \(notifications) notifications (\(partitions) partitions, \(threads) writers) in \(directory)")
        let store = try AuditStore(directory: directory)
        let shared = BuildState(total: notifications)
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            do {
                let quota = notifications / threads + (thread == 0 ? notifications % threads : 0)
                let owned = Array(stride(from: thread, to: partitions, by: threads))
                let part = try writePart(store, partitions: owned, seed: 42 &+ UInt64(thread), quota: quota, shared: shared)
                shared.finished(part)
            } catch {
                shared.failed(error)
            }
        }
        let (parts, errors) = shared.result
        if let error = errors.first { throw error }
        var projects: [String: Int] = [:]
        var ids: [String: [String]] = [:]
        var rawBytes = 0
        for part in parts {
            projects.merge(part.projects, uniquingKeysWith: +)
            ids.merge(part.ids) { Array(($0 + $1).prefix(sampledIds)) }
            rawBytes += part.rawBytes
        }
        let seconds = start.duration(to: .now).inSeconds
        let onDisk = StoreBench.bytesOnDisk(directory)
        print(String(format: "built in %.0f s (%.0f notifications/s): %.1f GB raw, %.2f GB on disk (%.1fx), %d projects",
                     seconds, Double(notifications) / seconds, Double(rawBytes) / 1e9, Double(onDisk) / 1e9,
                     Double(rawBytes) / Double(max(onDisk, 1)), projects.count))
        return ServeStore(
            notifications: notifications, partitions: partitions, projects: projects, ids: ids, rawBytes: rawBytes,
            bytesOnDisk: onDisk, buildSeconds: seconds)
    }

    /// What one writer thread stored.
    struct Part: Sendable {
        var projects: [String: Int] = [:]
        var ids: [String: [String]] = [:]
        var rawBytes = 0
    }

    private static func writePart(
        _ store: AuditStore, partitions: [Int], seed: UInt64, quota: Int, shared: BuildState
    ) throws -> Part {
        let writers = try partitions.map { try store.openWriter(topic: topic, partition: Int32($0)) }
        var next = [Int64](repeating: 0, count: writers.count)
        var generator = SyntheticNotifications(seed: seed, population: 42)
        var random = SeededRandom(seed: seed)
        var part = Part()
        var requests: [String: Int] = [:]
        var written = 0
        while written < quota {
            let batch = generator.next(min(4096, quota - written))
            var records = [[StoreRecord]](repeating: [], count: writers.count)
            for n in batch {
                let slot = Int(FNV1a.hash(n.id) % UInt64(writers.count))
                records[slot].append(StoreRecord(offset: next[slot], timestamp: n.timestamp, body: .notification(n.fields, bytes: n.bytes)))
                next[slot] += 1
                part.rawBytes += n.bytes.count
                part.projects[n.projectId, default: 0] += 1
                guard n.isRequest else { continue }
                // A reservoir of the project's ids: each request id is kept with the same chance.
                let seen = requests[n.projectId, default: 0]
                requests[n.projectId] = seen + 1
                if seen < sampledIds {
                    part.ids[n.projectId, default: []].append(n.id)
                } else {
                    let slot = Int(random.next() % UInt64(seen + 1))
                    if slot < sampledIds { part.ids[n.projectId]![slot] = n.id }
                }
            }
            for (slot, writer) in writers.enumerated() where !records[slot].isEmpty { try writer.append(records[slot]) }
            written += batch.count
            shared.stored(batch.count)
        }
        for writer in writers {
            try writer.seal()
            try writer.close()
        }
        return part
    }
}

/// The writer threads' progress and results.
private final class BuildState: Sendable {
    private struct State {
        var stored = 0
        var reported = 0
        var progress: Progress
        var parts: [ServeStore.Part] = []
        var errors: [any Error] = []
    }

    private let total: Int
    private let state: Mutex<State>

    init(total: Int) {
        self.total = total
        state = Mutex(State(progress: Progress("storing", total: total)))
    }

    /// Counts `count` more notifications appended; a line every tenth of the store.
    func stored(_ count: Int) {
        state.withLock {
            $0.stored += count
            $0.progress.update($0.stored)
            let tenth = max(1, total / 10)
            if $0.stored / tenth > $0.reported / tenth {
                print("  \($0.stored) notifications appended")
                $0.reported = $0.stored
            }
        }
    }

    func finished(_ part: ServeStore.Part) { state.withLock { $0.parts.append(part) } }
    func failed(_ error: any Error) { state.withLock { $0.errors.append(error) } }

    var result: ([ServeStore.Part], [any Error]) {
        state.withLock {
            $0.progress.finish($0.stored)
            return ($0.parts, $0.errors)
        }
    }
}
