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
/// ``trim(maxBytes:)`` keeps the cache within a size by removing the least recently read
/// segments, which the next ``sync(progress:)`` fetches again when asked for.
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

    /// Removes the least recently used segment files (with their indexes) until the cache's
    /// segments take at most `maxBytes`. Returns the bytes removed.
    @discardableResult
    public func trim(maxBytes: Int64) throws -> Int64 {
        var files: [(path: String, size: Int64, used: Date)] = []
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            guard name.hasSuffix(LogFiles.segment) else { continue }
            let path = directory + "/" + name
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            var info = stat()
            let used = stat(path, &info) == 0
                ? Date(timeIntervalSince1970: TimeInterval(info.st_atim.tv_sec)) : (attributes[.modificationDate] as? Date ?? .distantPast)
            files.append((path, (attributes[.size] as? NSNumber)?.int64Value ?? 0, used))
        }
        var total = files.reduce(0) { $0 + $1.size }
        var removed: Int64 = 0
        for file in files.sorted(by: { $0.used < $1.used }) where total > maxBytes {
            try FileManager.default.removeItem(atPath: file.path)
            let index = String(file.path.dropLast(LogFiles.segment.count)) + LogFiles.index
            try? FileManager.default.removeItem(atPath: index)
            total -= file.size
            removed += file.size
        }
        return removed
    }
}
