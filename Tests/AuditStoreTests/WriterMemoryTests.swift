// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Synchronization
import Testing

@testable import AuditStore

/// The writers of one store share one memory budget (DESIGN §6.6): many open logs write smaller
/// blocks and a cheaper dictionary instead of holding more, and everything still reads back.
@Suite struct WriterMemoryTests {
    @Test func manyLogsShareTheBudgetAndStillReadBackAndVerify() throws {
        let directory = TemporaryDirectory()
        var options = StoreOptions()
        options.writerMemoryBudget = 1 << 20
        let store = try AuditStore(directory: directory.path, options: options)
        let logs = 32
        let writers = try (0..<logs).map { try store.openWriter(topic: "t", partition: Int32($0)) }
        #expect(store.memory.share == (1 << 20) / logs)
        var expected: [[StoreRecord]] = Array(repeating: [], count: logs)
        var factory = RecordFactory(seed: 21)
        for round in 0..<20 {
            for (partition, writer) in writers.enumerated() {
                factory.nextOffset = writer.nextOffset ?? 0
                let records = factory.batch(10 + (round + partition) % 7)
                try writer.append(records)
                expected[partition] += records
            }
            _ = try LogWriter.sync(writers)
        }
        for writer in writers { try writer.seal() }
        // A quarter of a 32 KiB share: blocks of at most 8 KiB of records (plus the last record).
        let limit = max(4 << 10, store.memory.share / 4)
        let largest = expected.joined().compactMap { $0.bytes?.count }.max() ?? 0
        for partition in 0..<logs {
            let path = LogFiles.logDirectory(data: directory.path, topic: "t", partition: Int32(partition))
            let manifest = try #require(try Manifest.read(directory: path))
            for segment in manifest.segments {
                let base = path + "/" + LogFiles.name(segment.base, "")
                let reader = try SegmentReader(segmentPath: base + LogFiles.segment, indexPath: base + LogFiles.index)
                #expect(try reader.header().dictionary.count <= store.memory.share / 8)
                for block in reader.index.blocks { #expect(Int(block.rawLength) <= limit + largest + 512) }
            }
        }
        for writer in writers { try writer.close() }
        #expect(store.memory.share == 1 << 20)
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        let read = try store.reader().records(matching: query)
        for partition in 0..<logs {
            let stored = read.filter { $0.partition == Int32(partition) }.map(\.record)
            #expect(firstDifference(stored, expected[partition].map(normalized)) == nil)
        }
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    @Test func aLogWithEnoughFirstDataTrainsItsDictionary() throws {
        let directory = TemporaryDirectory()
        let store = try AuditStore(directory: directory.path)  // defaults: one writer has the whole budget
        let writer = try store.openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 22)
        var records: [StoreRecord] = []
        while records.compactMap(\.bytes).map(\.count).reduce(0, +) < SegmentWriter.minimumTrainingBytes * 3 / 2 {
            let batch = factory.batch(500)
            try writer.append(batch)
            records += batch
        }
        try writer.seal()
        try writer.close()
        let path = LogFiles.logDirectory(data: directory.path, topic: "t", partition: 0)
        let segment = try #require(try Manifest.read(directory: path)?.segments.first)
        let dictionary = try LogWriter.dictionary(of: path + "/" + LogFiles.name(segment.base, LogFiles.segment))
        // A trained zstd dictionary starts with its magic number, 0xEC30A437.
        #expect(Array(dictionary.prefix(4)) == [0x37, 0xA4, 0x30, 0xEC])
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        #expect(firstDifference(try store.reader().records(matching: query).map(\.record), records.map(normalized)) == nil)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    /// A worker appends its logs on every core at once; the writers then share the store's
    /// compression contexts (one per core, fewer than the threads here). Each log must come out
    /// byte for byte as when the logs are appended one after another.
    @Test func logsAppendedOnManyThreadsAtOnceAreTheSameAsAppendedInTurn() throws {
        let logs = 8
        func write(_ directory: TemporaryDirectory, concurrently: Bool) throws {
            let store = try AuditStore(directory: directory.path, options: smallOptions())
            let writers = try (0..<logs).map { try store.openWriter(topic: "t", partition: Int32($0)) }
            nonisolated(unsafe) let shared = writers
            let failures = Mutex<[String]>([])
            let appendLog = { @Sendable (partition: Int) in
                var factory = RecordFactory(seed: 40 + UInt64(partition))
                do {
                    for round in 0..<12 { try shared[partition].append(factory.batch(40 + round % 5)) }
                    try shared[partition].close()
                } catch {
                    failures.withLock { $0.append("log \(partition): \(error)") }
                }
            }
            if concurrently {
                DispatchQueue.concurrentPerform(iterations: logs, execute: appendLog)
            } else {
                for partition in 0..<logs { appendLog(partition) }
            }
            #expect(failures.withLock { $0 }.isEmpty)
            #expect(StoreVerifier(directory: directory.path).verify().isValid)
        }
        let inTurn = TemporaryDirectory()
        let atOnce = TemporaryDirectory()
        try write(inTurn, concurrently: false)
        try write(atOnce, concurrently: true)
        var sealed = 0
        for partition in 0..<logs {
            let relative = LogFiles.logDirectory(data: "", topic: "t", partition: Int32(partition))
            let names = try FileManager.default.contentsOfDirectory(atPath: inTurn.path + relative).sorted()
            #expect(try FileManager.default.contentsOfDirectory(atPath: atOnce.path + relative).sorted() == names)
            for name in names {
                let expected = try Data(contentsOf: URL(fileURLWithPath: inTurn.path + relative + "/" + name))
                let actual = try Data(contentsOf: URL(fileURLWithPath: atOnce.path + relative + "/" + name))
                #expect(actual == expected, "log \(partition), \(name)")
                if name.hasSuffix(LogFiles.segment) { sealed += 1 }
            }
        }
        // Enough data that every log sealed segments, i.e. compressed blocks.
        #expect(sealed >= logs * 2)
    }
}
