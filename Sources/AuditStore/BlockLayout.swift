// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// The decompressed content of a sealed block (FORMAT.md §5.2).
///
/// Version 2 (segments `ATSEG002`) keeps the records' `bytes` apart from the rest of them:
///
///     u32 headsLength | heads: recordCount × (u32 length | record, bytes detached) | bodies
///
/// `bodies` are the bytes of the records that have them, in the order of the heads. zstd then
/// sees the notifications back to back, a response right after its request, and the small
/// binary heads (offsets, timestamps, lengths) together, where they repeat each other; mixing
/// the two, as version 1 did (`recordCount × (u32 length | record)`), cost 2 % of the
/// compressed size with 256 KiB blocks and 4 % with 1 MiB blocks (`bench store`).
///
/// Version 3 (segments `ATSEG003`) lays the heads out as columns, each small number a varint
/// of its difference from the record before (``HeadColumns``), and compresses them apart from
/// the bodies (``BlockCompression``): in the dictionary-compressed frame of version 2 the heads
/// cost 8.3 bytes a record, as columns in a frame of their own 4.6 (300k notifications of
/// `bench store`'s corpus), 3 % of a block.
struct BlockBuilder {
    /// 3; 2 or 1 to write the earlier layouts (the tests' older segments).
    let version: Int
    /// Whether heads carry the records' fields (a journal frame's do; a sealed block's index holds them).
    let includeFields: Bool
    private var heads = ByteWriter()
    private var columns = HeadColumns()
    private var bodies = ByteWriter()

    /// - Parameter capacity: the raw bytes expected, reserved at once rather than grown into.
    init(version: Int = 3, includeFields: Bool = false, capacity: Int = 0) {
        self.version = version
        self.includeFields = includeFields
        if version >= 3 { bodies = ByteWriter(capacity: capacity) } else { heads = ByteWriter(capacity: capacity) }
    }

    /// Raw bytes the block would have sealed, its heads without the records' fields: where a
    /// block is cut, whether its heads carry them or not (a version 4 journal's do).
    var sealedLength: Int { rawLength - columns.fieldBytes }

    /// Raw bytes the block would have now.
    var rawLength: Int {
        switch version {
        case 1: heads.bytes.count
        case 2: 4 + heads.bytes.count + bodies.bytes.count
        default: 4 + columns.length + bodies.bytes.count
        }
    }

    /// Adds `record`; returns where its head is (the index's position and length): in
    /// version 3, its ordinal in the block and 0.
    /// `digest` stands in for a notification's missing content digest when fields are included.
    mutating func add(_ record: StoreRecord, digest: UInt64? = nil) -> (position: UInt32, length: UInt32) {
        if version >= 3 {
            let ordinal = columns.count
            columns.add(record, includeFields: includeFields, digest: digest)
            if let bytes = record.bytes { bodies.raw(bytes) }
            return (UInt32(ordinal), 0)
        }
        let start = heads.bytes.count
        heads.u32(0)
        RecordCodec.encode(record, includeFields: includeFields, detachBytes: version >= 2, digest: digest, into: &heads)
        let length = heads.bytes.count - start - 4
        heads.patchU32(UInt32(length), at: start)
        guard version >= 2 else { return (UInt32(start), UInt32(length)) }
        if let bytes = record.bytes { bodies.raw(bytes) }
        return (UInt32(4 + start), UInt32(length))
    }

    /// The block's raw bytes; the builder is empty afterwards.
    mutating func take() -> [UInt8] {
        guard version >= 2 else {
            defer { heads.bytes.removeAll(keepingCapacity: true) }
            return heads.bytes
        }
        var raw = ByteWriter(capacity: rawLength)
        if version >= 3 {
            raw.u32(UInt32(columns.length))
            columns.write(into: &raw)
            columns = HeadColumns()
        } else {
            raw.u32(UInt32(heads.bytes.count))
            raw.raw(heads.bytes)
            heads.bytes.removeAll(keepingCapacity: true)
        }
        raw.raw(bodies.bytes)
        bodies.bytes.removeAll(keepingCapacity: true)
        return raw.bytes
    }
}

/// The heads of a version 3 block, one column per part of a record's head (FORMAT.md §5.2):
///
///     u32 recordCount | kinds (u8 each) | flags (u8 each)
///     | offsets (signed varint each: the difference from the record before, the first's from 0)
///     | timestamps (likewise) | lengths (varint, one per record with bytes: kinds 1 and 2)
///     | tails (each record's encoding after its timestamp, FORMAT.md §3, without its bytes)
///
/// A notification's tail is empty unless it has an origin (a by-id log's records).
struct HeadColumns {
    private(set) var count = 0
    private var kinds = ByteWriter()
    private var flags = ByteWriter()
    private var offsets = ByteWriter()
    private var timestamps = ByteWriter()
    private var lengths = ByteWriter()
    private var tails = ByteWriter()
    private var previousOffset: Int64 = 0
    private var previousTimestamp: Int64 = 0
    /// Bytes of the tails that are notifications' fields (heads that include them).
    private(set) var fieldBytes = 0

    /// The encoded length of the columns.
    var length: Int {
        4 + kinds.bytes.count + flags.bytes.count + offsets.bytes.count + timestamps.bytes.count
            + lengths.bytes.count + tails.bytes.count
    }

    /// Adds `record`'s head; `bodyLength` stands in for the length of its bytes (a head read back
    /// from a block, whose record was decoded without them).
    mutating func add(_ record: StoreRecord, includeFields: Bool, digest: UInt64?, bodyLength: Int? = nil) {
        let recordFlags = RecordCodec.flags(of: record, includeFields: includeFields)
        count += 1
        kinds.u8(record.kind.rawValue)
        flags.u8(recordFlags)
        offsets.signedVarint(record.offset &- previousOffset)
        timestamps.signedVarint(record.timestamp &- previousTimestamp)
        previousOffset = record.offset
        previousTimestamp = record.timestamp
        if let bytes = record.bytes { lengths.varint(UInt64(bodyLength ?? bytes.count)) }
        let start = tails.bytes.count
        RecordCodec.encodeTail(record, flags: recordFlags, bytes: .omitted, digest: digest, into: &tails)
        if includeFields, record.kind == .notification {
            // A notification's tail is its origin, if any, then its fields.
            let origin = record.origin.map { 4 + $0.topic.utf8.count + 4 + 8 + 8 } ?? 0
            fieldBytes += tails.bytes.count - start - origin
        }
    }

    func write(into writer: inout ByteWriter) {
        writer.u32(UInt32(count))
        for column in [kinds, flags, offsets, timestamps, lengths, tails] { writer.raw(column.bytes) }
    }

    /// One record's head, read back: where its tail and its bytes are in the block.
    struct Head {
        var kind: StoreRecord.Kind
        var flags: UInt8
        var offset: Int64
        var timestamp: Int64
        /// Position of its tail in the block.
        var tail: UInt32
        /// Position and length of its bytes in the block (0 and 0 for a kind without bytes).
        var body: UInt32
        var bodyLength: UInt32
    }

    /// The heads of the version 3 block of `rawLength` bytes whose decoded `prefix` holds at
    /// least its `u32 headsLength` and the heads (`nil` while it does not).
    static func read(_ prefix: UnsafeRawBufferPointer, rawLength: Int) throws(StoreError) -> [Head]? {
        guard prefix.count >= 4 else { return nil }
        var reader = ByteReader(prefix)
        let headsEnd = 4 + Int(try reader.u32())
        guard headsEnd <= rawLength else { throw StoreError(.corrupt, "block heads run past the block") }
        guard headsEnd <= prefix.count else { return nil }
        reader = ByteReader(UnsafeRawBufferPointer(rebasing: prefix[..<headsEnd]), position: 4)
        let count = Int(try reader.u32())
        guard count <= headsEnd else { throw StoreError(.corrupt, "block heads count \(count) records in \(headsEnd) bytes") }
        let kinds = try reader.raw(count)
        let flags = try reader.raw(count)
        var heads: [Head] = []
        heads.reserveCapacity(count)
        var offset: Int64 = 0
        for i in 0..<count {
            guard let kind = StoreRecord.Kind(rawValue: kinds[i]) else { throw StoreError(.corrupt, "unknown record kind in block heads") }
            offset &+= try reader.signedVarint()
            heads.append(Head(kind: kind, flags: flags[i], offset: offset, timestamp: 0, tail: 0, body: 0, bodyLength: 0))
        }
        var timestamp: Int64 = 0
        for i in 0..<count {
            timestamp &+= try reader.signedVarint()
            heads[i].timestamp = timestamp
        }
        var body = UInt64(headsEnd)
        for i in 0..<count where heads[i].kind == .notification || heads[i].kind == .quarantined {
            let length = try reader.varint()
            guard length <= UInt64(rawLength) &- body else { throw StoreError(.corrupt, "record bytes run past the block") }
            heads[i].body = UInt32(body)
            heads[i].bodyLength = UInt32(length)
            body += length
        }
        guard body == UInt64(rawLength) else { throw StoreError(.corrupt, "block heads and bodies do not add up to the block") }
        for i in 0..<count {
            heads[i].tail = UInt32(reader.position)
            try RecordCodec.skipTail(&reader, kind: heads[i].kind, flags: heads[i].flags)
        }
        guard reader.position == headsEnd else { throw StoreError(.corrupt, "block heads longer than their records") }
        return heads
    }
}

/// How a block's raw bytes are compressed (FORMAT.md §5.2). Versions 1 and 2: one zstd frame
/// with the segment's dictionary. Version 3:
///
///     u32 headsLength | u32 compressedHeadsLength | heads: one zstd frame without the dictionary
///     | bodies: one zstd frame with the segment's dictionary
///
/// The heads' numbers have nothing in common with the dictionary's notifications, and apart
/// from the bodies zstd codes them with their own statistics.
enum BlockCompression {
    /// zstd level of a version 3 block's heads: a few kilobytes a block, so a higher level than
    /// the bodies' costs little (level 1: 1.48 MB of heads for 300k notifications, level 3: 1.39).
    static let headsLevel: Int32 = 3

    static func compress(_ raw: [UInt8], version: Int, with codec: ZstdCodec) throws(StoreError) -> [UInt8] {
        try raw.withBytes { (buffer) throws(StoreError) in
            guard version >= 3 else { return try codec.compress(buffer) }
            let headsEnd = try headsEnd(buffer)
            let heads = try codec.compress(
                UnsafeRawBufferPointer(rebasing: buffer[4..<headsEnd]), dictionary: false, level: headsLevel)
            let bodies = try codec.compress(UnsafeRawBufferPointer(rebasing: buffer[headsEnd...]))
            return joined(headsLength: headsEnd - 4, heads: heads, bodies: bodies)
        }
    }

    /// A version 3 block whose heads are `columns` and whose bodies' frame, compressed already
    /// (a version 4 journal entry's), is `bodies`: only the heads are compressed here.
    static func compress(heads columns: HeadColumns, bodies: [UInt8], with codec: ZstdCodec) throws(StoreError) -> [UInt8] {
        var raw = ByteWriter(capacity: columns.length)
        columns.write(into: &raw)
        let heads = try raw.bytes.withBytes { (raw) throws(StoreError) in
            try codec.compress(raw, dictionary: false, level: headsLevel)
        }
        return joined(headsLength: columns.length, heads: heads, bodies: bodies)
    }

    /// `u32 headsLength | u32 compressedHeadsLength | heads | bodies`, both frames compressed.
    private static func joined(headsLength: Int, heads: [UInt8], bodies: [UInt8]) -> [UInt8] {
        var out = ByteWriter(capacity: 8 + heads.count + bodies.count)
        out.u32(UInt32(headsLength))
        out.u32(UInt32(heads.count))
        out.raw(heads)
        out.raw(bodies)
        return out.bytes
    }

    /// The block's `rawLength` raw bytes.
    static func decompress(_ data: UnsafeRawBufferPointer, rawLength: Int, version: Int, with codec: ZstdCodec)
        throws(StoreError) -> [UInt8]
    {
        guard version >= 3 else { return try codec.decompress(data, rawLength: rawLength) }
        let (headsEnd, heads, bodies) = try split(data, rawLength: rawLength)
        return try ZstdCodec.written(rawLength) { (out) throws(StoreError) in
            out.storeBytes(of: UInt32(headsEnd - 4).littleEndian, toByteOffset: 0, as: UInt32.self)
            try codec.decompress(heads, into: UnsafeMutableRawBufferPointer(rebasing: out[4..<headsEnd]), dictionary: false)
            try codec.decompress(bodies, into: UnsafeMutableRawBufferPointer(rebasing: out[headsEnd...]))
        }
    }

    /// The block's raw bytes decoded as far as `needed` says (``ZstdCodec/decompressPrefix(_:rawLength:start:prefill:needed:)``);
    /// a version 3 block's heads are always decoded whole.
    static func decompressPrefix(
        _ data: UnsafeRawBufferPointer, rawLength: Int, version: Int, with codec: ZstdCodec,
        needed: (UnsafeRawBufferPointer) throws(StoreError) -> Int?
    ) throws(StoreError) -> (bytes: [UInt8], decoded: Int) {
        guard version >= 3 else { return try codec.decompressPrefix(data, rawLength: rawLength, needed: needed) }
        let (headsEnd, heads, bodies) = try split(data, rawLength: rawLength)
        return try codec.decompressPrefix(
            bodies, rawLength: rawLength, start: headsEnd,
            prefill: { (out) throws(StoreError) in
                out.storeBytes(of: UInt32(headsEnd - 4).littleEndian, toByteOffset: 0, as: UInt32.self)
                try codec.decompress(heads, into: UnsafeMutableRawBufferPointer(rebasing: out[4...]), dictionary: false)
            },
            needed: needed)
    }

    /// A version 3 block's heads decoded (`u32 headsLength` and the columns: the block's raw
    /// bytes up to its bodies) and its bodies' frame as it is, with the bodies' raw length.
    static func decompressHeads(_ data: UnsafeRawBufferPointer, rawLength: Int, with codec: ZstdCodec) throws(StoreError)
        -> (heads: [UInt8], bodies: (compressed: [UInt8], rawLength: Int))
    {
        let (headsEnd, heads, bodies) = try split(data, rawLength: rawLength)
        let decoded = try ZstdCodec.written(headsEnd) { (out) throws(StoreError) in
            out.storeBytes(of: UInt32(headsEnd - 4).littleEndian, toByteOffset: 0, as: UInt32.self)
            try codec.decompress(heads, into: UnsafeMutableRawBufferPointer(rebasing: out[4...]), dictionary: false)
        }
        return (decoded, (Array(bodies), rawLength - headsEnd))
    }

    /// Where a version 3 block's heads end in its raw bytes, and its two compressed frames.
    private static func split(_ data: UnsafeRawBufferPointer, rawLength: Int) throws(StoreError)
        -> (headsEnd: Int, heads: UnsafeRawBufferPointer, bodies: UnsafeRawBufferPointer)
    {
        var reader = ByteReader(data)
        let headsEnd = 4 + Int(try reader.u32())
        let compressed = Int(try reader.u32())
        guard headsEnd <= rawLength else { throw StoreError(.corrupt, "block heads longer than the block") }
        let heads = try reader.raw(compressed)
        return (headsEnd, heads, UnsafeRawBufferPointer(rebasing: data[reader.position...]))
    }

    private static func headsEnd(_ raw: UnsafeRawBufferPointer) throws(StoreError) -> Int {
        var reader = ByteReader(raw)
        let end = 4 + Int(try reader.u32())
        guard end <= raw.count else { throw StoreError(.corrupt, "block heads run past the block") }
        return end
    }
}

/// A decompressed block of a version 1, 2 or 3 segment, its records found by head position
/// (version 3: by ordinal). It may hold only a prefix of the block
/// (``BlockCompression/decompressPrefix(_:rawLength:version:with:needed:)``): enough for the
/// records it was decoded for.
struct DecodedBlock {
    let raw: [UInt8]
    /// How many bytes of `raw` are decoded.
    private let decoded: Int
    let version: Int
    /// Version 2: the position of each head (sorted) and where its bytes start.
    private var headPositions: [UInt32] = []
    private var bodyStarts: [UInt32] = []
    /// Version 3: every record's head.
    private var columns: [HeadColumns.Head] = []

    /// - Parameter heads: version 3: the block's heads, when ``needed(_:rawLength:version:positions:lengths:heads:)``
    ///   read them already.
    init(_ raw: [UInt8], decoded: Int? = nil, version: Int, heads: [HeadColumns.Head]? = nil) throws(StoreError) {
        self.raw = raw
        self.decoded = decoded ?? raw.count
        self.version = version
        if version >= 3 {
            var heads = heads
            if heads == nil {
                heads = try raw.withBytes { (buffer) throws(StoreError) in
                    try HeadColumns.read(UnsafeRawBufferPointer(rebasing: buffer[..<self.decoded]), rawLength: buffer.count)
                }
            }
            guard let heads else { throw StoreError(.corrupt, "block heads not decoded") }
            columns = heads
            return
        }
        guard version >= 2 else { return }
        let (positions, starts) = try raw.withBytes { (buffer) throws(StoreError) in
            try Self.heads(UnsafeRawBufferPointer(rebasing: buffer[..<self.decoded]), rawLength: buffer.count)
        }
        guard let positions, let starts else { throw StoreError(.corrupt, "block heads not decoded") }
        headPositions = positions
        bodyStarts = starts
    }

    /// Version 2: the heads' positions and their bytes' starts, from a decoded `prefix` of a
    /// block of `rawLength` bytes (`nil` while the prefix does not hold every head).
    private static func heads(_ prefix: UnsafeRawBufferPointer, rawLength: Int) throws(StoreError)
        -> (positions: [UInt32]?, starts: [UInt32]?)
    {
        var reader = ByteReader(prefix)
        guard prefix.count >= 4 else { return (nil, nil) }
        let headsEnd = 4 + Int(try reader.u32())
        guard headsEnd <= rawLength else { throw StoreError(.corrupt, "block heads run past the block") }
        guard headsEnd <= prefix.count else { return (nil, nil) }
        var positions: [UInt32] = []
        var starts: [UInt32] = []
        var body = headsEnd
        while reader.position < headsEnd {
            let position = reader.position
            let head = try reader.raw(Int(try reader.u32()))
            positions.append(UInt32(position))
            starts.append(UInt32(body))
            body += try RecordCodec.detachedLength(head)
        }
        guard reader.position == headsEnd, body == rawLength else {
            throw StoreError(.corrupt, "block heads and bodies do not add up to the block")
        }
        return (positions, starts)
    }

    /// How many bytes of a block of `rawLength` bytes hold the records whose heads are at
    /// `positions` (with `lengths`), given its decoded `prefix`; `nil` while it cannot tell.
    /// Version 3: `heads` gets the block's heads once they are read, for ``init(_:decoded:version:heads:)``.
    static func needed(
        _ prefix: UnsafeRawBufferPointer, rawLength: Int, version: Int, positions: [Int], lengths: [Int],
        heads read: inout [HeadColumns.Head]?
    ) throws(StoreError) -> Int? {
        if version >= 3 {
            guard let heads = try HeadColumns.read(prefix, rawLength: rawLength) else { return nil }
            read = heads
            var end = 0
            for ordinal in positions {
                guard ordinal < heads.count else { throw StoreError(.corrupt, "no record \(ordinal) in its block") }
                end = max(end, Int(heads[ordinal].body + heads[ordinal].bodyLength))
            }
            return end
        }
        let headsEnd = zip(positions, lengths).map { $0 + 4 + $1 }.max() ?? 0
        guard version >= 2 else { return headsEnd }
        guard case (let heads?, let starts?) = try heads(prefix, rawLength: rawLength) else { return nil }
        var end = headsEnd
        for position in positions {
            guard let row = find(position, in: heads) else { throw StoreError(.corrupt, "no record at \(position) of its block") }
            end = max(end, row + 1 < starts.count ? Int(starts[row + 1]) : rawLength)
        }
        return end
    }

    /// Where `position` is in the sorted `heads`.
    private static func find(_ position: Int, in heads: [UInt32]) -> Int? {
        var low = 0
        var high = heads.count
        while low < high {
            let mid = (low + high) / 2
            if Int(heads[mid]) < position { low = mid + 1 } else { high = mid }
        }
        return low < heads.count && Int(heads[low]) == position ? low : nil
    }

    /// The record whose `u32 length` is at `position` (version 3: the record at ordinal `position`).
    func record(at position: Int) throws(StoreError) -> StoreRecord {
        if version >= 3 { return try record(ordinal: position) }
        return try raw.withBytes { (buffer) throws(StoreError) in
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: buffer[..<decoded]), position: position)
            let length = Int(try reader.u32())
            var head = ByteReader(try reader.raw(length))
            guard version >= 2 else { return try RecordCodec.decode(&head) }
            guard let row = Self.find(position, in: headPositions) else {
                throw StoreError(.corrupt, "no record at \(position) of its block")
            }
            let start = Int(bodyStarts[row])
            let decoded = self.decoded
            return try RecordCodec.decode(&head) { (head) throws(StoreError) in
                let count = Int(try head.u32())
                guard start + count <= decoded else { throw StoreError(.corrupt, "record bytes run past the block") }
                return Array(buffer[start..<start + count])
            }
        }
    }

    private func record(ordinal: Int) throws(StoreError) -> StoreRecord {
        guard ordinal >= 0, ordinal < columns.count else { throw StoreError(.corrupt, "no record \(ordinal) in its block") }
        let head = columns[ordinal]
        let decoded = self.decoded
        return try raw.withBytes { (buffer) throws(StoreError) in
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: buffer[..<decoded]), position: Int(head.tail))
            return try RecordCodec.decodeTail(
                &reader, kind: head.kind, flags: head.flags, offset: head.offset, timestamp: head.timestamp
            ) { (_) throws(StoreError) in
                let start = Int(head.body)
                let end = start + Int(head.bodyLength)
                guard end <= decoded else { throw StoreError(.corrupt, "record bytes run past the block") }
                return Array(buffer[start..<end])
            }
        }
    }

    /// Every record, in block order.
    func forEachRecord(_ body: (StoreRecord) throws(StoreError) -> Void) throws(StoreError) {
        if version >= 3 {
            for ordinal in columns.indices { try body(try record(ordinal: ordinal)) }
            return
        }
        if version >= 2 {
            for position in headPositions { try body(try record(at: Int(position))) }
            return
        }
        try raw.withBytes { (buffer) throws(StoreError) in
            var reader = ByteReader(buffer)
            while reader.remaining > 0 {
                var record = ByteReader(try reader.raw(Int(try reader.u32())))
                try body(try RecordCodec.decode(&record))
                guard record.remaining == 0 else { throw StoreError(.corrupt, "record longer than it decodes") }
            }
        }
    }
}
