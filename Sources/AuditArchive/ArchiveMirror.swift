// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Foundation
import ObjectStore

/// A trail in an object store, laid out locally as a data directory, so every reader (query,
/// show, export, stats, verify, serve, repair) reads it as it reads a store on disk.
///
/// The cache directory holds two things:
/// - `logs/`: a data directory with every log's manifest, brought in line with the bucket by
///   ``sync(progress:)``; it holds no segment files.
/// - `blocks/`: the ``SegmentCache``, bounded in size, from which the readers take the indexes
///   and segment chunks the manifests list, fetching them on first use. The mirror registers it
///   for `logs/` (``RemoteSegmentsRegistry``) when it is created.
public struct ArchiveMirror: Sendable {
    public let archive: Archive
    /// The cache directory.
    public let directory: String
    /// The data directory readers read: the manifests of every machine's logs.
    public var dataDirectory: String { directory + "/logs" }
    /// Where the segments those manifests list are read from.
    public let segments: SegmentCache

    /// Opens the cache in `directory`, whose segment files stay within `cacheBytes`, and
    /// registers it as the source of the segments of ``dataDirectory``.
    public init(archive: Archive, directory: String, cacheBytes: Int64, chunkSize: Int64 = 1 << 20) throws {
        self.archive = archive
        self.directory = directory
        segments = try SegmentCache(archive: archive, directory: directory + "/blocks", limit: cacheBytes, chunkSize: chunkSize)
        RemoteSegmentsRegistry.register(segments, dataDirectory: directory + "/logs")
    }

    /// Ends the registration: readers of ``dataDirectory`` no longer fetch segments.
    public func close() {
        RemoteSegmentsRegistry.unregister(dataDirectory: dataDirectory)
    }

    /// What a sync did.
    public struct Report: Sendable, Equatable {
        public var logs = 0
        public var segments = 0
        /// Manifests that changed since the last sync.
        public var updated = 0
    }

    /// Brings the manifests in `logs/` in line with the bucket's, and drops cached files of
    /// segments no manifest lists any more (retention removed them).
    /// - Parameter progress: called after each log with the logs done and the total.
    @discardableResult
    public func sync(progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        var report = Report()
        let logs = try await archive.logs()
        let data = dataDirectory
        try FileManager.default.createDirectory(
            atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var listed: [(topic: String, partition: Int32, segment: Manifest.Segment)] = []
        for (done, (topic, partition)) in logs.enumerated() {
            guard let (remote, _) = try await archive.manifest(topic: topic, partition: partition) else { continue }
            let log = LogFiles.logDirectory(data: data, topic: topic, partition: partition)
            try FileManager.default.createDirectory(
                atPath: log, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var manifest = Manifest(topic: topic, partition: partition, epoch: remote.epoch, segments: remote.segments)
            manifest.retired = remote.retired.map { Manifest.Retired(next: $0.next, chainHead: $0.chainHead) }
            // Rewritten only when it changed: a reader kept open while the log is unchanged
            // (serve's reader pool) stays valid.
            if (try? Manifest.read(directory: log)) != manifest {
                try manifest.write(directory: log)
                report.updated += 1
            }
            listed += remote.segments.map { (topic, partition, $0) }
            report.logs += 1
            report.segments += remote.segments.count
            progress(done + 1, logs.count)
        }
        segments.prune(keeping: listed)
        return report
    }
}
