// AuditTrail — ObjectStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import ObjectStore

/// The test kit's in-memory store behaves as the S3 client does against moto, and checks
/// conditions atomically (which moto does not).
@Suite struct MemoryObjectStoreTests {
    @Test func sameAnswersAsS3() async throws {
        let store = MemoryObjectStore()
        let first = try await store.put("lease", bytes: [1, 2, 3], condition: .absent)
        #expect(first == "\"5289df737df57326fcdd22597afb1fac\"")  // MD5 of 01 02 03, as S3 gives it
        await #expect(throws: ObjectStoreError.self) { try await store.put("lease", bytes: [9], condition: .absent) }
        let second = try await store.put("lease", bytes: [4], condition: .matches(first))
        await #expect(throws: ObjectStoreError.self) { try await store.put("lease", bytes: [5], condition: .matches(first)) }
        #expect(try await store.get("lease") == StoredObject(bytes: [4], etag: second))
        #expect(try await store.head("lease")?.size == 1)
        #expect(try await store.get("lease", range: 0..<10) == [4])
        #expect(try await store.get("missing") == nil)

        for key in ["b/2", "b/10", "a", "b/1"] { _ = try await store.put(key, bytes: [], condition: .none) }
        #expect(try await store.list(prefix: "b/").map(\.key) == ["b/1", "b/10", "b/2"])
        try await store.delete("b/1")
        try await store.delete("b/1")
        #expect(store.keys == ["a", "b/10", "b/2", "lease"])

        store.failNextWrites(1)
        await #expect(throws: ObjectStoreError.self) { try await store.put("x", bytes: [], condition: .none) }
        _ = try await store.put("x", bytes: [], condition: .none)
    }

    /// Many writers race to take a key with `.absent`: exactly one wins.
    @Test func racingTakersHaveOneWinner() async throws {
        let store = MemoryObjectStore()
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    do {
                        _ = try await store.put("lease", bytes: [UInt8(writer)], condition: .absent)
                        return true
                    } catch ObjectStoreError.preconditionFailed {
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
    }
}
