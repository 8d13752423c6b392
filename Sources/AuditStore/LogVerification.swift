// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// Verification of one log directory (see ``StoreVerifier``).
struct LogVerification {
    let directory: String
    let topic: String
    let partition: Int32
    let publicKey: [UInt8]?
    private var chain: [UInt8]
    private var nextOffset: Int64?
    private var report = VerifyReport()

    init(directory: String, topic: String, partition: Int32, publicKey: [UInt8]?) {
        self.directory = directory
        self.topic = topic
        self.partition = partition
        self.publicKey = publicKey
        chain = HashChain.genesis(topic: topic, partition: partition)
    }

    private mutating func find(
        _ code: VerifyReport.Code, _ file: String?, position: Int64? = nil, offset: Int64? = nil,
        offsets: Range<Int64>? = nil, _ message: String
    ) {
        report.findings.append(
            VerifyReport.Finding(
                code: code, topic: topic, partition: partition, file: file, position: position,
                offset: offset ?? offsets?.lowerBound, offsets: offsets, message: message))
    }

    mutating func run(into total: inout VerifyReport) {
        defer {
            total.findings += report.findings
            total.brokerGaps += report.brokerGaps
            total.segments += report.segments
            total.records += report.records
            total.tornTailBytes += report.tornTailBytes
            total.recordsAboveResume += report.recordsAboveResume
            total.heads += report.heads
        }
        let names = Set((try? Directory.list(directory)) ?? [])
        var manifest: Manifest?
        do {
            manifest = try Manifest.read(directory: directory)
        } catch {
            find(.manifestMismatch, Manifest.fileName, "\(error.message)")
        }
        if let retired = manifest?.retired {
            // Retention removed the first segments (and left a signed tombstone in the object
            // store): the chain and the offsets go on from where they ended.
            if let head = [UInt8](hex: retired.chainHead) { chain = head }
            nextOffset = retired.next
        }
        // Without a readable manifest, the segments present in name order are checked.
        let entries: [(base: Int64, entry: Manifest.Segment?)] =
            manifest.map { $0.segments.map { ($0.base, $0) } }
            ?? names.compactMap { LogFiles.base(of: $0, suffix: LogFiles.segment) }.sorted().map { ($0, nil) }
        var accounted: Set<String> = [Manifest.fileName, LogFiles.lock]
        for (base, entry) in entries {
            let segmentName = LogFiles.name(base, LogFiles.segment)
            let indexName = LogFiles.name(base, LogFiles.index)
            accounted.formUnion([segmentName, indexName])
            report.segments += 1
            let files: (segment: [UInt8], index: [UInt8])?
            if names.contains(segmentName), names.contains(indexName) {
                files = readFiles(segmentName, indexName)
            } else if let entry, let remote = RemoteSegmentsRegistry.source(forLog: directory) {
                // An object-store trail's cache: the segment is read from the bucket.
                files = fetchFiles(entry, segmentName, indexName, from: remote)
            } else {
                find(.missingSegment, names.contains(segmentName) ? indexName : segmentName, offset: base, "named by the manifest, not on disk")
                files = nil
            }
            guard let files else {
                skip(entry)
                continue
            }
            checkSegment(base: base, entry: entry, segmentName: segmentName, bytes: files.segment, indexName: indexName, index: files.index)
        }
        let journalBase = nextOffset ?? names.compactMap { LogFiles.base(of: $0, suffix: LogFiles.journal) }.min()
        if let journalBase, names.contains(LogFiles.name(journalBase, LogFiles.journal)) {
            // The active segment's sealed image being built beside its journal.
            accounted.formUnion([LogFiles.name(journalBase, LogFiles.journal), LogFiles.name(journalBase, LogFiles.segment) + ".tmp"])
            checkJournal(LogFiles.name(journalBase, LogFiles.journal))
        }
        for name in names.subtracting(accounted).sorted() {
            if Journal.isSetAside(name) {
                checkSetAside(name)
            } else {
                find(.extraFile, name, "not accounted for by the manifest")
            }
        }
        report.heads.append(
            VerifyReport.LogHead(topic: topic, partition: partition, nextOffset: nextOffset, chainHead: chain.hex))
    }

    private mutating func readFiles(_ segmentName: String, _ indexName: String) -> (segment: [UInt8], index: [UInt8])? {
        var files: [[UInt8]] = []
        for name in [segmentName, indexName] {
            do {
                files.append(try StoreFile.openForReading(directory + "/" + name).readAll())
            } catch {
                find(.missingSegment, name, "unreadable: \(error.message)")
                return nil
            }
        }
        return (files[0], files[1])
    }

    private mutating func fetchFiles(
        _ entry: Manifest.Segment, _ segmentName: String, _ indexName: String, from remote: any RemoteSegments
    ) -> (segment: [UInt8], index: [UInt8])? {
        do {
            guard let segment = try remote.wholeSegment(topic: topic, partition: partition, segment: entry) else {
                find(.missingSegment, segmentName, offset: entry.base, "named by the manifest, not in the object store")
                return nil
            }
            guard let index = try remote.index(topic: topic, partition: partition, segment: entry) else {
                find(.missingSegment, indexName, offset: entry.base, "named by the manifest, not in the object store")
                return nil
            }
            return (segment, index)
        } catch {
            find(.missingSegment, segmentName, offset: entry.base, "unreadable from the object store: \(error.message)")
            return nil
        }
    }

    private mutating func checkSegment(
        base: Int64, entry: Manifest.Segment?, segmentName: String, bytes: [UInt8], indexName: String, index: [UInt8]
    ) {
        var parsed = SegmentCheck(bytes: bytes)
        guard let trailer = parsed.trailer else {
            find(.truncated, segmentName, position: Int64(bytes.count), "no whole, well-formed trailer")
            skip(entry)
            return
        }
        if HashChain.digest(bytes[..<trailer.digestPosition]) != trailer.digest {
            find(.alteredBytes, segmentName, "segment digest mismatch")
        }
        if trailer.signed {
            if !SegmentSigner.isValid(signature: trailer.signature, digest: trailer.digest, publicKey: publicKey ?? trailer.publicKey) {
                find(.badSignature, segmentName, "signature does not verify")
            }
        } else if publicKey != nil {
            find(.badSignature, segmentName, "unsigned segment")
        }
        guard let header = try? SegmentReader.parseHeader(Array(bytes.prefix(parsed.headerLength)), path: segmentName) else {
            find(.alteredBytes, segmentName, position: 0, "header does not parse")
            skip(entry)
            return
        }
        if header.topic != topic || header.partition != partition || header.baseOffset != base {
            find(.misplacedSegment, segmentName, position: 0, offset: header.baseOffset,
                 "holds \(header.topic)/\(header.partition) from \(header.baseOffset)")
        }
        if header.previousChainHead != chain {
            find(.brokenChain, segmentName, position: 0, "does not link to the previous segment's chain head")
        }
        if let nextOffset, header.baseOffset != nextOffset {
            find(.skippedOffset, segmentName, offset: nextOffset, "segment starts at \(header.baseOffset), expected \(nextOffset)")
        }
        let blocks = parsed.checkBlocks(header: header, chain: header.previousChainHead)
        for problem in blocks.problems { find(problem.code, segmentName, position: problem.position, offset: problem.offset, problem.message) }
        report.records += blocks.records.count
        for record in blocks.records {
            if case .gap(let to) = record.body { report.brokerGaps.append((topic, partition, record.offset..<to)) }
        }
        if blocks.chain != trailer.chainHead || trailer.nextOffset != blocks.next
            || trailer.recordCount != blocks.records.count || trailer.blockCount != blocks.blockCount
        {
            find(.alteredBytes, segmentName, position: Int64(trailer.digestPosition), "trailer disagrees with the blocks")
        }
        checkIndex(indexName, bytes: index, trailer: trailer, blocks: blocks)
        if let entry {
            if entry.digest != trailer.digest.hex || entry.chainHead != trailer.chainHead.hex || entry.next != trailer.nextOffset
                || entry.base != base || entry.records != blocks.records.count || entry.signed != trailer.signed
            {
                find(.manifestMismatch, Manifest.fileName, offset: base, "entry disagrees with \(segmentName)")
            }
        }
        chain = trailer.chainHead
        nextOffset = trailer.nextOffset
    }

    private mutating func skip(_ entry: Manifest.Segment?) {
        guard let entry, let head = [UInt8](hex: entry.chainHead) else { return }
        chain = head
        nextOffset = entry.next
    }

    private mutating func checkIndex(_ name: String, bytes: [UInt8], trailer: SegmentCheck.Trailer, blocks: SegmentCheck.Blocks) {
        if HashChain.digest(bytes) != trailer.indexDigest {
            find(.alteredBytes, name, "index digest differs from the one its segment records")
        }
        guard let index = try? SegmentIndex.decode(bytes, path: name) else {
            find(.alteredBytes, name, "index does not decode")
            return
        }
        if index.count != blocks.records.count || index.offsets != blocks.records.map(\.offset)
            || index.kinds != blocks.records.map(\.kind.rawValue) || index.blocks.map(\.fileOffset) != blocks.positions
        {
            find(.indexMismatch, name, "index rows or blocks differ from the segment's")
        }
    }

    private mutating func checkJournal(_ name: String) {
        guard let bytes = try? StoreFile.openForReading(directory + "/" + name).readAll() else {
            find(.missingSegment, name, "unreadable")
            return
        }
        guard let contents = try? Journal.parse(bytes, path: name) else {
            find(.alteredBytes, name, position: 0, "journal header does not parse")
            return
        }
        if contents.header.previousChainHead != chain || contents.header.topic != topic
            || contents.header.partition != partition
        {
            find(.brokenChain, name, position: 0, "journal does not link to the last sealed segment")
        }
        if let nextOffset, contents.header.baseOffset != nextOffset {
            find(.skippedOffset, name, offset: nextOffset, "journal starts at \(contents.header.baseOffset)")
        }
        report.records += contents.records.count
        report.recordsAboveResume += contents.aboveResume
        for record in contents.records {
            if case .gap(let to) = record.body { report.brokerGaps.append((topic, partition, record.offset..<to)) }
        }
        if let damage = contents.damage {
            find(
                .damagedJournal, name, position: damage.position, offsets: damage.offsets,
                "damaged, not torn: \(damage.reason); \(damage.laterFrames) whole frame(s) after it; the next writer "
                    + "sets the file aside and resumes at offset \(damage.expectedOffset)")
        } else {
            report.tornTailBytes += contents.fileLength - contents.validLength
        }
        chain = contents.chainHead
        if let last = contents.records.last { nextOffset = last.nextOffset }
    }

    /// A damaged journal set aside by recovery stays a finding until an operator removes it: it
    /// is evidence of damage, and of offsets the log had to consume again.
    private mutating func checkSetAside(_ name: String) {
        guard let bytes = try? StoreFile.openForReading(directory + "/" + name).readAll(),
            let contents = try? Journal.parse(bytes, path: name)
        else {
            find(.setAsideJournal, name, "damaged journal set aside by recovery; unreadable now")
            return
        }
        let base = contents.header.baseOffset
        let end = max(contents.damage?.offsets.upperBound ?? base, contents.records.last?.nextOffset ?? base)
        let damage =
            contents.damage.map { "at byte \($0.position) (\($0.reason)), offsets from \($0.expectedOffset)" }
            ?? "no damage found now"
        find(
            .setAsideJournal, name, position: contents.damage?.position, offsets: base..<max(end, base + 1),
            "damaged journal set aside by recovery: it covered offsets \(base)..<\(end), damaged \(damage); "
                + "examine it, then remove it from the data directory")
    }
}
