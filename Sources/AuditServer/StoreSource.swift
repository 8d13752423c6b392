// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditStore
import Foundation
import NIOPosix

/// The store the server reads.
///
/// Every request reads with a reader of its own: a snapshot that sees what the workers stored up
/// to then, and that no other request shares (a reader has one owner). Readers are kept between
/// requests while the store's files stay the same (``ReaderPool``), so their loaded indexes serve
/// the next request. Reading files blocks, so reads run on NIO's blocking thread pool, never on
/// the cooperative pool (2 threads on our machines).
struct StoreSource: Sendable {
    /// The data directory.
    let directory: String
    /// The correlation window (µs): a single half older than this is an orphan.
    let window: Int64
    /// Where each read's duration is recorded.
    var metrics: ServerMetrics? = nil
    /// Open readers, one per concurrent read at most (NIO's blocking pool has a thread per core).
    let readers: ReaderPool

    init(directory: String, window: Int64, metrics: ServerMetrics? = nil) {
        self.directory = directory
        self.window = window
        self.metrics = metrics
        readers = ReaderPool(directory: directory, capacity: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Runs `body` with a reader of the store as it is now, off the cooperative pool; its time is
    /// recorded as `query`'s.
    func read<T: Sendable>(_ query: String = "read", _ body: @escaping @Sendable (StoreReader) throws -> T) async throws -> T {
        let readers = readers
        let clock = ContinuousClock()
        let start = clock.now
        defer { metrics?.storeQueried(query, duration: clock.now - start) }
        return try await NIOThreadPool.singleton.runIfActive { try readers.withReader(body) }
    }

    /// The pair view `visibility` sees, from the indexes (bodies are read per shown call).
    func trail(
        _ reader: StoreReader, visibility: Visibility, indexOnly: Bool = true, requestIDs: Trail.RequestIDs = Trail.RequestIDs()
    ) throws -> Trail {
        try Trail(
            reader: reader, window: window, now: Self.now(), indexOnly: indexOnly, visibility: visibility,
            requestIDs: requestIDs, latency: Trail.responseLatency())
    }

    /// µs since the epoch.
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}
