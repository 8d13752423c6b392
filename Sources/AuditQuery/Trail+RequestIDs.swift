// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

import AuditModel
public import AuditStore

extension Trail {
    /// The request-id conditions a pair view is read under (`--request-id`,
    /// `--global-request-id`, the API's `request_id`, `global_request_id`).
    ///
    /// The ids are pushed into each store query, so the index's request-id columns prune
    /// segments and rows as the project column does. Records written before request ids were
    /// indexed (FORMAT.md §3 flags bit 3, §6 index version 2) have them unknown: with
    /// ``resolve``, the trail reads each such record the store lets through and takes its ids
    /// from its bytes (a scan of that segment's candidate payloads, never a silent miss).
    public struct RequestIDs: Sendable, Hashable {
        /// Only calls whose `initiator.request_id` is this.
        public var requestID: String?
        /// Only calls whose `initiator.global_request_id` is this.
        public var globalRequestID: String?
        /// Read the ids of records that lack them from their bytes.
        public var resolve: Bool

        /// No condition.
        public init(requestID: String? = nil, globalRequestID: String? = nil, resolve: Bool? = nil) {
            self.requestID = requestID
            self.globalRequestID = globalRequestID
            self.resolve = resolve ?? (requestID != nil || globalRequestID != nil)
        }

        /// The conditions `filters` need: their request ids, pushed to the store when they are
        /// not negated, and resolution whenever any filter tests a request id.
        public init(filters: [CallFilter]) {
            var requestID: String?
            var globalRequestID: String?
            var resolve = false
            for filter in filters {
                switch filter.condition {
                case .requestID(let id):
                    resolve = true
                    if !filter.negated { requestID = requestID ?? id }
                case .globalRequestID(let id):
                    resolve = true
                    if !filter.negated { globalRequestID = globalRequestID ?? id }
                default: break
                }
            }
            self.init(requestID: requestID, globalRequestID: globalRequestID, resolve: resolve)
        }
    }
}

/// Reads the request ids of stored notifications that lack them from their bytes.
struct RequestIDResolver {
    let reader: StoreReader
    let filter: Trail.RequestIDs
    var decoder = NotificationDecoder(validator: try! SchemaValidator.bundled())

    init(reader: StoreReader, filter: Trail.RequestIDs) {
        self.reader = reader
        self.filter = filter
    }

    /// `stored` with its request ids recorded from its bytes (read back when the view is
    /// index-only), or `nil` when they do not pass the pushed conditions.
    mutating func resolve(_ stored: StoredRecord) throws -> StoredRecord? {
        guard case .notification(var fields, var bytes) = stored.record.body else { return stored }
        if bytes.isEmpty {
            guard
                let record = try reader.record(
                    topic: stored.topic, partition: stored.partition, offset: stored.record.offset),
                let whole = record.bytes
            else { return stored }
            bytes = whole
        }
        guard case .audit(let notification) = decoder.decode(bytes) else { return stored }
        fields.requestId = notification.requestID
        fields.globalRequestId = notification.globalRequestID
        fields.requestIDsRecorded = true
        if let id = filter.requestID, fields.requestId != id { return nil }
        if let id = filter.globalRequestID, fields.globalRequestId != id { return nil }
        var record = stored.record
        // Keep an index-only record index-only: the bytes were read to resolve, not to show.
        record.body = .notification(fields, bytes: stored.record.bytes ?? [])
        return StoredRecord(topic: stored.topic, partition: stored.partition, record: record)
    }
}
