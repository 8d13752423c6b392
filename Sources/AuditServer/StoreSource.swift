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
    /// Index-only pair views of the unchanged store, per scope.
    let trails: TrailCache

    init(directory: String, window: Int64, metrics: ServerMetrics? = nil) {
        self.directory = directory
        self.window = window
        self.metrics = metrics
        readers = ReaderPool(directory: directory, capacity: ProcessInfo.processInfo.activeProcessorCount)
        trails = TrailCache(capacity: 16, maximumCalls: 2_000_000)
    }

    /// Runs `body` with a reader of the store as it is now, off the cooperative pool; its time is
    /// recorded as `query`'s.
    func read<T: Sendable>(_ query: String = "read", _ body: @escaping @Sendable (StoreReader) throws -> T) async throws -> T {
        try await read(query) { reader, _ in try body(reader) }
    }

    /// Runs `body` with a reader of the store as it is now and the pair view `visibility` sees
    /// under `requestIDs`, off the cooperative pool. The view is from the indexes (bodies are
    /// read per shown call) and kept while the store is unchanged (``TrailCache``); with
    /// `indexOnly` false (sorting by latency needs every response's bytes) it is built for
    /// this request alone.
    func read<T: Sendable>(
        _ query: String, visibility: Visibility, indexOnly: Bool = true, requestIDs: Trail.RequestIDs = Trail.RequestIDs(),
        _ body: @escaping @Sendable (StoreReader, Trail) throws -> T
    ) async throws -> T {
        let window = window
        let trails = trails
        let metrics = metrics
        return try await read(query) { reader, fingerprint in
            let now = Self.now()
            func build() throws -> Trail {
                try Trail(
                    reader: reader, window: window, now: now, indexOnly: indexOnly, visibility: visibility,
                    requestIDs: requestIDs, latency: Trail.responseLatency())
            }
            guard indexOnly else { return try body(reader, try build()) }
            let scope = TrailCache.Scope(visibility: visibility, requestIDs: requestIDs)
            let trail = try trails.trail(scope, fingerprint: fingerprint, now: now, read: { metrics?.pairViewRead(kept: $0) }, build: build)
            return try body(reader, trail)
        }
    }

    private func read<T: Sendable>(
        _ query: String, _ body: @escaping @Sendable (StoreReader, StoreFingerprint) throws -> T
    ) async throws -> T {
        let readers = readers
        let clock = ContinuousClock()
        let start = clock.now
        defer { metrics?.storeQueried(query, duration: clock.now - start) }
        return try await NIOThreadPool.singleton.runIfActive { try readers.withReader(body) }
    }

    /// µs since the epoch.
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}
