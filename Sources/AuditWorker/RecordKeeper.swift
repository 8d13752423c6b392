// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore

/// What a store keeps of one consumed value when nothing is forwarded (replay into a case store,
/// log-file import): the worker's decisions, with duplicates detected over everything kept.
///
/// A valid notification is kept whole with its index fields; a later copy with the same id,
/// event type and bytes becomes a ``DuplicateMarker`` (a copy with other bytes is kept: a
/// conflict); a non-audit notification a `skipped` marker; bad input is quarantined with its bytes.
struct RecordKeeper {
    /// What a value became.
    enum Kept {
        case notification, duplicate, skipped, quarantined
    }

    private var decoder: NotificationDecoder
    /// First content digest per (event type, id).
    private var seen: [String: UInt64] = [:]

    init() throws(StoreError) {
        do {
            decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        } catch {
            throw StoreError(.invalidArgument, "the bundled schemas do not load: \(error)")
        }
    }

    /// The record for `bytes` (`nil`: a record without a value) at `offset`, what it became, and
    /// for a kept notification the ``ContentHash`` its digest came from, for
    /// ``LogWriter/append(_:hashes:)`` (so its bytes are hashed once).
    /// - Parameter timestamp: the Kafka timestamp (ms); `nil` where there is none (a file), so a
    ///   notification takes its `eventTime` and anything else -1.
    mutating func record(_ bytes: [UInt8]?, offset: Int64, timestamp: Int64?, origin: Origin? = nil)
        -> (StoreRecord, Kept, ContentHash?)
    {
        guard let bytes else {
            return (StoreRecord(
                offset: offset, timestamp: timestamp ?? -1,
                body: .quarantined(reason: "nullValue", detail: "record without a value (tombstone)", bytes: [])), .quarantined, nil)
        }
        switch decoder.decode(bytes) {
        case .audit(let notification):
            let hash = ContentHash(of: bytes)
            let fields = NotificationFields(notification, digest: hash.digest)
            let key = DuplicateMarker.eventType(fields.eventType, id: fields.id)
            if let first = seen[key] {
                if first == fields.digest {
                    return (StoreRecord(offset: offset, timestamp: timestamp ?? -1, body: .skipped(eventType: key)), .duplicate, nil)
                }
            } else {
                seen[key] = fields.digest
            }
            let time = timestamp ?? notification.eventTime.microsecondsSinceEpoch / 1000
            return (
                StoreRecord(offset: offset, timestamp: time, origin: origin, body: .notification(fields, bytes: bytes)),
                .notification, hash)
        case .nonAudit(let other):
            return (StoreRecord(offset: offset, timestamp: timestamp ?? -1, body: .skipped(eventType: other.eventType)), .skipped, nil)
        case .quarantined(let bad):
            return (StoreRecord(
                offset: offset, timestamp: timestamp ?? -1,
                body: .quarantined(reason: bad.reason.code.description, detail: bad.reason.description, bytes: bad.original)),
                .quarantined, nil)
        }
    }
}
