// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Kafka

/// What the worker keeps for one assigned partition: its log's writer and the digests of the
/// notification halves it stored recently, to recognise redelivered duplicates.
///
/// Memory per pending id is an index entry (the id and two 64-bit digests), never the event
/// body (DESIGN §6.6); entries older than the retention are dropped.
final class PartitionLog {
    struct Halves {
        var request: UInt64?
        var response: UInt64?
        var lastSeen: Int64
    }

    let topicPartition: TopicPartition
    let writer: LogWriter
    private(set) var halves: [String: Halves] = [:]

    init(topicPartition: TopicPartition, writer: LogWriter) {
        self.topicPartition = topicPartition
        self.writer = writer
    }

    /// What storing a notification half would be.
    enum Verdict: Equatable {
        /// First time this half is seen.
        case new
        /// The same half with the same bytes was stored already: a redelivery.
        case duplicate
        /// The same half with other bytes: kept and reported.
        case conflict
    }

    /// Classifies a half and remembers it.
    func admit(id: String, eventType: NotificationFields.EventType, digest: UInt64, now: Int64) -> Verdict {
        var entry = halves[id] ?? Halves(request: nil, response: nil, lastSeen: now)
        entry.lastSeen = now
        defer { halves[id] = entry }
        let existing = eventType == .request ? entry.request : entry.response
        guard let existing else {
            if eventType == .request { entry.request = digest } else { entry.response = digest }
            return .new
        }
        return existing == digest ? .duplicate : .conflict
    }

    /// Forgets ids not seen since `cutoff`.
    func expire(before cutoff: Int64) {
        halves = halves.filter { $0.value.lastSeen >= cutoff }
    }

    /// Remembers what the store already holds for this log (after an assignment or a restart).
    func preload(_ records: [StoreRecord], now: Int64) {
        for record in records {
            guard let fields = record.fields, let digest = fields.digest else { continue }
            _ = admit(id: fields.id, eventType: fields.eventType, digest: digest, now: now)
        }
    }
}
