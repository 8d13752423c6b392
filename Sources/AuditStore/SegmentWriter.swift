// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Crypto

/// Writes one sealed segment (FORMAT.md §5) and its index from the records of a journal.
///
/// Records go into blocks of about ``StoreOptions/blockSize`` raw bytes, each compressed on its
/// own (so a lookup decodes one block) with the log's dictionary, and chained with SHA-256.
///
/// A request and its response repeat each other almost entirely, but arrive hundreds of calls
/// apart. Records therefore wait in a window of ``StoreOptions/pairWindowBytes``; when the oldest
/// leaves it for a block, every waiting record with the same CADF id goes right after it. The
/// response then costs zstd a few dozen bytes, and a lookup finds both halves in one block.
/// Blocks are thus not in strict offset order; the index lists rows in offset order.
/// The log's first segment trains the dictionary on its first
/// ``StoreOptions/dictionaryTrainingBytes``: blocks wait in memory until then.
final class SegmentWriter {
    static let magic = Array("ATSEG001".utf8)
    static let blockMagic = Array("BLK1".utf8)
    static let trailerMagic = Array("ATSEGEND".utf8)
    static let finalMagic = Array("ATSEGFIN".utf8)
    static let blockHeaderLength = 32

    /// What sealing produced.
    struct Sealed {
        var index: SegmentIndex
        var indexBytes: [UInt8]
        var segmentLength: Int64
        var chainHead: [UInt8]
        var digest: [UInt8]
        var dictionary: [UInt8]
    }

    private let file: StoreFile
    private let options: StoreOptions
    private let header: Journal.Header
    private var dictionary: [UInt8]?
    private var codec: ZstdCodec?
    private var hasher = SHA256()
    private var length: Int64 = 0
    private var chain: [UInt8]
    private var indexBuilder: SegmentIndexBuilder
    private var block = ByteWriter(capacity: 1 << 20)
    private var blockMeta = SegmentWriter.emptyBlock
    private static let emptyBlock = SegmentIndex.Block(
        fileOffset: 0, compressedLength: 0, rawLength: 0, recordCount: 0, firstOffset: .max,
        nextOffset: .min, minTime: .max, maxTime: .min)
    /// Records waiting for a block (`nil`: placed early beside their partner).
    private var window: [StoreRecord?] = []
    /// Absolute window position of `window[0]`.
    private var windowBase = 0
    private var windowHead = 0
    private var windowBytes = 0
    /// CADF id → absolute window positions of waiting notifications.
    private var partners: [String: [Int]] = [:]
    private var waiting: [([UInt8], SegmentIndex.Block)] = []
    private var waitingBytes = 0
    private var samples: [[UInt8]] = []

    /// - Parameter dictionary: the log's dictionary; `nil` to train one on this segment's first data.
    init(path: String, header: Journal.Header, dictionary: [UInt8]?, options: StoreOptions) throws(StoreError) {
        file = try StoreFile.openForWriting(path, truncate: true)
        self.options = options
        self.header = header
        self.dictionary = options.dictionaryCapacity > 0 ? dictionary : []
        chain = header.previousChainHead
        indexBuilder = SegmentIndexBuilder(baseOffset: header.baseOffset)
    }

    private static func weight(_ record: StoreRecord) -> Int { (record.bytes?.count ?? 0) + 64 }

    /// Adds the next record of the segment.
    func add(_ record: StoreRecord) throws(StoreError) {
        if let id = record.fields?.id { partners[id, default: []].append(windowBase + window.count) }
        window.append(record)
        windowBytes += Self.weight(record)
        while windowBytes > options.pairWindowBytes { try placeOldest() }
    }

    /// Moves the oldest waiting record, and the waiting records sharing its CADF id, into blocks.
    private func placeOldest() throws(StoreError) {
        while windowHead < window.count, window[windowHead] == nil { windowHead += 1 }
        guard windowHead < window.count, let record = window[windowHead] else { return }
        window[windowHead] = nil
        windowHead += 1
        try place(record)
        if let id = record.fields?.id, let waiting = partners.removeValue(forKey: id) {
            for position in waiting where position - windowBase >= windowHead {
                guard let partner = window[position - windowBase] else { continue }
                window[position - windowBase] = nil
                try place(partner)
            }
        }
        if windowHead >= 4096 && windowHead * 2 >= window.count {
            window.removeFirst(windowHead)
            windowBase += windowHead
            windowHead = 0
        }
    }

    private func place(_ record: StoreRecord) throws(StoreError) {
        windowBytes -= Self.weight(record)
        let position = block.bytes.count
        block.u32(0)
        RecordCodec.encode(record, includeFields: false, into: &block)
        let length = block.bytes.count - position - 4
        block.patchU32(UInt32(length), at: position)
        if dictionary == nil { samples.append(Array(block.bytes[(position + 4)...])) }
        indexBuilder.add(record, block: UInt32(indexBuilder.index.blocks.count + waiting.count), position: UInt32(position), length: UInt32(length))
        let time = SegmentIndex.time(of: record)
        blockMeta.recordCount += 1
        blockMeta.firstOffset = min(blockMeta.firstOffset, record.offset)
        blockMeta.nextOffset = max(blockMeta.nextOffset, record.nextOffset)
        blockMeta.minTime = min(blockMeta.minTime, time)
        blockMeta.maxTime = max(blockMeta.maxTime, time)
        if block.bytes.count >= options.blockSize { try cutBlock() }
    }

    private func cutBlock() throws(StoreError) {
        guard blockMeta.recordCount > 0 else { return }
        blockMeta.rawLength = UInt32(block.bytes.count)
        if codec != nil {
            try writeBlock(block.bytes, blockMeta)
        } else {
            waiting.append((block.bytes, blockMeta))
            waitingBytes += block.bytes.count
            if dictionary != nil || waitingBytes >= options.dictionaryTrainingBytes { try startFile() }
        }
        block.bytes.removeAll(keepingCapacity: true)
        blockMeta = Self.emptyBlock
    }

    /// Decides the dictionary, writes the header, then the blocks that waited for it.
    private func startFile() throws(StoreError) {
        if dictionary == nil {
            dictionary = ZstdCodec.trainDictionary(samples: samples, capacity: options.dictionaryCapacity)
            samples = []
        }
        var writer = ByteWriter()
        writer.raw(Self.magic)
        writer.u32(0)
        writer.string(header.topic)
        writer.i32(header.partition)
        writer.i64(header.baseOffset)
        writer.i64(header.epoch)
        writer.raw(header.previousChainHead)
        writer.i32(options.compressionLevel)
        writer.blob(dictionary ?? [])
        writer.patchU32(UInt32(writer.bytes.count), at: 8)
        try append(writer.bytes)
        codec = ZstdCodec(level: options.compressionLevel, dictionary: dictionary ?? [])
        for (raw, meta) in waiting { try writeBlock(raw, meta) }
        waiting = []
    }

    private func writeBlock(_ raw: [UInt8], _ meta: SegmentIndex.Block) throws(StoreError) {
        guard let codec else { throw StoreError(.invalidArgument, "block before segment header") }
        let compressed = try raw.withBytes { (buffer) throws(StoreError) in try codec.compress(buffer) }
        var meta = meta
        meta.fileOffset = length
        meta.compressedLength = UInt32(compressed.count)
        var header = ByteWriter(capacity: Self.blockHeaderLength + 32)
        header.raw(Self.blockMagic)
        header.u32(meta.compressedLength)
        header.u32(meta.rawLength)
        header.u32(meta.recordCount)
        header.i64(meta.firstOffset)
        header.i64(meta.nextOffset)
        chain = header.bytes.withUnsafeBytes { h in compressed.withUnsafeBytes { c in HashChain.link(chain, h, c) } }
        header.raw(chain)
        try append(header.bytes)
        try append(compressed)
        indexBuilder.addBlock(meta)
    }

    private func append(_ bytes: [UInt8]) throws(StoreError) {
        try file.write(bytes, at: length)
        hasher.update(data: bytes)
        length += Int64(bytes.count)
    }

    /// Writes the last block, the index file and the trailer, and makes both files durable.
    func finish(indexPath: String, signer: SegmentSigner?) throws(StoreError) -> Sealed {
        while windowHead < window.count { try placeOldest() }
        try cutBlock()
        if codec == nil { try startFile() }
        let index = indexBuilder.finish()
        let indexBytes = try index.encode()
        let indexFile = try StoreFile.openForWriting(indexPath, truncate: true)
        try indexFile.write(indexBytes, at: 0)
        var trailer = ByteWriter()
        trailer.raw(Self.trailerMagic)
        trailer.i64(index.nextOffset)
        trailer.u64(UInt64(index.count))
        trailer.u32(UInt32(index.blocks.count))
        trailer.raw(chain)
        trailer.raw(HashChain.digest(indexBytes))
        trailer.i64(index.minTime)
        trailer.i64(index.maxTime)
        try append(trailer.bytes)
        let digest = Array(hasher.finalize())
        var signature = ByteWriter()
        signature.raw(digest)
        if let signer {
            do {
                signature.u8(1)
                signature.raw(signer.publicKey)
                signature.raw(try signer.sign(digest))
            } catch {
                throw StoreError(.invalidArgument, "signing segment \(header.baseOffset): \(error)")
            }
        } else {
            signature.u8(0)
            signature.raw([UInt8](repeating: 0, count: 96))
        }
        signature.u32(UInt32(trailer.bytes.count + signature.bytes.count + 4 + 8))
        signature.raw(Self.finalMagic)
        try append(signature.bytes)
        // Both files must be durable before the manifest names them (the caller's next step):
        // a manifest entry is a promise that the segment and its index can be read back.
        try file.sync()
        try indexFile.sync()
        return Sealed(
            index: index, indexBytes: indexBytes, segmentLength: length, chainHead: chain, digest: digest,
            dictionary: dictionary ?? [])
    }

    /// Length of the fixed part of the trailer after the `ATSEGEND` magic's fields.
    static let trailerLength = 8 + 8 + 8 + 4 + 32 + 32 + 8 + 8 + 32 + 1 + 32 + 64 + 4 + 8  // 249
}
