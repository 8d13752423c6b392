// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

public import AuditStore

/// The pair view of a stored trail, derived from the stored halves (never rewritten evidence).
public struct Trail: Sendable {
    /// One HTTP call: its request and response halves as stored.
    public struct Call: Sendable {
        public var id: String
        public var request: StoredRecord? { didSet { refresh() } }
        public var response: StoredRecord? { didSet { refresh() } }
        /// More than one distinct copy of a half (same id and event type, other bytes).
        public var conflicts: [StoredRecord]

        /// `success`, `failure`, `unknown`, or `pending` while only the request is stored.
        public private(set) var outcome = "pending"
        /// The HTTP status of the response, if any.
        public private(set) var status: Int?
        /// Response reporter time minus event time, when both halves carry them (milliseconds).
        public var latencyMilliseconds: Double?
        /// The call's `eventTime` (µs since the epoch).
        public var eventTime: Int64? { fields?.eventTime }
        /// Both halves are stored.
        public var isPair: Bool { request != nil && response != nil }
        /// Pair, orphan (a single half older than the correlation window) or pending.
        public var state: State = .pending
        /// The call's attributes (initiator, action, target, publisher, path): the request's, or
        /// the response's when only the response is stored.
        ///
        /// Kept beside the halves (as ``outcome`` and ``status`` are), not derived on each use:
        /// a filter reads them from every call a page walks, and taking them out of a half's
        /// record copied every string they hold.
        public private(set) var fields: NotificationFields?

        /// A call from its halves; ``settle(now:window:latency:)`` sets its state and latency.
        public init(id: String, request: StoredRecord? = nil, response: StoredRecord? = nil, conflicts: [StoredRecord] = []) {
            self.id = id
            self.request = request
            self.response = response
            self.conflicts = conflicts
            refresh()
        }

        private mutating func refresh() {
            fields = (request ?? response)?.record.fields
            let response = response?.record.fields
            outcome = response?.outcome ?? "pending"
            status = response?.reasonCode.flatMap { Int($0) }
        }

        /// Adds one stored copy of a half: the first copy of each half is kept, a later one with
        /// other bytes is a conflict (a later one with the same bytes, a redelivery, is ignored).
        /// - Returns: `false` for an ignored redelivery.
        @discardableResult
        public mutating func add(_ stored: StoredRecord) -> Bool {
            guard let fields = stored.record.fields else { return false }
            let slot = fields.eventType == .request ? \Call.request : \Call.response
            if let existing = self[keyPath: slot] {
                guard existing.record.fields?.digest != fields.digest else { return false }
                conflicts.append(stored)
            } else {
                self[keyPath: slot] = stored
            }
            return true
        }

        /// Sets ``state`` (a single half older than `window` before `now`, both µs, is an
        /// orphan; a younger one is pending) and, for a pair, ``latencyMilliseconds``.
        public mutating func settle(now: Int64, window: Int64, latency: (StoredRecord, StoredRecord) -> Double?) {
            if let request, let response {
                state = .pair
                latencyMilliseconds = latency(request, response)
            } else if (eventTime ?? 0) > now - window {
                state = .pending
            } else {
                state = request != nil ? .orphanRequest : .orphanResponse
            }
        }
    }

    /// Where a call stands.
    public enum State: String, Sendable, CaseIterable {
        /// Both halves are stored.
        case pair
        /// Only the request, and the correlation window is over.
        case orphanRequest
        /// Only the response, and the correlation window is over.
        case orphanResponse
        /// A single half still inside the correlation window.
        case pending

        /// An orphan of either kind.
        public var isOrphan: Bool { self == .orphanRequest || self == .orphanResponse }
    }

    /// Counts over a whole trail.
    public struct Statistics: Sendable, Codable, Equatable {
        /// Notifications stored, a redelivered copy (same id, half and bytes) not counted again.
        public var notifications = 0
        public var pairs = 0
        public var orphanRequests = 0
        public var orphanResponses = 0
        /// Single halves still inside the correlation window.
        public var pending = 0
        /// Redeliveries: `duplicate` markers, and copies the worker stored whole because it no
        /// longer remembered the first (after its duplicate retention).
        public var duplicates = 0
        public var conflicts = 0
        public var quarantined = 0
        public var skipped = 0
        public var forwarded = 0
        public var gaps = 0
        /// Calls per publisher, action and outcome (a call counts once, by its attributes).
        public var byPublisher: [String: Int] = [:]
        public var byAction: [String: Int] = [:]
        public var byOutcome: [String: Int] = [:]
        /// Quarantined notifications per reason code.
        public var quarantineReasons: [String: Int] = [:]
        /// Earliest and latest `eventTime` of the stored calls (µs since the epoch).
        public var firstEventTime: Int64?
        public var lastEventTime: Int64?
    }

    /// Every call, oldest first by `eventTime`, ties by id.
    public let calls: [Call]
    public let statistics: Statistics
    /// Until this instant (µs since the epoch) every call's state stays as settled: then the
    /// first pending half's correlation window ends and it becomes an orphan. `Int64.max` when
    /// nothing is pending. A view kept for later reads of an unchanged store is valid until then.
    public let stableUntil: Int64

    /// Reads every record of the store at `directory`. A single half older than `window`
    /// (relative to `now`, both µs) is an orphan; a younger one is pending. With `indexOnly`,
    /// notifications come from the sidecar indexes without their bytes (enough for counts).
    public init(
        directory: String, window: Int64, now: Int64, indexOnly: Bool = false, requestIDs: RequestIDs = RequestIDs(),
        latency: (StoredRecord, StoredRecord) -> Double? = { _, _ in nil }
    ) throws {
        try self.init(
            reader: try AuditStore(directory: directory).reader(), window: window, now: now, indexOnly: indexOnly,
            requestIDs: requestIDs, latency: latency)
    }

    /// The same from an open reader, whose loaded indexes then serve later reads (the bodies of
    /// an index-only view's calls, ``Call/loadingBodies(from:latency:)``) without loading again.
    ///
    /// With a `visibility` of some projects, only those projects' notifications are read: each
    /// is a store query on the index's project column, so no other project's record is decoded
    /// or counted, and records that are not notifications (quarantined, skipped, gaps) are left
    /// out, as they belong to no project.
    ///
    /// `requestIDs` narrows the read to calls with these request ids, on the index's request-id
    /// columns (see ``RequestIDs``).
    public init(
        reader: StoreReader, window: Int64, now: Int64, indexOnly: Bool = false, visibility: Visibility = .all,
        requestIDs: RequestIDs = RequestIDs(), latency: (StoredRecord, StoredRecord) -> Double? = { _, _ in nil }
    ) throws {
        var queries: [StoreQuery] = []
        switch visibility {
        case .all:
            var query = StoreQuery()
            query.kinds = Set(StoreRecord.Kind.allCases)
            query.indexOnly = indexOnly
            queries = [query]
        case .projects(let projects):
            for project in projects.sorted() {
                var query = StoreQuery()
                query.projectId = project
                query.indexOnly = indexOnly
                queries.append(query)
            }
        }
        var byID: [String: Call] = [:]
        var statistics = Statistics()
        var resolver = requestIDs.resolve ? RequestIDResolver(reader: reader, filter: requestIDs) : nil
        for var query in queries {
            query.requestId = requestIDs.requestID
            query.globalRequestId = requestIDs.globalRequestID
            var cursor = reader.cursor(query)
            try Self.collect(&cursor, into: &byID, &statistics, resolver: &resolver)
        }
        self.init(byID: consume byID, statistics: statistics, window: window, now: now, latency: latency)
    }

    private static func collect(
        _ cursor: inout QueryCursor, into byID: inout [String: Call], _ statistics: inout Statistics,
        resolver: inout RequestIDResolver?
    ) throws {
        while var stored = try cursor.next() {
            if resolver != nil, stored.record.fields?.requestIDsRecorded == false {
                guard let resolved = try resolver!.resolve(stored) else { continue }
                stored = resolved
            }
            switch stored.record.body {
            case .notification(let fields, _):
                if byID[fields.id, default: Call(id: fields.id)].add(stored) {
                    statistics.notifications += 1
                } else {
                    statistics.duplicates += 1
                }
            case .quarantined(let reason, _, _):
                statistics.quarantined += 1
                statistics.quarantineReasons[reason, default: 0] += 1
            case .skipped(let eventType):
                if eventType.hasPrefix(DuplicateMarker.prefix) { statistics.duplicates += 1 } else { statistics.skipped += 1 }
            case .forwarded: statistics.forwarded += 1
            case .gap: statistics.gaps += 1
            }
        }
    }

    private init(
        byID: consuming [String: Call], statistics: Statistics, window: Int64, now: Int64,
        latency: (StoredRecord, StoredRecord) -> Double?
    ) {
        var statistics = statistics
        var stableUntil = Int64.max
        // The calls leave the dictionary before they settle: a large store's pair view is most of
        // the memory a read command uses.
        var calls = Array(byID.values)
        _ = consume byID
        for index in calls.indices {
            var call = calls[index]
            if !call.conflicts.isEmpty { statistics.conflicts += 1 }
            statistics.byPublisher[call.fields?.publisher ?? "-", default: 0] += 1
            statistics.byAction[call.fields?.action ?? "-", default: 0] += 1
            if let time = call.eventTime {
                statistics.firstEventTime = min(statistics.firstEventTime ?? time, time)
                statistics.lastEventTime = max(statistics.lastEventTime ?? time, time)
            }
            call.settle(now: now, window: window, latency: latency)
            switch call.state {
            case .pair: statistics.pairs += 1
            case .pending:
                statistics.pending += 1
                stableUntil = min(stableUntil, (call.eventTime ?? 0) &+ window)
            case .orphanRequest: statistics.orphanRequests += 1
            case .orphanResponse: statistics.orphanResponses += 1
            }
            statistics.byOutcome[call.outcome, default: 0] += 1
            calls[index] = call
        }
        // Oldest first (ties by id; a call without an eventTime first), as ``CallQuery`` orders
        // by time, sorting positions rather than the large call values.
        let keys = calls.map { (time: $0.eventTime ?? .min, id: $0.id) }
        var order = Array(calls.indices)
        order.sort { keys[$0] < keys[$1] }
        self.calls = order.map { calls[$0] }
        self.statistics = statistics
        self.stableUntil = stableUntil
    }
}

extension [Trail.Call] {
    /// These calls with their halves read whole from the store, as
    /// ``Trail/Call/loadingBodies(from:latency:)`` reads each, the halves read together
    /// (``StoreReader/records(at:)``): a page of calls decodes each block it needs once.
    /// - Throws: ``StoreError`` when a half cannot be read back.
    public func loadingBodies(
        from reader: StoreReader, latency: (StoredRecord, StoredRecord) -> Double?
    ) throws(StoreError) -> [Trail.Call] {
        var wanted: [(topic: String, partition: Int32, offset: Int64)] = []
        for call in self {
            for half in [call.request, call.response] {
                if let half, half.record.bytes?.isEmpty ?? true { wanted.append((half.topic, half.partition, half.record.offset)) }
            }
        }
        var read = try reader.records(at: wanted)[...]
        func load(_ half: StoredRecord?) throws(StoreError) -> StoredRecord? {
            guard let half, half.record.bytes?.isEmpty ?? true else { return half }
            guard let record = read.popFirst() ?? nil
            else { throw StoreError(.corrupt, "\(half.topic)/\(half.partition): offset \(half.record.offset) is gone") }
            return StoredRecord(topic: half.topic, partition: half.partition, record: record)
        }
        var out: [Trail.Call] = []
        out.reserveCapacity(count)
        for var call in self {
            call.request = try load(call.request)
            call.response = try load(call.response)
            if let request = call.request, let response = call.response { call.latencyMilliseconds = latency(request, response) }
            out.append(call)
        }
        return out
    }
}

extension Trail.Call {
    /// This call with its halves read whole from the store (bytes and origin; a call from an
    /// index-only trail has neither) and its latency computed.
    /// - Throws: ``StoreError`` when a half cannot be read back.
    public func loadingBodies(
        from reader: StoreReader, latency: (StoredRecord, StoredRecord) -> Double?
    ) throws(StoreError) -> Trail.Call {
        func load(_ half: StoredRecord?) throws(StoreError) -> StoredRecord? {
            guard let half, half.record.bytes?.isEmpty ?? true else { return half }
            guard let record = try reader.record(topic: half.topic, partition: half.partition, offset: half.record.offset)
            else { throw StoreError(.corrupt, "\(half.topic)/\(half.partition): offset \(half.record.offset) is gone") }
            return StoredRecord(topic: half.topic, partition: half.partition, record: record)
        }
        var call = self
        call.request = try load(request)
        call.response = try load(response)
        if let request = call.request, let response = call.response { call.latencyMilliseconds = latency(request, response) }
        return call
    }
}
