// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import AuditStore

/// Issue 16 item 6, on version 2 journals (one frame per record): damage is not a torn tail. Bytes changed in, or cut out of, the middle of a
/// journal are reported by `verify` and by recovery, the damaged file is set aside unchanged,
/// and the log resumes at the damaged frame's offset; only an incomplete last frame (or zero
/// bytes) is cut silently. Sealed segments report the same damage through their digests.
@Suite struct JournalDamageTests {
    /// A log with a sealed segment and a journal of `journalCount` records, left as a crash
    /// leaves it (synced, not closed).
    private struct Log {
        let directory: TemporaryDirectory
        /// Every record, sealed then journaled.
        let records: [StoreRecord]
        /// The journal's path, bytes and frame positions.
        let journal: String
        let bytes: [UInt8]
        let frames: [Int64]
        /// Index in ``records`` of the journal's first record.
        var journalStart: Int { records.count - frames.count }
    }

    private static let options: StoreOptions = {
        var options = smallOptions(journalVersion: 2)
        options.segmentMaxBytes = 1 << 20
        return options
    }()

    private func makeLog(sealed: Int = 40, journalCount: Int = 60, seed: UInt64 = 31) throws -> Log {
        let directory = TemporaryDirectory()
        let writer = try AuditStore(directory: directory.path, options: Self.options).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: seed)
        var records = withoutForwards(factory.batch(sealed))
        if sealed > 0 {
            try writer.append(records)
            try writer.seal()
        }
        let tail = withoutForwards(factory.batch(journalCount))
        try writer.append(tail)
        try writer.sync()
        records += tail
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.file("t/0")).first { $0.hasSuffix(".journal") })
        let path = directory.file("t/0/" + name)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let contents = try Journal.parse(bytes, path: path)
        #expect(contents.records.count == journalCount && contents.tornReason == nil && contents.damage == nil)
        return Log(directory: directory, records: records.map(normalized), journal: path, bytes: bytes, frames: contents.frameOffsets)
    }

    /// A copy of the log's data directory whose journal holds `bytes`; returns it and the
    /// journal's path in it.
    private func copy(_ log: Log, journalBytes bytes: [UInt8]) throws -> (TemporaryDirectory, String) {
        let copy = TemporaryDirectory()
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: log.directory.path, toPath: copy.path)
        let path = copy.path + log.journal.dropFirst(log.directory.path.count)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (copy, path)
    }

    private func readAll(_ directory: TemporaryDirectory) throws -> [StoreRecord] {
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        return try AuditStore(directory: directory.path, options: Self.options).reader().records(matching: query).map(\.record)
    }

    /// Checks a journal damaged at frame `frame` (its bytes `damaged`): `verify` reports it,
    /// readers do not crash, reopening reports it in `Recovery`, keeps the file aside unchanged,
    /// keeps every whole frame before it and resumes at its offset; then `verify` reports the
    /// file set aside until it is removed.
    private func expectDamage(_ log: Log, damaged: [UInt8], frame: Int, _ what: String) throws {
        let (copy, path) = try copy(log, journalBytes: damaged)
        let expectedOffset = log.records[log.journalStart + frame].offset
        let before = StoreVerifier(directory: copy.path).verify()
        let finding = before.findings.first { $0.code == .damagedJournal }
        #expect(finding?.position == log.frames[frame], "\(what): \(before.findings)")
        #expect(finding?.offsets?.lowerBound == expectedOffset, "\(what)")
        #expect(before.tornTailBytes == 0, "\(what)")
        // Readers show the whole frames before the damage, and do not crash.
        #expect(try readAll(copy) == Array(log.records[..<(log.journalStart + frame)]), "\(what)")

        let writer = try AuditStore(directory: copy.path, options: Self.options).openWriter(topic: "t", partition: 0)
        let damage = try #require(writer.recovery.damaged.first, "\(what): not reported on recovery")
        #expect(writer.recovery.damaged.count == 1 && writer.recovery.truncatedBytes == 0, "\(what)")
        #expect(damage.file == path && damage.position == log.frames[frame], "\(what)")
        #expect(damage.offsets.lowerBound == expectedOffset, "\(what)")
        #expect(damage.setAsideAs.hasPrefix(path + ".damaged-") && !damage.setAsideAs.hasSuffix(".tmp"), "\(what)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: damage.setAsideAs))) == damaged, "\(what): aside bytes changed")
        #expect(writer.resumeOffset == expectedOffset, "\(what)")
        #expect(try readAll(copy) == Array(log.records[..<(log.journalStart + frame)]), "\(what)")

        let after = StoreVerifier(directory: copy.path).verify()
        #expect(after.findings.map(\.code) == [.setAsideJournal], "\(what): \(after.findings)")
        #expect(after.findings.first?.offsets?.lowerBound == log.records[log.journalStart].offset, "\(what)")
        // The log goes on from the damaged offset; once the evidence is removed, it verifies.
        var factory = RecordFactory(seed: 99, firstOffset: expectedOffset)
        try writer.append(withoutForwards(factory.batch(5)))
        try writer.close()
        try FileManager.default.removeItem(atPath: damage.setAsideAs)
        let cleaned = StoreVerifier(directory: copy.path).verify()
        #expect(cleaned.isValid, "\(what): \(cleaned.findings)")
    }

    @Test func flippedBytesAndCutsInTheMiddleOfAJournalAreDamage() throws {
        let log = try makeLog()
        var random = SeededRandom(seed: 32)
        for trial in 0..<120 {
            // Any frame but the last: what follows the damage then holds a whole frame.
            let frame = Int.random(in: 0..<(log.frames.count - 1), using: &random)
            let start = Int(log.frames[frame])
            let position = Int.random(in: start..<Int(log.frames[frame + 1]), using: &random)
            var damaged = log.bytes
            let what: String
            if trial % 2 == 0 {
                let mask = UInt8.random(in: 1...255, using: &random)
                damaged[position] ^= mask
                what = "byte \(position) ^ \(mask) (frame \(frame) at \(start))"
            } else {
                let count = min(Int.random(in: 1...200, using: &random), Int(log.frames.last!) - position)
                damaged.removeSubrange(position..<(position + count))
                what = "\(count) bytes cut at \(position) (frame \(frame) at \(start))"
            }
            try expectDamage(log, damaged: damaged, frame: frame, what)
        }
    }

    /// A frame whose `u32 length` was changed (or cut into) so that it runs past the end of the
    /// file looks like the head of a torn write; the whole frames after it make it damage.
    @Test func aLengthRunningPastTheEndBeforeWholeFramesIsDamage() throws {
        let log = try makeLog(journalCount: 12)
        for frame in 0..<(log.frames.count - 1) {
            let start = Int(log.frames[frame])
            var flipped = log.bytes
            flipped[start + 3] ^= 0x80
            try expectDamage(log, damaged: flipped, frame: frame, "length of frame \(frame) past the end")
            var cut = log.bytes
            cut.removeSubrange((start + 2)..<(start + 5))
            try expectDamage(log, damaged: cut, frame: frame, "3 bytes cut from the length of frame \(frame)")
        }
    }

    @Test func zeroBytesAfterTheLastFrameAreATornTail() throws {
        let log = try makeLog()
        for count in [1, 35, 36, 4096, 10_000] {
            try expectTorn(log, log.bytes + [UInt8](repeating: 0, count: count), "\(count) zero bytes")
        }
    }

    @Test func aPrefixOfAFrameAfterTheLastFrameIsATornTail() throws {
        let log = try makeLog()
        let last = Int(log.frames.last!)
        let whole = Array(log.bytes[..<last])
        let frame = Array(log.bytes[last...])
        for count in [1, 4, 5, 35, 36, 37, frame.count / 2, frame.count - 33, frame.count - 1] {
            try expectTorn(log, whole + frame.prefix(count), "\(count) bytes of a frame", records: log.records.count - 1)
        }
    }

    /// Garbage after the last frame: bytes whose `u32 length` runs past the end of the file are
    /// a torn tail (all a crash can leave is such a prefix, and the length is all there is to
    /// check); a whole frame that fails, or a valid frame repeated, is damage.
    @Test func garbageAfterTheLastFrameIsDamageWhenItHoldsAWholeFrame() throws {
        let log = try makeLog()
        var random = SeededRandom(seed: 33)
        let runsPastTheEnd = [UInt8]([0xff, 0xff, 0, 0]) + (0..<200).map { _ in UInt8.random(in: 0...255, using: &random) }
        try expectTorn(log, log.bytes + runsPastTheEnd, "a length past the end")

        let end = log.frames.count
        let failing = [UInt8]([40, 0, 0, 0]) + [UInt8](repeating: 1, count: 40 + 32)
        try expectDamageAtEnd(log, log.bytes + failing, "a whole frame that does not decode")
        let lastFrame = Array(log.bytes[Int(log.frames[end - 1])...])
        try expectDamageAtEnd(log, log.bytes + lastFrame, "the last frame repeated")
        var unlinked = lastFrame
        unlinked[unlinked.count - 1] ^= 1
        try expectDamageAtEnd(log, log.bytes + lastFrame.prefix(lastFrame.count - 32) + unlinked.suffix(32), "a bad link")
    }

    /// A journal whose first frame is damaged, in a log with no sealed segment: the log is empty
    /// after recovery but resumes at the journal's base offset, not wherever Kafka committed.
    @Test func damageInTheFirstFrameOfAnEmptyLogResumesAtItsBase() throws {
        let log = try makeLog(sealed: 0, journalCount: 10)
        var damaged = log.bytes
        damaged[Int(log.frames[0]) + 10] ^= 0x40
        try expectDamage(log, damaged: damaged, frame: 0, "first frame, empty log")
    }

    /// A crash in the middle of setting a damaged journal aside (after the link, before the
    /// rename) leaves the damaged journal, its set-aside name and the fresh `*.tmp`: the next
    /// open sets it aside again, keeps the whole frames and resumes at the damage.
    @Test func aCrashWhileSettingAsideIsRecovered() throws {
        let log = try makeLog()
        var damaged = log.bytes
        let frame = log.frames.count / 2
        damaged[Int(log.frames[frame]) + 20] ^= 0x08
        let (copy, path) = try copy(log, journalBytes: damaged)
        try Data(damaged).write(to: URL(fileURLWithPath: path + ".damaged-1"))
        try Data(log.bytes[..<Int(log.frames[frame])]).write(to: URL(fileURLWithPath: path + ".tmp"))
        let writer = try AuditStore(directory: copy.path, options: Self.options).openWriter(topic: "t", partition: 0)
        #expect(writer.recovery.damaged.count == 1)
        #expect(writer.resumeOffset == log.records[log.journalStart + frame].offset)
        #expect(try readAll(copy) == Array(log.records[..<(log.journalStart + frame)]))
        let report = StoreVerifier(directory: copy.path).verify()
        #expect(report.findings.map(\.code) == [.setAsideJournal, .setAsideJournal], "\(report.findings)")
    }

    private func expectTorn(_ log: Log, _ bytes: [UInt8], _ what: String, records: Int? = nil) throws {
        let kept = records ?? log.records.count
        let (copy, _) = try copy(log, journalBytes: bytes)
        let report = StoreVerifier(directory: copy.path).verify()
        #expect(report.isValid, "\(what): \(report.findings)")
        let cut = bytes.count - (kept == log.records.count ? log.bytes.count : Int(log.frames.last!))
        #expect(report.tornTailBytes == Int64(cut), "\(what)")
        let writer = try AuditStore(directory: copy.path, options: Self.options).openWriter(topic: "t", partition: 0)
        #expect(writer.recovery.damaged.isEmpty && writer.recovery.truncatedBytes == Int64(cut), "\(what)")
        #expect(writer.resumeOffset == log.records[kept - 1].nextOffset, "\(what)")
        #expect(try readAll(copy) == Array(log.records[..<kept]), "\(what)")
        #expect(StoreVerifier(directory: copy.path).verify().isValid, "\(what)")
    }

    /// Damage after the last whole frame: every record is kept, the log resumes after them, and
    /// the file is set aside.
    private func expectDamageAtEnd(_ log: Log, _ bytes: [UInt8], _ what: String) throws {
        let (copy, _) = try copy(log, journalBytes: bytes)
        let report = StoreVerifier(directory: copy.path).verify()
        #expect(report.findings.map(\.code) == [.damagedJournal], "\(what): \(report.findings)")
        #expect(report.findings.first?.position == Int64(log.bytes.count), "\(what)")
        let writer = try AuditStore(directory: copy.path, options: Self.options).openWriter(topic: "t", partition: 0)
        #expect(writer.recovery.damaged.first?.offsets.lowerBound == log.records.last!.nextOffset, "\(what)")
        #expect(writer.resumeOffset == log.records.last!.nextOffset, "\(what)")
        #expect(try readAll(copy) == log.records, "\(what)")
        let aside = try #require(writer.recovery.damaged.first?.setAsideAs)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: aside))) == bytes, "\(what)")
        #expect(StoreVerifier(directory: copy.path).verify().findings.map(\.code) == [.setAsideJournal], "\(what)")
    }
}

/// Bytes changed in, or cut out of, the middle of a sealed segment: `verify` reports each one
/// (the segment digest covers every byte before it), and readers fail or read on, never crash.
@Suite struct SealedSegmentDamageTests {
    @Test func flippedBytesAndCutsInTheMiddleOfASegmentAreReported() throws {
        let directory = TemporaryDirectory()
        let writer = try AuditStore(directory: directory.path, options: smallOptions()).openWriter(topic: "by-id", partition: 0)
        var factory = RecordFactory(seed: 34)
        try writer.append(withoutForwards(factory.batch(600)))
        try writer.seal()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("by-id/0"))
            .filter { $0.hasSuffix(".seg") }.sorted()
        #expect(names.count >= 3)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
        var random = SeededRandom(seed: 35)
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        for trial in 0..<100 {
            let path = directory.file("by-id/0/" + names[trial % names.count])
            let original = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            // The middle: after the magic and header length, before the trailer (the last 249 bytes).
            let count = Int.random(in: 1...200, using: &random)
            let position = Int.random(in: 12..<(original.count - 249 - count), using: &random)
            var damaged = original
            let what: String
            if trial % 2 == 0 {
                let mask = UInt8.random(in: 1...255, using: &random)
                damaged[position] ^= mask
                what = "\(path) byte \(position) ^ \(mask)"
            } else {
                damaged.removeSubrange(position..<(position + count))
                what = "\(path): \(count) bytes cut at \(position)"
            }
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            let report = StoreVerifier(directory: directory.path).verify()
            #expect(!report.isValid, "undetected: \(what)")
            // Readers may fail (or, reading a block the damage missed, succeed); they must not crash.
            let reader = try? AuditStore(directory: directory.path).reader()
            _ = try? reader?.records(matching: query)
            _ = try? reader?.records(withId: "id-\(trial)")
            try Data(original).write(to: URL(fileURLWithPath: path))
        }
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }
}

/// `records` with each forwarded record replaced by a skipped one at the same offset: a forwarded
/// record without its copy is a finding of its own (DESIGN §6.8), which these tests are not about.
func withoutForwards(_ records: [StoreRecord]) -> [StoreRecord] {
    records.map { record in
        guard case .forwarded = record.body else { return record }
        var skipped = record
        skipped.body = .skipped(eventType: "compute.instance.create.end")
        return skipped
    }
}
