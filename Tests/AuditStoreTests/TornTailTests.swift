// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import AuditStore

/// DESIGN §6.4 for version 2 journals (one frame per record), which earlier writers left: a
/// crash's torn tail is cut at the last whole record; everything before survives and the log
/// verifies. (Version 3 frames: ``FrameJournalTests``.)
@Suite struct TornTailTests {
    /// A log with sealed segments and a journal holding `records.suffix(journalCount)`.
    private func makeLog() throws -> (TemporaryDirectory, [StoreRecord], journal: String) {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path, options: smallOptions(journalVersion: 2))
        let writer = try store.openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 11)
        var records = factory.batch(250)
        try writer.append(records)
        try writer.seal()
        let tail = factory.batch(6)
        try writer.append(tail)
        try writer.sync()
        records += tail
        let journal = try FileManager.default.contentsOfDirectory(atPath: directory.file("t/0"))
            .first { $0.hasSuffix(".journal") }!
        return (directory, records.map(normalized), directory.file("t/0/" + journal))
    }

    /// Copies the data directory, applies `damage` to the copy's journal, reopens, and checks
    /// that exactly `expected` records are read back and the log verifies.
    private func reopen(
        _ source: TemporaryDirectory, journal: String, expected: [StoreRecord],
        damage: (StoreFileHandle) throws -> Void
    ) throws {
        let copy = TemporaryDirectory()
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: source.path, toPath: copy.path)
        let path = copy.path + journal.dropFirst(source.path.count)
        try damage(StoreFileHandle(path: path))
        let store = try AuditStore(directory: copy.path, options: smallOptions(journalVersion: 2))
        let writer = try store.openWriter(topic: "t", partition: 0)
        #expect(writer.resumeOffset == expected.last.map(\.nextOffset))
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        let read = try store.reader().records(matching: query).map(\.record)
        let difference = firstDifference(read, expected)
        #expect(difference == nil)
        let report = StoreVerifier(directory: copy.path).verify()
        #expect(report.isValid, "\(report.findings)")
    }

    @Test func cutAtEveryByteOfTheLastThreeRecords() throws {
        let (directory, records, journal) = try makeLog()
        let contents = try Journal.parse(Array(try Data(contentsOf: URL(fileURLWithPath: journal))), path: journal)
        let frames = contents.frameOffsets
        let fileLength = Int(contents.fileLength)
        let firstCut = Int(frames[frames.count - 3])
        let journalStart = records.count - frames.count
        for cut in firstCut..<fileLength {
            // Frames wholly before the cut survive.
            let whole = frames.indices.filter { i in (i + 1 < frames.count ? Int(frames[i + 1]) : fileLength) <= cut }.count
            try reopen(directory, journal: journal, expected: Array(records[..<(journalStart + whole)])) {
                try $0.truncate(to: cut)
            }
        }
    }

    @Test func garbageAfterTheLastRecordIsCut() throws {
        let (directory, records, journal) = try makeLog()
        var random = SeededRandom(seed: 12)
        for length in [1, 3, 4, 35, 36, 37, 100, 4096] {
            let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            try reopen(directory, journal: journal, expected: records) { try $0.append(garbage) }
        }
        // Pages never written read as zeros. (A whole frame that fails is damage, not a torn
        // tail: JournalDamageTests.)
        let zeros = [UInt8](repeating: 0, count: 200)
        try reopen(directory, journal: journal, expected: records) { try $0.append(zeros) }
    }
}

/// Byte-level damage for tests.
struct StoreFileHandle {
    let path: String

    func truncate(to length: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(length))
        try handle.close()
    }

    func append(_ bytes: [UInt8]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    func flip(at position: Int, with mask: UInt8) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[position] ^= mask
        try data.write(to: URL(fileURLWithPath: path))
    }

    var size: Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
}
