// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import Testing

/// The index must answer exactly what a brute-force scan of the written records answers.
@Suite struct QueryTests {
    /// Lives as long as the test (the reader opens sealed segments lazily).
    private let directory = TemporaryDirectory()

    /// Four logs of random records across sealed segments and journals, and the records
    /// written, in reader order (topic, partition, offset).
    private func makeStore() throws -> (StoreReader, [StoredRecord]) {
        let store = try AuditStore(directory: directory.path, options: smallOptions())
        var truth: [StoredRecord] = []
        var seed: UInt64 = 31
        for topic in ["by-id", "notifications.info"] {
            for partition: Int32 in [0, 1] {
                let writer = try store.openWriter(topic: topic, partition: partition)
                var factory = RecordFactory(seed: seed)
                seed += 1
                let records = factory.batch(700)
                for chunk in stride(from: 0, to: records.count, by: 97) {
                    try writer.append(Array(records[chunk..<min(chunk + 97, records.count)]))
                }
                try writer.sync()
                truth += records.map { StoredRecord(topic: topic, partition: partition, record: normalized($0)) }
            }
        }
        return (try store.reader(), truth)
    }

    private func check(_ reader: StoreReader, _ truth: [StoredRecord], _ query: StoreQuery) throws {
        let expected = truth.filter { query.matches($0.record) }
            .filter { query.topic == nil || $0.topic == query.topic }
            .filter { query.partition == nil || $0.partition == query.partition }
        let found = try reader.records(matching: query)
        if found != expected {
            Issue.record("query \(query): \(found.count) found, \(expected.count) expected; \(firstDifference(found.map(\.record), expected.map(\.record)) ?? "order")")
        }
    }

    @Test func manyOffsetsAtOnceReadWhatOneAtATimeReads() throws {
        let (reader, truth) = try makeStore()
        var random = SeededRandom(seed: 12)
        var locations = (0..<600).map { _ in truth[random.next(below: truth.count)] }
            .map { (topic: $0.topic, partition: $0.partition, offset: $0.record.offset) }
        locations += [("none", 0, 0), ("by-id", 0, 1_000_000), ("notifications.info", 7, 3)]
        let together = try reader.records(at: locations)
        let alone = try locations.map { try reader.record(topic: $0.topic, partition: $0.partition, offset: $0.offset) }
        #expect(together == alone)
        #expect(together.compactMap { $0 }.count == 600)
    }

    @Test func everyFilterAndCombinationEqualsABruteForceScan() throws {
        let (reader, truth) = try makeStore()
        var random = SeededRandom(seed: 32)
        let ids = truth.compactMap { $0.record.fields?.id }
        func maybe(_ values: [String], _ r: inout SeededRandom) -> String {
            // Mostly values that exist, sometimes one that does not.
            Int.random(in: 0..<6, using: &r) == 0 ? "absent" : values.randomElement(using: &r)!
        }
        let setters: [(inout StoreQuery, inout SeededRandom) -> Void] = [
            { q, r in q.id = maybe(ids, &r) },
            { q, r in
                let start = 1_700_000_000_000_000 + Int64.random(in: 0..<10_000_000, using: &r)
                q.timeRange = start..<start + Int64.random(in: 0..<5_000_000, using: &r)
            },
            { q, r in q.initiatorId = "uid-" + maybe(RecordFactory.users, &r) },
            { q, r in q.initiatorName = maybe(RecordFactory.users, &r) },
            { q, r in q.projectId = maybe(RecordFactory.projects, &r) },
            { q, r in q.actionPrefix = String(maybe(RecordFactory.actions, &r).prefix(Int.random(in: 1...6, using: &r))) },
            { q, r in q.outcome = maybe(RecordFactory.outcomes, &r) },
            { q, r in q.targetTypeURI = maybe(RecordFactory.types, &r) },
            { q, r in q.targetId = maybe(["t1", "t2", "t3"], &r) },
            { q, r in q.publisher = maybe(RecordFactory.publishers, &r) },
            { q, r in q.eventType = Bool.random(using: &r) ? .request : .response },
            { q, r in q.kinds = Set(StoreRecord.Kind.allCases.filter { _ in Bool.random(using: &r) }) },
            { q, r in q.topic = Bool.random(using: &r) ? "by-id" : "notifications.info" },
            { q, r in q.partition = Int32.random(in: 0...1, using: &r) },
        ]
        // Each filter alone, several times.
        for setter in setters {
            for _ in 0..<8 {
                var query = StoreQuery()
                setter(&query, &random)
                try check(reader, truth, query)
            }
        }
        // Random combinations of two to five filters.
        for _ in 0..<300 {
            var query = StoreQuery()
            for setter in setters.shuffled(using: &random).prefix(Int.random(in: 2...5, using: &random)) {
                setter(&query, &random)
            }
            try check(reader, truth, query)
        }
        var all = StoreQuery()
        all.kinds = Set(StoreRecord.Kind.allCases)
        try check(reader, truth, all)
    }

    @Test func lookupByIdFindsBothHalvesAcrossLogs() throws {
        let (reader, truth) = try makeStore()
        for id in Set(truth.compactMap { $0.record.fields?.id }).sorted().prefix(200) {
            let expected = truth.filter { $0.record.fields?.id == id }
            #expect(try reader.records(withId: id) == expected)
        }
        #expect(try reader.records(withId: "no-such-id").isEmpty)
    }

    @Test func orphansAreIdsWithOneHalf() throws {
        let (reader, truth) = try makeStore()
        var halves: [String: Set<NotificationFields.EventType>] = [:]
        for stored in truth { if let fields = stored.record.fields { halves[fields.id, default: []].insert(fields.eventType) } }
        let expected = halves.filter { $0.value.count == 1 }.map { Orphan(id: $0.key, present: $0.value.first!) }
            .sorted { $0.id < $1.id }
        #expect(try reader.orphans() == expected)
        #expect(!expected.isEmpty)
    }

    @Test func cursorStreamsInLogOrder() throws {
        let (reader, truth) = try makeStore()
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        var cursor = reader.cursor(query)
        var count = 0
        while let next = try cursor.next() {
            #expect(next == truth[count])
            count += 1
        }
        #expect(count == truth.count)
    }

    /// One sealed segment of many blocks whose matches fill several of the cursor's batches:
    /// every batch decodes its blocks on every core and must still stream in offset order.
    @Test func cursorReadsLargeSegmentsInBatchesInOffsetOrder() throws {
        var options = smallOptions()
        options.segmentMaxBytes = 64 << 20
        let (store, records) = try sealedLog(in: directory, options: options, seed: 77, count: 7000)
        let truth = records.map { StoredRecord(topic: "by-id", partition: 0, record: normalized($0)) }
        let reader = try store.reader()
        var all = StoreQuery()
        all.kinds = Set(StoreRecord.Kind.allCases)
        try check(reader, truth, all)
        var responses = StoreQuery()
        responses.eventType = .response
        try check(reader, truth, responses)
        #expect(try reader.records(matching: responses).count > 0)
        #expect(truth.count > 3 * 2048)
    }
}
