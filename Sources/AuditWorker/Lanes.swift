// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import Dispatch
import Synchronization

/// Below this many messages (or records) a batch's work stays on the calling thread: waking the
/// other lanes costs more than it saves.
let laneWorthyBatch = 256

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

/// Runs `body(index)` for each index below `count` on `lanes` threads, as ``onLanes(_:lanes:_:)``
/// does, and throws the first failure in index order once every index is done (a failure does
/// not stop the others: each index owns what it touches, such as one log's writer).
func eachOnLanes(_ count: Int, lanes: Int, _ body: @Sendable (_ index: Int) throws(StoreError) -> Void) throws(StoreError) {
    let failures = onLanes(count, lanes: lanes) { (_, i) -> StoreError? in
        do throws(StoreError) {
            try body(i)
            return nil
        } catch {
            return error
        }
    }
    if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
}
