// AuditTrail — middleware tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
@testable import AuditMiddleware
import AuditTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Kafka
import Testing

let computeAuditMap = """
    [path_keywords]
    servers = server
    detail = None
    action = None
    flavors = flavor

    [custom_actions]
    detail = read/list

    [service_endpoints]
    compute = service/compute
    """

struct BoomError: Error {}

/// A small compute-like API with the audit middleware in front of it.
func makeApplication(publisher: AuditPublisher, ignoredMethods: [String] = [], ignoredPaths: [String] = []) throws
    -> some ApplicationProtocol
{
    let router = Router()
    router.add(
        middleware: AuditMiddleware(
            publisher: publisher, auditMap: try AuditMap(parsing: computeAuditMap),
            service: ServiceInfo(
                id: "nova-id", name: "nova", type: "compute", adminURL: "http://nova:8774/v2.1",
                internalURL: "http://nova:8774/v2.1", publicURL: "https://compute.example/v2.1"),
            ignoredMethods: ignoredMethods, ignoredPaths: ignoredPaths))
    router.get("/v2.1/servers") { _, _ in "[]" }
    router.get("/v2.1/servers/detail") { _, _ in "[]" }
    router.get("/v2.1/servers/{id}") { _, _ -> String in throw HTTPError(.notFound) }
    router.post("/v2.1/servers") { _, _ in Response(status: .accepted) }
    router.post("/v2.1/servers/{id}/action") { request, context -> String in
        // The handler still sees the whole body after the middleware peeked at it.
        let body = try await request.body.collect(upTo: 1 << 16)
        return String(buffer: body)
    }
    router.delete("/v2.1/servers/{id}") { _, _ -> Response in Response(status: .noContent) }
    router.put("/v2.1/flavors/{id}") { _, _ -> String in throw BoomError() }
    router.get("/healthcheck") { _, _ in "ok" }
    return Application(router: router)
}

/// Reads `count` notifications from the topic (all partitions from the start).
func readNotifications(bootstrap: String, count: Int, partitions: Int32 = 3) async throws -> [[String: Any]] {
    let consumer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
    try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition("notifications.info", $0), Offset.beginning) }))
    var values: [[UInt8]] = []
    while values.count < count {
        let batch = try await consumer.poll(timeout: .seconds(5))
        if batch.isEmpty { break }
        values += batch.messages.compactMap(\.value)
    }
    try await consumer.close()
    return try values.map { value in
        let envelope = try JSONSerialization.jsonObject(with: Data(value)) as! [String: Any]
        return try JSONSerialization.jsonObject(with: Data((envelope["oslo.message"] as! String).utf8)) as! [String: Any]
    }
}

@Suite(.timeLimit(.minutes(3)))
struct AuditMiddlewareTests {
    @Test func everyCallBecomesARequestAndAResponseWithTheMappedActionAndTarget() async throws {
        try await withMockCluster(topics: ["notifications.info": 3]) { cluster in
            let publisher = try AuditPublisher(
                configuration: AuditPublisher.Configuration(bootstrapServers: cluster.bootstrapServers, publisherID: "nova-api"))
            let app = try makeApplication(publisher: publisher, ignoredMethods: ["head"], ignoredPaths: ["/healthcheck"])
            let headers: HTTPFields = [
                HTTPField.Name("X-User-Id")!: "u-1", HTTPField.Name("X-User-Name")!: "alice",
                HTTPField.Name("X-Project-Id")!: "p-1", HTTPField.Name("X-Auth-Token")!: "gAAAAABtoken0123456789",
                HTTPField.Name("X-Identity-Status")!: "Confirmed", HTTPField.Name("X-Forwarded-For")!: "198.51.100.7, 10.0.0.1",
                .userAgent: "openstacksdk/3.3.0", HTTPField.Name("X-Openstack-Request-Id")!: "req-42",
            ]
            try await app.test(.router) { client in
                try await client.execute(uri: "/v2.1/servers?limit=5", method: .get, headers: headers) { #expect($0.status == .ok) }
                try await client.execute(uri: "/v2.1/servers/detail", method: .get, headers: headers) { #expect($0.status == .ok) }
                try await client.execute(uri: "/v2.1/servers/abc", method: .get, headers: headers) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/v2.1/servers", method: .post, headers: headers) { #expect($0.status == .accepted) }
                try await client.execute(
                    uri: "/v2.1/servers/abc/action", method: .post, headers: headers,
                    body: ByteBuffer(string: #"{"os-stop": null}"#)
                ) { response in
                    #expect(String(buffer: response.body) == #"{"os-stop": null}"#)
                }
                try await client.execute(uri: "/v2.1/servers/abc", method: .delete, headers: headers) { #expect($0.status == .noContent) }
                try await client.execute(uri: "/v2.1/flavors/7", method: .put, headers: headers) { #expect($0.status == .internalServerError) }
                try await client.execute(uri: "/healthcheck", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/v2.1/servers", method: .head) { _ in }
            }
            try await publisher.flush()
            #expect(publisher.statistics.delivered == 14)
            let notifications = try await readNotifications(bootstrap: cluster.bootstrapServers, count: 14)
            #expect(notifications.count == 14)
            let byID = Dictionary(grouping: notifications) { ($0["payload"] as! [String: Any])["id"] as! String }
            #expect(byID.count == 7)
            var seen: [String: (String, String, String, String?)] = [:]
            for (_, pair) in byID {
                let request = try #require(pair.first { $0["event_type"] as? String == "audit.http.request" })
                let response = try #require(pair.first { $0["event_type"] as? String == "audit.http.response" })
                let rp = request["payload"] as! [String: Any]
                let sp = response["payload"] as! [String: Any]
                #expect(rp["outcome"] as? String == "pending")
                #expect(rp["eventTime"] as? String == sp["eventTime"] as? String)
                #expect(request["publisher_id"] as? String == "nova-api")
                let initiator = rp["initiator"] as! [String: Any]
                #expect(initiator["id"] as? String == "u-1" && initiator["name"] as? String == "alice")
                #expect(initiator["project_id"] as? String == "p-1" && initiator["request_id"] as? String == "req-42")
                #expect((initiator["host"] as! [String: Any])["address"] as? String == "198.51.100.7")
                #expect((initiator["credential"] as! [String: Any])["token"] as? String == "gAA xxxxxxxx 789")
                let target = rp["target"] as! [String: Any]
                let reason = (sp["reason"] as? [String: Any])?["reasonCode"] as? String
                seen[rp["requestPath"] as! String + " " + (rp["action"] as! String)] = (
                    target["typeURI"] as! String, sp["outcome"] as! String, sp["action"] as! String, reason
                )
            }
            #expect(seen["/v2.1/servers?limit=5 read/list"]! == ("service/compute/servers", "success", "read/list", "200"))
            #expect(seen["/v2.1/servers/detail read/list"]! == ("service/compute/servers/detail", "success", "read/list", "200"))
            #expect(seen["/v2.1/servers/abc read"]! == ("service/compute/servers/server", "failure", "read", "404"))
            #expect(seen["/v2.1/servers create"]! == ("service/compute/servers", "success", "create", "202"))
            #expect(seen["/v2.1/servers/abc/action update/os-stop"]! == ("service/compute/servers/server/action", "success", "update/os-stop", "200"))
            #expect(seen["/v2.1/servers/abc delete"]! == ("service/compute/servers/server", "success", "delete", "204"))
            #expect(seen["/v2.1/flavors/7 update"]! == ("service/compute/flavors/flavor", "unknown", "update", nil))
        }
    }

    @Test func withKafkaDownARequestCompletesWithinTheBudgetAndTheDropIsCounted() async throws {
        try await withMockCluster(topics: ["notifications.info": 1]) { cluster in
            try cluster.setBrokerDown(1)
            let publisher = try AuditPublisher(
                configuration: AuditPublisher.Configuration(
                    bootstrapServers: cluster.bootstrapServers, publisherID: "nova-api",
                    enqueueBudget: .milliseconds(200), queueCapacity: 2))
            let app = try makeApplication(publisher: publisher)
            let slowest = try await app.test(.router) { client in
                var slowest = Duration.zero
                for _ in 0..<4 {
                    let start = ContinuousClock.now
                    try await client.execute(uri: "/v2.1/servers", method: .get) { #expect($0.status == .ok) }
                    slowest = max(slowest, start.duration(to: .now))
                }
                return slowest
            }
            // 4 calls = 8 notifications; 2 fit the queue, 6 are dropped after waiting the budget.
            #expect(publisher.statistics.queued == 2)
            #expect(publisher.statistics.dropped == 6)
            // Two publishes per call, each bounded by the budget, plus scheduling slack.
            #expect(slowest < .milliseconds(400) + .seconds(2), "a request took \(slowest)")
        }
    }

    @Test func firstObjectKeyPeeksOnlyAtTheStart() {
        #expect(firstObjectKey(Array(#"  {"reboot": {"type": "HARD"}}"#.utf8)) == "reboot")
        #expect(firstObjectKey(Array(#"["reboot"]"#.utf8)) == nil)
        #expect(firstObjectKey(Array(#"{"a\"b": 1}"#.utf8)) == nil)
        #expect(firstObjectKey(Array("".utf8)) == nil)
        #expect(firstObjectKey(Array(#"{"unterminated"#.utf8)) == nil)
    }
}
