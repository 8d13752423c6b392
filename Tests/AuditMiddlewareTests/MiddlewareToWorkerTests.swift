// AuditTrail — middleware tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Testing

@Suite(.timeLimit(.minutes(3)))
struct MiddlewareToWorkerTests {
    @Test func requestsThroughTheMiddlewareBecomePairsStoredByTheWorker() async throws {
        let group = TestEnvironment.uniqueName("middleware")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("data")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let calls: [(HTTPRequest.Method, String, String, String)] = [
            (.get, "/v2.1/servers", "read/list", "service/compute/servers"),
            (.get, "/v2.1/servers/detail", "read/list", "service/compute/servers/detail"),
            (.post, "/v2.1/servers", "create", "service/compute/servers"),
            (.delete, "/v2.1/servers/abc", "delete", "service/compute/servers/server"),
            (.get, "/v2.1/servers/abc", "read", "service/compute/servers/server"),
        ]
        let requests = 100
        try await withMockCluster(topics: ["notifications.info": 3, "\(group).by-id": 3]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let publisher = try AuditPublisher(
                configuration: AuditPublisher.Configuration(bootstrapServers: bootstrap, publisherID: "nova-api"))
            let app = try makeApplication(publisher: publisher)
            try await app.test(.router) { client in
                for i in 0..<requests {
                    let (method, path, _, _) = calls[i % calls.count]
                    try await client.execute(uri: path, method: method) { _ in }
                }
            }
            let statistics = try await publisher.flush()
            #expect(statistics.delivered == 2 * requests)

            var configuration = WorkerConfiguration(
                bootstrapServers: bootstrap, topics: ["notifications.info"], group: group, dataDirectory: data)
            for (key, value) in TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group).properties {
                configuration.kafka.set(key, value)
            }
            let worker = try Worker(configuration: configuration)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await worker.run() }
                try await worker.waitForProgress(timeout: .seconds(90), "the worker stored every notification") {
                    $0.stored >= 2 * requests
                }
                worker.stop()
                try await tasks.waitForAll()
            }
        }
        // From the store alone: one pair per request, with the audit map's action and target.
        let trail = try Trail(directory: data, window: 0, now: Int64.max / 2)
        #expect(trail.statistics.pairs == requests)
        #expect(trail.statistics.orphanRequests == 0 && trail.statistics.orphanResponses == 0)
        #expect(trail.statistics.duplicates == 0 && trail.statistics.conflicts == 0)
        var seen: [String: Int] = [:]
        for call in trail.calls {
            let request = try #require(call.request?.record.fields)
            let response = try #require(call.response?.record.fields)
            #expect(request.action == response.action && request.targetTypeURI == response.targetTypeURI)
            seen["\(request.requestPath ?? "") \(request.action ?? "") \(request.targetTypeURI ?? "")", default: 0] += 1
        }
        for (_, path, action, typeURI) in calls {
            let key = "\(path) \(action) \(typeURI)"
            // GET and DELETE of /v2.1/servers/abc share a path; each method has its own action.
            #expect(seen[key] == requests / calls.count, "\(key): \(seen[key] ?? 0)")
        }
    }
}
