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
    /// Segments this writer makes are version 3 (``BlockBuilder``); it writes versions 1 and 2
    /// for the tests of older segments, which readers still read.
    static func magic(version: Int) -> [UInt8] { Array("ATSEG00\(version)".utf8) }
    /// The magic of each block of a segment of `version`.
    static func blockMagic(version: Int) -> [UInt8] { Array("BLK\(version)".utf8) }
    static let versions = 1...3
    static let trailerMagic = Array("ATSEGEND".utf8)
    static let finalMagic = Array("ATSEGFIN".utf8)
    static let blockHeaderLength = 32
    /// Below this much first data, the dictionary is the data itself rather than trained.
    static let minimumTrainingBytes = 1 << 20

    /// What sealing produced.
    struct Sealed {
        var index: SegmentIndex
        var indexBytes: [UInt8]
        var segmentLength: Int64
        var chainHead: [UInt8]
        var digest: [UInt8]
        var dictionary: [UInt8]
    }

    /// The segment file; `nil` in journal mode, where cut blocks go to ``emit`` instead.
    private let file: StoreFile?
    /// Journal mode (a version 4 journal, FORMAT.md §4.3): receives each block as it is cut,
    /// its heads carrying the records' fields, to be compressed once into the journal.
    private let emit: ((_ raw: [UInt8], _ meta: SegmentIndex.Block) throws(StoreError) -> Void)?
    private let options: StoreOptions
    private let memory: WriterMemory
    private let header: Journal.Header
    private var dictionary: [UInt8]?
    private var codec: ZstdCodec?
    private var hasher = SHA256()
    private var length: Int64 = 0
    private var chain: [UInt8]
    /// Where each record went, in placement order: all a writer fed at append time keeps per
    /// record until the seal, which builds the index's other columns from the journal
    /// (DESIGN §6.6).
    private var locations: [Location] = []
    /// The index rows, in offset order, when the records are added at the seal (a version 3
    /// journal's frames): their fields go straight into the index, nothing is read twice.
    private var rows: SegmentIndexBuilder?
    private var blocks: [SegmentIndex.Block] = []
    private var block: BlockBuilder
    private var blockMeta = SegmentWriter.emptyBlock
    /// Journal mode: when the first record of the block being filled was added.
    private var blockFirstAdded: Int64 = .max
    private static let emptyBlock = SegmentIndex.Block(
        fileOffset: 0, compressedLength: 0, rawLength: 0, recordCount: 0, firstOffset: .max,
        nextOffset: .min, minTime: .max, maxTime: .min)
    /// Records waiting for a block (`nil`: placed early beside their partner).
    private var window: [WindowEntry?] = []
    /// Absolute window position of `window[0]`.
    private var windowBase = 0
    private var windowHead = 0
    private var windowBytes = 0
    /// Hash of a CADF id → absolute window positions of waiting notifications.
    private var partners: [UInt64: [Int]] = [:]
    /// Hash of an initiator.id → absolute window positions of waiting notifications.
    private var sameInitiator: [UInt64: [Int]] = [:]
    private var waiting: [([UInt8], SegmentIndex.Block)] = []
    private var waitingBytes = 0
    /// The blocks were copied from a version 4 journal, each row located as it was indexed.
    private var copied = false

    /// - Parameters:
    ///   - dictionary: the log's dictionary; `nil` to train one on this segment's first data.
    ///   - indexRows: index each record's fields as it is added (at the seal), rather than
    ///     reading them back from the journal in ``finish(indexPath:journal:signer:)``.
    init(
        path: String, header: Journal.Header, dictionary: [UInt8]?, options: StoreOptions, memory: WriterMemory,
        indexRows: Bool = false
    ) throws(StoreError) {
        file = try StoreFile.openForWriting(path, truncate: true)
        emit = nil
        self.options = options
        self.memory = memory
        self.header = header
        self.dictionary = options.dictionaryCapacity > 0 ? dictionary : []
        chain = header.previousChainHead
        block = BlockBuilder(version: options.segmentVersion)
        if indexRows { rows = SegmentIndexBuilder(baseOffset: header.baseOffset) }
    }

    /// Journal mode: records wait in the pair window and are placed into blocks as in a segment,
    /// but each cut block goes to `emit` with its records' fields in its heads, and nothing is
    /// written here (``LogWriter`` with a version 4 journal).
    init(journalOf header: Journal.Header, options: StoreOptions, memory: WriterMemory,
         emit: @escaping (_ raw: [UInt8], _ meta: SegmentIndex.Block) throws(StoreError) -> Void) {
        file = nil
        self.emit = emit
        self.options = options
        self.memory = memory
        self.header = header
        chain = header.previousChainHead
        block = BlockBuilder(version: 3, includeFields: true)
    }

    /// Journal mode: the lowest offset not yet in a block given to `emit` (still waiting in the
    /// window or in the block being filled), or `nil` when every record added is.
    var lowestWaiting: Int64? {
        while windowHead < window.count, window[windowHead] == nil { windowHead += 1 }
        let waiting = windowHead < window.count ? window[windowHead]!.record.offset : nil
        let filling = blockMeta.recordCount > 0 ? blockMeta.firstOffset : nil
        switch (waiting, filling) {
        case (let w?, let f?): return min(w, f)
        case (let w?, nil): return w
        default: return filling
        }
    }

    /// Places the waiting records added before `cutoff` (``StoreOptions/clock``), each with its
    /// partners and initiator as the window places its oldest, and cuts the block being filled if
    /// its first record came before `cutoff`.
    func placeWaiting(addedBefore cutoff: Int64) throws(StoreError) {
        while true {
            while windowHead < window.count, window[windowHead] == nil { windowHead += 1 }
            guard windowHead < window.count, window[windowHead]!.added < cutoff else { break }
            try placeOldest()
        }
        if blockMeta.recordCount > 0 && blockFirstAdded < cutoff { try cutBlock() }
    }

    /// Places every waiting record and cuts the block being filled.
    func placeAll() throws(StoreError) {
        while windowHead < window.count { try placeOldest() }
        try cutBlock()
    }

    /// A record waiting in the window, as its block will store it: without its index fields
    /// (the index holds them), so a move costs one reference to its bytes rather than a dozen
    /// strings.
    private struct WindowEntry {
        var record: StoreRecord
        /// ``SegmentIndex/time(of:)`` of the record.
        var time: Int64
        /// Hashes of its CADF id and initiator.id (``StringInterner/hash(_:)``).
        var id: UInt64?
        var initiator: UInt64?
        /// Journal mode: a notification's content digest, for its fields in the block's heads.
        var digest: UInt64?
        /// Journal mode: when it was added (``StoreOptions/clock``).
        var added: Int64 = 0

        /// A notification decoded from a journal frame: its fields are `fields`, its own are
        /// placeholders already.
        init(_ record: StoreRecord, fields: FrameFields) {
            time = SegmentIndex.time(eventTime: fields.head.eventTime, timestamp: record.timestamp)
            id = fields.field(0).map(StringInterner.hash)
            initiator = fields.field(1).map(StringInterner.hash)
            self.record = record
        }

        /// - Parameter keepFields: keep a notification's fields (journal mode: its block's heads
        ///   carry them).
        init(_ record: StoreRecord, keepFields: Bool = false) {
            time = SegmentIndex.time(of: record)
            let fields = record.fields
            id = fields.map { StringInterner.hash($0.id) }
            initiator = fields?.initiatorId.map(StringInterner.hash)
            self.record = record
            if !keepFields, case .notification(_, let bytes) = record.body {
                self.record.body = .notification(RecordCodec.placeholderFields, bytes: bytes)
            }
        }

        var weight: Int { (record.bytes?.count ?? 0) + 64 }
    }

    /// Adds the next record of the segment.
    ///
    /// Partners and initiators are found by a 64-bit hash of their string: a collision only
    /// places two unrelated records side by side.
    /// - Parameter digest: journal mode: stands in for a notification's missing content digest.
    func add(_ record: StoreRecord, digest: UInt64? = nil) throws(StoreError) {
        rows?.add(record, block: 0, position: 0, length: 0)
        var entry = WindowEntry(record, keepFields: emit != nil)
        entry.digest = digest
        if emit != nil { entry.added = options.clock() }
        try wait(entry)
    }

    /// Adds the next record of the segment, decoded from a journal frame: a notification's
    /// fields are `fields` (its own are placeholders), indexed straight from the frame's bytes.
    func add(_ record: StoreRecord, fields: FrameFields?) throws(StoreError) {
        guard let fields else { return try add(record) }
        guard rows != nil else {
            throw StoreError(.invalidArgument, "a frame's record added to a segment that does not index as it adds")
        }
        rows!.add(record, fields: fields)
        try wait(WindowEntry(record, fields: fields))
    }

    /// Puts `entry` in the window, and places the oldest waiting records while it is full.
    private func wait(_ entry: WindowEntry) throws(StoreError) {
        if let id = entry.id { partners[id, default: []].append(windowBase + window.count) }
        if let initiator = entry.initiator { sameInitiator[initiator, default: []].append(windowBase + window.count) }
        window.append(entry)
        windowBytes += entry.weight
        let limit = min(options.pairWindowBytes, memory.share / 2)
        while windowBytes > limit { try placeOldest() }
    }

    /// Moves the oldest waiting record into a block, then the waiting records of the same
    /// initiator, each followed by the waiting records sharing its CADF id.
    private func placeOldest() throws(StoreError) {
        while windowHead < window.count, window[windowHead] == nil { windowHead += 1 }
        guard windowHead < window.count else { return }
        try placeWithPartners(windowBase + windowHead, initiator: true)
        // Drop the placed prefix once it is half the array, so the window does not grow with
        // everything placed.
        if windowHead >= 16 && windowHead * 2 >= window.count {
            window.removeFirst(windowHead)
            windowBase += windowHead
            windowHead = 0
        }
    }

    /// Places the record at absolute window position `position`, if still waiting, and the
    /// waiting records with its CADF id; with `initiator`, then the waiting records of its
    /// initiator, each with its partners.
    private func placeWithPartners(_ position: Int, initiator: Bool = false) throws(StoreError) {
        guard position - windowBase >= windowHead, let entry = window[position - windowBase] else { return }
        window[position - windowBase] = nil
        try place(entry)
        if let id = entry.id, let others = partners.removeValue(forKey: id) {
            for partner in others where partner - windowBase >= windowHead {
                guard let other = window[partner - windowBase] else { continue }
                window[partner - windowBase] = nil
                try place(other)
            }
        }
        if initiator, let key = entry.initiator, let others = sameInitiator.removeValue(forKey: key) {
            for other in others { try placeWithPartners(other) }
        }
    }

    private func place(_ entry: WindowEntry) throws(StoreError) {
        windowBytes -= entry.weight
        let record = entry.record
        if blockMeta.recordCount == 0 { blockFirstAdded = entry.added }
        let (position, length) = block.add(record, digest: entry.digest)
        if emit == nil {
            locations.append(
                Location(offset: record.offset, block: UInt32(blocks.count + waiting.count), position: position, length: length))
        }
        blockMeta.recordCount += 1
        blockMeta.firstOffset = min(blockMeta.firstOffset, record.offset)
        blockMeta.nextOffset = max(blockMeta.nextOffset, record.nextOffset)
        blockMeta.minTime = min(blockMeta.minTime, entry.time)
        blockMeta.maxTime = max(blockMeta.maxTime, entry.time)
        if block.sealedLength >= min(options.blockSize, max(4 << 10, memory.share / 4)) { try cutBlock() }
    }

    private func cutBlock() throws(StoreError) {
        guard blockMeta.recordCount > 0 else { return }
        let raw = block.take()
        blockMeta.rawLength = UInt32(raw.count)
        if let emit {
            try emit(raw, blockMeta)
        } else if codec != nil {
            try writeBlock(raw, blockMeta)
        } else {
            waiting.append((raw, blockMeta))
            waitingBytes += raw.count
            let training = min(options.dictionaryTrainingBytes, memory.share / 4)
            if dictionary != nil || waitingBytes >= training { try startFile() }
        }
        blockMeta = Self.emptyBlock
    }

    /// Decides the dictionary, writes the header, then the blocks that waited for it.
    private func startFile() throws(StoreError) {
        if dictionary == nil {
            // The samples are the records of the waiting blocks, each encoded whole.
            var samples = ByteWriter(capacity: waitingBytes)
            var sizes: [Int] = []
            for (raw, _) in waiting {
                try DecodedBlock(raw, version: block.version).forEachRecord { (record) throws(StoreError) in
                    let start = samples.bytes.count
                    RecordCodec.encode(record, includeFields: false, into: &samples)
                    sizes.append(samples.bytes.count - start)
                }
            }
            let joined = samples.bytes
            let capacity = min(options.dictionaryCapacity, memory.share / 8)
            if joined.count >= Self.minimumTrainingBytes {
                dictionary = ZstdCodec.trainDictionary(joined: joined, sizes: sizes, capacity: capacity)
            } else {
                // Too little to train on (a small share, or a segment sealed early): zstd's
                // trainer would cost tens of milliseconds per log for little gain, while the
                // first records themselves, as a raw-content dictionary, cost nothing and carry
                // what this traffic repeats. They start with a record's kind byte, never with
                // the magic of a trained dictionary.
                dictionary = joined.count >= 256 ? Array(joined.prefix(capacity)) : []
            }
        }
        var writer = ByteWriter()
        writer.raw(Self.magic(version: block.version))
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
        codec = ZstdCodec(level: options.compressionLevel, dictionary: dictionary ?? [], context: memory.compression)
        for (raw, meta) in waiting { try writeBlock(raw, meta) }
        waiting = []
    }

    private func writeBlock(_ raw: [UInt8], _ meta: SegmentIndex.Block) throws(StoreError) {
        guard let codec else { throw StoreError(.invalidArgument, "block before segment header") }
        try writeCompressed(try BlockCompression.compress(raw, version: block.version, with: codec), meta)
    }

    /// Writes a compressed block of this segment's version, linked to the chain.
    private func writeCompressed(_ compressed: [UInt8], _ meta: SegmentIndex.Block) throws(StoreError) {
        var meta = meta
        meta.fileOffset = length
        meta.compressedLength = UInt32(compressed.count)
        var header = ByteWriter(capacity: Self.blockHeaderLength + 32)
        header.raw(Self.blockMagic(version: block.version))
        header.u32(meta.compressedLength)
        header.u32(meta.rawLength)
        header.u32(meta.recordCount)
        header.i64(meta.firstOffset)
        header.i64(meta.nextOffset)
        chain = header.bytes.withUnsafeBytes { h in compressed.withUnsafeBytes { c in HashChain.link(chain, h, c) } }
        header.raw(chain)
        try append(header.bytes)
        try append(compressed)
        blocks.append(meta)
    }

    private func append(_ bytes: [UInt8]) throws(StoreError) {
        guard let file else { throw StoreError(.invalidArgument, "a journal's blocks are not written to a segment") }
        try file.write(bytes, at: length)
        hasher.update(data: bytes)
        length += Int64(bytes.count)
    }

    /// Writes the last block, the index file and the trailer, and makes both files durable.
    ///
    /// - Parameter journal: the journal holding exactly the records added, in offset order; not
    ///   read when the records were indexed as they were added.
    func finish(indexPath: String, journal: Journal, signer: SegmentSigner?) throws(StoreError) -> Sealed {
        guard file != nil else { throw StoreError(.invalidArgument, "a journal's window is not sealed as a segment") }
        while windowHead < window.count { try placeOldest() }
        try cutBlock()
        if codec == nil { try startFile() }
        let index = try buildIndex(journal)
        let indexBytes = try index.encode(version: options.indexVersion)
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
        try file?.sync()
        try indexFile.sync()
        return Sealed(
            index: index, indexBytes: indexBytes, segmentLength: length, chainHead: chain, digest: digest,
            dictionary: dictionary ?? [])
    }

    /// Makes the blocks of a version 4 journal this segment's (FORMAT.md §4.3), compressing no
    /// body again: each block's bodies frame is copied as it is, and only its heads are decoded,
    /// indexed (their fields straight from the decoded bytes) and compressed again without the
    /// fields. Then ``finish(indexPath:journal:signer:)`` writes the index and the trailer.
    ///
    /// The segment must have been created with the journal's dictionary and `indexRows`, and be
    /// given nothing else; the journal's bodies were compressed with that dictionary.
    func copyBlocks(of journal: Journal) throws(StoreError) {
        guard journal.version >= 4, block.version >= 3, rows != nil, window.isEmpty, blocks.isEmpty,
            dictionary == journal.header.dictionary
        else {
            throw StoreError(.invalidArgument, "\(journal.file.path): blocks are copied from a version 4 journal into a fresh segment with its dictionary")
        }
        if codec == nil { try startFile() }
        guard let codec else { throw StoreError(.invalidArgument, "block before segment header") }
        copied = true
        try journal.forEachEntry { (entry) throws(StoreError) in
            let (heads, bodies) = try entry.compressed.withBytes { (data) throws(StoreError) in
                try BlockCompression.decompressHeads(data, rawLength: entry.rawLength, with: codec)
            }
            var columns = HeadColumns()
            var meta = Self.emptyBlock
            try heads.withBytes { (prefix) throws(StoreError) in
                guard let decoded = try HeadColumns.read(prefix, rawLength: entry.rawLength) else {
                    throw StoreError(.corrupt, "\(journal.file.path): an entry's heads do not decode")
                }
                var spans: [UInt64] = []
                for (ordinal, head) in decoded.enumerated() {
                    var reader = ByteReader(prefix, position: Int(head.tail))
                    var fields: FieldSpans?
                    let record = try RecordCodec.decodeTail(
                        &reader, kind: head.kind, flags: head.flags, offset: head.offset, timestamp: head.timestamp,
                        bytes: { (_) throws(StoreError) in [] },
                        fields: { (reader, requestIDs) throws(StoreError) in
                            fields = try RecordCodec.decodeFieldSpans(&reader, requestIDs: requestIDs, base: 0, into: &spans)
                            return RecordCodec.placeholderFields
                        })
                    guard head.kind != .notification || fields != nil else {
                        throw StoreError(.corrupt, "\(journal.file.path): a notification without its fields at offset \(head.offset)")
                    }
                    let time: Int64
                    if let fields {
                        try spans.withUnsafeBufferPointer { (spans) throws(StoreError) in
                            rows!.add(record, fields: FrameFields(head: fields, frame: prefix, spans: spans))
                        }
                        time = SegmentIndex.time(eventTime: fields.eventTime, timestamp: record.timestamp)
                    } else {
                        rows!.add(record, block: 0, position: 0, length: 0)
                        time = SegmentIndex.time(of: record)
                    }
                    rows!.locate(row: rows!.count - 1, block: UInt32(blocks.count), position: UInt32(ordinal), length: 0)
                    columns.add(record, includeFields: false, digest: nil, bodyLength: Int(head.bodyLength))
                    meta.recordCount += 1
                    meta.minTime = min(meta.minTime, time)
                    meta.maxTime = max(meta.maxTime, time)
                }
            }
            meta.firstOffset = entry.firstOffset
            meta.nextOffset = entry.nextOffset
            meta.rawLength = UInt32(4 + columns.length + bodies.rawLength)
            try writeCompressed(try BlockCompression.compress(heads: columns, bodies: bodies.compressed, with: codec), meta)
        }
    }

    private func buildIndex(_ journal: Journal) throws(StoreError) -> SegmentIndex {
        locations.sort { $0.offset < $1.offset }
        if var rows, copied {
            for block in blocks { rows.addBlock(block) }
            return rows.finish()
        }
        if var rows {
            guard rows.count == locations.count else {
                throw StoreError(.corrupt, "\(journal.file.path): \(rows.count) records indexed, \(locations.count) placed")
            }
            for (row, location) in locations.enumerated() {
                rows.locate(row: row, block: location.block, position: location.position, length: location.length)
            }
            for block in blocks { rows.addBlock(block) }
            return rows.finish()
        }
        var builder = SegmentIndexBuilder(baseOffset: header.baseOffset)
        var row = 0
        try journal.forEachRecord { (record) throws(StoreError) in
            guard row < locations.count, locations[row].offset == record.offset else {
                throw StoreError(.corrupt, "\(journal.file.path): record at offset \(record.offset) was not placed in a block")
            }
            let location = locations[row]
            builder.add(record, block: location.block, position: location.position, length: location.length)
            row += 1
        }
        guard row == locations.count else {
            throw StoreError(.corrupt, "\(journal.file.path): holds \(row) records, the segment \(locations.count)")
        }
        for block in blocks { builder.addBlock(block) }
        return builder.finish()
    }

    /// Where a record is stored: block number, byte position in the decompressed block, length.
    private struct Location {
        var offset: Int64
        var block: UInt32
        var position: UInt32
        var length: UInt32
    }

    /// Length of the fixed part of the trailer after the `ATSEGEND` magic's fields.
    static let trailerLength = 8 + 8 + 8 + 4 + 32 + 32 + 8 + 8 + 32 + 1 + 32 + 64 + 4 + 8  // 249
}
