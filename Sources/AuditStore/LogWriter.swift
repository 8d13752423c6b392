// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Synchronization

/// The one writer of a log (`<data>/<topic>/<partition>/`): appends records, makes them durable,
/// rolls and seals segments.
///
/// Opening takes the log's lock, raises its epoch (fencing out any older writer), recovers the
/// journal (cutting a torn tail at the last whole frame, or setting a damaged journal aside and
/// keeping the whole frames before the damage) and seals what it recovered, so every writer
/// starts on a fresh journal and an older writer can never append to a file this one uses.
///
/// **Fail closed.** After a write, fsync or seal fails (a full disk, an I/O error), the writer
/// takes nothing more: every later call throws ``StoreError/Code/io`` naming the first failure.
/// What the failed call left is not known to be durable (on Linux an fsync after a failed one may
/// report success without the data), so no later barrier may return a resume offset past it;
/// the owner stops, and the next writer's recovery finds what is whole on disk.
///
/// - Important: not thread-safe; one owner calls it. Its calls block on disk I/O.
public final class LogWriter {
    /// The log's topic.
    public let topic: String
    /// The log's partition.
    public let partition: Int32
    /// This writer's epoch; a writer that sees a higher one in the lock file stops (``StoreError/Code/fenced``).
    public let epoch: Int64
    /// The next offset to consume once everything appended is durable: the offset after the last
    /// appended record, or `nil` for an empty log.
    public private(set) var nextOffset: Int64?
    /// The durable resume offset: the offset after the last record made durable by ``sync()``
    /// (or found by recovery); `nil` for an empty log.
    public private(set) var resumeOffset: Int64?
    /// What recovery found on open.
    public private(set) var recovery: Recovery
    /// The log's sealed segments, in order, as its manifest lists them.
    public var sealedSegments: [Manifest.Segment] { manifest.segments }
    /// The log's directory, `<data>/<topic>/<partition>`.
    public var logDirectory: String { directory }

    /// What recovery did when the writer opened.
    public struct Recovery: Sendable, Equatable {
        /// Whole records recovered from the journal (then sealed).
        public var recoveredRecords: Int
        /// Bytes cut from a torn journal tail.
        public var truncatedBytes: Int64
        /// Version 4: records of whole journal entries above the first offset the entries did not
        /// hold, dropped: never committed, they are consumed again from Kafka (FORMAT.md §4.3).
        public var droppedRecords = 0
        /// Damaged journals found and set aside (FORMAT.md §4): not a crash's torn tail but bytes
        /// changed, removed or inserted. Each is an error to report: the log resumes at
        /// ``DamagedJournal/offsets``' lower bound, so those offsets are consumed again from Kafka,
        /// and any Kafka no longer has are lost (a gap). Empty when there was no damage.
        public var damaged: [DamagedJournal] = []
    }

    /// A damaged journal that recovery set aside instead of cutting.
    public struct DamagedJournal: Sendable, Equatable {
        /// The journal's path as it was (`<log>/<base>.journal`); a fresh journal with its whole
        /// frames before the damage took this name, then was sealed.
        public var file: String
        /// Where the damaged file is now, whole and unchanged: `<file>.damaged-<epoch>` in the same
        /// directory. `verify` reports it (``VerifyReport/Code/setAsideJournal``) until an operator
        /// removes it.
        public var setAsideAs: String
        /// Byte position in the file of the first frame that failed.
        public var position: Int64
        /// The source offsets affected, as far as the bytes tell: from the failed frame's offset
        /// (where the log resumes) to the end of the whole frames found after it.
        public var offsets: Range<Int64>
        /// Why the frame failed (e.g. `frame hash mismatch at 4242`).
        public var reason: String
    }

    let directory: String
    private let options: StoreOptions
    private let memory: WriterMemory
    /// Whether this writer counts against ``memory`` (from the end of a successful open to close).
    private var holdsShare = false
    private let lockFile: StoreFile
    private var manifest: Manifest
    private var journal: Journal?
    /// A version 2 journal's segment, built as records are appended (version 3 builds it at the seal).
    private var segment: SegmentWriter?
    /// Version 3: the records appended since the last frame, compressed into the journal at the
    /// next barrier (or once they reach ``frameLimit``).
    private var pending = PendingFrame()
    /// Version 4: the pair window and the block being filled; each block it cuts goes to the
    /// journal, compressed once (FORMAT.md §4.3).
    private var window: SegmentWriter?
    /// Version 4: the records recovery kept (those below the first offset the journal's whole
    /// entries do not hold), sealed in place of the journal's entries.
    private var recoveredRecords: [StoreRecord]?
    /// Raw bytes of records appended to the active segment (what ``StoreOptions/segmentMaxBytes`` bounds).
    private var activeBytes: Int64 = 0
    private var journalOpenedAt: Int64 = 0
    private var dictionary: [UInt8]?
    private var closed = false
    /// The first failed write, fsync or seal; set, the writer refuses everything (fail closed).
    private let failure = WriteFailure()
    /// Records were appended to the journal since the last barrier.
    private var unsynced = false

    init(data: String, topic: String, partition: Int32, options: StoreOptions, memory: WriterMemory, takeOver: Bool)
        throws(StoreError)
    {
        guard !topic.isEmpty, !topic.contains("/"), topic != ".", topic != ".." else {
            throw StoreError(.invalidArgument, "topic name \(topic.debugDescription) cannot name a directory")
        }
        self.topic = topic
        self.partition = partition
        self.options = options
        self.memory = memory
        directory = LogFiles.logDirectory(data: data, topic: topic, partition: partition)
        try Directory.create(directory)
        lockFile = try StoreFile.openForWriting(directory + "/" + LogFiles.lock)
        guard try lockFile.tryLockExclusive() || takeOver else {
            throw StoreError(.locked, "\(directory) is locked by another writer")
        }
        // The new epoch is durable before this writer touches any other file, so a writer that
        // opened earlier sees it at its next append or sync and stops (fencing).
        let previous = try Self.readEpoch(lockFile)
        epoch = previous + 1
        var bytes = ByteWriter()
        bytes.i64(epoch)
        try lockFile.write(bytes.bytes, at: 0)
        try lockFile.sync()
        manifest = try Manifest.read(directory: directory)
            ?? Manifest(topic: topic, partition: partition, epoch: epoch)
        manifest.epoch = epoch
        recovery = Recovery(recoveredRecords: 0, truncatedBytes: 0)
        recovery = try recover()
        try manifest.write(directory: directory)
        // A damaged journal's first frame failed and no segment was sealed before it: the log is
        // empty, but its data resumes at the damaged offset, not wherever Kafka last committed.
        resumeOffset = manifest.sealedNext ?? recovery.damaged.first?.offsets.lowerBound
        nextOffset = resumeOffset
        memory.writerOpened()
        holdsShare = true
    }

    deinit {
        if holdsShare { memory.writerClosed() }
    }

    private static func readEpoch(_ file: StoreFile) throws(StoreError) -> Int64 {
        let bytes = try file.read(count: 8, at: 0)
        guard bytes.count == 8 else { return 0 }
        return bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
    }

    private func checkFence() throws(StoreError) {
        guard !closed else { throw StoreError(.closed, "writer of \(directory) is closed") }
        if let failed = failure.error {
            throw StoreError(
                .io, "\(directory): writer stopped after a failed write, reopen the log to recover (\(failed.message))",
                cause: failed)
        }
        let current = try Self.readEpoch(lockFile)
        if current != epoch {
            closed = true
            throw StoreError(.fenced, "\(directory): epoch \(current) took over from \(epoch)")
        }
    }

    /// Appends records in offset order (not yet durable: see ``sync()``).
    ///
    /// Each record's offset must be the log's next offset (a gap record covers a range); the first
    /// record of an empty log sets where it starts.
    /// - Parameter hashes: empty, or for each record the ``ContentHash`` of its bytes where the
    ///   caller has it (`nil` elsewhere); the journal hashes the others itself.
    /// - Throws: ``StoreError/Code/nonContiguous``, ``StoreError/Code/fenced``, ``StoreError/Code/io``.
    public func append(_ records: [StoreRecord], hashes: [ContentHash?] = []) throws(StoreError) {
        try checkFence()
        guard let first = records.first else { return }
        guard hashes.isEmpty || hashes.count == records.count else {
            throw StoreError(.invalidArgument, "\(hashes.count) content hashes for \(records.count) records")
        }
        // A missing digest is fixed once, by the journal (``Journal/append(_:hashes:)``): the sealed
        // index reads it back from there.
        var expected = nextOffset ?? first.offset
        for record in records {
            guard record.offset == expected, record.nextOffset > record.offset else {
                throw StoreError(
                    .nonContiguous, "\(directory): record at offset \(record.offset), expected \(expected)")
            }
            expected = record.nextOffset
        }
        try failingClosed { () throws(StoreError) in try append(checked: records, hashes: hashes) }
    }

    private func append(checked records: [StoreRecord], hashes: [ContentHash?]) throws(StoreError) {
        var start = 0
        while start < records.count {
            let journal = try activeJournal(base: records[start].offset)
            // Fill the active segment up to its size limit, then roll.
            var end = start
            if journal.version >= 4 {
                guard let window else { throw StoreError(.invalidArgument, "\(directory): a version 4 journal without its window") }
                while end < records.count && (end == start || activeBytes < options.segmentMaxBytes) {
                    let record = records[end]
                    var digest: UInt64?
                    if case .notification(let fields, let bytes) = record.body, fields.digest == nil {
                        digest = hashes.isEmpty ? nil : hashes[end]?.digest
                        if digest == nil { digest = HashChain.contentDigest(bytes) }
                    }
                    try window.add(record, digest: digest)
                    activeBytes += Int64((record.bytes?.count ?? 0) + 256)
                    end += 1
                }
            } else if journal.version >= 3 {
                while end < records.count && (end == start || activeBytes < options.segmentMaxBytes) {
                    activeBytes += Int64(pending.add(records[end], hash: hashes.isEmpty ? nil : hashes[end]))
                    end += 1
                    if pending.rawLength >= frameLimit { try writePending() }
                }
            } else {
                var size = journal.length
                while end < records.count && (end == start || size < options.segmentMaxBytes) {
                    size += Int64(records[end].bytes?.count ?? 0) + 96
                    end += 1
                }
                try journal.append(records[start..<end], hashes: hashes.isEmpty ? [] : hashes[start..<end])
                for record in records[start..<end] { try segment?.add(record) }
                activeBytes = journal.length
            }
            unsynced = true
            nextOffset = records[end - 1].nextOffset
            if activeBytes >= options.segmentMaxBytes || trainsDictionaryNow { try seal() }
            start = end
        }
    }

    /// The most raw bytes a version 3 frame holds: appends between two barriers beyond it go to
    /// the journal in several frames, so a writer holds at most this much uncompressed.
    private var frameLimit: Int { min(8 << 20, max(64 << 10, memory.share / 4)) }

    /// Whether the log's first segment has enough records to train the dictionary on: it is then
    /// sealed early (sealing trains it), so that the frames of every later journal are
    /// compressed with the dictionary, not only its sealed blocks.
    private var trainsDictionaryNow: Bool {
        dictionary == nil && options.dictionaryCapacity > 0 && journal?.version ?? 0 >= 3
            && activeBytes >= Int64(min(options.dictionaryTrainingBytes, memory.share / 4))
    }

    /// Compresses the records appended since the last frame into a frame of the journal now
    /// (written, not yet durable), as the next ``Barrier`` would: an owner of many logs calls it
    /// for each on several threads, one thread per writer, before the barrier.
    /// - Throws: ``StoreError/Code/fenced``, ``StoreError/Code/closed``, ``StoreError/Code/io``.
    public func writeFrame() throws(StoreError) {
        try checkFence()
        try failingClosed(writePending)
    }

    /// Version 3: compresses the records appended since the last frame into a frame of the
    /// journal (written, not yet durable).
    private func writePending() throws(StoreError) {
        guard !pending.isEmpty, let journal, journal.version == 3 else { return }
        try journal.appendFrame(&pending)
    }

    /// The durability barrier: makes every appended record durable and returns the resume offset.
    ///
    /// Only the journal needs an fsync here: its file and directory entry were made durable when
    /// it was created, and sealed segments, their indexes and the manifest were made durable when
    /// sealed. So when this returns, everything before the returned offset survives a crash, and
    /// the caller may commit that offset to Kafka (DESIGN §6.3).
    /// - Returns: the next offset to consume (`nil` for an empty log).
    @discardableResult
    public func sync() throws(StoreError) -> Int64? {
        try Self.sync([self])[0]
    }

    /// The durability barrier of several logs at once: the same guarantee as ``sync()`` on each,
    /// at the cost of one flush per filesystem when many logs have unsynced records
    /// (``Barrier``'s three steps at once).
    /// - Returns: each writer's resume offset, in the order of `writers`.
    /// - Throws: ``StoreError/Code/fenced``, ``StoreError/Code/closed``, ``StoreError/Code/io``.
    public static func sync(_ writers: [LogWriter], fileSystemThreshold: Int = 8) throws(StoreError) -> [Int64?] {
        let barrier = try Barrier(writers, fileSystemThreshold: fileSystemThreshold)
        try barrier.flush()
        return barrier.finish()
    }

    /// A durability barrier over several logs, in three steps so that its flush can run on
    /// another thread while the owner appends on: `init` and ``finish()`` on the writers' owner,
    /// ``flush()`` on any thread in between. What it makes durable is what was appended before
    /// `init`; records appended meanwhile wait for the next barrier.
    ///
    /// A worker that owns hundreds of partitions touches hundreds of journals per batch; an
    /// `fsync` each costs a filesystem journal commit and a device cache flush each (about 0.2 ms
    /// here, so 100 ms for 500 logs), where one `syncfs(2)` per filesystem commits them all at
    /// once (about 18 ms for the same 500). Below `fileSystemThreshold` unsynced logs, each
    /// journal is fsynced on its own, which then costs less than flushing a whole filesystem.
    public struct Barrier: @unchecked Sendable {
        // `@unchecked`: the writers are touched only by `init` and `finish`, on their owner;
        // `flush` only fsyncs the journals' descriptors, which these references keep open (a
        // journal sealed meanwhile is closed only once its last reference goes).
        private let writers: [LogWriter]
        private let failures: [WriteFailure]
        private let journals: [StoreFile]
        private let wholeFileSystems: Bool
        /// Each writer's next offset when the barrier began.
        private let offsets: [Int64?]

        /// Begins a barrier over `writers`.
        /// - Throws: ``StoreError/Code/fenced``, ``StoreError/Code/closed``, ``StoreError/Code/io``.
        public init(_ writers: [LogWriter], fileSystemThreshold: Int = 8) throws(StoreError) {
            for writer in writers { try writer.checkFence() }
            for writer in writers { try writer.failingClosed(writer.writePending) }
            for writer in writers { try writer.failingClosed(writer.placeLongWaiting) }
            self.writers = writers
            failures = writers.map(\.failure)
            journals = writers.filter(\.unsynced).compactMap(\.journal?.file)
            wholeFileSystems = journals.count >= fileSystemThreshold
            offsets = writers.map(\.durableNext)
            // A writer that appends before `finish` is unsynced again. A failed flush stops the
            // writers (fail closed): on Linux a second fsync after a failed one may report
            // success without the data, so no later barrier may cover these journals.
            for writer in writers { writer.unsynced = false }
        }

        /// Makes durable what the writers had appended when the barrier began. Blocks on disk I/O.
        /// - Throws: ``StoreError/Code/io``.
        public func flush() throws(StoreError) {
            do throws(StoreError) {
                try flushJournals()
            } catch {
                for failure in failures { failure.record(error) }
                throw error
            }
        }

        private func flushJournals() throws(StoreError) {
            if wholeFileSystems {
                var flushed: Set<UInt64> = []
                for journal in journals where flushed.insert(try journal.device()).inserted {
                    try journal.syncFileSystem()
                }
            } else {
                for journal in journals { try journal.sync() }
            }
        }

        /// Ends the barrier once ``flush()`` returned: each writer's resume offset becomes at
        /// least its next offset at the barrier's beginning.
        /// - Returns: each writer's resume offset, in the order the barrier was given them.
        public func finish() -> [Int64?] {
            zip(writers, offsets).map { writer, offset in
                if let offset, writer.resumeOffset.map({ $0 < offset }) ?? true { writer.resumeOffset = offset }
                return writer.resumeOffset
            }
        }
    }

    /// Version 4: puts the records that waited longer than ``StoreOptions/windowMaxWait`` into
    /// the journal, so that the resume offset lags by no more than that.
    private func placeLongWaiting() throws(StoreError) {
        guard let window, let journal else { return }
        let length = journal.length
        try window.placeWaiting(addedBefore: options.clock() - options.windowMaxWait)
        if journal.length != length { unsynced = true }
    }

    /// Whether records wait in a version 4 journal's pair window or block being filled: the
    /// resume offset lags until a barrier finds them waiting longer than
    /// ``StoreOptions/windowMaxWait``, so an owner calls barriers on such a log as well.
    public var isWaiting: Bool { window?.lowestWaiting != nil }

    /// What a barrier begun now makes the resume offset: the next offset, or with a version 4
    /// journal the lowest offset still waiting in the pair window or the block being filled
    /// (its records are not in the journal yet; those above it that are will be consumed again
    /// after a crash, FORMAT.md §4.3).
    private var durableNext: Int64? {
        window?.lowestWaiting ?? nextOffset
    }

    /// Seals the active segment if it is older than ``StoreOptions/segmentMaxAge``; call it from
    /// a periodic tick so an idle log still rolls.
    public func rollIfDue() throws(StoreError) {
        try checkFence()
        if journal != nil && options.clock() - journalOpenedAt >= options.segmentMaxAge { try seal() }
    }

    /// Makes everything durable and releases the writer and its lock (the active segment stays
    /// for the next writer, which seals it on open).
    public func close() throws(StoreError) {
        guard !closed else { return }
        // Every record goes into the journal, so the resume offset is the next offset.
        try failingClosed { () throws(StoreError) in try window?.placeAll() }
        try sync()
        closed = true
        lockFile.unlock()
        if holdsShare {
            holdsShare = false
            memory.writerClosed()
        }
    }

    private func activeJournal(base: Int64) throws(StoreError) -> Journal {
        if let journal {
            if options.clock() - journalOpenedAt < options.segmentMaxAge { return journal }
            try seal()
        }
        let version = options.journalVersion
        let header = Journal.Header(
            topic: topic, partition: partition, baseOffset: base, epoch: epoch, previousChainHead: chainHead,
            version: version, dictionary: version >= 3 ? dictionary ?? [] : [])
        // Version 4's entries are compressed once, as the sealed blocks they become.
        let codec =
            version >= 3
            ? ZstdCodec(
                level: version >= 4 ? options.compressionLevel : options.journalCompressionLevel,
                dictionary: header.dictionary, context: memory.compression)
            : nil
        let journal = try Journal.create(
            path: directory + "/" + LogFiles.name(base, LogFiles.journal), directory: directory, header: header,
            codec: codec)
        self.journal = journal
        if version >= 4 {
            window = SegmentWriter(
                journalOf: header, options: options, memory: memory,
                emit: { (raw, meta) throws(StoreError) in try journal.appendBlock(raw, meta) })
        }
        if version < 3 {
            segment = try SegmentWriter(
                path: directory + "/" + LogFiles.name(base, LogFiles.segment) + ".tmp", header: header,
                dictionary: dictionary, options: options, memory: memory)
        }
        activeBytes = 0
        journalOpenedAt = options.clock()
        return journal
    }

    /// Runs `body`; a failure stops the writer before it is rethrown (fail closed, see the type's
    /// discussion).
    private func failingClosed(_ body: () throws(StoreError) -> Void) throws(StoreError) {
        do throws(StoreError) {
            try body()
        } catch {
            failure.record(error)
            throw error
        }
    }

    private var chainHead: [UInt8] {
        (manifest.segments.last?.chainHead ?? manifest.retired?.chainHead).flatMap { [UInt8](hex: $0) }
            ?? HashChain.genesis(topic: topic, partition: partition)
    }

    /// Seals the active segment now (a roll).
    public func seal() throws(StoreError) {
        try checkFence()
        try failingClosed(sealActive)
    }

    private func sealActive() throws(StoreError) {
        guard let journal else { return }
        try writePending()
        try window?.placeAll()
        // The journal is durable first: a crash during sealing recovers from it.
        try journal.sync()
        let base = journal.header.baseOffset
        let segment: SegmentWriter
        if let building = self.segment {
            segment = building
        } else if journal.version >= 4 {
            let path = directory + "/" + LogFiles.name(base, LogFiles.segment) + ".tmp"
            if recoveredRecords != nil || (dictionary == nil && options.dictionaryCapacity > 0) || options.segmentVersion < 3 {
                // Recovery keeps only the records below the first offset the entries do not
                // hold; the log's first segment trains the dictionary; and the tests' segments of
                // earlier versions have blocks of their own: these lay the records out again.
                segment = try SegmentWriter(
                    path: path, header: journal.header, dictionary: dictionary, options: options, memory: memory,
                    indexRows: true)
                let records: [StoreRecord]
                if let recoveredRecords {
                    records = recoveredRecords
                } else {
                    records = try Journal.parse(try journal.file.readAll(), path: journal.file.path).records
                }
                for record in records { try segment.add(record) }
            } else {
                // The journal's bodies were compressed with its dictionary, the log's.
                segment = try SegmentWriter(
                    path: path, header: journal.header, dictionary: journal.header.dictionary, options: options,
                    memory: memory, indexRows: true)
                try segment.copyBlocks(of: journal)
            }
        } else {
            // Version 3: lay the frames' records into blocks, one frame in memory at a time.
            segment = try SegmentWriter(
                path: directory + "/" + LogFiles.name(base, LogFiles.segment) + ".tmp", header: journal.header,
                dictionary: dictionary, options: options, memory: memory, indexRows: true)
            try journal.forEachFrameRecord { (record, fields) throws(StoreError) in try segment.add(record, fields: fields) }
        }
        let path = directory + "/" + LogFiles.name(base, "")
        let sealed = try segment.finish(indexPath: path + LogFiles.index + ".tmp", journal: journal, signer: options.signer)
        try Directory.rename(path + LogFiles.index + ".tmp", to: path + LogFiles.index)
        try Directory.rename(path + LogFiles.segment + ".tmp", to: path + LogFiles.segment)
        dictionary = sealed.dictionary
        manifest.segments.append(
            Manifest.Segment(
                base: base, next: sealed.index.nextOffset, records: sealed.index.count,
                blocks: sealed.index.blocks.count, minTime: sealed.index.minTime, maxTime: sealed.index.maxTime,
                segmentBytes: sealed.segmentLength, indexBytes: Int64(sealed.indexBytes.count),
                chainHead: sealed.chainHead.hex, digest: sealed.digest.hex, signed: options.signer != nil))
        // The manifest's directory fsync also makes the two renames durable; only then is the
        // journal redundant. Removing it before would lose records on a crash.
        try manifest.write(directory: directory)
        try Directory.remove(journal.file.path)
        self.journal = nil
        self.segment = nil
        window = nil
        recoveredRecords = nil
    }

    /// Brings the directory to a state of sealed segments only (see the type's discussion).
    private func recover() throws(StoreError) -> Recovery {
        var recovery = Recovery(recoveredRecords: 0, truncatedBytes: 0)
        let sealedNext = manifest.sealedNext
        let listed = Set(manifest.segments.map(\.base))
        for name in try Directory.list(directory) {
            let path = directory + "/" + name
            if name.hasSuffix(".tmp") {
                try Directory.remove(path)
            } else if let base = LogFiles.base(of: name, suffix: LogFiles.segment)
                ?? LogFiles.base(of: name, suffix: LogFiles.index),
                !listed.contains(base), base >= (sealedNext ?? .min)
            {
                // A seal that did not reach the manifest: the journal still has its records.
                try Directory.remove(path)
            }
        }
        if let last = manifest.segments.last {
            dictionary = try Self.dictionary(of: directory + "/" + LogFiles.name(last.base, LogFiles.segment))
        }
        for name in try Directory.list(directory) {
            guard let base = LogFiles.base(of: name, suffix: LogFiles.journal) else { continue }
            let path = directory + "/" + name
            if let sealedNext, base < sealedNext {
                // Sealed before the crash; the manifest names its segment.
                try Directory.remove(path)
                continue
            }
            let aside = directory + "/" + Journal.setAsideName(name, epoch: epoch)
            guard
                let recovered = try Journal.recover(
                    path: path, directory: directory, setAsideAs: aside, level: options.journalCompressionLevel,
                    context: memory.compression)
            else {
                // Created with less than its header (a full disk, a crash): it never held a record.
                try Directory.remove(path)
                continue
            }
            let (journal, records) = (recovered.journal, recovered.records)
            recovery.truncatedBytes += recovered.truncated
            recovery.droppedRecords += recovered.dropped
            if let damage = recovered.damage {
                recovery.damaged.append(
                    DamagedJournal(
                        file: path, setAsideAs: aside, position: damage.position, offsets: damage.offsets,
                        reason: damage.reason))
            }
            if records.isEmpty {
                try Directory.remove(path)
                continue
            }
            guard journal.header.previousChainHead == chainHead, sealedNext == nil || base == sealedNext else {
                throw StoreError(.corrupt, "\(path) does not follow the last sealed segment")
            }
            self.journal = journal
            if journal.version >= 4 { recoveredRecords = records }
            if journal.version < 3 {
                segment = try SegmentWriter(
                    path: directory + "/" + LogFiles.name(base, LogFiles.segment) + ".tmp", header: journal.header,
                    dictionary: dictionary, options: options, memory: memory)
                for record in records { try segment!.add(record) }
            }
            recovery.recoveredRecords += records.count
            try seal()
        }
        try Directory.sync(directory)
        return recovery
    }

    /// The dictionary stored in a sealed segment's header.
    static func dictionary(of path: String) throws(StoreError) -> [UInt8] {
        try SegmentReader.readHeader(try StoreFile.openForReading(path), path: path).dictionary
    }
}

/// The failure that stopped a ``LogWriter``: recorded by its owner, or by a ``LogWriter/Barrier``'s
/// flush on another thread; the first one is kept.
final class WriteFailure: Sendable {
    private let first = Mutex<StoreError?>(nil)

    func record(_ error: StoreError) { first.withLock { if $0 == nil { $0 = error } } }

    var error: StoreError? { first.withLock { $0 } }
}
