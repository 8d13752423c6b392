// AuditTrail — ObjectStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import ObjectStore

/// The client against moto's S3 server (one fresh server per test, killed after it).
@Suite(.timeLimit(.minutes(3))) struct S3ClientTests {
    private func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    @Test func putGetHeadDelete() async throws {
        try await withMotoS3Client { client, _ in
            let key = "trail/t 0/a+b=c~é.seg"
            let content = bytes(1000, seed: 1)
            let etag = try await client.put(key, bytes: content, condition: .none)
            #expect(etag.hasPrefix("\"") && etag.count == 34)

            let stored = try #require(try await client.get(key))
            #expect(stored.bytes == content)
            #expect(stored.etag == etag)
            let info = try #require(try await client.head(key))
            #expect(info.key == key && info.size == 1000 && info.etag == etag)
            #expect(abs(info.lastModified.timeIntervalSinceNow) < 300)

            let empty = try await client.put("empty", bytes: [], condition: .none)
            #expect(try await client.get("empty") == StoredObject(bytes: [], etag: empty))

            try await client.delete(key)
            #expect(try await client.get(key) == nil)
            #expect(try await client.head(key) == nil)
            try await client.delete(key)  // a missing key deletes fine
        }
    }

    @Test func rangeGet() async throws {
        try await withMotoS3Client { client, _ in
            let content = bytes(100, seed: 2)
            _ = try await client.put("r", bytes: content, condition: .none)
            #expect(try await client.get("r", range: 10..<20) == Array(content[10..<20]))
            #expect(try await client.get("r", range: 0..<100) == content)
            #expect(try await client.get("r", range: 90..<200) == Array(content[90..<100]))
            #expect(try await client.get("r", range: 100..<110) == [])
            #expect(try await client.get("r", range: 5..<5) == [])
            #expect(try await client.get("missing", range: 0..<10) == nil)
        }
    }

    /// Small pages, so the continuation token is followed; keys come back in byte order.
    @Test func listFollowsPages() async throws {
        try await withMotoS3Client(configure: { $0.listPageSize = 7 }) { client, _ in
            let keys = (0..<25).map { "p/\(String(format: "%03d", 24 - $0))" }
            for (index, key) in keys.enumerated() {
                _ = try await client.put(key, bytes: Array(repeating: 1, count: index), condition: .none)
            }
            for key in ["q/1", "p", "pz"] { _ = try await client.put(key, bytes: [1], condition: .none) }
            let listed = try await client.list(prefix: "p/")
            #expect(listed.map(\.key) == keys.sorted())
            #expect(listed.first { $0.key == "p/024" }?.size == 0)
            #expect(listed.allSatisfy { $0.etag.hasPrefix("\"") })
            #expect(try await client.list(prefix: "").count == 28)
            #expect(try await client.list(prefix: "nothing/").isEmpty)
        }
    }

    /// More than S3's 1,000 keys per page, at the default page size.
    @Test func listMoreThanOnePageOfAThousand() async throws {
        try await withMotoS3Client { client, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for index in stride(from: worker, to: 1_050, by: 4) {
                            _ = try await client.put("k/\(index)", bytes: [UInt8(index & 0xFF)], condition: .none)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let listed = try await client.list(prefix: "k/")
            #expect(listed.count == 1_050)
            #expect(listed.map(\.key) == (0..<1_050).map { "k/\($0)" }.sorted())
        }
    }

    /// `If-None-Match: *`: a new key is written, an existing one refused at once (no retry).
    @Test func absentCondition() async throws {
        try await withMotoS3Client { client, _ in
            let first = try await client.put("lease", bytes: Array("owner-a".utf8), condition: .absent)
            let before = client.requestsSent
            await #expect(throws: ObjectStoreError.self) {
                try await client.put("lease", bytes: Array("owner-b".utf8), condition: .absent)
            }
            do {
                _ = try await client.put("lease", bytes: Array("owner-b".utf8), condition: .absent)
                Issue.record("a second .absent put succeeded")
            } catch ObjectStoreError.preconditionFailed(let key) {
                #expect(key == "lease")
            }
            // Two refused puts, one request each: a 412 is never retried.
            #expect(client.requestsSent - before == 2)
            #expect(try await client.get("lease") == StoredObject(bytes: Array("owner-a".utf8), etag: first))
        }
    }

    /// `If-Match: <etag>`: the current ETag moves the object on, a stale one is refused at once.
    @Test func matchesCondition() async throws {
        try await withMotoS3Client { client, _ in
            let first = try await client.put("manifest", bytes: [1], condition: .absent)
            let second = try await client.put("manifest", bytes: [2], condition: .matches(first))
            #expect(second != first)
            let before = client.requestsSent
            do {
                _ = try await client.put("manifest", bytes: [3], condition: .matches(first))
                Issue.record("a put with a stale ETag succeeded")
            } catch ObjectStoreError.preconditionFailed(let key) {
                #expect(key == "manifest")
            }
            #expect(client.requestsSent - before == 1)
            #expect(try await client.get("manifest")?.bytes == [2])
            // If-Match on a missing key fails too (there is nothing to match).
            await #expect(throws: ObjectStoreError.self) {
                try await client.put("missing", bytes: [1], condition: .matches(first))
            }
        }
    }

    @Test func missingBucketIsAnErrorNotAMissingKey() async throws {
        try await withMotoS3 { moto in
            try await withS3Client(bucket: "no-such-bucket", configuration: moto.configuration) { client in
                do {
                    _ = try await client.get("k")
                    Issue.record("a missing bucket read as a missing key")
                } catch ObjectStoreError.http(404, let code, _, _) {
                    #expect(code == "NoSuchBucket")
                }
            }
        }
    }

    /// Nothing listens: every attempt is a transport error, retried up to the policy's limit.
    @Test func transportErrorsAreRetriedThenThrown() async throws {
        let port = TestEnvironment.freePort()
        let configuration = S3Configuration(
            endpoint: "http://127.0.0.1:\(port)", credentials: MotoS3.credentials,
            retry: S3RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)),
            connectTimeout: .milliseconds(300))  // AsyncHTTPClient retries a refused connect until then
        try await withS3Client(bucket: "b", configuration: configuration) { client in
            do {
                _ = try await client.put("k", bytes: [1], condition: .absent)
                Issue.record("a put to a closed port succeeded")
            } catch ObjectStoreError.transport(let key, _) {
                #expect(key == "k")
            }
            #expect(client.requestsSent == 3)
        }
    }

    /// Servers start quickly, one after another, each with its own empty state.
    @Test func severalServersInSequence() async throws {
        var seconds: [Double] = []
        for round in 0..<3 {
            let started = ContinuousClock.now
            try await withMotoS3Client { client, moto in
                let elapsed = ContinuousClock.now - started
                seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                #expect(try await client.list(prefix: "").isEmpty)
                _ = try await client.put("round", bytes: [UInt8(round)], condition: .absent)
                #expect(moto.isRunning)
            }
        }
        print("moto S3 startup, 3 in sequence: \(seconds.map { String(format: "%.2f s", $0) })")
    }
}
