// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

#if _endian(big)
#error("The index columns are written as little-endian memory images")
#endif

/// The `.idx` sidecar file (FORMAT.md §6): a plain header, the body compressed with zstd, and
/// the SHA-256 of everything before it.
extension SegmentIndex {
    /// Version 2: request ids indexed. Version 1 files (no request-id columns) stay readable.
    static let magic = Array("ATIDX002".utf8)
    static let version1Magic = Array("ATIDX001".utf8)

    /// The file's bytes, in format `version` (2; the tests write 1 to check older indexes).
    func encode(version: Int = 2) throws(StoreError) -> [UInt8] {
        var body = ByteWriter(capacity: count * 96)
        for block in blocks {
            body.i64(block.fileOffset)
            body.u32(block.compressedLength)
            body.u32(block.rawLength)
            body.u32(block.recordCount)
            body.i64(block.firstOffset)
            body.i64(block.nextOffset)
            body.i64(block.minTime)
            body.i64(block.maxTime)
        }
        Self.column(kinds, into: &body)
        Self.column(offsets, into: &body)
        Self.column(blockNumbers, into: &body)
        Self.column(positions, into: &body)
        Self.column(lengths, into: &body)
        Self.column(timestamps, into: &body)
        Self.column(eventTimes, into: &body)
        Self.column(eventTypes, into: &body)
        Self.column(digests, into: &body)
        if version >= 2 { Self.column(requestIDsRecorded, into: &body) }
        for strings in [ids] + fields.prefix(version >= 2 ? fields.count : NotificationFields.stringFieldCount) {
            body.u32(UInt32(strings.values.count))
            for value in strings.values { body.string(value) }
            Self.column(strings.codes, into: &body)
        }
        body.u32(UInt32(idTable.count))
        for entry in idTable {
            body.u64(entry.hash)
            body.u32(entry.row)
        }
        let compressed = try body.bytes.withBytes { (raw) throws(StoreError) in
            try ZstdCodec(level: 1).compress(raw)
        }
        var file = ByteWriter(capacity: compressed.count + 128)
        file.raw(version >= 2 ? Self.magic : Self.version1Magic)
        file.u32(0)
        file.i64(baseOffset)
        file.i64(nextOffset)
        file.u32(UInt32(count))
        file.u32(UInt32(blocks.count))
        file.i64(minTime)
        file.i64(maxTime)
        file.u32(UInt32(body.bytes.count))
        file.u32(UInt32(compressed.count))
        file.patchU32(UInt32(file.bytes.count), at: 8)
        file.raw(compressed)
        file.raw(HashChain.digest(file.bytes))
        return file.bytes
    }

    /// Parses and checks an `.idx` file's bytes (its trailing SHA-256 first).
    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> SegmentIndex {
        guard bytes.count > 32 + 64,
            HashChain.digest(bytes[..<(bytes.count - 32)]) == Array(bytes[(bytes.count - 32)...])
        else { throw StoreError(.corrupt, "\(path): index checksum mismatch or file too short") }
        return try bytes.withBytes { (buffer) throws(StoreError) -> SegmentIndex in
            var header = ByteReader(UnsafeRawBufferPointer(rebasing: buffer[..<(buffer.count - 32)]))
            let fileMagic = Array(try header.raw(8))
            guard fileMagic == magic || fileMagic == version1Magic else { throw StoreError(.corrupt, "\(path): not an index") }
            let version = fileMagic == magic ? 2 : 1
            _ = try header.u32()
            var index = SegmentIndex(baseOffset: try header.i64())
            index.nextOffset = try header.i64()
            let count = Int(try header.u32())
            let blockCount = Int(try header.u32())
            index.minTime = try header.i64()
            index.maxTime = try header.i64()
            let rawLength = Int(try header.u32())
            let compressed = try header.raw(Int(try header.u32()))
            guard header.remaining == 0 else { throw StoreError(.corrupt, "\(path): trailing bytes in index") }
            let raw = try ZstdCodec(level: 1).decompress(compressed, rawLength: rawLength)
            try raw.withBytes { (body) throws(StoreError) in
                var reader = ByteReader(body)
                for _ in 0..<blockCount {
                    index.blocks.append(
                        Block(
                            fileOffset: try reader.i64(), compressedLength: try reader.u32(),
                            rawLength: try reader.u32(), recordCount: try reader.u32(),
                            firstOffset: try reader.i64(), nextOffset: try reader.i64(), minTime: try reader.i64(),
                            maxTime: try reader.i64()))
                }
                index.kinds = try column(&reader, count)
                index.offsets = try column(&reader, count)
                index.blockNumbers = try column(&reader, count)
                index.positions = try column(&reader, count)
                index.lengths = try column(&reader, count)
                index.timestamps = try column(&reader, count)
                index.eventTimes = try column(&reader, count)
                index.eventTypes = try column(&reader, count)
                index.digests = try column(&reader, count)
                index.requestIDsRecorded =
                    version >= 2 ? try column(&reader, count) : [UInt8](repeating: 0, count: count)
                index.ids = try stringColumn(&reader, count)
                for i in index.fields.indices {
                    if version >= 2 || i < NotificationFields.stringFieldCount {
                        index.fields[i] = try stringColumn(&reader, count)
                    } else {
                        index.fields[i] = StringColumn(values: [], codes: [UInt32](repeating: 0, count: count))
                    }
                }
                let ids = Int(try reader.u32())
                index.idTable.reserveCapacity(ids)
                for _ in 0..<ids { index.idTable.append((try reader.u64(), try reader.u32())) }
                guard reader.remaining == 0 else { throw StoreError(.corrupt, "\(path): trailing bytes in index body") }
            }
            return index
        }
    }

    private static func column<T: FixedWidthInteger>(_ values: [T], into writer: inout ByteWriter) {
        values.withUnsafeBytes { writer.raw($0) }
    }

    private static func column<T: FixedWidthInteger>(_ reader: inout ByteReader, _ count: Int) throws(StoreError) -> [T] {
        let raw = try reader.raw(count * MemoryLayout<T>.size)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            initialized = count
        }
    }

    private static func stringColumn(_ reader: inout ByteReader, _ count: Int) throws(StoreError) -> StringColumn {
        var strings = StringColumn()
        let values = Int(try reader.u32())
        for _ in 0..<values { strings.values.append(try reader.string()) }
        strings.codes = try column(&reader, count)
        guard strings.codes.allSatisfy({ Int($0) <= values }) else { throw StoreError(.corrupt, "string code out of range") }
        return strings
    }
}
