// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import AuditStore

/// The pair view of a stored trail, derived from the stored halves (never rewritten evidence).
public struct Trail: Sendable {
    /// One HTTP call: its request and response halves as stored.
    public struct Call: Sendable {
        public var id: String
        public var request: StoredRecord?
        public var response: StoredRecord?
        /// More than one distinct copy of a half (same id and event type, other bytes).
        public var conflicts: [StoredRecord]

        /// `success`, `failure`, `unknown`, or `pending` while only the request is stored.
        public var outcome: String { response?.record.fields?.outcome ?? "pending" }
        /// The HTTP status of the response, if any.
        public var status: Int? { response?.record.fields?.reasonCode.flatMap { Int($0) } }
        /// Response reporter time minus event time, when both halves carry them (milliseconds).
        public var latencyMilliseconds: Double?
        /// The call's `eventTime` (µs since the epoch).
        public var eventTime: Int64? { (request ?? response)?.record.fields?.eventTime }
        /// Both halves are stored.
        public var isPair: Bool { request != nil && response != nil }
    }

    /// Counts over a whole trail.
    public struct Statistics: Sendable, Codable, Equatable {
        public var notifications = 0
        public var pairs = 0
        public var orphanRequests = 0
        public var orphanResponses = 0
        /// Single halves still inside the correlation window.
        public var pending = 0
        public var duplicates = 0
        public var conflicts = 0
        public var quarantined = 0
        public var skipped = 0
        public var forwarded = 0
        public var gaps = 0
    }

    public let calls: [Call]
    public let statistics: Statistics

    /// Reads every record of the store at `directory`. A single half older than `window`
    /// (relative to `now`, both µs) is an orphan; a younger one is pending. With `indexOnly`,
    /// notifications come from the sidecar indexes without their bytes (enough for counts).
    public init(
        directory: String, window: Int64, now: Int64, indexOnly: Bool = false,
        latency: (StoredRecord, StoredRecord) -> Double? = { _, _ in nil }
    ) throws {
        let reader = try AuditStore(directory: directory).reader()
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        query.indexOnly = indexOnly
        var cursor = reader.cursor(query)
        var byID: [String: Call] = [:]
        var statistics = Statistics()
        while let stored = try cursor.next() {
            switch stored.record.body {
            case .notification(let fields, _):
                statistics.notifications += 1
                var call = byID[fields.id] ?? Call(id: fields.id, request: nil, response: nil, conflicts: [])
                let slot = fields.eventType == .request ? \Call.request : \Call.response
                if let existing = call[keyPath: slot] {
                    if existing.record.fields?.digest != fields.digest { call.conflicts.append(stored) }
                } else {
                    call[keyPath: slot] = stored
                }
                byID[fields.id] = call
            case .quarantined: statistics.quarantined += 1
            case .skipped(let eventType):
                if eventType.hasPrefix(DuplicateMarker.prefix) { statistics.duplicates += 1 } else { statistics.skipped += 1 }
            case .forwarded: statistics.forwarded += 1
            case .gap: statistics.gaps += 1
            }
        }
        var calls: [Call] = []
        calls.reserveCapacity(byID.count)
        for var call in byID.values {
            if !call.conflicts.isEmpty { statistics.conflicts += 1 }
            if let request = call.request, let response = call.response {
                statistics.pairs += 1
                call.latencyMilliseconds = latency(request, response)
            } else if (call.eventTime ?? 0) > now - window {
                statistics.pending += 1
            } else if call.request != nil {
                statistics.orphanRequests += 1
            } else {
                statistics.orphanResponses += 1
            }
            calls.append(call)
        }
        self.calls = calls.sorted { ($0.eventTime ?? 0, $0.id) < ($1.eventTime ?? 0, $1.id) }
        self.statistics = statistics
    }
}
