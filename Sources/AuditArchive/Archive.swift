// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
import Foundation
public import ObjectStore

/// A trail's object store, as one process uses it: the bucket, the key layout, who this process
/// is, and the key its checkpoints and tombstones are signed with (DESIGN §9).
public struct Archive: Sendable {
    public let store: any ObjectStore
    public let layout: ArchiveLayout
    /// This process as lease holder: `<host>:<pid>:<random>`, so two processes never share one.
    public let owner: String
    /// Signs checkpoints and tombstones (the key that signs sealed segments); unsigned if `nil`.
    public let signer: SegmentSigner?
    /// Milliseconds since the Unix epoch (a label on checkpoints; nothing is decided by it).
    public var clock: @Sendable () -> Int64

    public init(store: any ObjectStore, layout: ArchiveLayout, signer: SegmentSigner?, owner: String? = nil) {
        self.store = store
        self.layout = layout
        self.signer = signer
        self.owner = owner ?? Self.defaultOwner()
        clock = { Int64(Date().timeIntervalSince1970 * 1000) }
    }

    static func defaultOwner() -> String {
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        return "\(host):\(pid):\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Every log with a manifest in the bucket, sorted.
    public func logs() async throws -> [(topic: String, partition: Int32)] {
        try await store.list(prefix: layout.root).compactMap { layout.logOfManifest($0.key) }
            .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    /// A log's manifest and its ETag; `nil` when the log has none.
    public func manifest(topic: String, partition: Int32) async throws -> (ArchiveManifest, String)? {
        let key = layout.manifest(topic: topic, partition: partition)
        guard let object = try await store.get(key) else { return nil }
        return (try ArchiveJSON.decode(ArchiveManifest.self, object.bytes, what: key), object.etag)
    }

    /// A log's lease and its ETag; `nil` when no one ever took the log.
    public func lease(topic: String, partition: Int32) async throws -> (Lease, String)? {
        let key = layout.lease(topic: topic, partition: partition)
        guard let object = try await store.get(key) else { return nil }
        return (try ArchiveJSON.decode(Lease.self, object.bytes, what: key), object.etag)
    }

    /// Downloads a listed segment and its index into a log directory, as `<base>.seg` and
    /// `<base>.idx` (skipped when a file of the listed size is there already).
    /// - Returns: the keys that are not in the bucket.
    @discardableResult
    func download(_ segment: Manifest.Segment, topic: String, partition: Int32, into directory: String) async throws -> [String] {
        var missing: [String] = []
        for (suffix, size) in [(LogFiles.segment, segment.segmentBytes), (LogFiles.index, segment.indexBytes)] {
            let path = directory + "/" + LogFiles.name(segment.base, suffix)
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                (attributes[.size] as? NSNumber)?.int64Value == size
            {
                continue
            }
            let key = layout.segment(topic: topic, partition: partition, base: segment.base, digest: segment.digest, suffix: suffix)
            if try await !store.download(key, to: path) { missing.append(key) }
        }
        return missing
    }
}

/// Whether `error` is the object store's refusal of a conditional write (412).
func isPreconditionFailure(_ error: any Error) -> Bool {
    if case ObjectStoreError.preconditionFailed = error { return true }
    return false
}
