// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Glibc

/// The active segment of a log: an append-only journal of hash-chained frames (FORMAT.md §4),
/// durable at each ``sync()``.
///
/// Version 3, which writers write: each durability barrier appends one frame per log, the
/// records appended since the last one compressed together with the log's dictionary
/// (``appendFrame(_:)``). A torn write loses only the frame being written, whose offsets were
/// never committed. Sealing decodes the frames one at a time into the segment's blocks.
/// Versions 1 and 2 (one uncompressed frame per record), left by earlier writers, are still read,
/// verified and recovered; tests write version 2 through ``append(_:hashes:)``.
final class Journal {
    static let magic = Array("ATJRNL03".utf8)
    /// Version 4: the pair window's blocks, each compressed once (FORMAT.md §4.3).
    static let version4Magic = Array("ATJRNL04".utf8)
    /// Version 2: one uncompressed frame per record, its bytes linked by their SHA-256.
    static let version2Magic = Array("ATJRNL02".utf8)
    /// Version 1 linked each frame's bytes as they are (no digest of them in between); such a
    /// journal, left by an earlier writer, is still recovered.
    static let version1Magic = Array("ATJRNL01".utf8)

    struct Header: Equatable {
        var topic: String
        var partition: Int32
        var baseOffset: Int64
        var epoch: Int64
        var previousChainHead: [UInt8]
        /// 1, 2, 3 or 4 (the magic's).
        var version = 3
        /// Versions 3 and 4: the zstd dictionary every frame uses (empty: none).
        var dictionary: [UInt8] = []
    }

    let header: Header
    let file: StoreFile
    private(set) var length: Int64
    private(set) var chainHead: [UInt8]
    /// Version 3: compresses and decompresses frames with the header's dictionary.
    let frameCodec: ZstdCodec?

    private init(header: Header, file: StoreFile, length: Int64, chainHead: [UInt8], codec: ZstdCodec? = nil) {
        self.header = header
        self.file = file
        self.length = length
        self.chainHead = chainHead
        frameCodec = codec
    }

    var version: Int { header.version }

    /// Creates a new journal file and makes it durable (file and directory entry), so that a
    /// record acknowledged by a later ``sync()`` can be found after a crash.
    ///
    /// A journal whose creation failed (a full disk) is removed again where possible; one left
    /// with less than its header (or by a crash during creation) never held a record, and
    /// recovery removes it (``isIncompleteHeader(_:)``).
    /// - Parameter codec: version 3: the codec frames are compressed with (the header's
    ///   dictionary, the log's level).
    static func create(path: String, directory: String, header: Header, codec: ZstdCodec? = nil) throws(StoreError)
        -> Journal
    {
        let file = try StoreFile.openForWriting(path, truncate: true)
        let bytes = encode(header)
        do {
            try file.write(bytes, at: 0)
            try file.sync()
            try Directory.sync(directory)
        } catch {
            try? Directory.remove(path)
            throw error
        }
        return Journal(
            header: header, file: file, length: Int64(bytes.count), chainHead: HashChain.digest(bytes), codec: codec)
    }

    /// Whether a journal file's bytes are less than a whole header: empty, a prefix of one, or a
    /// few zero bytes. ``create(path:directory:header:)`` writes and fsyncs the header before any
    /// frame, so such a file never held a record: its creation failed (a full disk) or was cut
    /// short by a crash (the size may then cover zeros).
    static func isIncompleteHeader(_ bytes: [UInt8]) -> Bool {
        // A header: magic, u32 length, a topic of at most 249 bytes, partition, base, epoch, chain head.
        // Version 3 adds the dictionary (at most ``maximumDictionary`` bytes and its length).
        let longestHeader = 8 + 4 + 4 + 249 + 4 + 8 + 8 + 32
        if bytes.count <= longestHeader && !bytes.contains(where: { $0 != 0 }) { return true }
        let magicPrefix = bytes.prefix(8)
        guard [version4Magic, magic, version2Magic, version1Magic].contains(where: { magicPrefix.elementsEqual($0.prefix(magicPrefix.count)) })
        else { return false }
        guard bytes.count >= 12 else { return true }
        let headerLength = bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) }
        let longest = magicPrefix.elementsEqual(magic) || magicPrefix.elementsEqual(version4Magic) ? longestHeader + 4 + maximumDictionary : longestHeader
        return bytes.count < headerLength && headerLength <= longest
    }

    /// What ``recover(path:directory:setAsideAs:)`` found and did.
    struct Recovered {
        var journal: Journal
        /// The whole, valid records before a torn tail or damage.
        var records: [StoreRecord]
        /// Bytes cut from a torn tail (0 when the journal was damaged: nothing is cut then).
        var truncated: Int64
        /// Version 4: records of whole entries above the resume offset (``Contents/aboveResume``).
        var dropped = 0
        /// The damage, if the journal was damaged; it was then set aside.
        var damage: Damage?
    }

    /// Opens a journal for appending after recovery.
    ///
    /// A torn tail (``Contents/tornReason``) is cut at the last whole frame. A damaged journal
    /// (``Contents/damage``) is never cut or rewritten: the file is kept whole under the name
    /// `setAsideAs` (evidence is never deleted), and a fresh journal with the same header and the
    /// whole frames before the damage takes its place.
    ///
    /// The steps keep both copies safe at any crash: the fresh journal is written as `*.tmp` and
    /// fsynced; the damaged file gets its second name by `link(2)` (same inode, bytes untouched),
    /// made durable by a directory fsync before the fresh file replaces the journal's name by
    /// `rename(2)` (then fsync the directory again). A crash before the rename leaves the damaged
    /// journal in place (recovered again on the next open, the `*.tmp` removed); after it, the
    /// fresh journal.
    /// - Returns: nil for a journal with less than its header (``isIncompleteHeader(_:)``): it
    ///   holds no record, and the caller removes it.
    /// - Throws: ``StoreError/Code/corrupt`` (the header does not parse), ``StoreError/Code/io``.
    /// - Parameter level: version 3: the zstd level frames appended after recovery use.
    static func recover(
        path: String, directory: String, setAsideAs aside: String, level: Int32 = 1, context: CompressionContext? = nil
    ) throws(StoreError) -> Recovered? {
        let file = try StoreFile.openForWriting(path, create: false)
        let bytes = try file.readAll()
        if isIncompleteHeader(bytes) { return nil }
        let contents = try parse(bytes, path: path)
        let codec =
            contents.header.version >= 3
            ? ZstdCodec(level: level, dictionary: contents.header.dictionary, context: context) : nil
        if let damage = contents.damage {
            let fresh = try StoreFile.openForWriting(path + ".tmp", truncate: true)
            try fresh.write(Array(bytes[..<Int(contents.validLength)]), at: 0)
            try fresh.sync()
            guard Glibc.link(path, aside) == 0 else {
                throw StoreError.system("link", path: "\(path) -> \(aside)", errno: errno)
            }
            try Directory.sync(directory)
            try Directory.rename(path + ".tmp", to: path)
            try Directory.sync(directory)
            let journal = Journal(
                header: contents.header, file: try StoreFile.openForWriting(path, create: false),
                length: contents.validLength, chainHead: contents.chainHead, codec: codec)
            return Recovered(
                journal: journal, records: contents.records, truncated: 0, dropped: contents.aboveResume, damage: damage)
        }
        if contents.validLength < contents.fileLength {
            // Cut the torn tail, and make the cut durable before appending after it: a later
            // crash must not resurrect half a frame between two whole ones.
            try file.truncate(to: contents.validLength)
            try file.sync()
        }
        let journal = Journal(
            header: contents.header, file: file, length: contents.validLength, chainHead: contents.chainHead, codec: codec)
        return Recovered(
            journal: journal, records: contents.records, truncated: contents.fileLength - contents.validLength,
            dropped: contents.aboveResume, damage: nil)
    }

    /// The name recovery gives a damaged journal `journalName` it sets aside: recovery, the
    /// writer and readers ignore it (it does not end in `.journal` or `.tmp`); `verify` reports it
    /// until an operator removes it.
    static func setAsideName(_ journalName: String, epoch: Int64) -> String {
        journalName + setAsideInfix + String(epoch)
    }

    /// Whether `name` is a damaged journal set aside by recovery (``setAsideName(_:epoch:)``).
    static func isSetAside(_ name: String) -> Bool {
        let journalName = name.prefix(20 + LogFiles.journal.count)
        let rest = name.dropFirst(journalName.count)
        return LogFiles.base(of: String(journalName), suffix: LogFiles.journal) != nil
            && rest.hasPrefix(setAsideInfix) && Int64(rest.dropFirst(setAsideInfix.count)).map { $0 >= 0 } == true
    }

    private static let setAsideInfix = ".damaged-"

    /// Encodes `records` as frames at the end of the journal (written, not yet durable).
    ///
    /// A notification without a ``NotificationFields/digest`` gets the content digest here, from
    /// the same SHA-256 of its bytes that its frame's link takes (FORMAT.md §2): the bytes are
    /// hashed once.
    ///
    /// A failed write (a full disk: `pwrite` writes what fits, then fails) leaves the journal as
    /// it was: ``chainHead`` and ``length`` move only once every byte is written, and the bytes
    /// of the failed frames that did reach the file are cut again where possible (if not, they
    /// are a torn tail recovery cuts: a prefix of the frames that were being written).
    ///
    /// - Parameter hashes: empty, or the ``ContentHash`` of each record's bytes where the caller
    ///   has it, in the order of `records`.
    func append(_ records: ArraySlice<StoreRecord>, hashes: ArraySlice<ContentHash?> = []) throws(StoreError) {
        precondition(version == 2, "records are appended one frame each to version 2 journals only")
        // A new buffer per append: one kept per log would keep the largest append of every log.
        var pending = ByteWriter(capacity: records.reduce(0) { $0 + ($1.bytes?.count ?? 0) + 512 })
        var head = chainHead
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
            head = pending.bytes.withUnsafeBytes { frame in
                Self.link(head, frame: UnsafeRawBufferPointer(rebasing: frame[start...]), bytes: bytes)
            }
            pending.raw(head)
        }
        try write(pending.bytes, link: head)
    }

    /// Writes whole frames at the end; `link` is the last one's.
    func write(_ frames: [UInt8], link: [UInt8]) throws(StoreError) {
        do {
            try file.write(frames, at: length)
        } catch {
            // A short write left part of these frames after the last whole one; cutting them
            // keeps the file a journal of whole frames (best effort: the writer stops anyway).
            try? file.truncate(to: length)
            throw error
        }
        length += Int64(frames.count)
        chainHead = link
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
        writer.raw(
            header.version >= 4 ? version4Magic : header.version == 3 ? magic : header.version == 2 ? version2Magic : version1Magic)
        writer.u32(0)
        writer.string(header.topic)
        writer.i32(header.partition)
        writer.i64(header.baseOffset)
        writer.i64(header.epoch)
        writer.raw(header.previousChainHead)
        if header.version >= 3 { writer.blob(header.dictionary) }
        writer.patchU32(UInt32(writer.bytes.count), at: 8)
        return writer.bytes
    }

    /// What a journal's bytes hold, up to the first frame that is not whole and valid.
    struct Contents {
        var header: Header
        var records: [StoreRecord]
        /// Version 4: records of whole entries above the first offset no entry holds. They were
        /// never committed (a barrier's resume offset stays below them), so recovery drops them
        /// and Kafka delivers them again; ``records`` ends before them.
        var aboveResume = 0
        /// File offset of each record's frame.
        var frameOffsets: [Int64]
        /// The end of the last whole, valid frame (the file's length when nothing follows it).
        var validLength: Int64
        var fileLength: Int64
        var chainHead: [UInt8]
        /// Why parsing stopped before the end, if the bytes after ``validLength`` are a torn tail.
        var tornReason: String?
        /// The damage, if the bytes after ``validLength`` are not a torn tail.
        var damage: Damage?

        /// Sets ``tornReason`` or ``damage`` for what follows ``validLength``, for every version
        /// (FORMAT.md §4): a torn tail if the first failing frame is one a crash can leave (`torn`:
        /// a proper prefix of a frame, or bytes no writer framed) or the bytes are zeros, and no
        /// whole frame follows (`later`, found by scanning); damage otherwise.
        mutating func classifyTail(
            _ buffer: UnsafeRawBufferPointer, failure reason: String, torn: Bool, expectedOffset: Int64,
            later: (count: Int, nextOffset: Int64?)
        ) {
            let position = Int(validLength)
            let zeros = !buffer[position...].contains { $0 != 0 }
            if later.count == 0 && (torn || zeros) {
                tornReason = zeros ? "zero bytes from \(position)" : reason
            } else {
                damage = Damage(
                    position: validLength, expectedOffset: expectedOffset, reason: reason, laterFrames: later.count,
                    laterNextOffset: later.nextOffset)
            }
        }
    }

    /// Bytes after the last whole, valid frame that a crash cannot have left (see ``parse(_:path:)``).
    struct Damage: Equatable, Sendable {
        /// File position of the first frame that fails (= ``Contents/validLength``).
        var position: Int64
        /// The offset that frame should hold: the next offset of the last valid frame (or the
        /// journal's base offset).
        var expectedOffset: Int64
        /// Why the frame at ``position`` fails.
        var reason: String
        /// Whole frames found after the damage by scanning forward (a frame whose record decodes
        /// to exactly its length, at an offset at or after ``expectedOffset``; each one after the
        /// first found also links to the one before it).
        var laterFrames: Int
        /// The next offset of the last of ``laterFrames``, if any was found.
        var laterNextOffset: Int64?

        /// The source offsets the damage affects, as far as the bytes tell: from the damaged
        /// frame's offset to the end of the whole frames after it (at least that one offset).
        var offsets: Range<Int64> { expectedOffset..<max(expectedOffset + 1, laterNextOffset ?? expectedOffset) }
    }

    /// Parses a journal. A torn tail or damage ends the records; it is reported, not thrown.
    ///
    /// What follows the last whole, valid frame is a *torn tail* only if a crash can have left
    /// it, i.e. it is
    /// - a proper prefix of one frame: fewer than `4 + 32` bytes, or a `u32 length` whose frame
    ///   runs past the end of the file, or
    /// - zero bytes only,
    /// and no whole frame can be found in it by scanning forward. Anything else is *damage*: a
    /// frame of whole length whose record does not decode to exactly that length, whose link
    /// does not verify or whose offset does not follow, or a failing frame followed by whole
    /// frames (bytes changed in, cut out of or inserted into the middle).
    ///
    /// Why (FORMAT.md §4): the writer appends whole frames with `pwrite` and makes them durable
    /// with `fsync`. A `kill -9` interrupts a write at most: the file then ends in a prefix of the
    /// bytes written, so at most its last frame is partial. A power loss loses what was not yet
    /// fsynced: on ext4 (`data=ordered`, delayed allocation, unwritten extents) the file then ends
    /// early, or its size covers blocks whose data never reached the disk, which read as zeros.
    /// Neither changes a byte inside a whole frame, nor removes bytes from the middle. One power
    /// loss case is *reported as damage* although no byte was altered: unsynced pages that reach
    /// the disk out of order leave a zero page followed by frames. The outcome is then the same
    /// as for a torn tail (the log resumes after the last valid frame; none of those offsets was
    /// committed), only louder, which is the side to err on: a frame cut silently is loss no one
    /// sees, a false alarm is a file an operator looks at.
    /// - Throws: ``StoreError/Code/corrupt`` when the header does not parse.
    static func parse(_ bytes: [UInt8], path: String) throws(StoreError) -> Contents {
        try bytes.withBytes { (buffer) throws(StoreError) -> Contents in
            var reader = ByteReader(buffer)
            let fileMagic = buffer.count >= 12 ? Array(try reader.raw(8)) : []
            let version =
                fileMagic == version4Magic ? 4 : fileMagic == magic ? 3 : fileMagic == version2Magic ? 2 : fileMagic == version1Magic ? 1 : 0
            guard version > 0 else {
                throw StoreError(.corrupt, "\(path): not a journal (bad magic or header)")
            }
            let headerLength = Int(try reader.u32())
            var header = Header(
                topic: try reader.string(), partition: try reader.i32(), baseOffset: try reader.i64(),
                epoch: try reader.i64(), previousChainHead: try reader.bytes(32), version: version)
            if version >= 3 { header.dictionary = try reader.blob() }
            guard reader.position == headerLength else {
                throw StoreError(.corrupt, "\(path): header length \(headerLength) != \(reader.position)")
            }
            if version >= 3 { return try parseFrames(buffer, header: header, headerLength: headerLength) }
            let version1 = version == 1
            var chain = HashChain.digest(UnsafeRawBufferPointer(rebasing: buffer[0..<headerLength]))
            var records: [StoreRecord] = []
            var offsets: [Int64] = []
            var next = header.baseOffset
            var position = headerLength
            var failure: (reason: String, partial: Bool)?
            while position < buffer.count {
                switch frame(buffer, at: position, chain: chain, version1: version1) {
                case .partial:
                    failure = ("partial frame at \(position)", true)
                case .invalid(let reason):
                    failure = ("\(reason) at \(position)", false)
                case .valid(let record, let link, let end):
                    guard record.offset == next else {
                        failure = ("offset \(record.offset) at \(position), expected \(next)", false)
                        break
                    }
                    next = record.nextOffset
                    chain = link
                    records.append(record)
                    offsets.append(Int64(position))
                    position = end
                    continue
                }
                break
            }
            var contents = Contents(
                header: header, records: records, frameOffsets: offsets, validLength: Int64(position),
                fileLength: Int64(buffer.count), chainHead: chain)
            guard let failure else { return contents }
            contents.classifyTail(
                buffer, failure: failure.reason, torn: failure.partial, expectedOffset: next,
                later: laterFrames(buffer, from: position + 1, expected: next, version1: version1))
            return contents
        }
    }

    /// One frame read at `start` of a journal's bytes.
    private enum Frame {
        /// The bytes end before the frame does.
        case partial
        /// A whole frame that fails.
        case invalid(String)
        case valid(StoreRecord, link: [UInt8], end: Int)
    }

    /// Reads the frame at `start`; its link is checked against `chain` when given, and taken as
    /// it is otherwise (a frame found by scanning, whose predecessor is unknown).
    private static func frame(
        _ buffer: UnsafeRawBufferPointer, at start: Int, chain: [UInt8]?, version1: Bool
    ) -> Frame {
        guard buffer.count - start >= 4 + 32 else { return .partial }
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
        guard length <= buffer.count - start - 4 - 32 else { return .partial }
        let end = start + 4 + length + 32
        let frame = UnsafeRawBufferPointer(rebasing: buffer[start..<start + 4 + length])
        var recordReader = ByteReader(UnsafeRawBufferPointer(rebasing: frame[4...]))
        guard let record = try? RecordCodec.decode(&recordReader), recordReader.remaining == 0 else {
            return .invalid("undecodable record")
        }
        let stored = Array(UnsafeRawBufferPointer(rebasing: buffer[(end - 32)..<end]))
        guard let chain else { return .valid(record, link: stored, end: end) }
        let link =
            version1
            ? HashChain.link(chain, frame)
            : Self.link(chain, frame: frame, bytes: record.bytes.map { (count: $0.count, hash: HashChain.digest($0)) })
        guard stored == link else { return .invalid("frame hash mismatch") }
        return .valid(record, link: link, end: end)
    }

    /// The whole frames after a failing frame, found by scanning forward from `from` byte by
    /// byte: for a cut-out or an insertion the frames that follow are shifted. A candidate must
    /// have a `u32 length` that fits, a record that decodes to exactly that length and an offset
    /// at or after `expected`. From a candidate, frames are followed while each links to the one
    /// before and its offset follows. The run counts only if it is confirmed: by a second frame
    /// linking to the first (a SHA-256 no stray bytes match), or by ending at the end of the file
    /// or before a frame's proper prefix there (a last frame, maybe before a torn write); the scan
    /// goes on after a run, or at the next byte after an unconfirmed candidate.
    private static func laterFrames(
        _ buffer: UnsafeRawBufferPointer, from: Int, expected: Int64, version1: Bool
    ) -> (count: Int, nextOffset: Int64?) {
        // The smallest record: kind, flags, offset, timestamp.
        let minimumRecord = 1 + 1 + 8 + 8
        var count = 0
        var next = expected
        var position = from
        while buffer.count - position >= 4 + minimumRecord + 32 {
            // Cheap tests first: most positions fail them, and decoding costs more.
            let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
            let offset = Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: position + 6, as: Int64.self))
            guard length >= minimumRecord, length <= buffer.count - position - 4 - 32,
                StoreRecord.Kind(rawValue: buffer[position + 4]) != nil, offset >= next,
                case .valid(let first, var link, var end) = frame(buffer, at: position, chain: nil, version1: version1),
                first.offset >= next
            else {
                position += 1
                continue
            }
            var run = 1
            var runNext = first.nextOffset
            while case .valid(let record, let nextLink, let nextEnd) = frame(buffer, at: end, chain: link, version1: version1),
                record.offset == runNext
            {
                run += 1
                runNext = record.nextOffset
                link = nextLink
                end = nextEnd
            }
            let confirmed: Bool
            if run > 1 || end == buffer.count {
                confirmed = true
            } else if case .partial = frame(buffer, at: end, chain: nil, version1: version1) {
                confirmed = true
            } else {
                confirmed = false
            }
            guard confirmed else {
                position += 1
                continue
            }
            count += run
            next = runNext
            position = end
        }
        return (count, count > 0 ? next : nil)
    }
}
