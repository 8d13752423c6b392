// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore

/// What one consumed value becomes in a log (DESIGN §4), decided from its decoded form and
/// from what the log already holds, with no I/O and no side effect: the worker, `replay` and
/// `import` keep what they consume through it, so they agree record for record.
///
/// Every consumed offset becomes exactly one record: a valid notification is kept whole with
/// its index fields, a redelivered copy (same id, half and bytes) becomes a ``DuplicateMarker``,
/// a copy with other bytes is kept too (a conflict, reported by the read side), another event
/// type becomes a `skipped` marker, bad input (and a record without a value) is quarantined
/// with its reason and original bytes, and a source log's notification that is not keyed by its
/// CADF id is forwarded onto the by-id topic, leaving a `forwarded` marker.
enum Planner {
    /// How a log treats a valid audit notification.
    enum Routing {
        /// Stored where it was consumed: a by-id log, or a replay's or an import's case store.
        case store
        /// Stored here only when its Kafka `key` is its CADF id; otherwise re-keyed onto the
        /// by-id topic `byIDTopic` (a source log of the workers).
        case forwardUnlessKeyed(key: [UInt8]?, byIDTopic: String)

        /// The by-id topic a notification with CADF id `id` is re-keyed onto, or nil where it is
        /// stored here.
        func forwardTopic(id: String) -> String? {
            guard case .forwardUnlessKeyed(let key, let byIDTopic) = self else { return nil }
            return key.map { $0.elementsEqual(id.utf8) } == true ? nil : byIDTopic
        }
    }

    /// What a log already holds of a half: asked with its id, event type and content digest
    /// once the half is to be stored, and expected to remember it.
    typealias Admit = (_ id: String, _ eventType: NotificationFields.EventType, _ digest: UInt64) -> PartitionLog.Verdict

    /// What a value becomes.
    enum Decision {
        /// A notification kept whole, with the hash its digest came from (so its bytes are
        /// hashed once, FORMAT.md §2); `conflict` when the same half with other bytes was kept before.
        case notification(StoreRecord, ContentHash, conflict: Bool)
        /// A redelivered copy: a duplicate marker.
        case duplicate(StoreRecord)
        /// Re-keyed by `id`: the marker to store once its copy is acknowledged.
        case forward(StoreRecord, id: String)
        /// Another event type: a `skipped` marker.
        case skipped(StoreRecord)
        /// Bad input, kept with its reason code and human detail.
        case quarantined(StoreRecord, reason: String, detail: String)

        /// The record to store.
        var record: StoreRecord {
            switch self {
            case .notification(let record, _, _), .duplicate(let record), .forward(let record, _), .skipped(let record),
                .quarantined(let record, _, _):
                record
            }
        }
    }

    /// Decides what the value at `offset` becomes.
    ///
    /// - Parameters:
    ///   - decoded: the decoder's verdict on `value` (`nil` when there is no value).
    ///   - hash: the ``ContentHash`` of `value` where the caller took one already.
    ///   - timestamp: the Kafka timestamp (ms); `nil` where there is none (a file line): a
    ///     notification then takes its `eventTime`, anything else -1.
    ///   - origin: where a by-id record was first consumed, kept on whatever it becomes.
    static func decide(
        _ decoded: DecodedNotification?, value: [UInt8]?, hash: ContentHash? = nil, offset: Int64, timestamp: Int64?,
        origin: Origin? = nil, routing: Routing, admit: Admit
    ) -> Decision {
        func record(_ body: StoreRecord.Body, timestamp: Int64? = timestamp) -> StoreRecord {
            StoreRecord(offset: offset, timestamp: timestamp ?? -1, origin: origin, body: body)
        }
        guard let value, let decoded else {
            return .quarantined(
                record(.quarantined(reason: nullValue.reason, detail: nullValue.detail, bytes: [])),
                reason: nullValue.reason, detail: nullValue.detail)
        }
        switch decoded {
        case .audit(let notification):
            let id = notification.id
            if let byIDTopic = routing.forwardTopic(id: id) {
                return .forward(record(.forwarded(topic: byIDTopic, key: id)), id: id)
            }
            let eventType: NotificationFields.EventType = notification.eventType == .request ? .request : .response
            // The same SHA-256 gives the digest and the journal frame's link (FORMAT.md §2).
            let hash = hash ?? ContentHash(of: value)
            let time = timestamp ?? notification.eventTime.microsecondsSinceEpoch / 1000
            switch admit(id, eventType, hash.digest) {
            case .duplicate:
                return .duplicate(record(.skipped(eventType: DuplicateMarker.eventType(eventType, id: id)), timestamp: time))
            case .conflict:
                let fields = NotificationFields(notification, digest: hash.digest)
                return .notification(record(.notification(fields, bytes: value), timestamp: time), hash, conflict: true)
            case .new:
                let fields = NotificationFields(notification, digest: hash.digest)
                return .notification(record(.notification(fields, bytes: value), timestamp: time), hash, conflict: false)
            }
        case .nonAudit(let other):
            return .skipped(record(.skipped(eventType: other.eventType)))
        case .quarantined(let bad):
            let reason = bad.reason.code.description
            return .quarantined(
                record(.quarantined(reason: reason, detail: bad.reason.description, bytes: bad.original)),
                reason: reason, detail: bad.reason.description)
        }
    }

    /// How a record without a value (a Kafka tombstone) is quarantined.
    static let nullValue = (reason: "nullValue", detail: "record without a value (tombstone)")
}
