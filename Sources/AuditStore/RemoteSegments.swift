// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Dispatch
import Synchronization

/// Bytes read at offsets: a local file, or a segment in an object store read through a cache.
public protocol ByteSource: AnyObject {
    /// `count` bytes from `offset` (fewer at the end).
    func read(count: Int, at offset: Int64) throws(StoreError) -> [UInt8]
}

extension StoreFile: ByteSource {}

/// Where the sealed segments of a data directory are read from when its log directories hold
/// only their manifests: a trail in an object store, read through a bounded local cache
/// (`AuditArchive`'s `SegmentCache`). ``StoreReader`` and ``StoreVerifier`` ask here for a
/// segment's files that are not on disk, so every reader works on such a trail unchanged.
///
/// Calls block until the bytes are there: readers are synchronous, like the store's file I/O.
public protocol RemoteSegments: AnyObject, Sendable {
    /// The whole `<base>.idx` of a segment the log's manifest lists; `nil` if the store does
    /// not hold it (a missing segment).
    func index(topic: String, partition: Int32, segment: Manifest.Segment) throws(StoreError) -> [UInt8]?

    /// Random access to the `<base>.seg` of a segment the log's manifest lists; `nil` if the
    /// store does not hold it.
    func segment(topic: String, partition: Int32, segment: Manifest.Segment) throws(StoreError) -> (any ByteSource)?

    /// The whole `<base>.seg` object as the store holds it, whatever its length (for `verify`,
    /// which reads every byte once and so bypasses the cache); `nil` if the store does not hold it.
    func wholeSegment(topic: String, partition: Int32, segment: Manifest.Segment) throws(StoreError) -> [UInt8]?
}

/// The ``RemoteSegments`` of each data directory read from an object store, for this process.
public enum RemoteSegmentsRegistry {
    private static let sources = Mutex<[String: any RemoteSegments]>([:])

    /// Reads of sealed segments absent under data directory `directory` go to `source` from now on.
    public static func register(_ source: any RemoteSegments, dataDirectory directory: String) {
        sources.withLock { $0[normalized(directory)] = source }
    }

    /// Ends ``register(_:dataDirectory:)``.
    public static func unregister(dataDirectory directory: String) {
        _ = sources.withLock { $0.removeValue(forKey: normalized(directory)) }
    }

    /// The source of the data directory that holds log directory `log` (`<data>/<topic>/<partition>`).
    static func source(forLog log: String) -> (any RemoteSegments)? {
        var data = normalized(log)
        for _ in 0..<2 {
            guard let slash = data.lastIndex(of: "/") else { return nil }
            data = String(data[..<slash])
        }
        return sources.withLock { $0[data] }
    }

    private static func normalized(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }
}

/// A `TaskExecutor` on a serial Dispatch queue, off the cooperative pool: code that must block
/// (the worker's disk I/O, a reader waiting for an object-store fetch) runs its async parts here.
package final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    package init(label: String) {
        queue = DispatchQueue(label: label)
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let unownedJob = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { unownedJob.runSynchronously(on: executor) }
    }
}
