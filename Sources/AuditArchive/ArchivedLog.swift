// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
import Foundation
import ObjectStore

/// One log in the object store, as its owner keeps it (DESIGN §9): the lease it holds, the
/// manifest version it wrote last, and what it uploaded.
///
/// - ``claim(_:topic:partition:data:)`` takes the log: the next lease epoch by a conditional put,
///   then the local directory is brought in line with the bucket (a log that another machine
///   continued is downloaded; a stale local copy is set aside), then the manifest is rewritten
///   under the new epoch. From then on a put of any earlier owner's fails.
/// - ``publish(_:)`` uploads the segments sealed since, then the manifest (`If-Match` on the
///   version this owner wrote last): the manifest is the commit point, so readers never see a
///   segment before it is whole.
/// - ``checkpoint(_:)`` renews the lease (`If-Match`), then writes a signed checkpoint.
///
/// Any 412 means another owner took the log: ``ArchiveError/fenced(_:)``, and the caller stops.
/// Not thread-safe: the log's owner calls it.
public final class ArchivedLog {
    public let topic: String
    public let partition: Int32
    /// The lease epoch this owner holds.
    public let epoch: Int64
    let archive: Archive
    private var leaseETag: String
    private var manifestETag: String
    /// The manifest as this owner wrote it last.
    public private(set) var manifest: ArchiveManifest
    /// The last checkpoint written.
    public private(set) var lastCheckpoint: Checkpoint?
    /// What ``claim(_:topic:partition:data:)`` did with the local directory.
    public let reconciliation: Reconciliation

    /// How the local log directory was brought in line with the bucket.
    public enum Reconciliation: Sendable, Equatable {
        /// The local log is the bucket's, or goes on from it (unpublished seals are uploaded next).
        case kept
        /// There was no local log: the bucket's segments were downloaded.
        case downloaded(segments: Int)
        /// The local log fell behind or went apart from the bucket (another machine continued the
        /// log): it was moved to `setAsideAs` and the bucket's segments downloaded.
        case replaced(setAsideAs: String, segments: Int)
    }

    private init(
        archive: Archive, topic: String, partition: Int32, epoch: Int64, leaseETag: String, manifestETag: String,
        manifest: ArchiveManifest, reconciliation: Reconciliation
    ) {
        self.archive = archive
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
        self.leaseETag = leaseETag
        self.manifestETag = manifestETag
        self.manifest = manifest
        self.reconciliation = reconciliation
    }

    /// Takes the log for `archive.owner`, before its ``LogWriter`` opens on `data`.
    /// - Throws: ``ArchiveError/fenced(_:)`` when other claimants keep taking the lease meanwhile.
    public static func claim(_ archive: Archive, topic: String, partition: Int32, data: String) async throws
        -> ArchivedLog
    {
        let store = archive.store
        let leaseKey = archive.layout.lease(topic: topic, partition: partition)
        // 1. The next epoch, by a conditional put of the lease.
        var taken: (Lease, String)?
        for _ in 0..<8 {
            let current = try await archive.lease(topic: topic, partition: partition)
            let lease = Lease(
                topic: topic, partition: partition, epoch: (current?.0.epoch ?? 0) + 1, owner: archive.owner,
                renewedAt: archive.clock())
            do {
                let etag = try await store.put(
                    leaseKey, bytes: try ArchiveJSON.encode(lease), condition: current.map { .matches($0.1) } ?? .absent)
                taken = (lease, etag)
                break
            } catch where isPreconditionFailure(error) {
                continue  // another claimant took it between our read and our put: read again
            }
        }
        guard let (lease, leaseETag) = taken else {
            throw ArchiveError.fenced("\(leaseKey): the lease kept moving while claiming it")
        }
        // 2. The manifest under the new epoch, the local directory in line with it first. A put
        //    that fails means the previous owner published meanwhile (it may, until it sees our
        //    epoch): read it again, unless our lease was taken too.
        let manifestKey = archive.layout.manifest(topic: topic, partition: partition)
        let directory = LogFiles.logDirectory(data: data, topic: topic, partition: partition)
        while true {
            let current = try await archive.manifest(topic: topic, partition: partition)
            let reconciliation = try await reconcile(
                archive, topic: topic, partition: partition, directory: directory, remote: current?.0, epoch: lease.epoch)
            var next = current?.0 ?? ArchiveManifest(topic: topic, partition: partition, epoch: lease.epoch)
            next.epoch = lease.epoch
            next.tenures.append(
                ArchiveManifest.Tenure(epoch: lease.epoch, owner: archive.owner, base: next.sealedNext ?? 0))
            do {
                let etag = try await store.put(
                    manifestKey, bytes: try ArchiveJSON.encode(next), condition: current.map { .matches($0.1) } ?? .absent)
                return ArchivedLog(
                    archive: archive, topic: topic, partition: partition, epoch: lease.epoch, leaseETag: leaseETag,
                    manifestETag: etag, manifest: next, reconciliation: reconciliation)
            } catch where isPreconditionFailure(error) {
                guard let now = try await archive.lease(topic: topic, partition: partition), now.1 == leaseETag else {
                    throw ArchiveError.fenced("\(leaseKey): taken by another owner while claiming it")
                }
            }
        }
    }

    /// Brings the local log directory in line with the bucket's manifest `remote`.
    private static func reconcile(
        _ archive: Archive, topic: String, partition: Int32, directory: String, remote: ArchiveManifest?, epoch: Int64
    ) async throws -> Reconciliation {
        let remoteSegments = remote?.segments ?? []
        let local = FileManager.default.fileExists(atPath: directory) ? try Manifest.read(directory: directory) : nil
        // Local segments that retention removed from the bucket do not count.
        let start = remote?.retired?.next ?? .min
        let localSegments = (local?.segments ?? []).filter { $0.base >= start }
        let common = zip(localSegments, remoteSegments).prefix { $0.base == $1.base && $0.digest == $1.digest }.count
        if common == remoteSegments.count && !(local == nil && remote?.retired != nil) {
            // Equal, or ahead: this machine sealed segments it had not uploaded yet (or holds the
            // log's only copy so far). Its journal, if any, continues the bucket's log.
            return .kept
        }
        // Behind or apart: another machine continued the log. What this directory holds beyond
        // the bucket's segments was consumed again by that owner; it is kept aside, never deleted.
        var setAside: String?
        if FileManager.default.fileExists(atPath: directory) {
            // A claim that reads the manifest again (its put lost to the previous owner's last
            // upload) may set aside twice in one epoch: each copy gets a name of its own.
            var aside = "\(directory).superseded-\(epoch)"
            var copy = 1
            while FileManager.default.fileExists(atPath: aside) {
                aside = "\(directory).superseded-\(epoch).\(copy)"
                copy += 1
            }
            try FileManager.default.moveItem(atPath: directory, toPath: aside)
            setAside = aside
        }
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for segment in remoteSegments {
            let missing = try await archive.download(segment, topic: topic, partition: partition, into: directory)
            guard missing.isEmpty else {
                throw ArchiveError.malformed("\(missing.joined(separator: ", ")): listed by the manifest, not in the bucket")
            }
        }
        var manifest = Manifest(topic: topic, partition: partition, epoch: 0, segments: remoteSegments)
        manifest.retired = remote?.retired.map { Manifest.Retired(next: $0.next, chainHead: $0.chainHead) }
        try manifest.write(directory: directory)
        if let setAside { return .replaced(setAsideAs: setAside, segments: remoteSegments.count) }
        return .downloaded(segments: remoteSegments.count)
    }

    /// Uploads the segments `writer` sealed since the last call, then the manifest.
    /// - Returns: the segments uploaded.
    /// - Throws: ``ArchiveError/fenced(_:)`` when another owner took the log.
    @discardableResult
    nonisolated(nonsending) public func publish(_ writer: LogWriter) async throws -> [Manifest.Segment] {
        try await publish(sealed: writer.sealedSegments, directory: writer.logDirectory)
    }

    /// Uploads the segments of `sealed` (a writer's ``LogWriter/sealedSegments``, whose files are
    /// in `directory`) that the bucket does not have yet, then the manifest.
    @discardableResult
    nonisolated(nonsending) public func publish(sealed: [Manifest.Segment], directory: String) async throws -> [Manifest.Segment] {
        let known = manifest.sealedNext
        let pending = sealed.filter { known == nil || $0.base >= known! }
        guard let first = pending.first else { return [] }
        if let known, first.base != known {
            throw ArchiveError.diverged(
                "\(directory): the bucket's segments end at \(known), the local ones go on from \(first.base)")
        }
        let store = archive.store
        let layout = archive.layout
        for segment in pending {
            for suffix in [LogFiles.segment, LogFiles.index] {
                let key = layout.segment(topic: topic, partition: partition, base: segment.base, digest: segment.digest, suffix: suffix)
                do {
                    _ = try await store.upload(
                        key, file: directory + "/" + LogFiles.name(segment.base, suffix), condition: .absent)
                } catch where isPreconditionFailure(error) {
                    // The key names the content: it is there already (an upload retried after a crash).
                }
            }
        }
        var next = manifest
        next.segments += pending
        next.epoch = epoch
        try await putManifest(next)
        return pending
    }

    nonisolated(nonsending) private func putManifest(_ next: ArchiveManifest) async throws {
        let key = archive.layout.manifest(topic: topic, partition: partition)
        do {
            manifestETag = try await archive.store.put(key, bytes: try ArchiveJSON.encode(next), condition: .matches(manifestETag))
            manifest = next
        } catch where isPreconditionFailure(error) {
            throw ArchiveError.fenced("\(key): another owner wrote it since epoch \(epoch) did")
        }
    }

    /// Renews the lease, then writes a signed checkpoint of `writer`'s durable offset and the
    /// uploaded segments' end. Skipped when nothing changed since the last one.
    /// - Throws: ``ArchiveError/fenced(_:)`` when another owner took the log.
    @discardableResult
    nonisolated(nonsending) public func checkpoint(_ writer: LogWriter) async throws -> Checkpoint? {
        try await checkpoint(durableOffset: Self.durableOffset(writer))
    }

    /// Renews the lease, then writes a signed checkpoint saying `durableOffset` (see
    /// ``durableOffset(_:)``) was durable. Skipped when nothing changed since the last one.
    @discardableResult
    nonisolated(nonsending) public func checkpoint(durableOffset: Int64?) async throws -> Checkpoint? {
        let last = manifest.segments.last
        let now = archive.clock()
        let checkpoint = Checkpoint(
            topic: topic, partition: partition, epoch: epoch, owner: archive.owner, time: now,
            durableOffset: durableOffset, sealedNext: last?.next ?? manifest.retired?.next,
            sealedChainHead: last?.chainHead ?? manifest.retired?.chainHead)
        if let lastCheckpoint, lastCheckpoint.durableOffset == checkpoint.durableOffset,
            lastCheckpoint.sealedNext == checkpoint.sealedNext
        {
            return nil
        }
        try await renewLease(now: now)
        let key = archive.layout.checkpoint(topic: topic, partition: partition, epoch: epoch, time: now)
        _ = try await archive.store.put(key, bytes: try Signed(checkpoint, signer: archive.signer).bytes(), condition: .none)
        lastCheckpoint = checkpoint
        return checkpoint
    }

    /// Retention: removes the log's oldest sealed segments whose every record is older than
    /// `retainMilliseconds` (by record time), leaving a signed tombstone, so the chain and the
    /// offsets still verify from where they end. Only whole segments from the front go, and
    /// never the last one (the chain head the log goes on from).
    ///
    /// Order: the tombstone, then the manifest (`If-Match`: only the owner retires), then the
    /// objects. A crash before the manifest leaves a tombstone the manifest does not use yet
    /// (the next run writes it again); after it, unlisted objects that the next run deletes.
    /// - Returns: the segments removed.
    @discardableResult
    nonisolated(nonsending) public func applyRetention(retainMilliseconds: Int64) async throws -> [Manifest.Segment] {
        let now = archive.clock()
        let cutoff = (now - retainMilliseconds) * 1000  // record times are µs
        let expired = Array(manifest.segments.dropLast().prefix { $0.maxTime < cutoff })
        guard let last = expired.last, let first = expired.first else { return [] }
        let tombstone = Tombstone(
            topic: topic, partition: partition, from: first.base, next: last.next, chainHead: last.chainHead,
            digests: expired.map(\.digest), removedAt: now, retainMilliseconds: retainMilliseconds, epoch: epoch)
        let key = archive.layout.tombstone(topic: topic, partition: partition, next: last.next)
        _ = try await archive.store.put(key, bytes: try Signed(tombstone, signer: archive.signer).bytes(), condition: .none)
        var next = manifest
        next.segments.removeFirst(expired.count)
        next.retired = ArchiveManifest.Retired(next: last.next, chainHead: last.chainHead, tombstone: key)
        try await putManifest(next)
        for segment in expired {
            for suffix in [LogFiles.segment, LogFiles.index] {
                try await archive.store.delete(
                    archive.layout.segment(topic: topic, partition: partition, base: segment.base, digest: segment.digest, suffix: suffix))
            }
        }
        return expired
    }

    /// What `writer` holds durably: its resume offset, or the end of its sealed segments where a
    /// seal (which makes everything appended durable) went past the last barrier.
    public static func durableOffset(_ writer: LogWriter) -> Int64? {
        guard let sealed = writer.sealedSegments.last?.next else { return writer.resumeOffset }
        return max(sealed, writer.resumeOffset ?? sealed)
    }

    nonisolated(nonsending) private func renewLease(now: Int64) async throws {
        let key = archive.layout.lease(topic: topic, partition: partition)
        let lease = Lease(topic: topic, partition: partition, epoch: epoch, owner: archive.owner, renewedAt: now)
        do {
            leaseETag = try await archive.store.put(key, bytes: try ArchiveJSON.encode(lease), condition: .matches(leaseETag))
        } catch where isPreconditionFailure(error) {
            throw ArchiveError.fenced("\(key): taken by another owner after epoch \(epoch)")
        }
    }
}
