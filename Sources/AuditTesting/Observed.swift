// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import Synchronization

/// A value several tasks update, which a test can await a condition on.
///
/// Tests synchronise on observable events ("B saw its assignment", "20k messages consumed")
/// rather than on sleeps: ``wait(timeout:until:)`` resumes as soon as an ``update(_:)`` makes
/// the condition true, and only fails when the deadline passes first.
public final class Observed<Value: Sendable>: Sendable {
    private struct Waiter {
        let predicate: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Value, Never>
    }
    private struct State {
        var value: Value
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }
    private let state: Mutex<State>

    /// An observed value.
    public init(_ value: Value) {
        state = Mutex(State(value: value))
    }

    /// The current value.
    public var value: Value { state.withLock { $0.value } }

    /// Changes the value and wakes every waiter whose condition now holds.
    @discardableResult
    public func update<R>(_ body: (inout Value) -> R) -> R {
        let (result, ready) = state.withLock { state -> (R, [(CheckedContinuation<Value, Never>, Value)]) in
            let result = body(&state.value)
            var ready: [(CheckedContinuation<Value, Never>, Value)] = []
            for (id, waiter) in state.waiters where waiter.predicate(state.value) {
                ready.append((waiter.continuation, state.value))
                state.waiters[id] = nil
            }
            return (result, ready)
        }
        for (continuation, value) in ready { continuation.resume(returning: value) }
        return result
    }

    /// Waits until `predicate` holds for the value.
    ///
    /// - Throws: ``TimedOut`` when `timeout` passes first.
    @discardableResult
    public func wait(
        timeout: Duration = .seconds(60), _ what: String = "condition",
        until predicate: @escaping @Sendable (Value) -> Bool
    ) async throws -> Value {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let captured = Captured<Value>()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let value = await withCheckedContinuation { continuation in
                    let now = self.state.withLock { state -> Value? in
                        if predicate(state.value) { return state.value }
                        state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                        return nil
                    }
                    if let now { continuation.resume(returning: now) }
                }
                if predicate(value) { captured.value.withLock { $0 = value } }
            }
            group.addTask {
                // A deadline, not a synchronisation point: it only decides when to give up.
                try? await Task.sleep(for: timeout)
                if let waiter = self.state.withLock({ $0.waiters.removeValue(forKey: id) }) {
                    waiter.continuation.resume(returning: self.value)
                }
            }
            await group.next()
            group.cancelAll()
        }
        let result = captured.value.withLock { $0 }
        guard let result else { throw TimedOut(what: what, timeout: timeout) }
        return result
    }
}

/// A test's deadline passed before the awaited condition held.
public struct TimedOut: Error, CustomStringConvertible {
    /// What was awaited.
    public var what: String
    /// How long it was awaited.
    public var timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}

private final class Captured<Value: Sendable>: Sendable {
    let value = Mutex<Value?>(nil)
}
