// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import Benchmark
import Foundation

/// Reads from a sealed store of generated notifications (`bench store`'s corpus): an id lookup
/// (the index, then both halves' blocks) and a block decode (a record by offset whose block is
/// not among the reader's cached ones). Appending is measured by `bench store`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .instructions, .mallocCountTotal], maxDuration: .seconds(2))

    let store = StoreFixture()
    // Each call reads the next id or offset: the same one again would find its blocks cached.
    var next = 0

    Benchmark(
        "Id lookup (both halves of a call)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try store.reader.records(withId: store.ids[next % store.ids.count]))
                next += 1
            }
        },
        setup: { try store.open() }, teardown: { store.close() })

    Benchmark(
        "Block decode (a record by offset, its block not cached)",
        closure: { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try store.reader.record(topic: "audit-by-id", partition: 0, offset: store.offsets[next % store.offsets.count]))
                next += 1
            }
        },
        setup: { try store.open() }, teardown: { store.close() })
}

/// A store of 50,000 generated notifications in a temporary directory, written and sealed by
/// `open()` and removed by `close()`.
final class StoreFixture: @unchecked Sendable {  // used by the benchmark runner's one thread at a time
    static let notifications = 50_000

    private var directory: String?
    private var opened: StoreReader?
    /// Ids spread over the store, each stored twice (request and response).
    private(set) var ids: [String] = []
    /// Offsets far enough apart that each read lands in another block than the last few.
    private(set) var offsets: [Int64] = []

    var reader: StoreReader {
        guard let opened else { preconditionFailure("StoreFixture.open() not called") }
        return opened
    }

    func open() throws {
        let directory = NSTemporaryDirectory() + "audit-trail-store-benchmarks-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        self.directory = directory
        let store = try AuditStore(directory: directory)
        let writer = try store.openWriter(topic: "audit-by-id", partition: 0)
        var generator = SyntheticNotifications(seed: 42)
        var offset: Int64 = 0
        var requests: [String] = []
        while offset < Int64(Self.notifications) {
            let batch = generator.next(4096)
            try writer.append(
                batch.map { n in
                    defer { offset += 1 }
                    return StoreRecord(offset: offset, timestamp: n.timestamp, body: .notification(n.fields, bytes: n.bytes))
                })
            requests += batch.filter(\.isRequest).map(\.id)
        }
        ids = stride(from: 0, to: requests.count, by: max(1, requests.count / 1000)).map { requests[$0] }
        _ = try writer.sync()
        try writer.seal()
        // 1,009 is prime and far above a block's few hundred records, so consecutive reads
        // never share a block.
        offsets = (0..<1000).map { Int64($0 * 1009 % Self.notifications) }
        opened = try store.reader()
    }

    func close() {
        opened = nil
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        directory = nil
    }
}
