// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Synchronization
import Testing

@testable import AuditStore

/// Version 4 journals (FORMAT.md §4.3): the pair window runs as records are appended, and each
/// block it cuts goes to the journal compressed once. A barrier's resume offset stays below every
/// record still waiting, so it lags the appended offset; after a crash, recovery keeps the
/// records below the first offset the whole entries do not hold, drops those above it (never
/// committed: Kafka delivers them again) and seals.
@Suite struct BlockJournalTests {
    private func options() -> StoreOptions {
        var options = smallOptions(journalVersion: 4)
        options.segmentMaxBytes = 256 << 10
        return options
    }

    private func readAll(_ directory: TemporaryDirectory) throws -> [StoreRecord] {
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        return try AuditStore(directory: directory.path, options: options()).reader().records(matching: query).map(\.record)
    }

    private func journalNames(_ directory: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.file("t/0")).filter { $0.hasSuffix(".journal") }
    }

    /// The index in `records` of the record at `offset` (`records.count` past the last).
    private func index(of offset: Int64, in records: [StoreRecord]) throws -> Int {
        if offset == records.last!.nextOffset { return records.count }
        return try #require(records.firstIndex { $0.offset == offset }, "offset \(offset)")
    }

    /// A log of `batches` barriers of `perBatch` records after a first sealed segment (which
    /// trains the dictionary), left as a crash leaves it: nothing closed.
    private struct Log {
        let directory: TemporaryDirectory
        let records: [StoreRecord]
        let journal: String
        let bytes: [UInt8]
        /// Each barrier's journal length and the resume offset it returned.
        let barriers: [(length: Int, resume: Int64)]
        /// Where each journal entry starts and ends, and its record count, read from the framing
        /// (FORMAT.md §4.3): after the header, each entry is a 32-byte header (magic, compressed
        /// length, raw length, record count, offsets), a 32-byte link and the compressed bytes.
        let entries: [(start: Int, end: Int, records: Int)]
        /// Records sealed before the journal began.
        let sealed: Int
    }

    /// - Parameter blockSize: small blocks make small entries (each cut through one costs a
    ///   recovery, a seal and a verify).
    private func makeLog(batches: Int = 12, perBatch: Int = 25, blockSize: Int? = nil, seed: UInt64 = 61) throws -> Log {
        let directory = TemporaryDirectory()
        var options = options()
        if let blockSize { options.blockSize = blockSize }
        var factory = RecordFactory(seed: seed)
        var records = withoutForwards(factory.batch(200))
        var barriers: [(Int, Int64)] = []
        var path = ""
        do {
            let writer = try AuditStore(directory: directory.path, options: options).openWriter(topic: "t", partition: 0)
            try writer.append(records)
            try writer.seal()
            for _ in 0..<batches {
                let batch = withoutForwards(factory.batch(perBatch))
                try writer.append(batch)
                records += batch
                let resume = try #require(try writer.sync())
                path = directory.file("t/0/" + (try #require(try journalNames(directory).first)))
                barriers.append((try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int, resume))
            }
        }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.starts(with: Array("ATJRNL04".utf8)))
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        var entries: [(Int, Int, Int)] = []
        var position = u32(8)
        while position < bytes.count {
            #expect(Array(bytes[position..<position + 4]) == Array("JBK4".utf8))
            entries.append((position, position + 64 + u32(position + 4), u32(position + 12)))
            position += 64 + u32(position + 4)
        }
        #expect(position == bytes.count)
        return Log(
            directory: directory, records: records.map(normalized), journal: path, bytes: bytes, barriers: barriers,
            entries: entries, sealed: 200)
    }

    /// A copy of the log's directory whose journal holds `bytes`.
    private func copy(_ log: Log, journalBytes bytes: [UInt8]) throws -> TemporaryDirectory {
        let copy = TemporaryDirectory()
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: log.directory.path, toPath: copy.path)
        try Data(bytes).write(to: URL(fileURLWithPath: copy.path + log.journal.dropFirst(log.directory.path.count)))
        return copy
    }

    /// Reopens a copy whose journal holds `bytes`: the log resumes at or after every resume
    /// offset a barrier made durable within those bytes, keeps exactly the records below it, and
    /// verifies; the records from there, delivered again, make the log whole, each once.
    private func expectRecovered(_ log: Log, _ bytes: [UInt8], verifyFirst: Bool, _ what: String) throws {
        let copy = try copy(log, journalBytes: bytes)
        let before = verifyFirst ? StoreVerifier(directory: copy.path).verify() : nil
        if let before { #expect(before.isValid, "\(what): \(before.findings)") }
        let committed = log.barriers.filter { $0.length <= bytes.count }.map(\.resume).max() ?? log.records[log.sealed].offset
        let writer = try AuditStore(directory: copy.path, options: options()).openWriter(topic: "t", partition: 0)
        #expect(writer.recovery.damaged.isEmpty, "\(what)")
        let resume = try #require(writer.resumeOffset, "\(what)")
        #expect(resume >= committed, "\(what): resumes at \(resume), below the committed \(committed)")
        let kept = try index(of: resume, in: log.records)
        // What the whole entries held above the resume offset is dropped, to be delivered again.
        let held = log.entries.filter { $0.end <= bytes.count }.reduce(0) { $0 + $1.records }
        #expect(writer.recovery.droppedRecords == held - (kept - log.sealed), "\(what)")
        if let before {
            // Verify, before the recovery, counted the same records readable and the same above.
            #expect(before.records == kept, "\(what)")
            #expect(before.recordsAboveResume == held - (kept - log.sealed), "\(what)")
        }
        #expect(firstDifference(try readAll(copy), Array(log.records[..<kept])) == nil, "\(what)")
        try writer.append(Array(log.records[kept...]))
        try writer.close()
        try expectWhole(copy, log.records, what)
    }

    /// Everything reads back, each record once, and the store verifies.
    private func expectWhole(_ directory: TemporaryDirectory, _ records: [StoreRecord], _ what: String = "") throws {
        #expect(firstDifference(try readAll(directory), records.map(normalized)) == nil, "\(what)")
        let report = StoreVerifier(directory: directory.path).verify()
        #expect(report.isValid, "\(what): \(report.findings)")
    }

    /// Records appended in batches, a barrier after each: every resume offset lags the appended
    /// offset while records wait in the window, never goes back, and a close makes it the next
    /// offset; everything reads back, before and after the seal, and verifies.
    @Test func theResumeOffsetLagsWhileRecordsWaitAndEverythingReadsBack() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: options())
        let writer = try store.openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 59)
        let records = withoutForwards(factory.batch(1500))
        var resumes: [Int64] = []
        for batch in stride(from: 0, to: records.count, by: 50).map({ Array(records[$0..<min($0 + 50, records.count)]) }) {
            try writer.append(batch)
            let resume = try #require(try writer.sync())
            #expect(resume <= batch.last!.nextOffset)
            #expect(resume >= (resumes.last ?? 0))
            resumes.append(resume)
        }
        #expect(zip(resumes, stride(from: 50, through: records.count, by: 50)).contains { $0 < Int64($1) }, "a window that never held a record back")
        #expect(try journalNames(directory).count == 1)
        #expect(writer.sealedSegments.count >= 2, "the first segment and at least one copied from a version 4 journal")
        try writer.close()
        #expect(writer.resumeOffset == records.last!.nextOffset)
        try expectWhole(directory, records)

        let again = try store.openWriter(topic: "t", partition: 0)
        #expect(again.recovery.recoveredRecords > 0)
        try again.close()
        try expectWhole(directory, records)
    }

    /// A record waits in the window no longer than ``StoreOptions/windowMaxWait``: the barrier
    /// after it puts every such record into the journal, and the resume offset catches up,
    /// though no record was appended since.
    @Test func aBarrierPutsWhatWaitedTooLongIntoTheJournal() throws {
        let directory = TemporaryDirectory()
        let now = Mutex<Int64>(1_000_000)
        var options = smallOptions(clock: { now.withLock { $0 } }, journalVersion: 4)
        options.windowMaxWait = 5_000
        var factory = RecordFactory(seed: 79)
        let records = withoutForwards(factory.batch(400))
        do {
            let writer = try AuditStore(directory: directory.path, options: options).openWriter(topic: "t", partition: 0)
            try writer.append(records)
            let lagging = try #require(try writer.sync())
            #expect(lagging < records.last!.nextOffset && writer.isWaiting)
            now.withLock { $0 += 4_999 }
            #expect(try writer.sync() == lagging, "nothing waited longer than the bound yet")
            now.withLock { $0 += 2 }
            #expect(try writer.sync() == records.last!.nextOffset)
            #expect(!writer.isWaiting)
        }
        // A crash now loses nothing the last barrier made durable.
        let writer = try AuditStore(directory: directory.path, options: options).openWriter(topic: "t", partition: 0)
        #expect(writer.resumeOffset == records.last!.nextOffset)
        try writer.close()
        #expect(firstDifference(try readAll(directory), records.map(normalized)) == nil)
    }

    /// The content digests a caller hands in (the worker's) are the ones the journal's heads and
    /// the index keep, as when the store hashes the bytes itself.
    @Test func contentHashesFromTheCallerMakeTheSameLog() throws {
        let directory = TemporaryDirectory()
        let writer = try AuditStore(directory: directory.path, options: options()).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 83)
        let records = withoutForwards(factory.batch(600))
        let hashes = records.enumerated().map { i, record in i.isMultiple(of: 3) ? nil : record.bytes.map(ContentHash.init(of:)) }
        try writer.append(records, hashes: hashes)
        try writer.close()
        try expectWhole(directory, records)
    }

    /// Every id lookup finds its record in a segment whose blocks were copied from the journal.
    @Test func copiedBlocksAreFoundById() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: options())
        let writer = try store.openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 67)
        let records = withoutForwards(factory.batch(2500))
        try writer.append(records)
        try writer.close()
        #expect(writer.sealedSegments.count >= 3)
        let reader = try store.reader()
        for record in records.prefix(400) {
            guard let id = record.fields?.id else { continue }
            #expect(try reader.records(withId: id).map(\.record).contains(normalized(record)))
        }
    }

    /// A crash (nothing closed): recovery keeps the records below the first offset no whole
    /// entry holds, and the records from there, delivered again, are stored once.
    @Test func aCrashKeepsTheRecordsBelowTheFirstMissingOffset() throws {
        let log = try makeLog()
        #expect(log.barriers.last!.resume < log.records.last!.nextOffset, "records waited in the window at the crash")
        let above = log.records.filter { $0.offset >= log.barriers.last!.resume }.count
        #expect(log.entries.reduce(0) { $0 + $1.records } > log.records.count - log.sealed - above, "entries above the resume offset")
        try expectRecovered(log, log.bytes, verifyFirst: true, "the whole journal")
    }

    @Test func cutsThroughTheLastThreeEntries() throws {
        let log = try makeLog(batches: 6, blockSize: 1 << 10)
        #expect(log.entries.count >= 3)
        // Every byte of each entry's header, link and first and last bytes of its compressed
        // block; between those, where a cut is a partial entry like any other, every 13th byte
        // (a cut costs a recovery, a seal and a verify).
        var cuts: [Int] = []
        for (start, end, _) in log.entries.suffix(3) {
            cuts += (start..<end).filter { $0 < start + 80 || $0 >= end - 16 || ($0 - start) % 13 == 0 }
        }
        for cut in cuts {
            try expectRecovered(log, Array(log.bytes[..<cut]), verifyFirst: cut % 11 == 0, "cut at \(cut)")
        }
    }

    @Test func garbageAfterTheLastEntryIsCut() throws {
        let log = try makeLog(batches: 4)
        var random = SeededRandom(seed: 71)
        for length in [1, 4, 31, 64, 65, 4096] {
            let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            try expectRecovered(log, log.bytes + garbage, verifyFirst: true, "\(length) bytes of garbage")
        }
        try expectRecovered(log, log.bytes + [UInt8](repeating: 0, count: 300), verifyFirst: true, "zeros")
    }

    /// A byte changed inside a whole entry, or an entry cut out of the middle, is damage:
    /// reported by verify and by recovery, the file set aside whole, the log resumed at the
    /// first offset the entries before the damage do not hold; delivered again from there, the
    /// log is whole.
    @Test func damageInsideAWholeEntryIsNotATornTail() throws {
        let log = try makeLog()
        let (start, end, _) = log.entries[log.entries.count - 3]
        var flipped = log.bytes
        flipped[start + 80] ^= 0x10
        var cutOut = log.bytes
        cutOut.removeSubrange(start..<end)
        let committed = log.barriers.filter { $0.length <= start }.map(\.resume).max() ?? log.records[log.sealed].offset
        for (bytes, what) in [(flipped, "a flipped byte"), (cutOut, "an entry cut out")] {
            let copy = try copy(log, journalBytes: bytes)
            let report = StoreVerifier(directory: copy.path).verify()
            let finding = report.findings.first { $0.code == .damagedJournal }
            #expect(finding?.position == Int64(start), "\(what): \(report.findings)")
            let writer = try AuditStore(directory: copy.path, options: options()).openWriter(topic: "t", partition: 0)
            let damage = try #require(writer.recovery.damaged.first, "\(what)")
            #expect(damage.position == Int64(start), "\(what)")
            let resume = try #require(writer.resumeOffset, "\(what)")
            #expect(resume >= committed && damage.offsets.lowerBound == resume, "\(what)")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: damage.setAsideAs))) == bytes, "\(what)")
            let kept = try index(of: resume, in: log.records)
            #expect(firstDifference(try readAll(copy), Array(log.records[..<kept])) == nil, "\(what)")
            try writer.append(Array(log.records[kept...]))
            try writer.close()
            #expect(firstDifference(try readAll(copy), log.records) == nil, "\(what)")
        }
    }

    /// A log whose journal is version 3, as an earlier writer left it, is recovered whole, and
    /// the log goes on in version 4.
    @Test func aVersion3JournalIsRecoveredAndTheLogGoesOnInVersion4() throws {
        let directory = TemporaryDirectory()
        var factory = RecordFactory(seed: 73)
        let old = withoutForwards(factory.batch(300))
        let new = withoutForwards(factory.batch(300))
        do {
            let writer = try AuditStore(directory: directory.path, options: smallOptions(journalVersion: 3))
                .openWriter(topic: "t", partition: 0)
            try writer.append(old)
            try writer.sync()
        }
        let writer = try AuditStore(directory: directory.path, options: options()).openWriter(topic: "t", partition: 0)
        #expect(writer.resumeOffset == old.last!.nextOffset)
        try writer.append(new)
        try writer.sync()
        let magic = try journalNames(directory).map {
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: directory.file("t/0/" + $0))).prefix(8), as: UTF8.self)
        }
        #expect(magic == ["ATJRNL04"])
        try writer.close()
        try expectWhole(directory, old + new)
    }
}
