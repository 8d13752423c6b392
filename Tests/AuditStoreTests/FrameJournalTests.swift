// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import AuditStore

/// Version 3 journals (FORMAT.md §4): each barrier makes one compressed, chained frame durable.
/// A crash's torn tail is cut at the last whole frame (DESIGN §6.4): recovery keeps every whole
/// frame and resumes at the first offset of the cut one, whose offsets were never committed.
/// Damage inside a whole frame is not a torn tail. Version 2 journals are recovered and the log
/// goes on in version 3.
@Suite struct FrameJournalTests {
    /// A log with a sealed segment and a journal of `frames` frames of `perFrame` records each.
    private struct Log {
        let directory: TemporaryDirectory
        let records: [StoreRecord]
        let journal: String
        let bytes: [UInt8]
        /// File position of each frame, and the index in ``records`` of its first record.
        let frames: [(position: Int, first: Int)]
    }

    private func makeLog(frames: Int = 5, perFrame: Int = 4, seed: UInt64 = 41) throws -> Log {
        let directory = TemporaryDirectory()
        let writer = try AuditStore(directory: directory.path, options: smallOptions()).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: seed)
        var records = withoutForwards(factory.batch(120))
        try writer.append(records)
        try writer.seal()
        for _ in 0..<frames {
            let batch = withoutForwards(factory.batch(perFrame))
            try writer.append(batch)
            try writer.sync()
            records += batch
        }
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.file("t/0")).first { $0.hasSuffix(".journal") })
        let path = directory.file("t/0/" + name)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.starts(with: Array("ATJRNL03".utf8)))
        let contents = try Journal.parse(bytes, path: path)
        #expect(contents.tornReason == nil && contents.damage == nil)
        let journalStart = records.count - contents.records.count
        var positions: [(Int, Int)] = []
        for (i, position) in contents.frameOffsets.enumerated() where positions.last?.0 != Int(position) {
            positions.append((Int(position), journalStart + i))
        }
        #expect(positions.count == frames, "one frame per barrier")
        return Log(directory: directory, records: records.map(normalized), journal: path, bytes: bytes, frames: positions)
    }

    /// A copy of the log's directory whose journal holds `bytes`.
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
        return try AuditStore(directory: directory.path, options: smallOptions()).reader().records(matching: query).map(\.record)
    }

    /// Reopens a copy whose journal holds `bytes` and checks that exactly the first `kept`
    /// records survive, the log resumes after them, and it verifies.
    /// - Parameter verifyFirst: also verify before reopening (a torn tail is not a finding).
    private func expectTorn(_ log: Log, _ bytes: [UInt8], kept: Int, verifyFirst: Bool = true, _ what: String) throws {
        let (copy, _) = try copy(log, journalBytes: bytes)
        if verifyFirst {
            let before = StoreVerifier(directory: copy.path).verify()
            #expect(before.isValid, "\(what): \(before.findings)")
        }
        let writer = try AuditStore(directory: copy.path, options: smallOptions()).openWriter(topic: "t", partition: 0)
        #expect(writer.recovery.damaged.isEmpty, "\(what)")
        #expect(writer.resumeOffset == log.records[kept - 1].nextOffset, "\(what)")
        try writer.close()
        #expect(firstDifference(try readAll(copy), Array(log.records[..<kept])) == nil, "\(what)")
        let after = StoreVerifier(directory: copy.path).verify()
        #expect(after.isValid, "\(what): \(after.findings)")
    }

    @Test func cutAtEveryByteOfTheLastThreeFrames() throws {
        let log = try makeLog(perFrame: 3)
        let cutFrames = log.frames.suffix(3)
        for (position, first) in cutFrames {
            let frameIndex = log.frames.firstIndex { $0.position == position }!
            let end = frameIndex + 1 < log.frames.count ? log.frames[frameIndex + 1].position : log.bytes.count
            for cut in position..<end {
                // The frame being cut is lost whole; the log resumes at its first offset.
                try expectTorn(log, Array(log.bytes[..<cut]), kept: first, verifyFirst: cut % 7 == 0, "cut at \(cut)")
            }
        }
    }

    @Test func garbageAfterTheLastFrameIsCut() throws {
        let log = try makeLog(frames: 2)
        var random = SeededRandom(seed: 43)
        for length in [1, 3, 4, 31, 64, 65, 100, 4096] {
            let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            try expectTorn(log, log.bytes + garbage, kept: log.records.count, "\(length) bytes of garbage")
        }
        try expectTorn(log, log.bytes + [UInt8](repeating: 0, count: 300), kept: log.records.count, "zeros")
        // A crash while the next frame was being written: a prefix of a frame.
        let last = log.frames.last!
        let frame = Array(log.bytes[last.position...])
        for length in [2, 40, frame.count - 1] {
            try expectTorn(log, log.bytes + frame.prefix(length), kept: log.records.count, "a frame's first \(length) bytes")
        }
    }

    /// A byte changed inside a whole frame, or a frame cut out of the middle, is damage: reported
    /// by verify and recovery, the file set aside, the log resumed at the damaged frame's offset.
    @Test func damageInsideAWholeFrameIsNotATornTail() throws {
        let log = try makeLog()
        let (position, first) = log.frames[2]
        let next = log.frames[3].position
        var flipped = log.bytes
        flipped[position + 70] ^= 0x10
        var cutOut = log.bytes
        cutOut.removeSubrange(position..<next)
        for (bytes, what) in [(flipped, "a flipped byte"), (cutOut, "a frame cut out")] {
            let (copy, path) = try copy(log, journalBytes: bytes)
            let report = StoreVerifier(directory: copy.path).verify()
            let finding = report.findings.first { $0.code == .damagedJournal }
            #expect(finding?.position == Int64(position), "\(what): \(report.findings)")
            #expect(finding?.offsets?.lowerBound == log.records[first].offset, "\(what)")
            let writer = try AuditStore(directory: copy.path, options: smallOptions()).openWriter(topic: "t", partition: 0)
            let damage = try #require(writer.recovery.damaged.first, "\(what)")
            #expect(damage.file == path && damage.position == Int64(position), "\(what)")
            #expect(writer.resumeOffset == log.records[first].offset, "\(what)")
            try writer.close()
            #expect(firstDifference(try readAll(copy), Array(log.records[..<first])) == nil, "\(what)")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: damage.setAsideAs))) == bytes, "\(what)")
        }
    }

    /// A log whose journal is version 2 (one frame per record), as an earlier writer left it,
    /// verifies; the next writer recovers every record and goes on in version 3.
    @Test func aVersion2JournalIsRecoveredAndTheLogGoesOnInVersion3() throws {
        let directory = TemporaryDirectory()
        var factory = RecordFactory(seed: 47)
        let old = withoutForwards(factory.batch(80))
        let new = withoutForwards(factory.batch(80))
        do {
            let writer = try AuditStore(directory: directory.path, options: smallOptions(journalVersion: 2))
                .openWriter(topic: "t", partition: 0)
            try writer.append(Array(old.prefix(40)))
            try writer.seal()
            try writer.append(Array(old.dropFirst(40)))
            try writer.sync()
        }
        let log = directory.file("t/0")
        let magic = { (suffix: String) throws -> [String] in
            try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(suffix) }.map {
                String(decoding: try Data(contentsOf: URL(fileURLWithPath: log + "/" + $0)).prefix(8), as: UTF8.self)
            }
        }
        #expect(try magic(".journal") == ["ATJRNL02"])
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
        #expect(firstDifference(try readAll(directory), old.map(normalized)) == nil)

        let writer = try AuditStore(directory: directory.path, options: smallOptions()).openWriter(topic: "t", partition: 0)
        #expect(writer.recovery.recoveredRecords == 40)
        #expect(writer.resumeOffset == old.last!.nextOffset)
        try writer.append(Array(new.prefix(10)))
        try writer.sync()
        #expect(try magic(".journal") == ["ATJRNL03"])
        try writer.append(Array(new.dropFirst(10)))
        try writer.close()
        #expect(firstDifference(try readAll(directory), (old + new).map(normalized)) == nil)
        let report = StoreVerifier(directory: directory.path).verify()
        #expect(report.isValid, "\(report.findings)")
    }

    /// Appends between two barriers beyond a frame's limit go out in several frames; everything
    /// reads back, and a seal lays them into the same blocks and index as any other records.
    @Test func largeAppendsSplitIntoFramesAndSealWhole() throws {
        let directory = TemporaryDirectory()
        var options = smallOptions()
        options.segmentMaxBytes = 4 << 20
        options.writerMemoryBudget = 256 << 10
        options.dictionaryCapacity = 0
        let store = try AuditStore(directory: directory.path, options: options)
        let writer = try store.openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 53)
        let records = withoutForwards(factory.batch(3000))
        try writer.append(records)
        try writer.sync()
        let reader = try store.reader()
        #expect(firstDifference(try readAll(directory), records.map(normalized)) == nil)
        for record in records.prefix(200) {
            guard let id = record.fields?.id else { continue }
            #expect(try reader.records(withId: id).map(\.record).contains(normalized(record)))
        }
        try writer.seal()
        #expect(firstDifference(try readAll(directory), records.map(normalized)) == nil)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    /// Sealing indexes a frame's fields from their bytes (no `String` unless new to the index):
    /// every field comes back as it was appended, the request ids, empty strings, values that are
    /// not ASCII and values repeated across records among them.
    @Test func sealingIndexesEveryFieldOfAFrameAsAppended() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: smallOptions())
        let writer = try store.openWriter(topic: "t", partition: 0)
        let names = ["Zoë", "", "名前", "alice", "Zoë"]
        var records: [StoreRecord] = []
        for i in 0..<600 {
            var fields = NotificationFields(
                id: "call-\(i / 2)-ü", eventType: i % 2 == 0 ? .request : .response,
                eventTime: i % 7 == 0 ? nil : 1_700_000_000_000_000 + Int64(i), initiatorId: "uid-\(i % 5)",
                initiatorName: names[i % names.count], projectId: i % 3 == 0 ? nil : "p-\(i % 3)", action: "read",
                outcome: i % 2 == 0 ? "pending" : "success", reasonCode: i % 2 == 0 ? nil : "200",
                targetId: "t-\(i % 4)", targetTypeURI: "service/compute", publisher: "nova-api",
                requestPath: "/v2.1/servers/\(i)", messageId: "m-\(i)", requestId: i % 4 == 0 ? nil : "req-\(i / 2)",
                globalRequestId: i % 6 == 0 ? "" : "greq-\(i / 10)")
            if i % 9 == 0 {
                // A record written before request ids were recorded: they are unknown, not absent.
                fields.requestId = nil
                fields.globalRequestId = nil
                fields.requestIDsRecorded = false
            }
            let bytes = Array("{\"id\":\"call-\(i / 2)\",\"n\":\(i)}".utf8)
            records.append(StoreRecord(offset: Int64(i), timestamp: 1_700_000_000_000 + Int64(i), body: .notification(fields, bytes: bytes)))
        }
        try writer.append(records)
        try writer.sync()
        try writer.seal()
        #expect(writer.sealedSegments.count >= 2)
        #expect(firstDifference(try readAll(directory), records.map(normalized)) == nil)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    /// A frame lays its notifications out as a sealed block's window does: an initiator's
    /// together, in the order initiators first appear, each CADF id's halves together within
    /// them; a record without fields is a group of its own. Readers sort by offset.
    @Test func aFrameGroupsAnInitiatorsNotificationsAndEachCallsHalves() throws {
        // (id, initiator) by offset; nil: a gap record.
        let layout: [(String, String)?] = [
            ("c1", "alice"), ("c2", "bob"), nil, ("c3", "alice"), ("c2", "bob"), ("c1", "alice"), ("c4", "carol"),
            ("c3", "alice"),
        ]
        var frame = PendingFrame()
        for (offset, entry) in layout.enumerated() {
            let body: StoreRecord.Body
            if let (id, initiator) = entry {
                let type: NotificationFields.EventType = layout[..<offset].contains { $0?.0 == id } ? .response : .request
                body = .notification(
                    NotificationFields(id: id, eventType: type, initiatorId: initiator), bytes: Array("\(id) \(type)".utf8))
            } else {
                body = .gap(to: Int64(offset) + 1)
            }
            frame.add(StoreRecord(offset: Int64(offset), timestamp: 0, body: body), hash: nil)
        }
        var laid: [Int64] = []
        try DecodedBlock(frame.take(), version: 1).forEachRecord { laid.append($0.offset) }
        // alice: c1 (0, 5), c3 (3, 7); bob: c2 (1, 4); the gap at 2; carol: c4 (6).
        #expect(laid == [0, 5, 3, 7, 1, 4, 2, 6])
        #expect(frame.isEmpty)
    }
}
