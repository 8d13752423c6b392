// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Synchronization

/// The memory the open writers of one store share (``StoreOptions/writerMemoryBudget``).
///
/// A writer holds records waiting for their partner, the block it is filling and, in a log's
/// first segment, the blocks waiting for the dictionary. Bounded per writer alone, that memory
/// grows with the number of partitions a worker owns: 1,000 partitions at 32 MiB of window each
/// could hold a whole backlog (DESIGN §6.6). Each writer's share is therefore the budget divided
/// by the writers open now, so the sum stays within the budget however many partitions come.
final class WriterMemory: Sendable {
    /// Bytes all open writers of the store may hold together.
    let budget: Int
    /// The compression contexts the writers share, one per core.
    let compression = CompressionContext()
    private let openWriters = Atomic<Int>(0)

    init(budget: Int) { self.budget = budget }

    /// Bytes one writer may hold now.
    var share: Int { budget / max(1, openWriters.load(ordering: .relaxed)) }

    func writerOpened() { openWriters.add(1, ordering: .relaxed) }

    func writerClosed() { openWriters.subtract(1, ordering: .relaxed) }
}
