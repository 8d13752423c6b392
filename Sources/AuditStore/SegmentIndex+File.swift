// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

#if _endian(big)
#error("The index columns are written as little-endian memory images")
#endif

/// The `.idx` sidecar file (FORMAT.md §6): a plain header, the body compressed with zstd, and
/// the SHA-256 of everything before it.
extension SegmentIndex {
    /// The magic of an index of `version`. Version 3: integer columns as varints, the id table
    /// as rows only. Version 2: request ids indexed. Versions 1 (no request-id columns) and 2
    /// stay readable.
    static func magic(version: Int) -> [UInt8] { Array("ATIDX00\(version)".utf8) }

    /// The file's bytes, in format `version` (3; the tests write 1 and 2 to check older indexes).
    func encode(version: Int = 3) throws(StoreError) -> [UInt8] {
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
        let packed = version >= 3
        Self.column(kinds, into: &body)
        if packed {
            Self.differences(offsets, from: baseOffset, into: &body)
            for column in [blockNumbers, positions, lengths] { for value in column { body.varint(UInt64(value)) } }
            Self.differences(timestamps, from: 0, into: &body)
            Self.differences(eventTimes, from: 0, into: &body)
        } else {
            Self.column(offsets, into: &body)
            Self.column(blockNumbers, into: &body)
            Self.column(positions, into: &body)
            Self.column(lengths, into: &body)
            Self.column(timestamps, into: &body)
            Self.column(eventTimes, into: &body)
        }
        Self.column(eventTypes, into: &body)
        Self.column(digests, into: &body)
        if version >= 2 { Self.column(requestIDsRecorded, into: &body) }
        for strings in [ids] + fields.prefix(version >= 2 ? fields.count : NotificationFields.stringFieldCount) {
            body.u32(UInt32(strings.values.count))
            for value in strings.values { body.string(value) }
            if packed {
                for code in strings.codes { body.varint(UInt64(code)) }
            } else {
                Self.column(strings.codes, into: &body)
            }
        }
        body.u32(UInt32(idTable.count))
        for entry in idTable {
            // Version 3 keeps the order only: each row's hash is its id's, computed on load.
            if packed {
                body.varint(UInt64(entry.row))
            } else {
                body.u64(entry.hash)
                body.u32(entry.row)
            }
        }
        let compressed = try body.bytes.withBytes { (raw) throws(StoreError) in
            try ZstdCodec(level: 1).compress(raw)
        }
        var file = ByteWriter(capacity: compressed.count + 128)
        file.raw(Self.magic(version: version))
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
            guard let version = (1...3).first(where: { magic(version: $0) == fileMagic }) else {
                throw StoreError(.corrupt, "\(path): not an index")
            }
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
                let packed = version >= 3
                index.kinds = try column(&reader, count)
                if packed {
                    index.offsets = try sums(&reader, count, from: index.baseOffset)
                    index.blockNumbers = try varints(&reader, count)
                    index.positions = try varints(&reader, count)
                    index.lengths = try varints(&reader, count)
                    index.timestamps = try sums(&reader, count, from: 0)
                    index.eventTimes = try sums(&reader, count, from: 0)
                } else {
                    index.offsets = try column(&reader, count)
                    index.blockNumbers = try column(&reader, count)
                    index.positions = try column(&reader, count)
                    index.lengths = try column(&reader, count)
                    index.timestamps = try column(&reader, count)
                    index.eventTimes = try column(&reader, count)
                }
                index.eventTypes = try column(&reader, count)
                index.digests = try column(&reader, count)
                index.requestIDsRecorded =
                    version >= 2 ? try column(&reader, count) : [UInt8](repeating: 0, count: count)
                index.ids = try stringColumn(&reader, count, packed: packed)
                for i in index.fields.indices {
                    if version >= 2 || i < NotificationFields.stringFieldCount {
                        index.fields[i] = try stringColumn(&reader, count, packed: packed)
                    } else {
                        index.fields[i] = StringColumn(values: [], codes: [UInt32](repeating: 0, count: count))
                    }
                }
                let ids = Int(try reader.u32())
                guard ids <= count else { throw StoreError(.corrupt, "\(path): \(ids) ids for \(count) rows") }
                index.idTable.reserveCapacity(ids)
                if packed {
                    // Rows with an id, each once (the order is strict): every one of them.
                    guard index.ids.codes.reduce(0, { $0 + ($1 == 0 ? 0 : 1) }) == ids else {
                        throw StoreError(.corrupt, "\(path): id table of \(ids) rows, not every row with an id")
                    }
                    let hashes = index.ids.values.map(SegmentIndex.hash)
                    for _ in 0..<ids {
                        let row = try reader.varint()
                        guard row < UInt64(count), index.ids.codes[Int(row)] != 0 else {
                            throw StoreError(.corrupt, "\(path): id table names row \(row), which has no id")
                        }
                        let code = index.ids.codes[Int(row)]
                        let entry = (hash: hashes[Int(code) - 1], row: UInt32(row))
                        if let last = index.idTable.last, (last.hash, last.row) >= (entry.hash, entry.row) {
                            throw StoreError(.corrupt, "\(path): id table out of order at row \(row)")
                        }
                        index.idTable.append(entry)
                    }
                } else {
                    for _ in 0..<ids { index.idTable.append((try reader.u64(), try reader.u32())) }
                }
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

    /// `values` as signed varints of their differences, the first's from `start` (version 3).
    private static func differences(_ values: [Int64], from start: Int64, into writer: inout ByteWriter) {
        var previous = start
        for value in values {
            writer.signedVarint(value &- previous)
            previous = value
        }
    }

    /// What ``differences(_:from:into:)`` wrote.
    private static func sums(_ reader: inout ByteReader, _ count: Int, from start: Int64) throws(StoreError) -> [Int64] {
        var values: [Int64] = []
        values.reserveCapacity(count)
        var value = start
        try reader.forEachVarint(count) { zigzag in
            value &+= ByteReader.signed(zigzag: zigzag)
            values.append(value)
        }
        return values
    }

    /// `count` varints that each fit in a `UInt32`.
    private static func varints(_ reader: inout ByteReader, _ count: Int) throws(StoreError) -> [UInt32] {
        var values: [UInt32] = []
        values.reserveCapacity(count)
        try reader.forEachVarint(count) { (value) throws(StoreError) in
            guard value <= UInt64(UInt32.max) else { throw StoreError(.corrupt, "index value \(value) out of range") }
            values.append(UInt32(value))
        }
        return values
    }

    private static func stringColumn(_ reader: inout ByteReader, _ count: Int, packed: Bool) throws(StoreError) -> StringColumn {
        var strings = StringColumn()
        let values = Int(try reader.u32())
        for _ in 0..<values { strings.values.append(try reader.string()) }
        strings.codes = packed ? try varints(&reader, count) : try column(&reader, count)
        guard strings.codes.allSatisfy({ Int($0) <= values }) else { throw StoreError(.corrupt, "string code out of range") }
        return strings
    }
}
