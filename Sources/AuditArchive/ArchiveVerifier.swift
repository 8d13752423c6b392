// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
import Foundation
import ObjectStore

/// Verifies a trail in an object store (DESIGN §9): its data as ``StoreVerifier`` does (through
/// an ``ArchiveMirror``), and against what the owners signed elsewhere:
///
/// - **Checkpoints.** Every checkpoint's sealed end (offset and chain head) must be in the
///   manifest, or before where retention's tombstone starts the log: a removed newest segment,
///   or a manifest replaced by an older one, fails this. A manifest older than the newest
///   checkpoint's epoch was replaced too. With the owner's data directory, the log's durable end
///   (its sealed segments and the journal's whole frames) must reach the newest checkpoint's
///   durable offset of the current owner: a cut journal tail fails this.
/// - **Tombstones.** A log that retention shortened must start where a signed tombstone ends;
///   from there its chain and offsets verify as before, so a segment missing inside the
///   retained range (its object deleted, or left out of the manifest) is still a finding.
/// - **Signatures.** With a public key, every checkpoint and tombstone must be signed by it.
///
/// Segment objects that no manifest lists (an upload cut short, or a fenced owner's) are
/// counted, not accepted: readers only ever read what a manifest lists.
public struct ArchiveVerifier: Sendable {
    public let mirror: ArchiveMirror
    public var publicKey: [UInt8]?
    /// The data directory of the current owner, whose journals hold what is durable but not
    /// yet sealed.
    public var ownerData: String?

    public init(mirror: ArchiveMirror, publicKey: [UInt8]?, ownerData: String? = nil) {
        self.mirror = mirror
        self.publicKey = publicKey
        self.ownerData = ownerData
    }

    /// What was checked beside the data.
    public struct Report: Sendable {
        public var data: VerifyReport
        public var checkpoints = 0
        public var tombstones = 0
        /// Segment objects no manifest lists: not read by anyone.
        public var unlistedObjects: [String] = []
        public var isValid: Bool { data.isValid }
    }

    public func verify() async throws -> Report {
        try await mirror.sync()
        var report = Report(data: StoreVerifier(directory: mirror.dataDirectory, publicKey: publicKey).verify())
        let owner = ownerData.map { StoreVerifier(directory: $0, publicKey: publicKey).verify() }
        let archive = mirror.archive
        for (topic, partition) in try await archive.logs() {
            guard let (manifest, _) = try await archive.manifest(topic: topic, partition: partition) else { continue }
            var findings: [VerifyReport.Finding] = []
            func find(_ code: VerifyReport.Code, _ file: String?, offset: Int64? = nil, _ message: String) {
                findings.append(.init(code: code, topic: topic, partition: partition, file: file, offset: offset, message: message))
            }
            let logKey = archive.layout.log(topic: topic, partition: partition)
            let objects = try await archive.store.list(prefix: logKey)
            // Checkpoints.
            var newest: Checkpoint?
            for object in objects where object.key.hasPrefix(archive.layout.checkpoints(topic: topic, partition: partition)) {
                report.checkpoints += 1
                guard let signed = try await load(Checkpoint.self, object.key, find) else { continue }
                let checkpoint = signed.payload
                guard checkpoint.topic == topic, checkpoint.partition == partition else {
                    find(.badCheckpoint, object.key, "names log \(checkpoint.topic)/\(checkpoint.partition)")
                    continue
                }
                if let sealedNext = checkpoint.sealedNext, let head = checkpoint.sealedChainHead,
                    !Self.holds(manifest, next: sealedNext, chainHead: head)
                {
                    find(
                        .behindCheckpoint, object.key, offset: sealedNext,
                        "epoch \(checkpoint.epoch)'s owner had sealed and uploaded up to offset \(sealedNext) (chain head \(head.prefix(16))…); the manifest's segments end at \(manifest.sealedNext.map(String.init) ?? "nothing"): a removed segment or an older manifest")
                }
                if newest.map({ ($0.epoch, $0.time) < (checkpoint.epoch, checkpoint.time) }) ?? true { newest = checkpoint }
            }
            if let newest {
                if newest.epoch > manifest.epoch {
                    find(
                        .behindCheckpoint, "MANIFEST",
                        "written in epoch \(manifest.epoch), but the owner of epoch \(newest.epoch) signed a checkpoint: the manifest was replaced by an older one")
                }
                if let owner, newest.epoch == manifest.epoch, let durable = newest.durableOffset,
                    let head = owner.heads.first(where: { $0.topic == topic && $0.partition == partition }),
                    Self.sameLog(ownerData!, topic: topic, partition: partition, as: manifest)
                {
                    if (head.nextOffset ?? .min) < durable {
                        find(
                            .behindCheckpoint, nil, offset: head.nextOffset,
                            "the owner's data ends at offset \(head.nextOffset.map(String.init) ?? "nothing"), but its checkpoint of \(newest.time) ms says \(durable) was durable: a cut journal or a removed file")
                    }
                }
            }
            // Tombstones.
            let tombstonePrefix = archive.layout.tombstones(topic: topic, partition: partition)
            var tombstones: [Tombstone] = []
            for object in objects where object.key.hasPrefix(tombstonePrefix) {
                report.tombstones += 1
                if let signed = try await load(Tombstone.self, object.key, find) { tombstones.append(signed.payload) }
            }
            // A tombstone past the manifest's start is a retention cut short before its manifest
            // (the next run finishes it): not a finding. A start without its tombstone is.
            if let retired = manifest.retired,
                !tombstones.contains(where: { $0.next == retired.next && $0.chainHead == retired.chainHead })
            {
                find(.retentionGap, "MANIFEST", offset: retired.next, "the log starts at \(retired.next) without a signed tombstone ending there")
            }
            // Objects no manifest lists.
            let listed = Set(manifest.segments.flatMap { segment in
                [LogFiles.segment, LogFiles.index].map {
                    archive.layout.segment(topic: topic, partition: partition, base: segment.base, digest: segment.digest, suffix: $0)
                }
            })
            for object in objects where object.key.hasPrefix(logKey + "segments/") && !listed.contains(object.key) {
                report.unlistedObjects.append(object.key)
            }
            report.data.findings += findings
        }
        return report
    }

    private func load<P: Codable & Sendable>(
        _ type: P.Type, _ key: String, _ find: (VerifyReport.Code, String?, Int64?, String) -> Void
    ) async throws -> Signed<P>? {
        guard let object = try await mirror.archive.store.get(key) else { return nil }
        let signed: Signed<P>
        do {
            signed = try Signed<P>(bytes: object.bytes)
        } catch {
            find(.badCheckpoint, key, nil, "does not parse: \(error)")
            return nil
        }
        if let publicKey, !signed.isSigned(by: publicKey) {
            find(.badCheckpoint, key, nil, signed.signature.isEmpty ? "not signed" : "signature does not verify with the given key")
            return nil
        }
        return signed
    }

    /// Whether the manifest's log reaches `next` with chain head `chainHead` (or retention
    /// removed that point, after its tombstone).
    static func holds(_ manifest: ArchiveManifest, next: Int64, chainHead: String) -> Bool {
        if let retired = manifest.retired, next <= retired.next { return next < retired.next || retired.chainHead == chainHead }
        if manifest.segments.isEmpty && manifest.retired == nil { return false }
        return manifest.segments.contains { $0.next == next && $0.chainHead == chainHead }
    }

    /// Whether the owner's local log is the bucket's (its sealed segments, from the bucket's
    /// first, equal the manifest's): another machine's directory says nothing of this owner.
    static func sameLog(_ data: String, topic: String, partition: Int32, as manifest: ArchiveManifest) -> Bool {
        let directory = LogFiles.logDirectory(data: data, topic: topic, partition: partition)
        guard let local = try? Manifest.read(directory: directory) else { return manifest.segments.isEmpty }
        let start = manifest.segments.first?.base ?? .min
        let mine = local.segments.filter { $0.base >= start }
        return mine.count >= manifest.segments.count
            && zip(mine, manifest.segments).allSatisfy { $0.base == $1.base && $0.digest == $1.digest }
    }
}
