// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Kafka

/// What the worker keeps for one assigned partition: its log's writer and the digests of the
/// notification halves it stored recently, to recognise redelivered duplicates.
///
/// Memory per pending id is an index entry, never the event body (DESIGN §6.6): the id as two
/// independent 64-bit hashes and the two halves' 64-bit digests, about 40 bytes in the table.
/// Entries not seen for the retention are dropped (``expire(before:)``); a redelivery older than
/// that is stored a second time, which the read side recognises (same id, half and bytes) and
/// counts as a duplicate.
final class PartitionLog {
    /// A CADF id as FNV-1a and SipHash of its UTF-8 bytes: two ids that differ collide in both
    /// with a probability of about 2⁻¹²⁸, so a 16-byte key stands for the string.
    struct Key: Hashable {
        var fnv: UInt64
        var sip: Int

        init(_ id: String) {
            fnv = FNV1a.hash(id)
            var hasher = Hasher()
            hasher.combine(id)
            sip = hasher.finalize()
        }
    }

    /// The digests of the halves seen; 0 where a half was not seen (a digest of 0 is stored as 1).
    struct Halves {
        var request: UInt64 = 0
        var response: UInt64 = 0
        /// Seconds after ``PartitionLog/epoch``.
        var lastSeen: Int32 = 0
    }

    let topicPartition: TopicPartition
    let writer: LogWriter
    /// The offset after the last message planned for this log (nil before the first): ahead of
    /// the writer's `nextOffset` while a planned share waits for its forwarded copies, so that
    /// the next batch is planned before that share is appended (``WorkerLoop/process(_:until:)``).
    var nextToPlan: Int64?
    private(set) var halves: [Key: Halves] = [:]
    /// Microseconds since the Unix epoch at which `lastSeen` counts from.
    private let epoch: Int64

    init(topicPartition: TopicPartition, writer: LogWriter, now: Int64) {
        self.topicPartition = topicPartition
        self.writer = writer
        nextToPlan = writer.nextOffset
        epoch = now
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
        let digest = max(digest, 1)
        let seen = Int32(clamping: (now - epoch) / 1_000_000)
        return halves.withValue(for: Key(id)) { entry in
            entry.lastSeen = seen
            let existing = eventType == .request ? entry.request : entry.response
            guard existing != 0 else {
                if eventType == .request { entry.request = digest } else { entry.response = digest }
                return .new
            }
            return existing == digest ? .duplicate : .conflict
        }
    }

    /// Forgets ids not seen since `cutoff` (microseconds since the Unix epoch).
    func expire(before cutoff: Int64) {
        let seconds = Int32(clamping: (cutoff - epoch) / 1_000_000)
        halves = halves.filter { $0.value.lastSeen >= seconds }
    }

    /// Remembers a half the store already holds for this log (after an assignment or a restart),
    /// if its Kafka timestamp (when it was consumed, near enough) is at or after `cutoff`, or
    /// unknown. Not the CADF eventTime: old traffic replayed through a worker is redelivered like
    /// new traffic.
    func preload(_ stored: AuditStore.IndexedNotification, now: Int64, cutoff: Int64) {
        let seen = stored.timestamp >= 0 ? min(stored.timestamp * 1000, now) : now
        guard seen >= cutoff else { return }
        _ = admit(id: stored.id, eventType: stored.eventType, digest: stored.digest, now: seen)
    }
}

extension Dictionary where Value == PartitionLog.Halves {
    /// Runs `body` on the entry for `key` (a new one if missing), in place: one hash lookup.
    fileprivate mutating func withValue<R>(for key: Key, _ body: (inout Value) -> R) -> R {
        body(&self[key, default: Value()])
    }
}
