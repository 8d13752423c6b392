// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// The active segment of a log: an append-only journal of framed, hash-chained records
/// (FORMAT.md §4), durable at each ``sync()``.
///
/// Records are written uncompressed, one frame each, so that a torn write loses only the
/// records after the last whole frame. The journal is compressed into a sealed segment when
/// the segment rolls.
final class Journal {
    static let magic = Array("ATJRNL02".utf8)
    /// Version 1 linked each frame's bytes as they are (no digest of them in between); such a
    /// journal, left by an earlier writer, is still recovered.
    static let version1Magic = Array("ATJRNL01".utf8)

    struct Header: Equatable {
        var topic: String
        var partition: Int32
        var baseOffset: Int64
        var epoch: Int64
        var previousChainHead: [UInt8]
    }

    let header: Header
    let file: StoreFile
    private(set) var length: Int64
    private(set) var chainHead: [UInt8]

    private init(header: Header, file: StoreFile, length: Int64, chainHead: [UInt8]) {
        self.header = header
        self.file = file
        self.length = length
        self.chainHead = chainHead
    }

    /// Creates a new journal file and makes it durable (file and directory entry), so that a
    /// record acknowledged by a later ``sync()`` can be found after a crash.
    static func create(path: String, directory: String, header: Header) throws(StoreError) -> Journal {
        let file = try StoreFile.openForWriting(path, truncate: true)
        let bytes = encode(header)
        try file.write(bytes, at: 0)
        try file.sync()
        try Directory.sync(directory)
        return Journal(header: header, file: file, length: Int64(bytes.count), chainHead: HashChain.digest(bytes))
    }

    /// Opens a journal for appending after recovery: cuts the torn tail at the last whole frame.
    static func recover(path: String) throws(StoreError) -> (Journal, [StoreRecord], truncated: Int64) {
        let file = try StoreFile.openForWriting(path, create: false)
        let contents = try parse(try file.readAll(), path: path)
        if contents.validLength < contents.fileLength {
            // Cut the torn tail, and make the cut durable before appending after it: a later
            // crash must not resurrect half a frame between two whole ones.
            try file.truncate(to: contents.validLength)
            try file.sync()
        }
        let journal = Journal(
            header: contents.header, file: file, length: contents.validLength, chainHead: contents.chainHead)
        return (journal, contents.records, contents.fileLength - contents.validLength)
    }

    /// Encodes `records` as frames at the end of the journal (written, not yet durable).
    ///
    /// A notification without a ``NotificationFields/digest`` gets the content digest here, from
    /// the same SHA-256 of its bytes that its frame's link takes (FORMAT.md §2): the bytes are
    /// hashed once.
    ///
    /// - Parameter hashes: empty, or the ``ContentHash`` of each record's bytes where the caller
    ///   has it, in the order of `records`.
    func append(_ records: ArraySlice<StoreRecord>, hashes: ArraySlice<ContentHash?> = []) throws(StoreError) {
        // A new buffer per append: one kept per log would keep the largest append of every log.
        var pending = ByteWriter(capacity: records.reduce(0) { $0 + ($1.bytes?.count ?? 0) + 512 })
        for (i, record) in zip(records.indices, records) {
            let start = pending.bytes.count
            let given = hashes.isEmpty ? nil : hashes[i]
            let bytes = record.bytes.map { bytes in
                assert(given == nil || given!.sha256 == HashChain.digest(bytes), "content hash of other bytes")
                return (count: bytes.count, hash: given?.sha256 ?? HashChain.digest(bytes))
            }
            pending.u32(0)
            RecordCodec.encode(
                record, includeFields: true, digest: bytes.map { HashChain.contentDigest(fromDigest: $0.hash) },
                into: &pending)
            pending.patchU32(UInt32(pending.bytes.count - start - 4), at: start)
            chainHead = pending.bytes.withUnsafeBytes { frame in
                Self.link(chainHead, frame: UnsafeRawBufferPointer(rebasing: frame[start...]), bytes: bytes)
            }
            pending.raw(chainHead)
        }
        try file.write(pending.bytes, at: length)
        length += Int64(pending.bytes.count)
    }

    /// The link of a frame (`u32 length | record`, FORMAT.md §2). The record's `bytes`, which
    /// end it, are replaced by `bytesHash`, their SHA-256: the frame's bytes are hashed once,
    /// for both the content digest and the chain. Records without bytes link their whole frame.
    static func link(_ previous: [UInt8], frame: UnsafeRawBufferPointer, bytes: (count: Int, hash: [UInt8])?) -> [UInt8] {
        guard let bytes else { return HashChain.link(previous, frame) }
        let head = UnsafeRawBufferPointer(rebasing: frame[..<(frame.count - bytes.count)])
        return bytes.hash.withUnsafeBytes { HashChain.link(previous, head, $0) }
    }

    /// Makes every appended frame durable.
    func sync() throws(StoreError) { try file.sync() }

    /// Reads back every record this journal holds, in offset order, a chunk of the file at a
    /// time: sealing builds the segment's index from them, so the writer need not keep each
    /// record's fields in memory until the segment rolls (DESIGN §6.6).
    ///
    /// The frames were written (or verified by recovery) by this process; their hashes are not
    /// checked again here. The records come without their bytes (empty): the index does not
    /// need them, and copying them would cost a copy of the whole segment.
    func forEachRecord(_ body: (StoreRecord) throws(StoreError) -> Void) throws(StoreError) {
        var position = Int64(Self.encode(header).count)
        var chunk: [UInt8] = []
        var used = 0
        while position < length || used < chunk.count {
            // A frame is [u32 length][record][32-byte link]; refill when the next is not whole.
            let have = chunk.count - used
            let needed = have >= 4 ? 4 + Int(Self.u32(chunk, at: used)) + 32 : 4
            if have < needed {
                guard position < length else {
                    throw StoreError(.corrupt, "\(file.path): frame at the end is not whole")
                }
                let read = try file.read(count: Int(min(length - position, Int64(max(needed - have, 1 << 20)))), at: position)
                guard !read.isEmpty else { throw StoreError(.corrupt, "\(file.path): shorter than \(length) bytes") }
                chunk = Array(chunk[used...]) + read
                used = 0
                position += Int64(read.count)
                continue
            }
            let record = try chunk.withBytes { (buffer) throws(StoreError) -> StoreRecord in
                var reader = ByteReader(UnsafeRawBufferPointer(rebasing: buffer[(used + 4)..<(used + needed - 32)]))
                return try RecordCodec.decode(&reader, bytes: Self.skipBytes)
            }
            used += needed
            try body(record)
        }
    }

    private static func skipBytes(_ reader: inout ByteReader) throws(StoreError) -> [UInt8] {
        _ = try reader.raw(Int(try reader.u32()))
        return []
    }

    private static func u32(_ bytes: [UInt8], at index: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt32.self)) }
    }

    // MARK: Format

    static func encode(_ header: Header) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(magic)
        writer.u32(0)
        writer.string(header.topic)
        writer.i32(header.partition)
        writer.i64(header.baseOffset)
        writer.i64(header.epoch)
        writer.raw(header.previousChainHead)
        writer.patchU32(UInt32(writer.bytes.count), at: 8)
        return writer.bytes
    }

    /// What a journal's bytes hold, up to the first frame that is not whole and valid.
    struct Contents {
        var header: Header
        var records: [StoreRecord]
        /// File offset of each record's frame.
        var frameOffsets: [Int64]
        var validLength: Int64
        var fileLength: Int64
        var chainHead: [UInt8]
        /// Why parsing stopped before the end, if it did.
        var tornReason: String?
    }

    /// Parses a journal; a torn or corrupt tail ends the records (it is reported, not thrown).
    static func parse(_ bytes: [UInt8], path: String) throws(StoreError) -> Contents {
        try bytes.withBytes { (buffer) throws(StoreError) -> Contents in
            var reader = ByteReader(buffer)
            let fileMagic = buffer.count >= 12 ? Array(try reader.raw(8)) : []
            guard fileMagic == magic || fileMagic == version1Magic else {
                throw StoreError(.corrupt, "\(path): not a journal (bad magic or header)")
            }
            let headerLength = Int(try reader.u32())
            let header = Header(
                topic: try reader.string(), partition: try reader.i32(), baseOffset: try reader.i64(),
                epoch: try reader.i64(), previousChainHead: try reader.bytes(32))
            guard reader.position == headerLength else {
                throw StoreError(.corrupt, "\(path): header length \(headerLength) != \(reader.position)")
            }
            var chain = HashChain.digest(UnsafeRawBufferPointer(rebasing: buffer[0..<headerLength]))
            var records: [StoreRecord] = []
            var offsets: [Int64] = []
            var next = header.baseOffset
            var torn: String?
            while reader.remaining > 0 {
                let start = reader.position
                guard reader.remaining >= 4 + 32 else { torn = "partial frame at \(start)"; break }
                let length = Int(try reader.u32())
                guard length <= reader.remaining - 32 else { torn = "partial frame at \(start)"; break }
                let frame = UnsafeRawBufferPointer(rebasing: buffer[start..<start + 4 + length])
                var recordReader = ByteReader(UnsafeRawBufferPointer(rebasing: frame[4...]))
                guard let record = try? RecordCodec.decode(&recordReader), recordReader.remaining == 0 else {
                    torn = "undecodable record at \(start)"
                    break
                }
                let link =
                    fileMagic == version1Magic
                    ? HashChain.link(chain, frame)
                    : Self.link(chain, frame: frame, bytes: record.bytes.map { (count: $0.count, hash: HashChain.digest($0)) })
                reader.position = start + 4 + length
                guard Array(try reader.raw(32)) == link else { torn = "frame hash mismatch at \(start)"; break }
                guard record.offset == next else {
                    torn = "offset \(record.offset) at \(start), expected \(next)"
                    break
                }
                next = record.nextOffset
                chain = link
                records.append(record)
                offsets.append(Int64(start))
            }
            let validLength =
                torn == nil ? Int64(buffer.count) : endOfLastFrame(buffer, offsets: offsets, headerLength: headerLength)
            return Contents(
                header: header, records: records, frameOffsets: offsets, validLength: validLength,
                fileLength: Int64(buffer.count), chainHead: chain, tornReason: torn)
        }
    }

    private static func endOfLastFrame(_ buffer: UnsafeRawBufferPointer, offsets: [Int64], headerLength: Int) -> Int64 {
        guard let last = offsets.last else { return Int64(headerLength) }
        let length = buffer.loadUnaligned(fromByteOffset: Int(last), as: UInt32.self)
        return last + 4 + Int64(UInt32(littleEndian: length)) + 32
    }
}
