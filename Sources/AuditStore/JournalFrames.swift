// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// The records one durability barrier makes durable together, before they are compressed into
/// a version 3 journal frame (FORMAT.md §4.1): each record whole, its fields right before its
/// bytes (which hold the same strings), grouped by initiator and CADF id (``take()``) so that a
/// response costs zstd a few dozen bytes, as in a sealed block. (Heads apart from bodies, as
/// sealed blocks have them, compressed 9 % larger here: a head's fields then sit far from the
/// bytes that repeat them.)
///
/// Adding a notification fixes its content digest (first 8 bytes of the SHA-256 of its bytes)
/// unless the caller gave one: this is the only pass of SHA-256 over its bytes. The chain links
/// the compressed frame, which holds them.
struct PendingFrame {
    /// The records in offset order, each with its content digest if it needs one.
    private var records: [(record: StoreRecord, digest: UInt64?)] = []
    private(set) var rawLength = 0
    private(set) var firstOffset: Int64 = 0
    private(set) var nextOffset: Int64 = 0

    var isEmpty: Bool { records.isEmpty }
    var count: Int { records.count }

    /// Adds the next record (offsets contiguous, checked by the caller); `hash`: the SHA-256 of its
    /// bytes if the caller has it. Returns about the raw bytes it adds to the frame.
    @discardableResult
    mutating func add(_ record: StoreRecord, hash: ContentHash?) -> Int {
        if records.isEmpty { firstOffset = record.offset }
        var digest: UInt64?
        if case .notification(let fields, let bytes) = record.body, fields.digest == nil {
            digest = hash?.digest ?? HashChain.contentDigest(bytes)
        }
        records.append((record, digest))
        nextOffset = record.nextOffset
        // The head's size is a guess (a notification's fields are a few hundred bytes): it only
        // bounds the frame and the segment.
        let added = (record.bytes?.count ?? 0) + 256
        rawLength += added
        return added
    }

    /// The frame's raw bytes; the frame is empty afterwards.
    ///
    /// Records are laid out as a sealed block's window lays them (``SegmentWriter``): the
    /// notifications of one initiator together, in the order their initiators first appear, and
    /// within them the notifications of one CADF id together, in the order the ids first appear;
    /// other records in offset order. One sort of 64-bit keys does it, with no list per key.
    mutating func take() -> [UInt8] {
        // ``add(_:hash:)`` counts at least 256 bytes a record and ``LogWriter`` cuts a frame at
        // 8 MiB, so a frame holds far fewer than the 2^21 records a key's fields can number.
        precondition(records.count < 1 << 21, "a frame of \(records.count) records")
        // ``rawLength`` counts each record's bytes and a head of 256 bytes, more than most heads.
        var block = BlockBuilder(version: 1, includeFields: true, capacity: rawLength)
        var firstOfInitiator: [UInt64: Int] = [:]
        var firstOfID: [UInt64: Int] = [:]
        firstOfInitiator.reserveCapacity(records.count)
        firstOfID.reserveCapacity(records.count)
        var keys: [UInt64] = []
        keys.reserveCapacity(records.count)
        for (i, entry) in records.enumerated() {
            var initiator = i
            var id = i
            if case .notification(let fields, _) = entry.record.body {
                let idHash = fields.withField(0) { $0.map(StringInterner.hash) } ?? 0
                id = firstOfID[idHash, default: i]
                firstOfID[idHash] = id
                if let initiatorHash = fields.withField(1, { $0.map(StringInterner.hash) }) {
                    initiator = firstOfInitiator[initiatorHash, default: i]
                    firstOfInitiator[initiatorHash] = initiator
                }
            }
            keys.append(UInt64(initiator) << 42 | UInt64(id) << 21 | UInt64(i))
        }
        keys.sort()
        for key in keys {
            let entry = records[Int(key & (1 << 21 - 1))]
            _ = block.add(entry.record, digest: entry.digest)
        }
        records.removeAll()
        rawLength = 0
        return block.take()
    }
}

/// Where a notification's index fields are in a decoded journal frame: sealing indexes them
/// straight from the frame's bytes (``SegmentIndexBuilder/add(_:fields:)``), so that a field costs
/// no `String` unless its value is new to the segment's index.
struct FieldSpans {
    /// ``NotificationFields/EventType``'s raw value.
    var eventType: UInt8
    /// `.min` when absent.
    var eventTime: Int64
    var digest: UInt64
    var requestIDsRecorded: Bool
    /// Where this notification's spans start in the frame's span array: the CADF id, then the
    /// ``NotificationFields/indexedStringFieldCount`` string fields in stored order.
    var first: Int

    /// The span of an absent field.
    static let absent = UInt64.max
}

/// A notification's fields in a decoded frame, valid while the frame's bytes and spans are.
struct FrameFields {
    let head: FieldSpans
    /// The frame's decoded bytes.
    let frame: UnsafeRawBufferPointer
    /// The frame's spans (``FieldSpans/first`` indexes them).
    let spans: UnsafeBufferPointer<UInt64>

    /// Field `number`: 0 the CADF id, then string field `number - 1` (``NotificationFields/stringField(_:)``).
    func field(_ number: Int) -> UnsafeRawBufferPointer? {
        let span = spans[head.first + number]
        guard span != FieldSpans.absent else { return nil }
        let start = Int(span >> 32)
        return UnsafeRawBufferPointer(rebasing: frame[start..<start + Int(span & 0xffff_ffff)])
    }
}

extension Journal {
    /// A version 3 frame starts with this magic, so that a reader scanning damaged bytes finds
    /// frames again and bytes a crash cannot have written are told from a frame.
    static let frameMagic = Array("JFR3".utf8)
    /// A version 4 entry starts with this magic; the rest of its header is a frame's.
    static let blockEntryMagic = Array("JBK4".utf8)

    /// The magic of each frame (version 3) or entry (version 4) of a journal of `version`.
    static func entryMagic(version: Int) -> [UInt8] { version >= 4 ? blockEntryMagic : frameMagic }
    /// `"JFR3" | u32 compressedLength | u32 rawLength | u32 recordCount | i64 firstOffset | i64 nextOffset`.
    static let frameHeaderLength = 32
    /// The largest dictionary a version 3 header may carry.
    static let maximumDictionary = 1 << 20

    /// Compresses `frame` and appends it, linked to the chain (written, not yet durable).
    ///
    /// A failed write leaves the journal as it was (``chainHead`` and ``length`` move only once
    /// every byte is written) and cuts what did reach the file where possible.
    func appendFrame(_ frame: inout PendingFrame) throws(StoreError) {
        guard !frame.isEmpty else { return }
        guard version >= 3, let codec = frameCodec else {
            throw StoreError(.invalidArgument, "\(file.path): frames are appended to version 3 journals only")
        }
        let (count, first, next) = (frame.count, frame.firstOffset, frame.nextOffset)
        let raw = frame.take()
        let compressed = try raw.withBytes { (raw) throws(StoreError) in try codec.compress(raw) }
        var bytes = ByteWriter(capacity: Self.frameHeaderLength + 32 + compressed.count)
        bytes.raw(Self.frameMagic)
        bytes.u32(UInt32(compressed.count))
        bytes.u32(UInt32(raw.count))
        bytes.u32(UInt32(count))
        bytes.i64(first)
        bytes.i64(next)
        let link = bytes.bytes.withUnsafeBytes { header in
            compressed.withUnsafeBytes { HashChain.link(chainHead, header, $0) }
        }
        bytes.raw(link)
        bytes.raw(compressed)
        try write(bytes.bytes, link: link)
    }

    /// Appends a block the pair window cut (a version 4 journal, FORMAT.md §4.3): compressed
    /// once as a version 3 block whose heads carry the records' fields, framed as a version 3
    /// frame is, its offsets the lowest and the highest next offset of its records, and linked
    /// to the chain (written, not yet durable).
    func appendBlock(_ raw: [UInt8], _ meta: SegmentIndex.Block) throws(StoreError) {
        guard version >= 4, let codec = frameCodec else {
            throw StoreError(.invalidArgument, "\(file.path): blocks are appended to version 4 journals only")
        }
        let compressed = try BlockCompression.compress(raw, version: 3, with: codec)
        var bytes = ByteWriter(capacity: Self.frameHeaderLength + 32 + compressed.count)
        bytes.raw(Self.blockEntryMagic)
        bytes.u32(UInt32(compressed.count))
        bytes.u32(UInt32(raw.count))
        bytes.u32(meta.recordCount)
        bytes.i64(meta.firstOffset)
        bytes.i64(meta.nextOffset)
        let link = bytes.bytes.withUnsafeBytes { header in
            compressed.withUnsafeBytes { HashChain.link(chainHead, header, $0) }
        }
        bytes.raw(link)
        bytes.raw(compressed)
        try write(bytes.bytes, link: link)
    }

    /// One frame or entry of a version 3 or 4 journal, as ``forEachEntry(_:)`` reads it.
    struct Entry {
        var rawLength: Int
        var recordCount: UInt32
        var firstOffset: Int64
        var nextOffset: Int64
        /// The compressed bytes after the header and link.
        var compressed: [UInt8]
    }

    /// Every frame (version 3) or entry (version 4) of the journal, in the order written. They
    /// were written (or verified by recovery) by this process; their links are not checked again.
    func forEachEntry(_ body: (Entry) throws(StoreError) -> Void) throws(StoreError) {
        guard version >= 3 else { throw StoreError(.invalidArgument, "\(file.path) is not a version 3 or 4 journal") }
        let magic = Self.entryMagic(version: version)
        var position = Int64(Self.encode(header).count)
        while position < length {
            let head = try file.read(count: Self.frameHeaderLength + 32, at: position)
            guard head.count == Self.frameHeaderLength + 32, head.starts(with: magic) else {
                throw StoreError(.corrupt, "\(file.path): no whole frame at \(position)")
            }
            let entry = head.withUnsafeBytes { header in
                Entry(
                    rawLength: Int(UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 8, as: UInt32.self))),
                    recordCount: UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
                    firstOffset: Int64(littleEndian: header.loadUnaligned(fromByteOffset: 16, as: Int64.self)),
                    nextOffset: Int64(littleEndian: header.loadUnaligned(fromByteOffset: 24, as: Int64.self)),
                    compressed: [])
            }
            let compressedLength = head.withUnsafeBytes {
                Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            }
            let start = position + Int64(Self.frameHeaderLength + 32)
            var whole = entry
            whole.compressed = try file.read(count: compressedLength, at: start)
            guard whole.compressed.count == compressedLength else {
                throw StoreError(.corrupt, "\(file.path): frame at \(position) cut short")
            }
            try body(whole)
            position = start + Int64(compressedLength)
        }
    }

    /// Every record of a version 3 journal, with its bytes, in offset order, one frame in memory
    /// at a time: what sealing lays into blocks. A notification comes with ``RecordCodec/placeholderFields``
    /// and its fields as spans of the frame (valid during the call only). The frames were written
    /// (or verified by recovery) by this process; their links are not checked again here.
    func forEachFrameRecord(_ body: (StoreRecord, FrameFields?) throws(StoreError) -> Void) throws(StoreError) {
        guard version == 3, let codec = frameCodec else { throw StoreError(.invalidArgument, "\(file.path) is not a version 3 journal") }
        try forEachEntry { (entry) throws(StoreError) in
            let raw = try entry.compressed.withBytes { (input) throws(StoreError) in
                try codec.decompress(input, rawLength: entry.rawLength)
            }
            try raw.withBytes { (frame) throws(StoreError) in
                var records: [(record: StoreRecord, fields: FieldSpans?)] = []
                var spans: [UInt64] = []
                var reader = ByteReader(frame)
                while reader.remaining > 0 {
                    let length = Int(try reader.u32())
                    let base = reader.position
                    var head = ByteReader(try reader.raw(length))
                    var fields: FieldSpans?
                    let record = try RecordCodec.decode(
                        &head,
                        fields: { (head, requestIDs) throws(StoreError) in
                            fields = try RecordCodec.decodeFieldSpans(&head, requestIDs: requestIDs, base: base, into: &spans)
                            return RecordCodec.placeholderFields
                        })
                    guard head.remaining == 0 else { throw StoreError(.corrupt, "\(file.path): record longer than it decodes") }
                    records.append((record, fields))
                }
                records.sort { $0.record.offset < $1.record.offset }
                try spans.withUnsafeBufferPointer { (spans) throws(StoreError) in
                    for (record, head) in records {
                        try body(record, head.map { FrameFields(head: $0, frame: frame, spans: spans) })
                    }
                }
            }
        }
    }

    /// The frames (version 3) or entries (version 4) of a journal after its header (see
    /// ``parse(_:path:)``).
    ///
    /// A version 4 journal's entries hold their records in the order the pair window placed
    /// them, so entries follow no offset order, and a record may be missing below a later one
    /// (it was still waiting when the file ends). Its records are those of the whole entries up
    /// to the first offset none of them holds; the rest are counted in
    /// ``Contents/aboveResume``. An offset held twice is damage.
    static func parseFrames(_ buffer: UnsafeRawBufferPointer, header: Header, headerLength: Int) throws(StoreError)
        -> Contents
    {
        let version = header.version
        let codec = ZstdCodec(level: 1, dictionary: header.dictionary)
        var chain = HashChain.digest(UnsafeRawBufferPointer(rebasing: buffer[0..<headerLength]))
        var records: [StoreRecord] = []
        var offsets: [Int64] = []
        var seen: Set<Int64> = []
        var next = header.baseOffset
        var position = headerLength
        var failure: (reason: String, torn: Bool)?
        while position < buffer.count {
            switch compressedFrame(
                buffer, at: position, chain: chain, expected: version >= 4 ? header.baseOffset : next, codec: codec,
                version: version)
            {
            case .partial(let why):
                failure = ("\(why) at \(position)", true)
            case .foreign:
                failure = ("no frame at \(position)", true)
            case .invalid(let reason):
                failure = ("\(reason) at \(position)", false)
            case .valid(let frame, let link, let end):
                if version >= 4, let twice = frame.first(where: { !seen.insert($0.offset).inserted }) {
                    failure = ("offset \(twice.offset) held twice at \(position)", false)
                    break
                }
                next = frame.last!.nextOffset
                chain = link
                records += frame
                offsets += repeatElement(Int64(position), count: frame.count)
                position = end
                continue
            }
            break
        }
        var aboveResume = 0
        if version >= 4 {
            // The whole entries' records up to the first offset none holds.
            let order = records.indices.sorted { records[$0].offset < records[$1].offset }
            next = header.baseOffset
            var prefix = 0
            while prefix < order.count, records[order[prefix]].offset == next {
                next = records[order[prefix]].nextOffset
                prefix += 1
            }
            aboveResume = order.count - prefix
            (records, offsets) = (order[..<prefix].map { records[$0] }, order[..<prefix].map { offsets[$0] })
        }
        var contents = Contents(
            header: header, records: records, aboveResume: aboveResume, frameOffsets: offsets,
            validLength: Int64(position), fileLength: Int64(buffer.count), chainHead: chain)
        guard let failure else { return contents }
        contents.classifyTail(
            buffer, failure: failure.reason, torn: failure.torn, expectedOffset: next,
            later: laterCompressedFrames(buffer, from: position + 1, expected: next, codec: codec, version: version))
        return contents
    }

    /// One version 3 frame or version 4 entry read at `start`.
    private enum CompressedFrame {
        /// A proper prefix of a frame: the bytes end before it does (a crash's last write).
        case partial(String)
        /// Bytes that do not start with the frame magic: no writer wrote a frame here.
        case foreign
        /// A whole frame that fails.
        case invalid(String)
        case valid([StoreRecord], link: [UInt8], end: Int)
    }

    /// Reads the frame at `start`: its link is checked against `chain` when given (taken as it is
    /// otherwise: a frame found by scanning), and its records must run contiguously from
    /// `expected` (from at least `expected`, with `chain` nil). A version 4 entry's records, in
    /// the order its block holds them, must lie at or after `expected`, the lowest offset and
    /// the highest next offset among them its header's.
    private static func compressedFrame(
        _ buffer: UnsafeRawBufferPointer, at start: Int, chain: [UInt8]?, expected: Int64, codec: ZstdCodec,
        version: Int
    ) -> CompressedFrame {
        let headerAndLink = frameHeaderLength + 32
        let available = buffer.count - start
        let frameMagic = entryMagic(version: version)
        let magicLength = min(available, frameMagic.count)
        guard UnsafeRawBufferPointer(rebasing: buffer[start..<start + magicLength]).elementsEqual(frameMagic.prefix(magicLength))
        else { return .foreign }
        guard available >= headerAndLink else { return .partial("partial frame header") }
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: start + at, as: UInt32.self))) }
        func i64(_ at: Int) -> Int64 { Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: start + at, as: Int64.self)) }
        let (compressedLength, rawLength, count, first, next) = (u32(4), u32(8), u32(12), i64(16), i64(24))
        guard compressedLength <= available - headerAndLink else { return .partial("partial frame") }
        let end = start + headerAndLink + compressedLength
        let compressed = UnsafeRawBufferPointer(rebasing: buffer[(start + headerAndLink)..<end])
        let stored = Array(UnsafeRawBufferPointer(rebasing: buffer[(start + frameHeaderLength)..<(start + headerAndLink)]))
        if let chain {
            let header = UnsafeRawBufferPointer(rebasing: buffer[start..<start + frameHeaderLength])
            guard HashChain.link(chain, header, compressed) == stored else { return .invalid("frame hash mismatch") }
            guard version >= 4 ? first >= expected : first == expected else {
                return .invalid("frame offset \(first), expected \(expected)")
            }
        } else {
            guard first >= expected else { return .invalid("frame offset \(first) before \(expected)") }
        }
        guard count > 0, next > first, rawLength <= 1 << 30,
            let raw = try? BlockCompression.decompress(compressed, rawLength: rawLength, version: version >= 4 ? 3 : 1, with: codec)
        else { return .invalid("undecodable frame") }
        var records: [StoreRecord] = []
        records.reserveCapacity(count)
        var decoded: Bool
        do throws(StoreError) {
            try DecodedBlock(raw, version: version >= 4 ? 3 : 1).forEachRecord { records.append($0) }
            if version >= 4 {
                // A block's records, in the order the window placed them.
                decoded =
                    records.count == count && records.allSatisfy { $0.offset >= expected }
                    && records.map(\.offset).min() == first && records.map(\.nextOffset).max() == next
                guard decoded else { return .invalid("entry records do not decode to its header") }
                return .valid(records, link: stored, end: end)
            }
            // Records are grouped by CADF id in the frame; in offset order they are contiguous.
            records.sort { $0.offset < $1.offset }
            var offset = first
            decoded = records.count == count
            for record in records where decoded {
                decoded = record.offset == offset
                offset = record.nextOffset
            }
            decoded = decoded && offset == next
        } catch {
            decoded = false
        }
        guard decoded else { return .invalid("frame records do not decode to its header") }
        return .valid(records, link: stored, end: end)
    }

    /// The whole frames after a failing one, found by scanning for the frame magic (FORMAT.md §4):
    /// a candidate decodes and starts at or after `expected`; from it, frames are followed while
    /// each links to the one before. A run counts if a second frame links to it, or if it ends at
    /// the end of the file or before a frame's proper prefix there.
    ///
    /// A version 4 journal's entries follow no offset order: every one after the damage holds
    /// offsets at or after `expected` (those below it are in the entries before), and a run is
    /// followed by its links alone.
    private static func laterCompressedFrames(
        _ buffer: UnsafeRawBufferPointer, from: Int, expected: Int64, codec: ZstdCodec, version: Int
    ) -> (count: Int, nextOffset: Int64?) {
        let frameMagic = entryMagic(version: version)
        let floor = expected
        var count = 0
        var next = expected
        var position = from
        while buffer.count - position >= frameHeaderLength + 32 {
            guard buffer[position] == frameMagic[0], buffer[position + 1] == frameMagic[1],
                buffer[position + 2] == frameMagic[2], buffer[position + 3] == frameMagic[3],
                case .valid(let first, var link, var end) = compressedFrame(
                    buffer, at: position, chain: nil, expected: version >= 4 ? floor : next, codec: codec, version: version)
            else {
                position += 1
                continue
            }
            var run = first.count
            var runNext = first.map(\.nextOffset).max()!
            var frames = 1
            while case .valid(let records, let nextLink, let nextEnd) = compressedFrame(
                buffer, at: end, chain: link, expected: version >= 4 ? floor : runNext, codec: codec, version: version)
            {
                run += records.count
                runNext = max(version >= 4 ? runNext : .min, records.map(\.nextOffset).max()!)
                link = nextLink
                end = nextEnd
                frames += 1
            }
            var confirmed = frames > 1 || end == buffer.count
            if !confirmed,
                case .partial = compressedFrame(
                    buffer, at: end, chain: nil, expected: version >= 4 ? floor : runNext, codec: codec, version: version)
            {
                confirmed = true
            }
            guard confirmed else {
                position += 1
                continue
            }
            count += run
            next = version >= 4 ? max(next, runNext) : runNext
            position = end
        }
        return (count, count > 0 ? next : nil)
    }
}
