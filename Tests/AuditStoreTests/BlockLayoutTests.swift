// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

@testable import AuditStore
import Testing

/// A version 3 block (FORMAT.md §5.2): heads as columns of varints, compressed apart from the
/// bodies, read back record by record, whole or as a prefix.
@Suite struct BlockLayoutTests {
    @Test func varintsRoundTripAtTheirBoundaries() throws {
        /// Writes `value`, checks it took `length` bytes, and reads it back whole.
        func roundTrip<Value: Equatable>(
            _ value: Value, length: Int, write: (inout ByteWriter, Value) -> Void,
            read: (inout ByteReader) throws(StoreError) -> Value
        ) throws {
            var writer = ByteWriter()
            write(&writer, value)
            #expect(writer.bytes.count == length, "\(value)")
            try writer.bytes.withBytes { (buffer) throws(StoreError) in
                var reader = ByteReader(buffer)
                #expect(try read(&reader) == value)
                #expect(reader.remaining == 0)
            }
        }
        for (value, length) in [(0, 1), (1, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (UInt64.max, 10)] as [(UInt64, Int)] {
            try roundTrip(value, length: length, write: { $0.varint($1) }, read: { (reader) throws(StoreError) in try reader.varint() })
        }
        for (value, length) in [(0, 1), (-1, 1), (1, 1), (-64, 1), (64, 2), (Int64.min, 10), (Int64.max, 10)] as [(Int64, Int)] {
            try roundTrip(
                value, length: length, write: { $0.signedVarint($1) }, read: { (reader) throws(StoreError) in try reader.signedVarint() })
        }
        // Cut short, or longer than 64 bits: corrupt, not a wrong number.
        for bad: [UInt8] in [[0x80], [0xFF, 0xFF], [UInt8](repeating: 0xFF, count: 10) + [0x01], [UInt8](repeating: 0x80, count: 9) + [0x02]] {
            bad.withUnsafeBytes { buffer in
                var reader = ByteReader(buffer)
                #expect(throws: StoreError.self) { try reader.varint() }
            }
        }
    }

    /// Every kind of record, with and without an origin, offsets going back and forth and
    /// timestamps from -1 to far ahead: what goes into the block comes back, from the whole
    /// block and from a prefix decoded only as far as one record.
    @Test(arguments: [false, true])
    func everyKindOfRecordComesBackFromAVersion3Block(dictionary: Bool) throws {
        var records: [StoreRecord] = []
        let origin = Origin(topic: "notifications.info", partition: 7, offset: 1 << 40, timestamp: 1_700_000_000_123)
        let kinds: [StoreRecord.Body] = [
            .notification(RecordCodec.placeholderFields, bytes: Array(#"{"oslo.message": "a request"}"#.utf8)),
            .notification(RecordCodec.placeholderFields, bytes: []),
            .quarantined(reason: "notJSON", detail: "at byte 3", bytes: [0, 1, 2, 0xFF]),
            .skipped(eventType: "duplicate response abc"),
            .forwarded(topic: "audit.by-id", key: "abc", copy: CopyPosition(partition: 3, offset: 99)),
            .forwarded(topic: "audit.by-id", key: "abd", copy: nil),
            .gap(to: 5_000_000_000_010),
        ]
        let offsets: [Int64] = [5_000_000_000_000, 4_999_999_000_000, 5_000_000_000_001, 0, 5_000_000_000_002, 7, 5_000_000_000_003]
        let timestamps: [Int64] = [-1, 1_700_000_000_000, 1_600_000_000_000, .max, 0, -1, 1_800_000_000_000]
        for (i, body) in kinds.enumerated() {
            for withOrigin in [false, true] {
                records.append(StoreRecord(offset: offsets[i], timestamp: timestamps[i], origin: withOrigin ? origin : nil, body: body))
            }
        }
        // Enough notifications for the bodies to span several of zstd's 128 KiB blocks.
        for n in 0..<400 {
            let bytes = Array("{\"n\": \(n), \"payload\": \"\(String(repeating: "x", count: 700 + n))\"}".utf8)
            records.append(StoreRecord(offset: 10_000 + Int64(n), timestamp: 1_700_000_000_000 + Int64(n), body: .notification(RecordCodec.placeholderFields, bytes: bytes)))
        }
        var builder = BlockBuilder(version: 3)
        var ordinals: [UInt32] = []
        for record in records {
            let (position, length) = builder.add(record)
            #expect(length == 0)
            ordinals.append(position)
        }
        #expect(ordinals == (0..<UInt32(records.count)).map { $0 })
        let raw = builder.take()
        #expect(builder.rawLength == 4 + HeadColumns().length)
        let codec = ZstdCodec(level: 1, dictionary: dictionary ? Array(records[0].bytes!) + Array(repeating: 0x78, count: 300) : [])
        let compressed = try BlockCompression.compress(raw, version: 3, with: codec)

        let whole = try compressed.withBytes { (buffer) throws(StoreError) in
            try BlockCompression.decompress(buffer, rawLength: raw.count, version: 3, with: codec)
        }
        #expect(whole == raw)
        var read: [StoreRecord] = []
        try DecodedBlock(whole, version: 3).forEachRecord { read.append($0) }
        #expect(firstDifference(read, records) == nil)

        // A prefix as far as record 20's bytes: that record reads back, a later one's bytes do not.
        var heads: [HeadColumns.Head]?
        let (prefix, decoded) = try compressed.withBytes { (buffer) throws(StoreError) in
            try BlockCompression.decompressPrefix(buffer, rawLength: raw.count, version: 3, with: codec) { (prefix) throws(StoreError) in
                try DecodedBlock.needed(prefix, rawLength: raw.count, version: 3, positions: [20], lengths: [0], heads: &heads)
            }
        }
        #expect(decoded < raw.count)
        #expect(heads?.count == records.count)
        let partial = try DecodedBlock(prefix, decoded: decoded, version: 3, heads: heads)
        #expect(try partial.record(at: 20) == records[20])
        #expect(try partial.record(at: 3) == records[3])
        #expect(throws: StoreError.self) { try partial.record(at: records.count - 1) }
        #expect(throws: StoreError.self) { try partial.record(at: records.count) }
    }

    /// A changed byte anywhere in a version 3 block's compressed bytes is an error, never a crash
    /// (the hash chain is what catches a change that still decodes).
    @Test func aDamagedVersion3BlockFailsToDecode() throws {
        var builder = BlockBuilder(version: 3)
        var factory = RecordFactory(seed: 3)
        for record in factory.batch(60) { _ = builder.add(record) }
        let raw = builder.take()
        let codec = ZstdCodec(level: 1)
        let compressed = try BlockCompression.compress(raw, version: 3, with: codec)
        var failures = 0
        var failed: Set<Int> = []
        for position in Array(0..<8) + Array(stride(from: 8, to: compressed.count, by: max(1, compressed.count / 200))) {
            var damaged = compressed
            damaged[position] ^= 0x5A
            do throws(StoreError) {
                let decoded = try damaged.withBytes { (buffer) throws(StoreError) in
                    try BlockCompression.decompress(buffer, rawLength: raw.count, version: 3, with: codec)
                }
                try DecodedBlock(decoded, version: 3).forEachRecord { _ in }
            } catch {
                failures += 1
                failed.insert(position)
            }
        }
        // The two lengths in front of the frames: every change of their low bytes is caught.
        #expect(failed.isSuperset(of: [0, 4]))
        #expect(failures > 2)
    }
}
