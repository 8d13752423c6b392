// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// What to find: every set filter must hold (a conjunction); unset filters match everything.
public struct StoreQuery: Sendable, Hashable {
    /// CADF id (all halves and copies of it).
    public var id: String?
    /// Record time in µs since the epoch: a notification's eventTime, else its Kafka timestamp.
    public var timeRange: Range<Int64>?
    /// `initiator.id`
    public var initiatorId: String?
    /// `initiator.name`
    public var initiatorName: String?
    /// `initiator.project_id`
    public var projectId: String?
    /// CADF action prefix (`read` matches `read/list`).
    public var actionPrefix: String?
    /// CADF outcome.
    public var outcome: String?
    /// `target.typeURI`
    public var targetTypeURI: String?
    /// `target.id`
    public var targetId: String?
    /// oslo `publisher_id`.
    public var publisher: String?
    /// `initiator.request_id`.
    ///
    /// This and ``globalRequestId`` let through a notification whose request ids were not
    /// recorded (``NotificationFields/requestIDsRecorded``: written before index version 2):
    /// the store cannot tell, so the caller checks such records against their bytes. A segment
    /// whose every notification has its ids recorded is pruned by its dictionaries as for any
    /// other field.
    public var requestId: String?
    /// `initiator.global_request_id`.
    public var globalRequestId: String?
    /// Request or response.
    public var eventType: NotificationFields.EventType?
    /// Which record kinds to return (field filters only match notifications).
    public var kinds: Set<StoreRecord.Kind> = [.notification]
    /// Only this log's topic.
    public var topic: String?
    /// Only this partition.
    public var partition: Int32?
    /// Answer from the index alone, decoding no block: notifications come back with their
    /// fields and offsets but **empty bytes and no origin**; other kinds are still read whole.
    /// For listings and pair views over large ranges (a block decode costs ~0.1 ms).
    public var indexOnly = false

    /// A query for every notification.
    public init() {}

    /// Field filters as (string field number, predicate).
    var fieldFilters: [(column: Int, matches: @Sendable (String) -> Bool)] {
        var out: [(Int, @Sendable (String) -> Bool)] = []
        func exact(_ column: Int, _ value: String?) {
            if let value { out.append((column, { $0 == value })) }
        }
        exact(0, initiatorId)
        exact(1, initiatorName)
        exact(2, projectId)
        if let actionPrefix { out.append((3, { $0.hasPrefix(actionPrefix) })) }
        exact(4, outcome)
        exact(6, targetId)
        exact(7, targetTypeURI)
        exact(8, publisher)
        return out
    }

    /// Request-id filters as (string field number, value); see ``requestId``.
    var requestIDFilters: [(column: Int, value: String)] {
        var out: [(Int, String)] = []
        if let requestId { out.append((11, requestId)) }
        if let globalRequestId { out.append((12, globalRequestId)) }
        return out
    }

    /// Whether `record` matches: the definition the index must agree with (the property tests
    /// compare the two).
    public func matches(_ record: StoreRecord) -> Bool {
        guard kinds.contains(record.kind) else { return false }
        if let timeRange, !timeRange.contains(SegmentIndex.time(of: record)) { return false }
        let hasFieldFilter = id != nil || eventType != nil || !fieldFilters.isEmpty || !requestIDFilters.isEmpty
        guard hasFieldFilter else { return true }
        guard let fields = record.fields else { return false }
        if let id, fields.id != id { return false }
        if let eventType, fields.eventType != eventType { return false }
        for filter in fieldFilters {
            guard let value = fields.stringField(filter.column), filter.matches(value)
            else { return false }
        }
        if fields.requestIDsRecorded {
            for filter in requestIDFilters where fields.stringField(filter.column) != filter.value { return false }
        }
        return true
    }
}

/// A ``StoreQuery`` resolved against one segment's dictionaries.
struct CompiledQuery {
    private let kindMask: UInt8
    private let timeRange: Range<Int64>?
    private let eventType: UInt8?
    private let codes: [(column: Int, codes: [UInt32])]
    /// Request-id filters: the accepted code per column (0: no row has the value), passed by
    /// rows whose ids were not recorded.
    private let requestIDCodes: [(column: Int, code: UInt32)]
    let idRows: [Int]?

    /// `nil` when no row of `index` can match (the segment is pruned).
    init?(_ query: StoreQuery, index: SegmentIndex) {
        // The id first: a binary search of the id table that prunes almost every segment of a
        // lookup by id, before any dictionary is scanned.
        if let id = query.id {
            let rows = index.rows(forId: id)
            if rows.isEmpty { return nil }
            idRows = rows
        } else {
            idRows = nil
        }
        var mask: UInt8 = 0
        for kind in query.kinds { mask |= 1 << kind.rawValue }
        kindMask = mask
        if let range = query.timeRange {
            guard index.count > 0, range.lowerBound <= index.maxTime, index.minTime < range.upperBound else { return nil }
        }
        timeRange = query.timeRange
        eventType = query.eventType?.rawValue
        var codes: [(Int, [UInt32])] = []
        for filter in query.fieldFilters {
            let matching = index.fields[filter.column].codes(where: filter.matches)
            if matching.isEmpty { return nil }
            codes.append((filter.column, matching.sorted()))
        }
        self.codes = codes
        let unrecorded = !query.requestIDFilters.isEmpty && index.hasUnrecordedRequestIDs
        var requestIDCodes: [(Int, UInt32)] = []
        for filter in query.requestIDFilters {
            let code = index.fields[filter.column].codes(where: { $0 == filter.value }).first ?? 0
            if code == 0 && !unrecorded { return nil }
            requestIDCodes.append((filter.column, code))
        }
        self.requestIDCodes = requestIDCodes
        if (eventType != nil || !codes.isEmpty || !requestIDCodes.isEmpty || query.id != nil) && mask & (1 << 1) == 0 {
            return nil
        }
    }

    /// Candidate rows: the id's rows, else all (the time column is scanned).
    func candidateRows(_ index: SegmentIndex) -> [Range<Int>] {
        if let idRows { return idRows.map { $0..<$0 + 1 } }
        return [0..<index.count]
    }

    func matches(_ index: SegmentIndex, row: Int) -> Bool {
        guard kindMask & (1 << index.kinds[row]) != 0 else { return false }
        if let timeRange, !timeRange.contains(index.time(at: row)) { return false }
        if !codes.isEmpty || eventType != nil || !requestIDCodes.isEmpty {
            guard index.kinds[row] == StoreRecord.Kind.notification.rawValue else { return false }
        }
        if let eventType, index.eventTypes[row] != eventType { return false }
        for (column, accepted) in codes {
            let code = index.fields[column].codes[row]
            if accepted.count == 1 ? accepted[0] != code : !accepted.contains(code) { return false }
        }
        if !requestIDCodes.isEmpty && index.requestIDsRecorded[row] != 0 {
            for (column, accepted) in requestIDCodes where index.fields[column].codes[row] != accepted { return false }
        }
        return true
    }
}
