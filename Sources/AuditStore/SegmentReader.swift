// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Dispatch
import Glibc

/// Reads a sealed segment: its header, its index, one block at a time.
final class SegmentReader {
    /// The parsed segment header (FORMAT.md §5.1).
    struct Header {
        var topic: String
        var partition: Int32
        var baseOffset: Int64
        var epoch: Int64
        var previousChainHead: [UInt8]
        var level: Int32
        var dictionary: [UInt8]
        var length: Int
        /// 1, 2 or 3 (``BlockBuilder``), from the magic.
        var version: Int

        /// The magic of each of the segment's blocks.
        var blockMagic: [UInt8] { SegmentWriter.blockMagic(version: version) }
    }

    let path: String
    let index: SegmentIndex
    private let file: any ByteSource
    /// The header and a decompression context, read on first use: a lookup that needs only
    /// the index reads no byte of the segment (from an object store, no fetch).
    private var opened: (header: Header, codec: ZstdCodec)?
    /// The last few blocks ``record(at:)`` read, most recent last: records read by offset
    /// alternate between a block and the one before it (where responses joined their requests).
    private var cachedBlocks: [(number: Int, bytes: DecodedBlock)] = []
    /// One decompression context per core for ``records(at:)`` beyond the reader's own, made
    /// on first use.
    private var decoders: [ZstdCodec] = []
    private static let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Opens `<base>.seg` and loads `<base>.idx`.
    convenience init(segmentPath: String, indexPath: String) throws(StoreError) {
        try self.init(
            segment: try StoreFile.openForReading(segmentPath), path: segmentPath,
            index: try StoreFile.openForReading(indexPath).readAll(), indexPath: indexPath)
    }

    /// A segment read from `segment` (a file, or an object-store segment through its cache),
    /// with its index's bytes; `path` and `indexPath` name them in errors.
    init(segment: any ByteSource, path: String, index: [UInt8], indexPath: String) throws(StoreError) {
        self.path = path
        file = segment
        self.index = try SegmentIndex.decode(index, path: indexPath)
    }

    /// The segment's header (read on first use).
    func header() throws(StoreError) -> Header { try open().header }

    private func open() throws(StoreError) -> (header: Header, codec: ZstdCodec) {
        if let opened { return opened }
        let header = try Self.readHeader(file, path: path)
        let opened = (header, ZstdCodec(level: header.level, dictionary: header.dictionary))
        self.opened = opened
        decoders = [opened.1]
        return opened
    }

    static func readHeader(_ file: any ByteSource, path: String) throws(StoreError) -> Header {
        let prefix = try file.read(count: 12, at: 0)
        guard prefix.count == 12, version(Array(prefix[..<8])) != nil else {
            throw StoreError(.corrupt, "\(path): not a segment (bad magic)")
        }
        let length = prefix.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) }
        let bytes = try file.read(count: length, at: 0)
        return try parseHeader(bytes, path: path)
    }

    static func parseHeader(_ bytes: [UInt8], path: String) throws(StoreError) -> Header {
        try bytes.withBytes { (buffer) throws(StoreError) -> Header in
            var reader = ByteReader(buffer)
            guard let version = version(Array(try reader.raw(8))) else {
                throw StoreError(.corrupt, "\(path): not a segment (bad magic)")
            }
            let length = Int(try reader.u32())
            let header = Header(
                topic: try reader.string(), partition: try reader.i32(), baseOffset: try reader.i64(),
                epoch: try reader.i64(), previousChainHead: try reader.bytes(32), level: try reader.i32(),
                dictionary: try reader.blob(), length: length, version: version)
            guard reader.position == length else { throw StoreError(.corrupt, "\(path): header length mismatch") }
            return header
        }
    }

    /// The format version a segment magic stands for.
    static func version(_ magic: [UInt8]) -> Int? {
        SegmentWriter.versions.first { SegmentWriter.magic(version: $0) == magic }
    }

    /// Block `number`, decompressed (the last four read are cached).
    func block(_ number: Int) throws(StoreError) -> DecodedBlock {
        if let hit = cachedBlocks.firstIndex(where: { $0.number == number }) {
            let entry = cachedBlocks.remove(at: hit)
            cachedBlocks.append(entry)
            return entry.bytes
        }
        let raw = try DecodedBlock(try decodeBlock(number), version: try header().version)
        if cachedBlocks.count == 4 { cachedBlocks.removeFirst() }
        cachedBlocks.append((number, raw))
        return raw
    }

    /// Reads and decompresses block `number` (no cache).
    func decodeBlock(_ number: Int) throws(StoreError) -> [UInt8] {
        let (compressed, block) = try compressedBlock(number)
        let (header, codec) = try open()
        return try compressed.withBytes { (buffer) throws(StoreError) in
            try BlockCompression.decompress(buffer, rawLength: Int(block.rawLength), version: header.version, with: codec)
        }
    }

    /// The compressed bytes of block `number`, and its index entry.
    private func compressedBlock(_ number: Int) throws(StoreError) -> ([UInt8], SegmentIndex.Block) {
        guard number < index.blocks.count else { throw StoreError(.corrupt, "\(path): no block \(number)") }
        let block = index.blocks[number]
        let compressed = try file.read(
            count: Int(block.compressedLength), at: block.fileOffset + Int64(SegmentWriter.blockHeaderLength + 32))
        guard compressed.count == Int(block.compressedLength) else { throw StoreError(.corrupt, "\(path): block \(number) truncated") }
        return (compressed, block)
    }

    /// The record at index row `row`, with its notification fields filled from the index.
    func record(at row: Int) throws(StoreError) -> StoreRecord {
        try record(at: row, in: try block(Int(index.blockNumbers[row])))
    }

    /// The records at index rows `rows`, in that order. Each block they need is decoded once,
    /// by one thread per core: a query over many blocks is bounded by zstd, and a block's
    /// records (a request and the response that joined it) are often far apart in row order.
    func records(at rows: [Int]) throws(StoreError) -> [StoreRecord] {
        var rowsOfBlock: [Int: [Int]] = [:]
        for (position, row) in rows.enumerated() { rowsOfBlock[Int(index.blockNumbers[row]), default: []].append(position) }
        let work = rowsOfBlock.sorted { $0.key < $1.key }
        let threads = min(Self.cores, work.count)
        let (header, codec) = try open()
        while decoders.count < threads { decoders.append(ZstdCodec(level: header.level, dictionary: header.dictionary)) }
        var results = [StoreRecord?](repeating: nil, count: rows.count)
        if threads <= 1 {
            for (block, positions) in work {
                let decoded = try decodeBlock(block, for: positions.map { rows[$0] }, with: codec, version: header.version)
                for position in positions { results[position] = try record(at: rows[position], in: decoded) }
            }
            return results.map { $0! }
        }
        var failures = [StoreError?](repeating: nil, count: threads)
        results.withUnsafeMutableBufferPointer { results in
            failures.withUnsafeMutableBufferPointer { failures in
                // Each thread writes only the result slots of its own blocks and its own
                // failure slot, and uses only its own decoder.
                nonisolated(unsafe) let results = results
                nonisolated(unsafe) let failures = failures
                nonisolated(unsafe) let reader = self
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    do throws(StoreError) {
                        for (block, positions) in work[thread...].striding(by: threads) {
                            let decoded = try reader.decodeBlock(
                                block, for: positions.map { rows[$0] }, with: reader.decoders[thread], version: header.version)
                            for position in positions { results[position] = try reader.record(at: rows[position], in: decoded) }
                        }
                    } catch {
                        failures[thread] = error
                    }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
        return results.map { $0! }
    }

    /// Block `number`, decoded only as far as the records at index rows `rows` need.
    private func decodeBlock(_ number: Int, for rows: [Int], with codec: ZstdCodec, version: Int) throws(StoreError) -> DecodedBlock {
        let (compressed, block) = try compressedBlock(number)
        let positions = rows.map { Int(index.positions[$0]) }
        let lengths = rows.map { Int(index.lengths[$0]) }
        let rawLength = Int(block.rawLength)
        var heads: [HeadColumns.Head]?
        let (raw, decoded) = try compressed.withBytes { (buffer) throws(StoreError) in
            try BlockCompression.decompressPrefix(buffer, rawLength: rawLength, version: version, with: codec) {
                (prefix) throws(StoreError) in
                try DecodedBlock.needed(
                    prefix, rawLength: rawLength, version: version, positions: positions, lengths: lengths, heads: &heads)
            }
        }
        return try DecodedBlock(raw, decoded: decoded, version: version, heads: heads)
    }

    /// Decodes the record at `row` from `block`, its decompressed block.
    private func record(at row: Int, in block: DecodedBlock) throws(StoreError) -> StoreRecord {
        let start = Int(index.positions[row])
        // A version 3 block finds a record by its ordinal, and checks it itself.
        guard block.version >= 3 || start + 4 + Int(index.lengths[row]) <= block.raw.count else {
            throw StoreError(.corrupt, "\(path): record \(row) outside its block")
        }
        var record = try block.record(at: start)
        if case .notification(_, let bytes) = record.body, let fields = index.notificationFields(at: row) {
            record.body = .notification(fields, bytes: bytes)
        }
        return record
    }
}

extension ArraySlice {
    /// Every `step`-th element from the first.
    fileprivate func striding(by step: Int) -> some Sequence<Element> {
        stride(from: startIndex, to: endIndex, by: step).lazy.map { self[$0] }
    }
}
