// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import Dispatch
import Synchronization

/// Runs `body(lane, index)` for each index below `count` on `lanes` threads at once
/// (`concurrentPerform`) and returns the results in index order. Indexes are handed out one at a
/// time, so no lane waits for a slower lane's share, and a lane runs one `body` at a time, so
/// what `lane` selects (a decoder) is used by one thread at a time. With one lane it runs on the
/// calling thread.
func onLanes<T>(_ count: Int, lanes: Int, _ body: @Sendable (_ lane: Int, _ index: Int) -> T) -> [T] {
    guard lanes > 1, count > 1 else { return (0..<count).map { body(0, $0) } }
    let next = Atomic<Int>(0)
    return Array(unsafeUninitializedCapacity: count) { buffer, initialized in
        // Each index is handed out once, so each slot is initialised once, by one lane.
        nonisolated(unsafe) let slots = buffer
        DispatchQueue.concurrentPerform(iterations: min(lanes, count)) { lane in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < count else { return }
                (slots.baseAddress! + i).initialize(to: body(lane, i))
            }
        }
        initialized = count
    }
}
