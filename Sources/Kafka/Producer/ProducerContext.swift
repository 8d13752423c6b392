// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import Logging
import Synchronization

/// Delivery bookkeeping shared between a ``Producer``'s callers and librdkafka's background thread.
///
/// All state sits behind one `Mutex`; continuations are resumed after the lock is released.
final class ProducerContext: HandleContext, @unchecked Sendable {
    private enum Slot {
        /// Not reported yet; `group` is the ``waitForReports(_:timeout:)`` call waiting for it.
        case registered(group: UInt?)
        case waiting(CheckedContinuation<DeliveryReport, any Error>)
        case done(Result<DeliveryReport, KafkaError>)
    }

    /// A ``waitForReports(_:timeout:)`` call: how many of its messages are not reported yet.
    private struct GroupWaiter {
        var remaining: Int
        var continuation: CheckedContinuation<Bool, Never>?
        /// Set when the reports or the timeout came before the waiting task attached `continuation`.
        var outcome: Bool?
    }

    private struct State {
        var nextID: UInt = 1
        var slots: [UInt: Slot] = [:]
        var inFlight = 0
        var delivered = 0
        var failed = 0
        var recentFailures: [KafkaError] = []
        var clientErrors: [KafkaError] = []
        var fatal: KafkaError?
        var spaceWaiters: [UInt: CheckedContinuation<Void, Never>] = [:]
        var nextSpaceWaiter: UInt = 0
        var idleWaiters: [UInt: CheckedContinuation<Bool, Never>] = [:]
        var nextIdleWaiter: UInt = 0
        var groupWaiters: [UInt: GroupWaiter] = [:]
    }

    private let state = Mutex(State())
    private let clientErrorSignal = Mutex<[CheckedContinuation<Void, Never>]>([])

    var inFlight: Int { state.withLock { $0.inFlight } }
    var clientErrors: [KafkaError] { state.withLock { $0.clientErrors } }

    var summary: DeliverySummary {
        state.withLock { DeliverySummary(delivered: $0.delivered, failed: $0.failed, recentFailures: $0.recentFailures) }
    }

    func registerWaiter() -> UInt {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.slots[id] = .registered(group: nil)
            return id
        }
    }

    /// The result of a registered message once reported; nil before (or if already taken).
    func takeResult(_ id: UInt) -> Result<DeliveryReport, KafkaError>? {
        state.withLock { state in
            guard case .done(let result) = state.slots[id] else { return nil }
            state.slots[id] = nil
            return result
        }
    }

    func abandonWaiter(_ id: UInt) {
        _ = state.withLock { $0.slots.removeValue(forKey: id) }
    }

    func awaitDelivery(_ id: UInt) async throws -> DeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            let done = state.withLock { state -> Result<DeliveryReport, KafkaError>? in
                if case .done(let result) = state.slots[id] {
                    state.slots[id] = nil
                    return result
                }
                state.slots[id] = .waiting(continuation)
                return nil
            }
            if let done { continuation.resume(with: done) }
        }
    }

    /// Counts a message about to be handed to librdkafka, unless the producer failed fatally.
    func messageQueued() throws(KafkaError) {
        try state.withLock { state throws(KafkaError) in
            if let fatal = state.fatal { throw fatal }
            state.inFlight += 1
        }
    }

    func messageNotQueued() {
        let idle = state.withLock { state in
            state.inFlight -= 1
            return takeIdleWaiters(&state)
        }
        for waiter in idle { waiter.resume(returning: true) }
    }

    /// Called on librdkafka's background thread with one event's delivery reports.
    /// `count` plain successes, and the `outcomes` of messages awaited or failed.
    func delivered(count: Int, _ outcomes: [(UnsafeMutableRawPointer?, Result<DeliveryReport, KafkaError>)]) {
        var resumes: [(CheckedContinuation<DeliveryReport, any Error>, Result<DeliveryReport, KafkaError>)] = []
        var groups: [CheckedContinuation<Bool, Never>] = []
        let (space, idle) = state.withLock { state in
            state.inFlight -= count
            state.delivered += count
            for (opaque, result) in outcomes {
                state.inFlight -= 1
                switch result {
                case .success: state.delivered += 1
                case .failure(let error):
                    state.failed += 1
                    state.recentFailures.append(error)
                    if state.recentFailures.count > 100 { state.recentFailures.removeFirst() }
                }
                guard let opaque else { continue }
                let id = UInt(bitPattern: opaque)
                switch state.slots[id] {
                case .waiting(let continuation):
                    state.slots[id] = nil
                    resumes.append((continuation, result))
                case .registered(let group):
                    state.slots[id] = .done(result)
                    if let group, let waiter = state.groupWaiters[group], waiter.outcome == nil {
                        if waiter.remaining > 1 {
                            state.groupWaiters[group]?.remaining -= 1
                        } else if let continuation = Self.resolve(group, true, in: &state) {
                            groups.append(continuation)
                        }
                    }
                case .done, nil:
                    break
                }
            }
            let space = Array(state.spaceWaiters.values)
            state.spaceWaiters = [:]
            return (space, takeIdleWaiters(&state))
        }
        for (continuation, result) in resumes { continuation.resume(with: result.mapError { $0 as any Error }) }
        for continuation in groups { continuation.resume(returning: true) }
        for waiter in space { waiter.resume() }
        for waiter in idle { waiter.resume(returning: true) }
    }

    private func takeIdleWaiters(_ state: inout State) -> [CheckedContinuation<Bool, Never>] {
        guard state.inFlight == 0, !state.idleWaiters.isEmpty else { return [] }
        let waiters = Array(state.idleWaiters.values)
        state.idleWaiters = [:]
        return waiters
    }

    func clientError(_ error: KafkaError) {
        logger.warning("kafka producer error: \(error)")
        state.withLock { state in
            state.clientErrors.append(error)
            if state.clientErrors.count > 100 { state.clientErrors.removeFirst() }
            if error.isFatal { state.fatal = error }
        }
        let waiters = clientErrorSignal.withLock { waiters in
            defer { waiters = [] }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until the next delivery report frees space in librdkafka's queue, or `timeout`.
    func waitForSpace(timeout: Duration) async {
        let id = state.withLock { state -> UInt in
            state.nextSpaceWaiter += 1
            return state.nextSpaceWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.inFlight == 0 { return true }
                        state.spaceWaiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.state.withLock { $0.spaceWaiters.removeValue(forKey: id) }?.resume()
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Suspends until each of the registered messages `ids` was reported (or its report taken or
    /// abandoned); false when `timeout` passed first. Their reports stay to be taken.
    func waitForReports(_ ids: [UInt], timeout: Duration) async -> Bool {
        // The waiter is registered before anything can resolve it; whichever of the reports and
        // the timer comes first records the outcome, and the waiting task takes it (at once if it
        // came before the task attached its continuation).
        let group = state.withLock { state -> UInt? in
            var remaining = 0
            for id in ids {
                guard case .registered = state.slots[id] else { continue }
                remaining += 1
            }
            guard remaining > 0 else { return nil }
            state.nextIdleWaiter += 1
            let group = state.nextIdleWaiter
            for id in ids {
                guard case .registered = state.slots[id] else { continue }
                state.slots[id] = .registered(group: group)
            }
            state.groupWaiters[group] = GroupWaiter(remaining: remaining)
            return group
        }
        guard let group else { return true }
        return await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                await withCheckedContinuation { continuation in
                    let outcome = self.state.withLock { state -> Bool? in
                        guard let waiter = state.groupWaiters[group] else { return true }
                        if let outcome = waiter.outcome {
                            state.groupWaiters[group] = nil
                            return outcome
                        }
                        state.groupWaiters[group]?.continuation = continuation
                        return nil
                    }
                    if let outcome { continuation.resume(returning: outcome) }
                }
            }
            tasks.addTask {
                try? await Task.sleep(for: timeout)
                self.resolveGroup(group, false)
                return false
            }
            let first = await tasks.next() ?? false
            tasks.cancelAll()
            return first
        }
    }

    /// Records the outcome of a group waiter and resumes it if it is waiting already.
    private func resolveGroup(_ group: UInt, _ outcome: Bool) {
        let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            Self.resolve(group, outcome, in: &state)
        }
        continuation?.resume(returning: outcome)
    }

    private static func resolve(_ group: UInt, _ outcome: Bool, in state: inout State) -> CheckedContinuation<Bool, Never>? {
        guard let waiter = state.groupWaiters[group], waiter.outcome == nil else { return nil }
        guard let continuation = waiter.continuation else {
            state.groupWaiters[group]?.outcome = outcome
            return nil
        }
        state.groupWaiters[group] = nil
        return continuation
    }

    /// Suspends until nothing is in flight; false when `timeout` passed first.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        let id = state.withLock { state -> UInt in
            state.nextIdleWaiter += 1
            return state.nextIdleWaiter
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let idleNow = self.state.withLock { state -> Bool in
                        if state.inFlight == 0 { return true }
                        state.idleWaiters[id] = continuation
                        return false
                    }
                    if idleNow { continuation.resume(returning: true) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let waiter = self.state.withLock { $0.idleWaiters.removeValue(forKey: id) }
                waiter?.resume(returning: false)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    func waitForClientError(_ names: Set<String>, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if clientErrors.contains(where: { names.contains($0.name ?? "") }) { return true }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withCheckedContinuation { continuation in
                        self.clientErrorSignal.withLock { $0.append(continuation) }
                    }
                }
                group.addTask {
                    try? await Task.sleep(until: deadline)
                    let waiters = self.clientErrorSignal.withLock { waiters in
                        defer { waiters = [] }
                        return waiters
                    }
                    for waiter in waiters { waiter.resume() }
                }
                await group.next()
                group.cancelAll()
            }
        }
        return clientErrors.contains(where: { names.contains($0.name ?? "") })
    }
}
