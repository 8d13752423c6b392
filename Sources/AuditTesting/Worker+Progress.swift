// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

public import AuditWorker

extension Worker {
    /// Waits until `condition` holds for the latest progress of `workers` (in their order), and
    /// returns those snapshots.
    ///
    /// It reads each worker's ``Worker/progressUpdates()``: it resumes at the snapshot that makes
    /// the condition true (after a durability barrier, a rebalance or the shutdown), never polls.
    ///
    /// - Throws: ``TimedOut`` when `timeout` passes first.
    @discardableResult
    public static func waitForProgress(
        of workers: [Worker], timeout: Duration = .seconds(60), _ what: String = "progress",
        until condition: @escaping @Sendable ([Progress]) -> Bool
    ) async throws -> [Progress] {
        let latest = Observed(workers.map(\.progress))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, worker) in workers.enumerated() {
                group.addTask {
                    for await progress in worker.progressUpdates() { latest.update { $0[i] = progress } }
                }
            }
            defer { group.cancelAll() }
            return try await latest.wait(timeout: timeout, what, until: condition)
        }
    }

    /// Waits until `condition` holds for this worker's progress (``waitForProgress(of:timeout:_:until:)``).
    @discardableResult
    public func waitForProgress(
        timeout: Duration = .seconds(60), _ what: String = "progress",
        until condition: @escaping @Sendable (Progress) -> Bool
    ) async throws -> Progress {
        try await Self.waitForProgress(of: [self], timeout: timeout, what) { condition($0[0]) }[0]
    }
}
