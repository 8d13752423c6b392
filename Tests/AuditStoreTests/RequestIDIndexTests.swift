// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

@testable import AuditStore
import Foundation
import Testing

/// Request ids are index fields (FORMAT.md §3 flags bit 3, §6 index version 2): a query by
/// either finds exactly the notifications carrying it, in sealed segments and the journal, and
/// an index of version 1 lets its notifications through with their ids unknown.
@Suite struct RequestIDIndexTests {
    /// 300 notifications, a request id per call (both halves), a global request id on every
    /// third call, spread over two partitions.
    static func records(partition: Int) -> [StoreRecord] {
        (0..<300).map { number in
            let call = number / 2
            let fields = NotificationFields(
                id: "call-\(partition)-\(call)", eventType: number % 2 == 0 ? .request : .response,
                eventTime: Int64(1_000_000 + number), initiatorId: "user-\(call % 7)", projectId: "project-\(call % 3)",
                requestId: "req-\(partition)-\(call)", globalRequestId: call % 3 == 0 ? "global-\(call % 9)" : nil,
                digest: UInt64(number))
            return StoreRecord(
                offset: Int64(number), timestamp: 1, body: .notification(fields, bytes: Array("body \(number)".utf8)))
        }
    }

    static func write(_ directory: String, indexVersion: Int) throws {
        var options = smallOptions()
        options.indexVersion = indexVersion
        let store = try AuditStore(directory: directory, options: options)
        for partition in 0..<2 {
            let writer = try store.openWriter(topic: "t", partition: Int32(partition))
            let records = Self.records(partition: partition)
            try writer.append(Array(records.prefix(200)))
            try writer.seal()
            // The last 100 stay in the journal.
            try writer.append(Array(records.suffix(100)))
            try writer.close()
        }
    }

    static func query(requestId: String? = nil, globalRequestId: String? = nil, indexOnly: Bool = false) -> StoreQuery {
        var query = StoreQuery()
        query.requestId = requestId
        query.globalRequestId = globalRequestId
        query.indexOnly = indexOnly
        return query
    }

    @Test(arguments: [2, 3])
    func aQueryByRequestIDFindsExactlyItsNotificationsBeforeAndAfterAReopen(indexVersion: Int) throws {
        let directory = TemporaryDirectory()
        try Self.write(directory.path, indexVersion: indexVersion)
        let all = (0..<2).flatMap { Self.records(partition: $0) }
        for _ in 0..<2 {
            // A new reader each round: the second reads the files a reopened store sees.
            let reader = try AuditStore(directory: directory.path).reader()
            for requestId in ["req-0-5", "req-1-140", "req-0-149", "req-9-9"] {
                for indexOnly in [false, true] {
                    let found = try reader.records(matching: Self.query(requestId: requestId, indexOnly: indexOnly))
                    let expected = all.filter { $0.fields?.requestId == requestId }
                    #expect(found.map(\.record.offset).sorted() == expected.map(\.offset).sorted())
                    #expect(found.allSatisfy { $0.record.fields?.requestId == requestId && $0.record.fields?.requestIDsRecorded == true })
                }
            }
            for global in ["global-0", "global-3"] {
                let found = try reader.records(matching: Self.query(globalRequestId: global))
                #expect(found.count == all.filter { $0.fields?.globalRequestId == global }.count)
                #expect(found.count > 4)
                #expect(found.allSatisfy { $0.record.fields?.globalRequestId == global })
            }
            let both = try reader.records(matching: Self.query(requestId: "req-1-9", globalRequestId: "global-0"))
            #expect(both.map(\.record.fields?.id) == ["call-1-9", "call-1-9"])
        }
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    @Test func anIndexOfVersion1LetsItsNotificationsThroughWithTheirIDsUnknown() throws {
        let directory = TemporaryDirectory()
        try Self.write(directory.path, indexVersion: 1)
        let log = directory.path + "/t/0"
        let magics = try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".idx") }.map {
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: log + "/" + $0)).prefix(8), as: UTF8.self)
        }
        #expect(!magics.isEmpty && magics.allSatisfy { $0 == "ATIDX001" })
        let reader = try AuditStore(directory: directory.path).reader()
        let found = try reader.records(matching: Self.query(requestId: "req-0-140"))
        // The journal's two (ids recorded), and every sealed notification of both logs, whose
        // ids the version-1 indexes do not know: the caller decides from their bytes.
        let recorded = found.filter { $0.record.fields?.requestIDsRecorded == true }
        #expect(recorded.map(\.record.fields?.requestId) == ["req-0-140", "req-0-140"])
        let unknown = found.filter { $0.record.fields?.requestIDsRecorded == false }
        #expect(unknown.count == 400)
        #expect(unknown.allSatisfy { $0.record.fields?.requestId == nil && $0.record.offset < 200 })
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    @Test func journalRecordsCarryTheirRequestIDsAndOlderOnesSayTheyHaveNone() throws {
        let record = Self.records(partition: 0)[7]
        var writer = ByteWriter()
        RecordCodec.encode(record, includeFields: true, into: &writer)
        let decoded = try writer.bytes.withBytes { (raw) throws(StoreError) in
            var reader = ByteReader(raw)
            return try RecordCodec.decode(&reader)
        }
        #expect(decoded == record)
        // A record written before flags bit 3: the ids are unknown, not absent.
        var old = record
        if case .notification(var fields, let bytes) = old.body {
            fields.requestIDsRecorded = false
            fields.requestId = nil
            fields.globalRequestId = nil
            old.body = .notification(fields, bytes: bytes)
        }
        var oldWriter = ByteWriter()
        RecordCodec.encode(old, includeFields: true, into: &oldWriter)
        #expect(oldWriter.bytes[1] & 8 == 0)
        #expect(oldWriter.bytes.count < writer.bytes.count)
        let oldDecoded = try oldWriter.bytes.withBytes { (raw) throws(StoreError) in
            var reader = ByteReader(raw)
            return try RecordCodec.decode(&reader)
        }
        #expect(oldDecoded.fields?.requestIDsRecorded == false)
        #expect(oldDecoded == old)
    }
}
