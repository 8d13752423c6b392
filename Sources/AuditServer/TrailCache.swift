// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import Synchronization

/// Pair views kept between requests while the store does not change, one per scope.
///
/// Building a project's pair view reads that project's rows of every index, pairs them by id
/// and sorts them: over millions of notifications, seconds. A page of it is then a walk from
/// the cursor (``CallQuery/page(of:)-(Trail)``). So the view a request built is kept, keyed by
/// the scope it was read with (visibility and request-id conditions), and serves the next
/// request of that scope while the store's files are those it was built on
/// (``StoreFingerprint``) and no pending call's window has ended since (``Trail/stableUntil``).
/// A request never sees a view of another scope or of an older store.
///
/// Only index-only views are kept (bodies are read per shown call); the least recently used
/// view goes beyond ``capacity`` views or ``maximumCalls`` calls in all (a call of a view takes
/// about a kilobyte: a cloud admin's view of 10M notifications would hold gigabytes, and is
/// built per request instead).
final class TrailCache: Sendable {
    struct Scope: Hashable, Sendable {
        var visibility: Visibility
        var requestIDs: Trail.RequestIDs
    }

    private struct Entry {
        var fingerprint: StoreFingerprint
        var trail: Trail
        var used: UInt64
    }

    private struct State {
        var entries: [Scope: Entry] = [:]
        var clock: UInt64 = 0
    }

    /// Views kept at most.
    let capacity: Int
    /// Calls of all kept views at most.
    let maximumCalls: Int
    private let state = Mutex(State())

    init(capacity: Int, maximumCalls: Int) {
        self.capacity = capacity
        self.maximumCalls = maximumCalls
    }

    /// The view of `scope` for a store with `fingerprint` at `now` (µs): kept, or built by
    /// `build` and kept; `read` learns which.
    func trail(
        _ scope: Scope, fingerprint: StoreFingerprint, now: Int64, read: (_ kept: Bool) -> Void = { _ in },
        build: () throws -> Trail
    ) rethrows -> Trail {
        let kept = state.withLock { state -> Trail? in
            guard let entry = state.entries[scope], entry.fingerprint == fingerprint, now < entry.trail.stableUntil else {
                return nil
            }
            state.clock += 1
            state.entries[scope]?.used = state.clock
            return entry.trail
        }
        read(kept != nil)
        if let kept { return kept }
        let trail = try build()
        guard trail.calls.count <= maximumCalls else { return trail }
        state.withLock { state in
            state.clock += 1
            state.entries[scope] = Entry(fingerprint: fingerprint, trail: trail, used: state.clock)
            // Views of another state of the store are never served again.
            state.entries = state.entries.filter { $0.value.fingerprint == fingerprint }
            while state.entries.count > capacity || state.entries.values.reduce(0, { $0 + $1.trail.calls.count }) > maximumCalls,
                let oldest = state.entries.min(by: { $0.value.used < $1.value.used })
            {
                state.entries[oldest.key] = nil
            }
        }
        return trail
    }
}
