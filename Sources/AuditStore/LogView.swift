// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// A segment whose index and records a reader can use: sealed (``SegmentReader``) or active.
protocol ReadableSegment: AnyObject {
    var index: SegmentIndex { get }
    func record(at row: Int) throws(StoreError) -> StoreRecord
    /// The records at `rows`, in that order.
    func records(at rows: [Int]) throws(StoreError) -> [StoreRecord]
}

extension ReadableSegment {
    func records(at rows: [Int]) throws(StoreError) -> [StoreRecord] {
        var out: [StoreRecord] = []
        out.reserveCapacity(rows.count)
        for row in rows { out.append(try record(at: row)) }
        return out
    }
}

extension SegmentReader: ReadableSegment {}

/// The active segment as a reader sees it: the whole frames of its journal, indexed in memory.
final class ActiveSegment: ReadableSegment {
    let index: SegmentIndex
    private let records: [StoreRecord]

    init(contents: Journal.Contents) {
        records = contents.records
        var builder = SegmentIndexBuilder(baseOffset: contents.header.baseOffset)
        for (row, record) in records.enumerated() {
            builder.add(record, block: .max, position: UInt32(truncatingIfNeeded: row), length: 0)
        }
        index = builder.finish()
    }

    func record(at row: Int) throws(StoreError) -> StoreRecord { records[row] }
}

/// A read-only snapshot of one log: its manifest's sealed segments (opened lazily) and the
/// whole records of its journal.
final class LogView {
    let topic: String
    let partition: Int32
    let directory: String
    let manifest: Manifest
    private var sealed: [SegmentReader?]
    private let active: ActiveSegment?

    init(directory: String, topic: String, partition: Int32) throws(StoreError) {
        self.topic = topic
        self.partition = partition
        self.directory = directory
        manifest = try Manifest.read(directory: directory)
            ?? Manifest(topic: topic, partition: partition, epoch: 0)
        sealed = Array(repeating: nil, count: manifest.segments.count)
        var active: ActiveSegment?
        if let base = manifest.sealedNext ?? Self.firstJournalBase(directory) {
            let path = directory + "/" + LogFiles.name(base, LogFiles.journal)
            if let file = try? StoreFile.openForReading(path) {
                active = ActiveSegment(contents: try Journal.parse(try file.readAll(), path: path))
            }
        }
        self.active = active
    }

    private static func firstJournalBase(_ directory: String) -> Int64? {
        (try? Directory.list(directory))?.lazy.compactMap { LogFiles.base(of: $0, suffix: LogFiles.journal) }.first
    }

    /// Number of segments, the active one last.
    var segmentCount: Int { sealed.count + (active == nil ? 0 : 1) }

    /// Whether segment `number` can hold a record in `timeRange` (manifest bounds; no I/O).
    func mayOverlap(_ number: Int, _ timeRange: Range<Int64>?) -> Bool {
        guard let timeRange, number < manifest.segments.count else { return true }
        let entry = manifest.segments[number]
        return timeRange.lowerBound <= entry.maxTime && entry.minTime < timeRange.upperBound
    }

    /// The first source offset of segment `number` (the manifest's for sealed ones).
    func firstOffset(_ number: Int) throws(StoreError) -> Int64 {
        if number < manifest.segments.count { return manifest.segments[number].base }
        return try segment(number).index.baseOffset
    }

    /// Segment `number` (sealed ones open on first use: from disk, or when the files are not
    /// there and the data directory is an object-store trail's cache, from its ``RemoteSegments``).
    func segment(_ number: Int) throws(StoreError) -> any ReadableSegment {
        if number == sealed.count, let active { return active }
        if let reader = sealed[number] { return reader }
        let entry = manifest.segments[number]
        let base = directory + "/" + LogFiles.name(entry.base, "")
        let reader: SegmentReader
        if !Directory.exists(base + LogFiles.segment), let remote = RemoteSegmentsRegistry.source(forLog: directory) {
            guard let index = try remote.index(topic: topic, partition: partition, segment: entry),
                let segment = try remote.segment(topic: topic, partition: partition, segment: entry)
            else {
                throw StoreError(.notFound, "\(base + LogFiles.segment): named by the manifest, not in the object store")
            }
            reader = try SegmentReader(
                segment: segment, path: base + LogFiles.segment, index: index, indexPath: base + LogFiles.index)
        } else {
            reader = try SegmentReader(segmentPath: base + LogFiles.segment, indexPath: base + LogFiles.index)
        }
        sealed[number] = reader
        return reader
    }
}
