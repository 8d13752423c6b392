// AuditTrail — AuditArchive tests
// SPDX-License-Identifier: Apache-2.0

@testable import AuditArchive
import AuditStore
import AuditTesting
import Foundation
import ObjectStore
import Testing

/// The object-store tier against moto's S3 server: logs that move between machines, fenced
/// owners, checkpoints and retention (DESIGN §9). Each test starts its own moto server.
@Suite(.timeLimit(.minutes(3))) struct ArchivedLogTests {
    static let topic = "notifications.info"
    static let day: Int64 = 86_400_000

    /// A data directory of a "machine", removed at the end.
    final class Machine {
        let data: String
        let store: AuditStore
        init(_ name: String, options: StoreOptions) throws {
            data = NSTemporaryDirectory() + "archive-\(name)-" + UUID().uuidString
            store = try AuditStore(directory: data, options: options)
        }
        deinit { try? FileManager.default.removeItem(atPath: data) }
    }

    static func options(signer: SegmentSigner? = nil) -> StoreOptions {
        var options = StoreOptions()
        options.signer = signer
        options.dictionaryCapacity = 0  // small segments: no first seal for the dictionary
        return options
    }

    /// `count` request/response pairs from `offset` on, with record times `eventTime` (µs).
    /// With `random`, each notification carries 600 random hex digits: segments then outweigh
    /// their indexes, as real ones do.
    static func records(from offset: Int64, pairs count: Int, eventTime: Int64, random: Bool = false) -> [StoreRecord] {
        var out: [StoreRecord] = []
        for pair in 0..<count {
            for type in [NotificationFields.EventType.request, .response] {
                let id = "call-\(offset)-\(pair)"
                let pad = random
                    ? (0..<75).map { _ in String(UInt32.random(in: 0...UInt32.max), radix: 16) }.joined()
                    : String(repeating: "x", count: 200)
                let bytes = Array("{\"id\":\"\(id)\",\"type\":\"\(type)\",\"pad\":\"\(pad)\"}".utf8)
                let fields = NotificationFields(id: id, eventType: type, eventTime: eventTime, projectId: "p1", action: "read")
                out.append(StoreRecord(offset: offset + Int64(out.count), timestamp: eventTime / 1000, body: .notification(fields, bytes: bytes)))
            }
        }
        return out
    }

    static func archive(_ client: S3Client, signer: SegmentSigner? = nil, owner: String, clock: Int64? = nil) -> Archive {
        var archive = Archive(store: client, layout: ArchiveLayout(prefix: "trail"), signer: signer, owner: owner)
        if let clock { archive.clock = { clock } }
        return archive
    }

    static func verify(_ client: S3Client, key: [UInt8]? = nil, ownerData: String? = nil) async throws -> ArchiveVerifier.Report {
        let cache = NSTemporaryDirectory() + "archive-cache-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let mirror = try ArchiveMirror(archive: archive(client, owner: "reader"), directory: cache, cacheBytes: 1 << 30)
        defer { mirror.close() }
        return try await ArchiveVerifier(mirror: mirror, publicKey: key, ownerData: ownerData).verify()
    }

    static let now: Int64 = 1_800_000_000_000

    @Test func aLogMovesToAnotherMachineAndGoesOnFromTheBucket() async throws {
        try await withMotoS3Client { client, _ in
            let key = SegmentSigner.generate()
            let a = try Machine("a", options: Self.options(signer: key))
            let archiveA = Self.archive(client, signer: key, owner: "a")
            let logA = try await ArchivedLog.claim(archiveA, topic: Self.topic, partition: 0, data: a.data)
            #expect(logA.epoch == 1 && logA.reconciliation == .kept)
            let writerA = try a.store.openWriter(topic: Self.topic, partition: 0)
            try writerA.append(Self.records(from: 0, pairs: 50, eventTime: Self.now * 1000))
            try writerA.seal()
            try writerA.append(Self.records(from: 100, pairs: 50, eventTime: Self.now * 1000))
            try writerA.seal()
            #expect(try await logA.publish(writerA).count == 2)
            // Durable but not sealed: machine A's journal only, lost with it.
            try writerA.append(Self.records(from: 200, pairs: 10, eventTime: Self.now * 1000))
            try writerA.sync()
            #expect(try await logA.checkpoint(writerA)?.durableOffset == 220)

            // Machine B takes the log over with an empty disk: it continues from the bucket's
            // segments, and consumes 200... again (A's journal is gone with A).
            let b = try Machine("b", options: Self.options(signer: key))
            let logB = try await ArchivedLog.claim(Self.archive(client, signer: key, owner: "b"), topic: Self.topic, partition: 0, data: b.data)
            #expect(logB.epoch == 2 && logB.reconciliation == .downloaded(segments: 2))
            let writerB = try b.store.openWriter(topic: Self.topic, partition: 0)
            #expect(writerB.resumeOffset == 200)
            try writerB.append(Self.records(from: 200, pairs: 30, eventTime: Self.now * 1000))
            try writerB.seal()
            #expect(try await logB.publish(writerB).count == 1)
            #expect(try await logB.checkpoint(writerB)?.sealedNext == 260)

            let report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.isEmpty, "\(report.data.findings)")
            #expect(report.data.segments == 3 && report.data.records == 260)
            #expect(report.data.heads.first?.nextOffset == 260)
            #expect(report.checkpoints == 2 && report.unlistedObjects.isEmpty)
            let manifest = try #require(try await archiveA.manifest(topic: Self.topic, partition: 0)).0
            #expect(manifest.tenures.map(\.epoch) == [1, 2] && manifest.tenures.map(\.base) == [0, 200])

            // A comes back with its stale directory: it is set aside, never deleted, and A
            // continues from the bucket.
            try writerA.close()
            let again = try await ArchivedLog.claim(Self.archive(client, signer: key, owner: "a2"), topic: Self.topic, partition: 0, data: a.data)
            guard case .replaced(let aside, 3) = again.reconciliation else {
                Issue.record("expected the stale log set aside, got \(again.reconciliation)")
                return
            }
            #expect(FileManager.default.fileExists(atPath: aside + "/" + LogFiles.name(200, LogFiles.journal)))
            #expect(try a.store.openWriter(topic: Self.topic, partition: 0).resumeOffset == 260)
        }
    }

    @Test func aFencedOwnerCannotPublishAManifestSegmentOrCheckpoint() async throws {
        try await withMotoS3Client { client, _ in
            let a = try Machine("a", options: Self.options())
            let logA = try await ArchivedLog.claim(Self.archive(client, owner: "a"), topic: Self.topic, partition: 3, data: a.data)
            let writerA = try a.store.openWriter(topic: Self.topic, partition: 3)
            try writerA.append(Self.records(from: 0, pairs: 20, eventTime: Self.now * 1000))
            try writerA.seal()
            try await logA.publish(writerA)
            try await logA.checkpoint(writerA)

            // A pauses; B takes the log over (epoch 2) and goes on.
            let b = try Machine("b", options: Self.options())
            let logB = try await ArchivedLog.claim(Self.archive(client, owner: "b"), topic: Self.topic, partition: 3, data: b.data)
            let writerB = try b.store.openWriter(topic: Self.topic, partition: 3)

            // A wakes up and seals what it had: its manifest and checkpoint are refused.
            try writerA.append(Self.records(from: 40, pairs: 20, eventTime: Self.now * 1000))
            try writerA.seal()
            await #expect(throws: ArchiveError.self) { try await logA.publish(writerA) }
            try writerA.append(Self.records(from: 80, pairs: 5, eventTime: Self.now * 1000))
            try writerA.sync()
            await #expect(throws: ArchiveError.self) { try await logA.checkpoint(writerA) }
            // A retention run of the zombie is refused too (its manifest put).
            let checkpointsBefore = try await client.list(prefix: "trail/\(Self.topic)/3/checkpoints/").count

            try writerB.append(Self.records(from: 40, pairs: 25, eventTime: Self.now * 1000))
            try writerB.seal()
            try await logB.publish(writerB)
            try await logB.checkpoint(writerB)

            // Readers see B's log only: A's uploaded segment is in the bucket, in no manifest.
            let report = try await Self.verify(client)
            #expect(report.data.findings.isEmpty, "\(report.data.findings)")
            #expect(report.data.records == 90 && report.data.heads.first?.nextOffset == 90)
            #expect(report.unlistedObjects.count == 2)  // A's second segment and its index
            #expect(checkpointsBefore == 1)
            #expect(report.checkpoints == 2)
        }
    }

    @Test func checkpointsRevealACutJournalARemovedSegmentAndAnOlderManifest() async throws {
        try await withMotoS3Client { client, _ in
            let key = SegmentSigner.generate()
            let a = try Machine("a", options: Self.options(signer: key))
            let archive = Self.archive(client, signer: key, owner: "a")
            let log = try await ArchivedLog.claim(archive, topic: Self.topic, partition: 1, data: a.data)
            let writer = try a.store.openWriter(topic: Self.topic, partition: 1)
            try writer.append(Self.records(from: 0, pairs: 20, eventTime: Self.now * 1000))
            try writer.seal()
            try await log.publish(writer)
            let manifestKey = archive.layout.manifest(topic: Self.topic, partition: 1)
            let olderManifest = try #require(try await client.get(manifestKey)).bytes
            try writer.append(Self.records(from: 40, pairs: 20, eventTime: Self.now * 1000))
            try writer.seal()
            try await log.publish(writer)
            try writer.append(Self.records(from: 80, pairs: 20, eventTime: Self.now * 1000))
            try writer.sync()
            try await log.checkpoint(writer)
            try writer.close()

            var report = try await Self.verify(client, key: key.publicKey, ownerData: a.data)
            #expect(report.data.findings.isEmpty, "\(report.data.findings)")

            // 1. A cut journal tail: files alone read it as a torn tail after a crash.
            let journal = LogFiles.logDirectory(data: a.data, topic: Self.topic, partition: 1) + "/" + LogFiles.name(80, LogFiles.journal)
            let length = try #require(try FileManager.default.attributesOfItem(atPath: journal)[.size] as? NSNumber).int64Value
            let handle = try #require(FileHandle(forWritingAtPath: journal))
            try handle.truncate(atOffset: UInt64(length - 100))
            try handle.close()
            #expect(StoreVerifier(directory: a.data, publicKey: key.publicKey).verify().isValid)
            report = try await Self.verify(client, key: key.publicKey, ownerData: a.data)
            #expect(report.data.findings.map(\.code) == [.behindCheckpoint], "\(report.data.findings)")

            // 2. The newest segment removed with its manifest entry: a shorter, consistent log.
            let manifestBytes = try #require(try await client.get(manifestKey)).bytes
            var shortened = try JSONDecoder().decode(ArchiveManifest.self, from: Data(manifestBytes))
            let newest = shortened.segments.removeLast()
            for suffix in [LogFiles.segment, LogFiles.index] {
                try await client.delete(archive.layout.segment(topic: Self.topic, partition: 1, base: newest.base, digest: newest.digest, suffix: suffix))
            }
            _ = try await client.put(manifestKey, bytes: try ArchiveJSON.encode(shortened), condition: .none)
            report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.map(\.code) == [.behindCheckpoint], "\(report.data.findings)")

            // 3. The manifest replaced by an older version (same epoch): the same finding.
            _ = try await client.put(manifestKey, bytes: olderManifest, condition: .none)
            report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.map(\.code) == [.behindCheckpoint], "\(report.data.findings)")

            // A checkpoint not signed by the given key is a finding of its own.
            let forged = Checkpoint(topic: Self.topic, partition: 1, epoch: 1, owner: "x", time: 1, durableOffset: 0, sealedNext: nil, sealedChainHead: nil)
            _ = try await client.put(
                archive.layout.checkpoint(topic: Self.topic, partition: 1, epoch: 1, time: 1),
                bytes: try Signed(forged, signer: SegmentSigner.generate()).bytes(), condition: .none)
            report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.contains { $0.code == .badCheckpoint })
        }
    }

    @Test func retentionRemovesExactlyTheOldSegmentsAndVerifyStillProvesTheRest() async throws {
        try await withMotoS3Client { client, _ in
            let key = SegmentSigner.generate()
            let a = try Machine("a", options: Self.options(signer: key))
            let archive = Self.archive(client, signer: key, owner: "a", clock: Self.now)
            let log = try await ArchivedLog.claim(archive, topic: Self.topic, partition: 2, data: a.data)
            let writer = try a.store.openWriter(topic: Self.topic, partition: 2)
            // Segments of records 500, 450, 401, 399 and 10 days old, and one of now.
            var offset: Int64 = 0
            for age in [500, 450, 401, 399, 10, 0] as [Int64] {
                try writer.append(Self.records(from: offset, pairs: 10, eventTime: (Self.now - age * Self.day) * 1000))
                offset += 20
                try writer.seal()
            }
            #expect(try await log.publish(writer).count == 6)
            let removed = try await log.applyRetention(retainMilliseconds: 400 * Self.day)
            #expect(removed.map(\.base) == [0, 20, 40])
            #expect(log.manifest.segments.map(\.base) == [60, 80, 100])
            #expect(log.manifest.retired?.next == 60)
            // Nothing more to remove at the same age.
            #expect(try await log.applyRetention(retainMilliseconds: 400 * Self.day).isEmpty)
            let left = Set(try await client.list(prefix: "trail/\(Self.topic)/2/segments/").map(\.key))
            let expected = Set(log.manifest.segments.flatMap { segment in
                [LogFiles.segment, LogFiles.index].map {
                    archive.layout.segment(topic: Self.topic, partition: 2, base: segment.base, digest: segment.digest, suffix: $0)
                }
            })
            #expect(left == expected)
            try await log.checkpoint(writer)

            var report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.isEmpty, "\(report.data.findings)")
            #expect(report.tombstones == 1 && report.data.records == 60)

            // The log goes on on another machine from the retired start.
            let b = try Machine("b", options: Self.options(signer: key))
            let logB = try await ArchivedLog.claim(Self.archive(client, signer: key, owner: "b"), topic: Self.topic, partition: 2, data: b.data)
            let writerB = try b.store.openWriter(topic: Self.topic, partition: 2)
            #expect(writerB.resumeOffset == 120)
            try writerB.append(Self.records(from: 120, pairs: 5, eventTime: Self.now * 1000))
            try writerB.seal()
            try await logB.publish(writerB)
            #expect(StoreVerifier(directory: b.data, publicKey: key.publicKey).verify().isValid)
            report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.isEmpty, "\(report.data.findings)")

            // A manifest that drops the first retained segment, with the tombstone's start kept,
            // breaks the chain and the offsets.
            let manifestKey = archive.layout.manifest(topic: Self.topic, partition: 2)
            var cut = logB.manifest
            cut.segments.removeFirst()
            _ = try await client.put(manifestKey, bytes: try ArchiveJSON.encode(cut), condition: .none)
            report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.contains { $0.code == .brokenChain || $0.code == .skippedOffset }, "\(report.data.findings)")

            // A segment deleted inside the retained range is still found.
            _ = try await client.put(manifestKey, bytes: try ArchiveJSON.encode(logB.manifest), condition: .none)
            let kept = logB.manifest.segments[1]
            try await client.delete(archive.layout.segment(topic: Self.topic, partition: 2, base: kept.base, digest: kept.digest, suffix: LogFiles.segment))
            report = try await Self.verify(client, key: key.publicKey)
            #expect(report.data.findings.contains { $0.code == .missingSegment && $0.offset == kept.base }, "\(report.data.findings)")
        }
    }

    @Test func readersFetchWhatTheyReadAndTheCacheStaysWithinItsBound() async throws {
        try await withMotoS3Client { client, _ in
            let a = try Machine("a", options: Self.options())
            let log = try await ArchivedLog.claim(Self.archive(client, owner: "a"), topic: Self.topic, partition: 5, data: a.data)
            let writer = try a.store.openWriter(topic: Self.topic, partition: 5)
            for segment in 0..<6 {
                try writer.append(Self.records(from: Int64(segment * 200), pairs: 100, eventTime: Self.now * 1000, random: true))
                try writer.seal()
            }
            #expect(try await log.publish(writer).count == 6)
            let segments = log.manifest.segments
            let trailBytes = segments.reduce(0) { $0 + $1.segmentBytes + $1.indexBytes }
            let local = try a.store.reader()

            let cache = NSTemporaryDirectory() + "archive-cache-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: cache) }
            // Room for a third of the trail, read in 4 KiB chunks.
            let limit = trailBytes / 3
            let mirror = try ArchiveMirror(
                archive: Self.archive(client, owner: "reader"), directory: cache, cacheBytes: limit, chunkSize: 4096)
            defer { mirror.close() }
            #expect(try await mirror.sync().segments == 6)
            let logDirectory = LogFiles.logDirectory(data: mirror.dataDirectory, topic: Self.topic, partition: 5)
            #expect(try FileManager.default.contentsOfDirectory(atPath: logDirectory) == [Manifest.fileName])

            // One call: every index, and only the chunks of the blocks that hold it.
            let id = "call-1000-7"
            let found = try StoreReader(directory: mirror.dataDirectory).records(withId: id)
            let expected = try local.records(withId: id)
            #expect(found.count == 2 && found == expected)
            let afterOne = mirror.segments.statistics
            #expect(afterOne.fetchedBytes < trailBytes / 2, "\(afterOne) of \(trailBytes)")

            // Every record, offset by offset, as the owner has it; the cache stays in its bound.
            let remote = try StoreReader(directory: mirror.dataDirectory)
            for offset in Int64(0)..<1200 {
                let record = try remote.record(topic: Self.topic, partition: 5, offset: offset)
                let expected = try local.record(topic: Self.topic, partition: 5, offset: offset)
                #expect(record != nil && record == expected)
            }
            let afterAll = mirror.segments.statistics
            #expect(afterAll.evicted > 0 && afterAll.bytes <= limit, "\(afterAll), limit \(limit)")
            #expect(TestEnvironment.bytesOfFiles(under: cache + "/blocks") <= limit)

            // What was read last is read again from the cache, without a fetch.
            _ = try StoreReader(directory: mirror.dataDirectory).record(topic: Self.topic, partition: 5, offset: 1199)
            let again = mirror.segments.statistics
            #expect(again.fetched == afterAll.fetched && again.hits > afterAll.hits, "\(again)")

            // verify reads every segment through the same bounded cache, clean.
            let report = try await ArchiveVerifier(mirror: mirror, publicKey: nil).verify()
            #expect(report.data.findings.isEmpty && report.data.records == 1200, "\(report.data.findings)")
            #expect(mirror.segments.statistics.bytes <= limit)

            // A new process on the same directory starts from what is there, within its own bound.
            let smaller = try SegmentCache(archive: Self.archive(client, owner: "reader"), directory: cache + "/blocks", limit: limit / 2)
            #expect(smaller.statistics.bytes <= limit / 2 && TestEnvironment.bytesOfFiles(under: cache + "/blocks") <= limit / 2)
        }
    }
}
