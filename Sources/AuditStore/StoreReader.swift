// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// A record with the log it is stored in.
public struct StoredRecord: Sendable, Hashable {
    /// The log's topic.
    public var topic: String
    /// The log's partition.
    public var partition: Int32
    /// The record.
    public var record: StoreRecord

    /// Creates a stored record.
    public init(topic: String, partition: Int32, record: StoreRecord) {
        self.topic = topic
        self.partition = partition
        self.record = record
    }
}

/// A CADF id with only one half stored.
public struct Orphan: Sendable, Hashable {
    /// The CADF id.
    public var id: String
    /// The half that is there.
    public var present: NotificationFields.EventType

    /// Creates an orphan.
    public init(id: String, present: NotificationFields.EventType) {
        self.id = id
        self.present = present
    }
}

/// Reads every log of a data directory: lookups by id, filtered queries, orphans.
///
/// A snapshot: logs, manifests and journals are read when it opens (sealed segments' indexes on
/// first use, then kept: later queries are warm). Open a new reader to see newer data. Never
/// writes. Not thread-safe: one owner.
public final class StoreReader {
    let logs: [LogView]
    /// Records read by offset lately (``records(at:)``): a page of calls shown again (a
    /// dashboard's refresh, the next reader of a pooled one) decodes no block.
    private var recent = RecentRecords(budget: 32 << 20)

    /// Opens every log under `directory` (`<topic>/<partition>/`).
    public init(directory: String) throws(StoreError) {
        var logs: [LogView] = []
        for topic in (try? Directory.list(directory)) ?? [] where Directory.isDirectory(directory + "/" + topic) {
            for name in try Directory.list(directory + "/" + topic) {
                guard let partition = Int32(name) else { continue }
                let path = LogFiles.logDirectory(data: directory, topic: topic, partition: partition)
                logs.append(try LogView(directory: path, topic: topic, partition: partition))
            }
        }
        self.logs = logs.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    /// The (topic, partition) of every log, sorted.
    public var logIDs: [(topic: String, partition: Int32)] { logs.map { ($0.topic, $0.partition) } }

    /// Every stored record with CADF id `id`, in every log: both halves and any copies.
    public func records(withId id: String) throws(StoreError) -> [StoredRecord] {
        // The id table alone, without compiling a query per segment: the hot path of `show`.
        var out: [StoredRecord] = []
        for log in logs {
            for number in 0..<log.segmentCount {
                let segment = try log.segment(number)
                let rows = segment.index.rows(forId: id)
                guard !rows.isEmpty else { continue }
                for record in try segment.records(at: rows) {
                    out.append(StoredRecord(topic: log.topic, partition: log.partition, record: record))
                }
            }
        }
        return out
    }

    /// The record stored at source `offset` of log (`topic`, `partition`), with its bytes;
    /// `nil` when the log holds no such offset. Sealed segments are found by their manifest
    /// bounds and the row by the index's offset column (both binary searches); the last blocks
    /// decoded are cached, so reading neighbouring records costs one block decode.
    public func record(topic: String, partition: Int32, offset: Int64) throws(StoreError) -> StoreRecord? {
        let key = RecentRecords.Key(topic, partition, offset)
        if let kept = recent.get(key) { return kept }
        guard let (segment, row) = try locate(topic: topic, partition: partition, offset: offset) else { return nil }
        let record = try segment.record(at: row)
        recent.put(key, record)
        return record
    }

    /// The records stored at these source offsets, in this order (`nil` where a log holds no
    /// such offset): ``record(topic:partition:offset:)`` for many at once. The rows of each
    /// segment are read together, so each block they need is decoded once, and only as far as
    /// its last wanted record (``SegmentReader/records(at:)``).
    public func records(at locations: [(topic: String, partition: Int32, offset: Int64)]) throws(StoreError) -> [StoreRecord?] {
        var out = [StoreRecord?](repeating: nil, count: locations.count)
        var bySegment: [ObjectIdentifier: (segment: any ReadableSegment, rows: [Int], positions: [Int])] = [:]
        for (position, location) in locations.enumerated() {
            if let kept = recent.get(RecentRecords.Key(location.topic, location.partition, location.offset)) {
                out[position] = kept
                continue
            }
            guard let (segment, row) = try locate(topic: location.topic, partition: location.partition, offset: location.offset)
            else { continue }
            bySegment[ObjectIdentifier(segment), default: (segment, [], [])].rows.append(row)
            bySegment[ObjectIdentifier(segment)]!.positions.append(position)
        }
        for (_, batch) in bySegment {
            for (position, record) in zip(batch.positions, try batch.segment.records(at: batch.rows)) {
                out[position] = record
                let location = locations[position]
                recent.put(RecentRecords.Key(location.topic, location.partition, location.offset), record)
            }
        }
        return out
    }

    /// The segment and index row holding source `offset` of a log, if it holds it.
    private func locate(topic: String, partition: Int32, offset: Int64) throws(StoreError) -> (any ReadableSegment, Int)? {
        guard let log = logs.first(where: { $0.topic == topic && $0.partition == partition }) else { return nil }
        var low = 0
        var high = log.segmentCount
        // The last segment whose first offset is at or before `offset`.
        while high - low > 1 {
            let mid = (low + high) / 2
            if try log.firstOffset(mid) <= offset { low = mid } else { high = mid }
        }
        guard log.segmentCount > 0 else { return nil }
        let segment = try log.segment(low)
        let offsets = segment.index.offsets
        var row = 0
        var end = offsets.count
        while row < end {
            let mid = (row + end) / 2
            if offsets[mid] < offset { row = mid + 1 } else { end = mid }
        }
        guard row < offsets.count, offsets[row] == offset else { return nil }
        return (segment, row)
    }

    /// Sizes of the store: what the records take raw and what they take on disk.
    public struct Storage: Sendable, Equatable, Codable {
        /// Raw bytes of the records of sealed segments (as framed in their blocks).
        public var rawBytes: Int64 = 0
        /// Bytes of sealed segment files.
        public var segmentBytes: Int64 = 0
        /// Bytes of index files.
        public var indexBytes: Int64 = 0
        /// Records in sealed segments, and in active journals.
        public var sealedRecords = 0
        public var journalRecords = 0

        /// Raw bytes over segment bytes (0 for an empty store).
        public var compressionRatio: Double { segmentBytes == 0 ? 0 : Double(rawBytes) / Double(segmentBytes) }
    }

    /// Sizes of every log (reads every sealed index).
    public func storage() throws(StoreError) -> Storage {
        var out = Storage()
        for log in logs {
            for (number, entry) in log.manifest.segments.enumerated() {
                out.segmentBytes += entry.segmentBytes
                out.indexBytes += entry.indexBytes
                out.sealedRecords += entry.records
                out.rawBytes += try log.segment(number).index.blocks.reduce(0) { $0 + Int64($1.rawLength) }
            }
            if log.segmentCount > log.manifest.segments.count {
                out.journalRecords += try log.segment(log.segmentCount - 1).index.count
            }
        }
        return out
    }

    /// All records matching `query`, collected (use ``cursor(_:)`` to stream).
    public func records(matching query: StoreQuery) throws(StoreError) -> [StoredRecord] {
        var cursor = cursor(query)
        var out: [StoredRecord] = []
        while let next = try cursor.next() { out.append(next) }
        return out
    }

    /// A streaming cursor over the records matching `query`, log by log in offset order.
    public func cursor(_ query: StoreQuery) -> QueryCursor {
        QueryCursor(logs: logs.filter { log in
            (query.topic.map { $0 == log.topic } ?? true) && (query.partition.map { $0 == log.partition } ?? true)
        }, query: query)
    }

    /// CADF ids with only one half stored, across all logs.
    public func orphans() throws(StoreError) -> [Orphan] {
        var halves: [String: UInt8] = [:]
        for log in logs {
            for number in 0..<log.segmentCount {
                let index = try log.segment(number).index
                for row in 0..<index.count where index.kinds[row] == StoreRecord.Kind.notification.rawValue {
                    guard let id = index.ids.value(at: row) else { continue }
                    halves[id, default: 0] |= index.eventTypes[row]
                }
            }
        }
        return halves.compactMap { id, mask in
            guard mask != 3, let half = NotificationFields.EventType(rawValue: mask) else { return nil }
            return Orphan(id: id, present: half)
        }.sorted { $0.id < $1.id }
    }
}

/// Streams query results without collecting them: logs in order, segments pruned by their
/// manifest time bounds and index dictionaries, rows by blocks' time bounds or the id table.
/// Matching rows are read a batch at a time (``batchRows``), so that each block a batch needs
/// is decoded once, on every core (``SegmentReader/records(at:)``).
public struct QueryCursor {
    /// Matching rows read together; bounds the records a cursor holds.
    static let batchRows = 2048
    private let logs: [LogView]
    private let query: StoreQuery
    private var logNumber = 0
    private var segmentNumber = -1
    private var segment: (any ReadableSegment)?
    /// The current segment's index, held once (reading it through the existential copies it).
    private var index: SegmentIndex?
    private var compiled: CompiledQuery?
    private var ranges: [Range<Int>] = []
    private var rangeNumber = 0
    private var row = 0
    private var batch: [StoredRecord] = []
    private var batchNext = 0

    init(logs: [LogView], query: StoreQuery) {
        self.logs = logs
        self.query = query
    }

    /// The next matching record, or `nil` at the end.
    public mutating func next() throws(StoreError) -> StoredRecord? {
        if batchNext < batch.count {
            batchNext += 1
            return batch[batchNext - 1]
        }
        while logNumber < logs.count {
            let log = logs[logNumber]
            if let segment, let compiled, let index {
                var rows: [Int] = []
                while rows.count < Self.batchRows, rangeNumber < ranges.count {
                    guard row < ranges[rangeNumber].upperBound else {
                        rangeNumber += 1
                        if rangeNumber < ranges.count { row = ranges[rangeNumber].lowerBound }
                        continue
                    }
                    if compiled.matches(index, row: row) { rows.append(row) }
                    row += 1
                }
                if !rows.isEmpty {
                    batch = try Self.records(segment, index, rows: rows, indexOnly: query.indexOnly).map {
                        StoredRecord(topic: log.topic, partition: log.partition, record: $0)
                    }
                    batchNext = 1
                    return batch[0]
                }
            }
            segment = nil
            index = nil
            segmentNumber += 1
            if segmentNumber >= log.segmentCount {
                logNumber += 1
                segmentNumber = -1
                continue
            }
            guard log.mayOverlap(segmentNumber, query.timeRange) else { continue }
            let candidate = try log.segment(segmentNumber)
            guard let compiled = CompiledQuery(query, index: candidate.index) else { continue }
            let index = candidate.index
            self.segment = candidate
            self.index = index
            self.compiled = compiled
            ranges = compiled.candidateRows(index)
            rangeNumber = 0
            row = ranges.first?.lowerBound ?? 0
        }
        return nil
    }

    private static func records(_ segment: any ReadableSegment, _ index: SegmentIndex, rows: [Int], indexOnly: Bool)
        throws(StoreError) -> [StoreRecord]
    {
        guard indexOnly else { return try segment.records(at: rows) }
        var out: [StoreRecord] = []
        out.reserveCapacity(rows.count)
        for row in rows {
            if let fields = index.notificationFields(at: row) {
                out.append(
                    StoreRecord(
                        offset: index.offsets[row], timestamp: index.timestamps[row], body: .notification(fields, bytes: [])))
            } else {
                out.append(try segment.record(at: row))
            }
        }
        return out
    }
}

/// Records by (log, offset), bounded in bytes: two generations, the older dropped whole when the
/// newer fills half the budget, and a hit in the older moved to the newer (an LRU's behaviour
/// at a dictionary's cost).
struct RecentRecords {
    struct Key: Hashable {
        var topic: String
        var partition: Int32
        var offset: Int64

        init(_ topic: String, _ partition: Int32, _ offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    let budget: Int
    private var current: [Key: StoreRecord] = [:]
    private var previous: [Key: StoreRecord] = [:]
    private var currentBytes = 0

    init(budget: Int) { self.budget = budget }

    mutating func get(_ key: Key) -> StoreRecord? {
        if let record = current[key] { return record }
        guard let record = previous.removeValue(forKey: key) else { return nil }
        put(key, record)
        return record
    }

    mutating func put(_ key: Key, _ record: StoreRecord) {
        guard current.updateValue(record, forKey: key) == nil else { return }
        // The bytes, and what a dictionary entry and the record's fields take besides.
        currentBytes += (record.bytes?.count ?? 0) + 512
        if currentBytes > budget / 2 {
            previous = current
            current = [:]
            currentBytes = 0
        }
    }
}
