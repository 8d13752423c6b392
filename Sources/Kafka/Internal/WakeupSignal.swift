// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import Synchronization

/// An edge-triggered wake-up from librdkafka's threads to the one task that owns a queue.
///
/// librdkafka calls `rd_kafka_queue_cb_event_enable`'s callback when an element is enqueued on a
/// previously empty queue; the callback calls ``signal()``, which resumes the waiting owner or,
/// when none is waiting, leaves a pending mark so the next ``wait(timeout:)`` returns at once.
/// No thread blocks and nothing sleeps while data flows.
final class WakeupSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Wakes the owner. Safe from any thread, including librdkafka's.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Clears a pending mark, so that the owner re-checks its queue before waiting.
    func reset() {
        state.withLock { $0.pending = false }
    }

    /// Suspends until ``signal()`` is called, `timeout` passes, or the task is cancelled.
    func wait(timeout: Duration) async {
        if state.withLock({ state in
            defer { state.pending = false }
            return state.pending
        }) {
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Only a timer that ran out signals; a cancelled one does not leave a stale mark.
                if (try? await Task.sleep(for: timeout)) != nil { self.signal() }
            }
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if state.pending {
                                state.pending = false
                                return true
                            }
                            precondition(state.waiter == nil, "one owner waits on a WakeupSignal")
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.signal()
                }
            }
            await group.next()
            group.cancelAll()
            // The other child either was the timer (now cancelled, no signal) or the waiter,
            // which the timer's signal resumes; drain it so no continuation is left behind.
            if state.withLock({ $0.waiter != nil }) { signal() }
            await group.waitForAll()
            state.withLock { $0.pending = false }
        }
    }
}

/// The file-scope C callback for `rd_kafka_queue_cb_event_enable`: only signals.
func wakeupCallback(_ rk: OpaquePointer?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<WakeupSignal>.fromOpaque(opaque).takeUnretainedValue().signal()
}
