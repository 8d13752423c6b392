// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

@testable import AuditStore
import Foundation
import Testing

/// Segments written in the earlier block layouts stay readable and verifiable, and a log
/// continues in version 3 after them.
@Suite struct FormatVersionTests {
    @Test(arguments: [1, 2])
    func aLogOfOlderSegmentsContinuesInVersion3AndReadsWhole(version: Int) throws {
        let directory = TemporaryDirectory()
        var factory = RecordFactory(seed: 5)
        let first = factory.batch(600)
        let second = factory.batch(600)
        var old = smallOptions()
        old.segmentVersion = version
        do {
            let writer = try AuditStore(directory: directory.path, options: old).openWriter(topic: "by-id", partition: 0)
            try writer.append(first)
            try writer.seal()
            try writer.close()
        }
        let store = try AuditStore(directory: directory.path, options: smallOptions())
        let writer = try store.openWriter(topic: "by-id", partition: 0)
        #expect(writer.resumeOffset == first.last!.nextOffset)
        try writer.append(second)
        try writer.seal()

        let log = directory.path + "/by-id/0"
        let magics = try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".seg") }.map {
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: log + "/" + $0)).prefix(8), as: UTF8.self)
        }
        #expect(magics.filter { $0 == "ATSEG00\(version)" }.count >= 2)
        #expect(magics.filter { $0 == "ATSEG003" }.count >= 2)

        var all = StoreQuery()
        all.kinds = Set(StoreRecord.Kind.allCases)
        let reader = try store.reader()
        #expect(firstDifference(try reader.records(matching: all).map(\.record), (first + second).map(normalized)) == nil)
        for record in (first + second).prefix(300) {
            guard let id = record.fields?.id else { continue }
            #expect(try reader.records(withId: id).map(\.record).contains(normalized(record)))
        }
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    /// A journal of version 1 (each frame's bytes linked as they are), left by an earlier writer,
    /// verifies, and the next writer recovers every record from it.
    @Test func aVersion1JournalVerifiesAndIsRecovered() throws {
        let directory = TemporaryDirectory()
        var factory = RecordFactory(seed: 11)
        let records = factory.batch(150)
        var options = smallOptions(journalVersion: 2)
        options.segmentMaxBytes = 1 << 30
        do {
            let writer = try AuditStore(directory: directory.path, options: options).openWriter(topic: "by-id", partition: 0)
            try writer.append(records)
            try writer.close()
        }
        // Rewrite the journal as version 1: same header and records, whole-frame links.
        let log = directory.path + "/by-id/0"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: log).first { $0.hasSuffix(".journal") })
        let contents = try Journal.parse(Array(try Data(contentsOf: URL(fileURLWithPath: log + "/" + name))), path: name)
        #expect(contents.records.count == records.count && contents.tornReason == nil)
        var header = Journal.encode(contents.header)
        header.replaceSubrange(0..<8, with: Journal.version1Magic)
        var old = ByteWriter()
        old.raw(header)
        var chain = HashChain.digest(header)
        for record in contents.records {
            let start = old.bytes.count
            old.u32(0)
            RecordCodec.encode(record, includeFields: true, into: &old)
            old.patchU32(UInt32(old.bytes.count - start - 4), at: start)
            chain = old.bytes.withUnsafeBytes { HashChain.link(chain, UnsafeRawBufferPointer(rebasing: $0[start...])) }
            old.raw(chain)
        }
        try Data(old.bytes).write(to: URL(fileURLWithPath: log + "/" + name))

        #expect(StoreVerifier(directory: directory.path).verify().isValid)
        let store = try AuditStore(directory: directory.path, options: options)
        let writer = try store.openWriter(topic: "by-id", partition: 0)
        #expect(writer.recovery.recoveredRecords == records.count)
        #expect(writer.resumeOffset == records.last!.nextOffset)
        var all = StoreQuery()
        all.kinds = Set(StoreRecord.Kind.allCases)
        #expect(firstDifference(try store.reader().records(matching: all).map(\.record), records.map(normalized)) == nil)
        // A version 1 frame with one byte of its notification changed no longer links.
        var altered = old.bytes
        altered[altered.count - 40] ^= 1
        #expect(try Journal.parse(altered, path: name).records.count == records.count - 1)
    }

    /// Lookups and queries decode a block only as far as their records (in 32 KiB steps): with
    /// blocks of many steps, every record must still come back whole, in every version.
    @Test(arguments: [1, 2, 3])
    func recordsDeepInLargeBlocksReadBackWhole(version: Int) throws {
        let directory = TemporaryDirectory()
        var options = smallOptions()
        options.segmentVersion = version
        options.segmentMaxBytes = 16 << 20
        options.blockSize = 192 << 10
        options.pairWindowBytes = 1 << 20
        let (store, records) = try sealedLog(in: directory, options: options, seed: 9, count: 4000)
        let reader = try store.reader()
        var byId: [String: [StoreRecord]] = [:]
        for record in records { if let id = record.fields?.id { byId[id, default: []].append(normalized(record)) } }
        for (id, expected) in byId {
            #expect(try reader.records(withId: id).map(\.record) == expected)
        }
        for record in records.filter({ _ in Bool.random() }).prefix(200) {
            #expect(try reader.record(topic: "by-id", partition: 0, offset: record.offset) == normalized(record))
        }
        #expect(byId.count > 1000)
    }

    /// An index of version 3 (varint columns, the id table as rows) reads back the very index
    /// that versions 1 and 2 hold, with the same id table, in fewer bytes; a version 3 id table
    /// out of order, naming a row without an id or leaving one out, is corrupt.
    @Test func everyIndexVersionReadsBackTheSameIndex() throws {
        let directory = TemporaryDirectory()
        var options = smallOptions()
        options.segmentMaxBytes = 1 << 20
        let (_, records) = try sealedLog(in: directory, options: options, seed: 21, count: 1500)
        let log = directory.path + "/by-id/0"
        let names = try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".idx") }.sorted()
        let largest = try names.map { try Array(Data(contentsOf: URL(fileURLWithPath: log + "/" + $0))) }.max { $0.count < $1.count }
        let index = try SegmentIndex.decode(try #require(largest), path: "largest")
        #expect(index.count > 1000 && index.idTable.count > 500)
        #expect(records.count == 1500)

        func same(_ a: SegmentIndex, _ b: SegmentIndex, requestIDs: Bool) {
            #expect(a.offsets == b.offsets && a.kinds == b.kinds && a.blockNumbers == b.blockNumbers)
            #expect(a.positions == b.positions && a.lengths == b.lengths && a.timestamps == b.timestamps)
            #expect(a.eventTimes == b.eventTimes && a.eventTypes == b.eventTypes && a.digests == b.digests)
            #expect(a.ids.values == b.ids.values && a.ids.codes == b.ids.codes)
            for i in 0..<(requestIDs ? a.fields.count : NotificationFields.stringFieldCount) {
                #expect(a.fields[i].values == b.fields[i].values && a.fields[i].codes == b.fields[i].codes)
            }
            #expect(a.idTable.map(\.hash) == b.idTable.map(\.hash) && a.idTable.map(\.row) == b.idTable.map(\.row))
            #expect(a.blocks.map(\.fileOffset) == b.blocks.map(\.fileOffset))
            #expect((a.baseOffset, a.nextOffset, a.minTime, a.maxTime) == (b.baseOffset, b.nextOffset, b.minTime, b.maxTime))
        }
        var sizes: [Int: Int] = [:]
        for version in 1...3 {
            let bytes = try index.encode(version: version)
            sizes[version] = bytes.count
            #expect(String(decoding: bytes.prefix(8), as: UTF8.self) == "ATIDX00\(version)")
            same(try SegmentIndex.decode(bytes, path: "v\(version)"), index, requestIDs: version >= 2)
        }
        #expect(sizes[3]! < sizes[2]!)

        // Rewrite version 3's id table: its first two rows swapped, a row without an id, a row left out.
        var unordered = index
        unordered.idTable.swapAt(0, 1)
        #expect(throws: StoreError.self) { try SegmentIndex.decode(try unordered.encode(version: 3), path: "unordered") }
        var noID = index
        let withoutID = try #require(index.ids.codes.firstIndex(of: 0))
        noID.idTable[0].row = UInt32(withoutID)
        #expect(throws: StoreError.self) { try SegmentIndex.decode(try noID.encode(version: 3), path: "no id") }
        var short = index
        short.idTable.removeLast()
        #expect(throws: StoreError.self) { try SegmentIndex.decode(try short.encode(version: 3), path: "short") }
    }
}
