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
    /// ``LogWriter/append(_:hashes:)`` (so its bytes are hashed once). The decision is the
    /// worker's (``Planner``), with duplicates told over everything this keeper kept.
    /// - Parameter timestamp: the Kafka timestamp (ms); `nil` where there is none (a file), so a
    ///   notification takes its `eventTime` and anything else -1.
    mutating func record(_ bytes: [UInt8]?, offset: Int64, timestamp: Int64?, origin: Origin? = nil)
        -> (StoreRecord, Kept, ContentHash?)
    {
        let decoded = bytes.map { decoder.decode($0) }
        let decision = Planner.decide(
            decoded, value: bytes, offset: offset, timestamp: timestamp, origin: origin, routing: .store
        ) { id, eventType, digest in
            let key = DuplicateMarker.eventType(eventType, id: id)
            guard let first = seen[key] else {
                seen[key] = digest
                return .new
            }
            return first == digest ? .duplicate : .conflict
        }
        switch decision {
        case .notification(let record, let hash, _): return (record, .notification, hash)
        case .duplicate(let record): return (record, .duplicate, nil)
        case .skipped(let record), .forward(let record, _): return (record, .skipped, nil)
        case .quarantined(let record, _, _): return (record, .quarantined, nil)
        }
    }
}
