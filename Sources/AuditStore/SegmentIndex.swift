// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// The index of one segment (FORMAT.md §6): a block table, one column per record attribute,
/// per-field string dictionaries, and a sorted table of CADF id hashes.
///
/// Sealed segments keep it in a sidecar `.idx` file; the active segment's is rebuilt from its
/// journal. Queries use it to prune whole segments (a value absent from a dictionary, a time
/// range outside the segment's) and then scan a few integer columns.
struct SegmentIndex {
    /// One compressed block of a sealed segment.
    struct Block: Equatable {
        var fileOffset: Int64
        var compressedLength: UInt32
        var rawLength: UInt32
        var recordCount: UInt32
        /// Lowest source offset in the block.
        var firstOffset: Int64
        /// Highest record end (offset after its last offset) in the block.
        var nextOffset: Int64
        var minTime: Int64
        var maxTime: Int64
    }

    /// Dictionary-coded strings: code 0 is absent, code k is `values[k - 1]`.
    struct StringColumn: Equatable {
        var values: [String] = []
        var codes: [UInt32] = []

        func value(at row: Int) -> String? {
            let code = codes[row]
            return code == 0 ? nil : values[Int(code) - 1]
        }

        /// Codes whose value satisfies `predicate`.
        func codes(where predicate: (String) -> Bool) -> Set<UInt32> {
            var out = Set<UInt32>()
            for (i, value) in values.enumerated() where predicate(value) { out.insert(UInt32(i + 1)) }
            return out
        }
    }

    var baseOffset: Int64
    var nextOffset: Int64
    var blocks: [Block] = []
    var kinds: [UInt8] = []
    var offsets: [Int64] = []
    var blockNumbers: [UInt32] = []
    /// Rows are in source-offset order; a record's block and position say where it is stored
    /// (blocks keep a request and its response together, so not always in offset order).
    /// Byte position of the record in its decompressed block (active segment: its row).
    var positions: [UInt32] = []
    var lengths: [UInt32] = []
    var timestamps: [Int64] = []
    /// CADF eventTime in µs, `Int64.min` when absent.
    var eventTimes: [Int64] = []
    /// ``NotificationFields/EventType`` raw value; 0 for records that are not notifications.
    var eventTypes: [UInt8] = []
    var digests: [UInt64] = []
    var ids = StringColumn()
    /// One column per string field of ``NotificationFields`` (``NotificationFields/stringField(_:)``).
    var fields = [StringColumn](repeating: StringColumn(), count: NotificationFields.indexedStringFieldCount)
    /// 1 where a notification's request ids were recorded (``NotificationFields/requestIDsRecorded``),
    /// 0 elsewhere (every row of an index of version 1).
    var requestIDsRecorded: [UInt8] = []
    /// Whether some notification's request ids are unknown: a filter on them cannot prune the
    /// segment, and lets such rows through for the caller to check.
    var hasUnrecordedRequestIDs: Bool {
        zip(kinds, requestIDsRecorded).contains { $0 == StoreRecord.Kind.notification.rawValue && $1 == 0 }
    }
    /// (id hash, row), sorted.
    var idTable: [(hash: UInt64, row: UInt32)] = []
    var minTime: Int64 = .max
    var maxTime: Int64 = .min

    var count: Int { kinds.count }

    init(baseOffset: Int64) {
        self.baseOffset = baseOffset
        self.nextOffset = baseOffset
    }

    /// A record's time for range queries: its eventTime, else its Kafka timestamp (both in µs).
    static func time(of record: StoreRecord) -> Int64 {
        record.fields?.eventTime ?? record.timestamp &* 1000
    }

    func time(at row: Int) -> Int64 { Self.time(eventTime: eventTimes[row], timestamp: timestamps[row]) }

    /// ``time(of:)`` from an eventTime as the index column holds it (`.min`: absent) and a Kafka
    /// timestamp.
    static func time(eventTime: Int64, timestamp: Int64) -> Int64 {
        eventTime != .min ? eventTime : timestamp &* 1000
    }

    /// Rows holding `id` (hash match, confirmed on the string).
    func rows(forId id: String) -> [Int] {
        let hash = Self.hash(id)
        var low = 0
        var high = idTable.count
        while low < high {
            let mid = (low + high) / 2
            if idTable[mid].hash < hash { low = mid + 1 } else { high = mid }
        }
        var rows: [Int] = []
        while low < idTable.count && idTable[low].hash == hash {
            let row = Int(idTable[low].row)
            if ids.value(at: row) == id { rows.append(row) }
            low += 1
        }
        return rows
    }

    /// The notification fields of `row` (nil for other kinds).
    func notificationFields(at row: Int) -> NotificationFields? {
        guard kinds[row] == StoreRecord.Kind.notification.rawValue,
            let id = ids.value(at: row), let eventType = NotificationFields.EventType(rawValue: eventTypes[row])
        else { return nil }
        var out = NotificationFields(
            id: id, eventType: eventType, eventTime: eventTimes[row] == .min ? nil : eventTimes[row],
            digest: digests[row])
        for i in fields.indices { out.setStringField(i, fields[i].value(at: row)) }
        out.requestIDsRecorded = requestIDsRecorded[row] != 0
        return out
    }

    /// The id table's hash (FORMAT.md §6).
    static func hash(_ string: String) -> UInt64 { FNV1a.hash(string) }
}

/// FNV-1a 64 of a string's UTF-8 bytes: stable across processes and runs (Swift's `Hasher` is
/// seeded per process), so it can be written to disk or decide placement.
public enum FNV1a {
    public static func hash(_ string: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in string.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Builds a ``SegmentIndex`` record by record.
struct SegmentIndexBuilder {
    private var index: SegmentIndex
    /// The id column's, then one per string field.
    private var interners = [StringInterner](repeating: StringInterner(), count: NotificationFields.indexedStringFieldCount + 1)

    init(baseOffset: Int64) { index = SegmentIndex(baseOffset: baseOffset) }

    /// Adds `record`, stored at `position` (length `length`) of block `block`.
    mutating func add(_ record: StoreRecord, block: UInt32, position: UInt32, length: UInt32) {
        let fields = record.fields
        addRow(record, block: block, position: position, length: length, eventTime: fields?.eventTime ?? .min)
        index.eventTypes.append(fields?.eventType.rawValue ?? 0)
        index.digests.append(fields.map { $0.digest ?? HashChain.contentDigest(record.bytes ?? []) } ?? 0)
        index.requestIDsRecorded.append(fields?.requestIDsRecorded == true ? 1 : 0)
        // Interned from the encoded bytes: a value already in the table costs no `String`.
        guard let fields else {
            index.ids.codes.append(0)
            for i in index.fields.indices { index.fields[i].codes.append(0) }
            return
        }
        fields.forEachField { number, bytes in
            let code = bytes.map { interners[number].code(utf8: $0) } ?? 0
            if number == 0 {
                index.ids.codes.append(code)
            } else {
                index.fields[number - 1].codes.append(code)
            }
        }
    }

    /// Adds a notification decoded from a journal frame with its `fields` (its own are
    /// placeholders), as ``add(_:block:position:length:)`` would add it with them; the block
    /// and place come later (``locate(row:block:position:length:)``).
    mutating func add(_ record: StoreRecord, fields: FrameFields) {
        addRow(record, block: 0, position: 0, length: 0, eventTime: fields.head.eventTime)
        index.eventTypes.append(fields.head.eventType)
        index.digests.append(fields.head.digest)
        index.ids.codes.append(fields.field(0).map { interners[0].code(utf8: $0) } ?? 0)
        index.requestIDsRecorded.append(fields.head.requestIDsRecorded ? 1 : 0)
        for i in 0..<NotificationFields.indexedStringFieldCount {
            index.fields[i].codes.append(fields.field(i + 1).map { interners[i + 1].code(utf8: $0) } ?? 0)
        }
    }

    /// The columns every row has, whatever its fields come from, and the segment's bounds;
    /// `eventTime` as the column holds it (`.min`: absent).
    private mutating func addRow(_ record: StoreRecord, block: UInt32, position: UInt32, length: UInt32, eventTime: Int64) {
        index.kinds.append(record.kind.rawValue)
        index.offsets.append(record.offset)
        index.blockNumbers.append(block)
        index.positions.append(position)
        index.lengths.append(length)
        index.timestamps.append(record.timestamp)
        index.eventTimes.append(eventTime)
        let time = SegmentIndex.time(eventTime: eventTime, timestamp: record.timestamp)
        index.minTime = min(index.minTime, time)
        index.maxTime = max(index.maxTime, time)
        index.nextOffset = max(index.nextOffset, record.nextOffset)
    }

    mutating func addBlock(_ block: SegmentIndex.Block) { index.blocks.append(block) }

    /// Rows added so far.
    var count: Int { index.offsets.count }

    /// Sets where the record of `row` (in the order rows were added) is stored.
    mutating func locate(row: Int, block: UInt32, position: UInt32, length: UInt32) {
        index.blockNumbers[row] = block
        index.positions[row] = position
        index.lengths[row] = length
    }

    /// The finished index: rows in source-offset order, and the id table.
    func finish() -> SegmentIndex {
        var out = index
        out.ids.values = interners[0].values
        for i in out.fields.indices { out.fields[i].values = interners[i + 1].values }
        let order = out.offsets.indices.sorted { out.offsets[$0] < out.offsets[$1] }
        if order != Array(out.offsets.indices) {
            func permute<T>(_ column: [T]) -> [T] { order.map { column[$0] } }
            out.kinds = permute(out.kinds)
            out.offsets = permute(out.offsets)
            out.blockNumbers = permute(out.blockNumbers)
            out.positions = permute(out.positions)
            out.lengths = permute(out.lengths)
            out.timestamps = permute(out.timestamps)
            out.eventTimes = permute(out.eventTimes)
            out.eventTypes = permute(out.eventTypes)
            out.digests = permute(out.digests)
            out.requestIDsRecorded = permute(out.requestIDsRecorded)
            out.ids.codes = permute(out.ids.codes)
            for i in out.fields.indices { out.fields[i].codes = permute(out.fields[i].codes) }
        }
        let hashes = out.ids.values.map(SegmentIndex.hash)
        for (row, code) in out.ids.codes.enumerated() where code != 0 {
            out.idTable.append((hashes[Int(code) - 1], UInt32(row)))
        }
        out.idTable.sort { ($0.hash, $0.row) < ($1.hash, $1.row) }
        return out
    }
}
