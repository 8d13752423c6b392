// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditStore
import Foundation
import NIOPosix

/// The store the server reads.
///
/// Every request opens its own reader: a snapshot that sees what the workers stored up to then,
/// and that no other request shares (a reader has one owner). Reading files blocks, so reads run
/// on NIO's blocking thread pool, never on the cooperative pool (2 threads on our machines).
struct StoreSource: Sendable {
    /// The data directory.
    let directory: String
    /// The correlation window (µs): a single half older than this is an orphan.
    let window: Int64
    /// Where each read's duration is recorded.
    var metrics: ServerMetrics? = nil

    /// Runs `body` with a new reader, off the cooperative pool; its time is recorded as `query`'s.
    func read<T: Sendable>(_ query: String = "read", _ body: @escaping @Sendable (StoreReader) throws -> T) async throws -> T {
        let directory = directory
        let clock = ContinuousClock()
        let start = clock.now
        defer { metrics?.storeQueried(query, duration: clock.now - start) }
        return try await NIOThreadPool.singleton.runIfActive { try body(try StoreReader(directory: directory)) }
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
