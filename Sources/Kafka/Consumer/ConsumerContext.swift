// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka
import Logging
import Synchronization

/// State shared between a ``Consumer``'s owner and librdkafka's callbacks.
///
/// The rebalance and error callbacks run inside the owner's own `rd_kafka_consume_batch_queue`
/// call (librdkafka serves them on the calling thread); they only record what happened.
final class ConsumerContext: HandleContext, @unchecked Sendable {
    private struct State {
        var rebalance: Rebalance?
        var errors: [ConsumerError] = []
        var closing = false
    }
    private let state = Mutex(State())

    /// Marks the consumer as closing: rebalances are then completed by the callback itself,
    /// since nobody will poll for them again.
    func beginClosing() { state.withLock { $0.closing = true } }

    var isClosing: Bool { state.withLock { $0.closing } }

    func record(_ rebalance: Rebalance) { state.withLock { $0.rebalance = rebalance } }

    func record(_ error: ConsumerError) {
        state.withLock { state in
            state.errors.append(error)
            if state.errors.count > 1000 { state.errors.removeFirst() }
        }
    }

    func takeRebalance() -> Rebalance? {
        state.withLock { state in
            defer { state.rebalance = nil }
            return state.rebalance
        }
    }

    func takeErrors() -> [ConsumerError] {
        state.withLock { state in
            defer { state.errors = [] }
            return state.errors
        }
    }
}

/// librdkafka's rebalance callback. It does not assign: it records the rebalance for the owner
/// and yields, so `rd_kafka_consume_batch_queue` returns the messages that preceded it. librdkafka
/// waits until the owner calls ``Consumer/completeRebalance(_:startOffsets:)``. While closing,
/// nobody polls again, so the callback completes the rebalance itself.
func consumerRebalanceCallback(
    rk: OpaquePointer?, err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    guard let rk, let opaque else { return }
    let context = Unmanaged<HandleContext>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerContext
    let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
    let kind: Rebalance.Kind = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? .assign : .revoke
    if context.isClosing {
        switch (kind, cooperative) {
        case (.assign, true): if let error = rd_kafka_incremental_assign(rk, partitions) { rd_kafka_error_destroy(error) }
        case (.revoke, true): if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
        case (.assign, false): _ = rd_kafka_assign(rk, partitions)
        case (.revoke, false): _ = rd_kafka_assign(rk, nil)
        }
        return
    }
    let list = partitions.map { PartitionList.read($0).map(\.0).sorted() } ?? []
    context.record(
        Rebalance(
            kind: kind, partitions: list, isCooperative: cooperative,
            isLost: kind == .revoke && rd_kafka_assignment_lost(rk) != 0))
    rd_kafka_yield(rk)
}

/// librdkafka's error callback: client-wide errors, recorded for the owner's next batch.
func consumerErrorCallback(rk: OpaquePointer?, err: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    let context = Unmanaged<HandleContext>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerContext
    let code = rd_kafka_resp_err_t(err)
    var error = KafkaError.resp(code, function: "consumer", reason.map { String(cString: $0) } ?? "")
    error.isFatal = code == RD_KAFKA_RESP_ERR__FATAL
    context.logger.warning("kafka consumer error: \(error)")
    context.record(ConsumerError(error: error))
}
