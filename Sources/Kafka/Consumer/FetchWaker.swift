// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka
import Dispatch
import Synchronization

/// Restarts librdkafka's fetching once the consumer queue has drained, instead of a second later.
///
/// librdkafka 2.0 (Debian 12's) stops fetching a partition once the consumer queue holds
/// `queued.max.messages.kbytes` or `queued.min.messages`, and decides again only when the
/// partition leader's broker thread wakes up: on a response, on an operation queued for it, or
/// after `rd_kafka_max_block_ms`, a constant second (`rdkafka_broker.c`). Taking messages out of
/// the queue wakes nothing. A consumer slower than its fetcher, which a worker always is, thus
/// drained the queue and then waited in poll for the rest of that second: 30–40 % of the worker's
/// time in `bench worker` (its `wait` phase). librdkafka 2.2 made the second a setting,
/// `fetch.queue.backoff.ms`.
///
/// What wakes a broker thread from the application is a request for that broker. The waker sends
/// one: the latest offsets of the assigned partitions (`rd_kafka_offsets_for_times`, one
/// ListOffsets per leader), on a thread of its own since the call waits for the answers. Its
/// answer is not used. ``Consumer`` asks for a wake when its queue has fallen to half of the
/// most it held since the last wake: a fetcher stopped at the mark then fetches while the other
/// half is processed, and a fetcher that was still fetching costs one small request.
final class FetchWaker: Sendable {
    private let handle: KafkaHandle
    private let thread = DispatchQueue(label: "kafka.consumer.fetch-wake")
    private let inFlight = Atomic<Bool>(false)
    private let sent = Atomic<Int>(0)

    /// A queue that never held this many messages since the last wake was most likely not stopped
    /// at a mark (a prefetch of even 1 MiB holds hundreds of notifications): waking for it would
    /// cost a request per batch and gain nothing.
    static let worthwhilePeak = 64

    init(handle: KafkaHandle) {
        self.handle = handle
    }

    /// Wakes sent so far.
    var wakes: Int { sent.load(ordering: .relaxed) }

    /// Sends a request to every broker that leads an assigned partition, unless a wake is in flight.
    func wake() {
        guard !inFlight.exchange(true, ordering: .acquiring) else { return }
        sent.add(1, ordering: .relaxed)
        thread.async { [self] in
            defer { inFlight.store(false, ordering: .releasing) }
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle.pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            guard list.pointee.cnt > 0 else { return }
            for i in 0..<Int(list.pointee.cnt) { list.pointee.elems[i].offset = -1 }  // -1: the latest offset
            _ = rd_kafka_offsets_for_times(handle.pointer, list, 1000)
        }
    }

    /// Returns once no wake is in flight: the owner calls it before the handle can be destroyed.
    func finish() {
        thread.sync {}
    }
}
