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
struct BlockBuilder {
    /// 2, or 1 to write the earlier layout (the tests' version 1 segments).
    let version: Int
    /// Whether heads carry the records' fields (a journal frame's do; a sealed block's index holds them).
    let includeFields: Bool
    private var heads = ByteWriter()
    private var bodies = ByteWriter()

    /// - Parameter capacity: the raw bytes expected, reserved at once rather than grown into.
    init(version: Int = 2, includeFields: Bool = false, capacity: Int = 0) {
        self.version = version
        self.includeFields = includeFields
        heads = ByteWriter(capacity: capacity)
    }

    /// Raw bytes the block would have now.
    var rawLength: Int { (version == 1 ? 0 : 4) + heads.bytes.count + bodies.bytes.count }

    /// Adds `record`; returns where its head is (the index's position and length).
    /// `digest` stands in for a notification's missing content digest when fields are included.
    mutating func add(_ record: StoreRecord, digest: UInt64? = nil) -> (position: UInt32, length: UInt32) {
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
        raw.u32(UInt32(heads.bytes.count))
        raw.raw(heads.bytes)
        raw.raw(bodies.bytes)
        heads.bytes.removeAll(keepingCapacity: true)
        bodies.bytes.removeAll(keepingCapacity: true)
        return raw.bytes
    }
}

/// A decompressed block of a version 1 or 2 segment, its records found by head position.
/// It may hold only a prefix of the block (``ZstdCodec/decompressPrefix(_:rawLength:needed:)``):
/// enough for the records it was decoded for.
struct DecodedBlock {
    let raw: [UInt8]
    /// How many bytes of `raw` are decoded.
    private let decoded: Int
    private let version: Int
    /// Version 2: the position of each head (sorted) and where its bytes start.
    private var headPositions: [UInt32] = []
    private var bodyStarts: [UInt32] = []

    init(_ raw: [UInt8], decoded: Int? = nil, version: Int) throws(StoreError) {
        self.raw = raw
        self.decoded = decoded ?? raw.count
        self.version = version
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
    static func needed(
        _ prefix: UnsafeRawBufferPointer, rawLength: Int, version: Int, positions: [Int], lengths: [Int]
    ) throws(StoreError) -> Int? {
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

    /// The record whose `u32 length` is at `position`.
    func record(at position: Int) throws(StoreError) -> StoreRecord {
        try raw.withBytes { (buffer) throws(StoreError) in
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

    /// Every record, in block order.
    func forEachRecord(_ body: (StoreRecord) throws(StoreError) -> Void) throws(StoreError) {
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
