// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Foundation
import ObjectStore

/// A local copy of a trail in an object store, laid out as a data directory, so every reader
/// (query, show, export, stats, verify, serve, repair) reads it as it reads a store on disk.
///
/// The copy holds what the bucket's manifests list: every machine's logs, their sealed segments
/// and indexes. Files are immutable and named by content in the bucket, so a file already in the
/// cache is never fetched again; a segment the manifest no longer lists (retention) is removed.
/// The copy is whole: fetching blocks on demand into a cache of bounded size is not built yet.
public struct ArchiveMirror: Sendable {
    public let archive: Archive
    /// The cache directory (a data directory).
    public let directory: String

    public init(archive: Archive, directory: String) {
        self.archive = archive
        self.directory = directory
    }

    /// What a sync did.
    public struct Report: Sendable, Equatable {
        public var logs = 0
        public var segments = 0
        /// Files downloaded (segments and indexes).
        public var downloaded = 0
        public var downloadedBytes: Int64 = 0
        /// Keys a manifest lists that are not in the bucket.
        public var missing: [String] = []
    }

    /// Brings the cache in line with the bucket's manifests.
    /// - Parameter progress: called after each log with the logs done and the total.
    @discardableResult
    public func sync(progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        var report = Report()
        let logs = try await archive.logs()
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (done, (topic, partition)) in logs.enumerated() {
            guard let (remote, _) = try await archive.manifest(topic: topic, partition: partition) else { continue }
            let log = LogFiles.logDirectory(data: directory, topic: topic, partition: partition)
            try FileManager.default.createDirectory(
                atPath: log, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let before = try sizes(log)
            for segment in remote.segments {
                // A listed object that is gone is left to the verifier (a missing segment).
                report.missing += try await archive.download(segment, topic: topic, partition: partition, into: log)
            }
            var manifest = Manifest(topic: topic, partition: partition, epoch: remote.epoch, segments: remote.segments)
            manifest.retired = remote.retired.map { Manifest.Retired(next: $0.next, chainHead: $0.chainHead) }
            try manifest.write(directory: log)
            // What the manifest no longer lists (removed by retention) goes from the cache too.
            let listed = Set(remote.segments.flatMap { [LogFiles.name($0.base, LogFiles.segment), LogFiles.name($0.base, LogFiles.index)] })
            for (name, size) in try sizes(log) {
                if name == Manifest.fileName { continue }
                if !listed.contains(name) {
                    try FileManager.default.removeItem(atPath: log + "/" + name)
                } else if before[name] == nil {
                    report.downloaded += 1
                    report.downloadedBytes += size
                }
            }
            report.logs += 1
            report.segments += remote.segments.count
            progress(done + 1, logs.count)
        }
        return report
    }

    private func sizes(_ log: String) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: log) {
            let attributes = try FileManager.default.attributesOfItem(atPath: log + "/" + name)
            out[name] = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        }
        return out
    }
}
