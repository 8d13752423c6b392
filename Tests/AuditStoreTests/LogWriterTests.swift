// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Foundation
import Synchronization
import Testing

@Suite struct LogWriterTests {
    @Test func appendSyncReopenReadsEveryRecordBack() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: smallOptions())
        var factory = RecordFactory(seed: 1, firstOffset: 100)
        let records = factory.batch(600)
        do {
            let writer = try store.openWriter(topic: "notifications.info", partition: 2)
            #expect(writer.resumeOffset == nil)
            try writer.append(Array(records[..<300]))
            try writer.append(Array(records[300...]))
            #expect(try writer.sync() == factory.nextOffset)
            try writer.close()
            var spare = RecordFactory(seed: 99)
            #expect(throws: StoreError(.closed, "")) { try writer.append(spare.batch(1)) }
        }
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        let read = try store.reader().records(matching: query).map(\.record)
        #expect(firstDifference(read, records.map(normalized)) == nil)
        let writer = try store.openWriter(topic: "notifications.info", partition: 2)
        #expect(writer.resumeOffset == factory.nextOffset)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    /// A frame written ahead of the barrier (``LogWriter/writeFrame()``, which a worker calls on
    /// its lanes) holds the records appended since the last frame; the barrier then writes no
    /// other frame, makes that one durable and returns the offset after it.
    @Test func aFrameWrittenBeforeTheBarrierIsTheOneItMakesDurable() throws {
        let directory = TemporaryDirectory()
        var options = StoreOptions()
        options.dictionaryCapacity = 0
        let store = try AuditStore(directory: directory.path, options: options)
        let writer = try store.openWriter(topic: "t", partition: 0)
        func journalBytes() throws -> Int {
            let log = directory.file("t/0")
            return try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".journal") }.reduce(0) {
                $0 + ((try FileManager.default.attributesOfItem(atPath: log + "/" + $1)[.size] as? Int) ?? 0)
            }
        }
        var factory = RecordFactory(seed: 7)
        let first = factory.batch(40)
        try writer.append(first)
        #expect(try writer.sync() == factory.nextOffset)
        let synced = try journalBytes()
        let second = factory.batch(30)
        try writer.append(second)
        #expect(try journalBytes() == synced, "appended records wait in memory for their frame")
        try writer.writeFrame()
        let written = try journalBytes()
        #expect(written > synced)
        try writer.writeFrame()
        #expect(try journalBytes() == written, "no records, no frame")
        #expect(try writer.sync() == factory.nextOffset)
        #expect(try journalBytes() == written, "the barrier found its frame written")
        try writer.close()
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        let read = try store.reader().records(matching: query).map(\.record)
        #expect(firstDifference(read, (first + second).map(normalized)) == nil)
    }

    @Test func contentHashesFromTheCallerMakeTheSameLog() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: smallOptions())
        var factory = RecordFactory(seed: 3)
        let records = factory.batch(400)
        let plain = try store.openWriter(topic: "plain", partition: 0)
        try plain.append(records)
        let hashed = try store.openWriter(topic: "hashed", partition: 0)
        #expect(throws: StoreError(.invalidArgument, "")) { try hashed.append(records, hashes: [nil]) }
        // Some records come with their hash, some without (the journal hashes those).
        let hashes = records.enumerated().map { i, record in i.isMultiple(of: 3) ? nil : record.bytes.map(ContentHash.init(of:)) }
        try hashed.append(records, hashes: hashes)
        for case let (hash?, bytes?) in zip(hashes, records.map(\.bytes)) {
            #expect(hash.digest == NotificationFields.contentDigest(of: bytes))
        }
        _ = try LogWriter.sync([plain, hashed])
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        query.topic = "hashed"
        let reader = try store.reader()
        #expect(firstDifference(try reader.records(matching: query).map(\.record), records.map(normalized)) == nil)
        query.topic = "plain"
        #expect(firstDifference(try reader.records(matching: query).map(\.record), records.map(normalized)) == nil)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    @Test(arguments: [1, 1_000])
    func oneBarrierForManyLogsGivesEachLogItsResumeOffset(fileSystemThreshold: Int) throws {
        // 1: every journal is flushed by one syncfs; 1,000: each is fsynced on its own.
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: smallOptions())
        var factory = RecordFactory(seed: 5)
        var writers: [LogWriter] = []
        var expected: [Int64?] = []
        for partition in 0..<12 {
            let writer = try store.openWriter(topic: "t", partition: Int32(partition))
            writers.append(writer)
            factory.nextOffset = Int64(partition * 1_000)
            let count = partition % 4 == 3 ? 0 : 10 + partition  // some logs have nothing to sync
            if count > 0 { try writer.append(factory.batch(count)) }
            expected.append(count > 0 ? factory.nextOffset : nil)
        }
        #expect(try LogWriter.sync(writers, fileSystemThreshold: fileSystemThreshold) == expected)
        #expect(writers.map(\.resumeOffset) == expected)
        // Appended after the barrier: not durable until the next one.
        factory.nextOffset = expected[0]!
        try writers[0].append(factory.batch(1))
        #expect(writers[0].resumeOffset == expected[0])
        expected[0] = factory.nextOffset
        #expect(try LogWriter.sync(writers, fileSystemThreshold: fileSystemThreshold) == expected)
        for writer in writers { try writer.close() }
        for (partition, resume) in expected.enumerated() {
            #expect(try store.openWriter(topic: "t", partition: Int32(partition)).resumeOffset == resume)
        }
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    /// A worker flushes a barrier on another thread while it appends on: the barrier makes
    /// durable, and reports as the resume offsets, what was appended before it began, even when
    /// the journals it flushes are sealed (closed and deleted) meanwhile.
    @Test(arguments: [1, 1_000])
    func aBarrierCoversWhatWasAppendedBeforeItBegan(fileSystemThreshold: Int) throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: smallOptions())
        let writers = try (0..<3).map { try store.openWriter(topic: "t", partition: Int32($0)) }
        var factories = (0..<3).map { RecordFactory(seed: 50 + UInt64($0)) }
        var records: [[StoreRecord]] = [[], [], []]
        for (i, writer) in writers.enumerated() {
            records[i] = factories[i].batch(100)
            try writer.append(records[i])
        }
        let before = writers.map(\.nextOffset)
        let barrier = try LogWriter.Barrier(writers, fileSystemThreshold: fileSystemThreshold)
        let segmentsBefore = try segmentCount(directory)
        for (i, writer) in writers.enumerated() {
            let more = factories[i].batch(300)
            records[i] += more
            try writer.append(more)
        }
        #expect(try segmentCount(directory) > segmentsBefore, "no journal was sealed while the barrier was open")
        let flushed = Mutex<StoreError?>(nil)
        let thread = Thread {
            do throws(StoreError) { try barrier.flush() } catch { flushed.withLock { $0 = error } }
        }
        thread.start()
        while !thread.isFinished { usleep(1_000) }
        #expect(flushed.withLock { $0 } == nil)
        #expect(barrier.finish() == before)
        #expect(writers.map(\.resumeOffset) == before)
        // What was appended meanwhile waits for the next barrier.
        #expect(try LogWriter.sync(writers, fileSystemThreshold: fileSystemThreshold) == writers.map(\.nextOffset))
        for writer in writers { try writer.close() }
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        let read = try store.reader().records(matching: query)
        for i in 0..<3 {
            #expect(firstDifference(read.filter { $0.partition == Int32(i) }.map(\.record), records[i].map(normalized)) == nil)
        }
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    private func segmentCount(_ directory: TemporaryDirectory) throws -> Int {
        try (0..<3).reduce(0) { count, partition in
            let path = directory.path + "/t/\(partition)"
            return count + (try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.count)
        }
    }

    @Test func aBarrierOverAFencedWriterFails() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path)
        var factory = RecordFactory(seed: 6)
        let healthy = try store.openWriter(topic: "t", partition: 0)
        let zombie = try store.openWriter(topic: "t", partition: 1)
        try healthy.append(factory.batch(3))
        factory.nextOffset = 0
        try zombie.append(factory.batch(3))
        _ = try store.openWriter(topic: "t", partition: 1, takeOver: true)
        #expect(throws: StoreError(.fenced, "")) { try LogWriter.sync([healthy, zombie], fileSystemThreshold: 1) }
        #expect(healthy.resumeOffset == nil)
    }

    @Test func refusesOffsetsThatDoNotFollow() throws {
        let directory = TemporaryDirectory()
        let writer = try AuditStore(directory: directory.path).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 2)
        try writer.append(factory.batch(3))
        var late = factory.next()
        late.offset += 1
        #expect(throws: StoreError(.nonContiguous, "")) { try writer.append([late]) }
    }

    @Test func secondWriterIsLockedOutAndATakeOverFencesTheFirst() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path)
        let first = try store.openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 3)
        try first.append(factory.batch(5))
        try first.sync()
        #expect(throws: StoreError(.locked, "")) { try store.openWriter(topic: "t", partition: 0) }
        let second = try store.openWriter(topic: "t", partition: 0, takeOver: true)
        #expect(second.epoch == first.epoch + 1)
        #expect(second.resumeOffset == 5)
        #expect(throws: StoreError(.fenced, "")) { try first.append(factory.batch(1)) }
        #expect(throws: StoreError(.closed, "")) { try first.sync() }
        factory.nextOffset = 5
        try second.append(factory.batch(2))
        try second.sync()
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    @Test func segmentsRollBySizeAndByAge() throws {
        let directory = TemporaryDirectory()
        let now = Clock()
        let store = try AuditStore(directory: directory.path, options: smallOptions(clock: { now.value }))
        let writer = try store.openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 4)
        try writer.append(factory.batch(400))
        let bySize = try FileManager.default.contentsOfDirectory(atPath: directory.file("t/0")).filter { $0.hasSuffix(".seg") }
        #expect(bySize.count >= 2)
        try writer.append(factory.batch(1))
        try writer.rollIfDue()
        now.value += 3_600_000
        try writer.rollIfDue()
        let byAge = try FileManager.default.contentsOfDirectory(atPath: directory.file("t/0")).filter { $0.hasSuffix(".seg") }
        #expect(byAge.count == bySize.count + 1)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    @Test func filesAre0600AndDirectories0700() throws {
        let directory = TemporaryDirectory()
        let writer = try AuditStore(directory: directory.path + "/data", options: smallOptions()).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 5)
        try writer.append(factory.batch(300))
        try writer.sync()
        for (path, expected) in [("data", 0o700), ("data/t", 0o700), ("data/t/0", 0o700)] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory.file(path))[.posixPermissions] as? Int
            #expect(mode == expected, "\(path)")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.file("data/t/0")) {
            let mode = try FileManager.default.attributesOfItem(atPath: directory.file("data/t/0/" + name))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name)")
        }
    }

    @Test func signedSegmentsVerifyOnlyWithTheirKey() throws {
        let directory = TemporaryDirectory()
        var options = smallOptions()
        let signer = SegmentSigner.generate()
        options.signer = signer
        let writer = try AuditStore(directory: directory.path, options: options).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 6)
        try writer.append(factory.batch(400))
        try writer.seal()
        #expect(StoreVerifier(directory: directory.path, publicKey: signer.publicKey).verify().isValid)
        let other = StoreVerifier(directory: directory.path, publicKey: SegmentSigner.generate().publicKey).verify()
        #expect(other.findings.contains { $0.code == .badSignature })
    }

    @Test func brokerGapsAreAcceptedAndReported() throws {
        let directory = TemporaryDirectory()
        let writer = try AuditStore(directory: directory.path, options: smallOptions()).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 7)
        try writer.append(factory.batch(2))
        try writer.append([StoreRecord(offset: 2, timestamp: 0, body: .gap(to: 10))])
        factory.nextOffset = 10
        try writer.append(factory.batch(2))
        try writer.seal()
        let report = StoreVerifier(directory: directory.path).verify()
        #expect(report.isValid)
        #expect(report.brokerGaps.contains { $0.offsets == 2..<10 })
    }
}

/// A settable clock for the store's `clock` option.
final class Clock: @unchecked Sendable {
    var value: Int64 = 0
}
