// AuditTrail — client tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTesting
import Foundation
import Kafka
import Testing

/// Events from a builder covering the shapes a service produces: every method, collection and
/// member paths, action calls, successes, failures and handler errors.
func sampleCalls(count: Int) throws -> [(request: OsloNotification, response: OsloNotification)] {
    let map = try AuditMap(parsing: sampleAuditMap)
    let builder = AuditEventBuilder(
        auditMap: map,
        service: ServiceInfo(
            id: "18e8a74ee35ed14e384ca9d3940ccbbd", name: "nova", type: "compute",
            adminURL: "http://nova.internal:8774/v2.1", internalURL: "http://nova.internal:8774/v2.1",
            publicURL: "https://compute.example:8774/v2.1"))
    let unknownService = AuditEventBuilder(auditMap: map, service: nil)
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    let paths = ["/v2.1/servers", "/v2.1/servers/detail", "/v2.1/servers/9a1b", "/v2.1/servers/9a1b/action", "/v2.1/flavors/7"]
    let statuses: [Int?] = [200, 201, 202, 204, 302, 400, 403, 404, 409, 500, 503, nil]
    var time: Int64 = 1_795_342_322_734_485
    return (0..<count).map { i in
        let request = AuditedRequest(
            method: methods[i % methods.count], path: paths[i % paths.count], query: i % 4 == 0 ? "limit=\(i)" : nil,
            clientAddress: "203.0.113.\(i % 250)", userAgent: i % 5 == 0 ? nil : "openstacksdk/3.3.0",
            caller: CallerIdentity(
                userID: String(format: "%032x", i * 7919), userName: "user\(i % 13)ü",
                projectID: String(format: "%032x", i % 17), token: String(repeating: "t", count: i % 200),
                identityStatus: "Confirmed"),
            requestID: "req-\(UUIDText.random())", globalRequestID: i % 3 == 0 ? "req-\(UUIDText.random())" : nil,
            bodyFirstKey: i % 2 == 0 ? "os-start" : nil)
        time += 1000
        let event = (i % 11 == 0 ? unknownService : builder).requestEvent(for: request, time: time)
        let response = AuditEventBuilder.responseEvent(for: event, status: statuses[i % statuses.count], time: time + 20_000)
        return (
            OsloNotification(publisherID: "nova-api", eventType: .request, payload: event, timestamp: Timestamps.oslo(microsecondsSinceEpoch: time)),
            OsloNotification(publisherID: "nova-api", eventType: .response, payload: response, timestamp: Timestamps.oslo(microsecondsSinceEpoch: time + 21_000))
        )
    }
}

struct InteropTests {
    @Test func clientEventsValidateAgainstTheSchemasAndPycadfAcceptsThem() throws {
        let calls = try sampleCalls(count: 300)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("client-events-\(UUID()).jsonl")
        let lines = calls.flatMap { [$0.request.envelope, $0.response.envelope] }.map { String(decoding: $0, as: UTF8.self) }
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Interop.runScript("check_events.py", [file.path])
        #expect(result.status == 0, "\(result.stdout.prefix(2000)) \(result.stderr.prefix(2000))")
        #expect(result.lines.count == 600)
        let outcomes = Set(calls.map(\.response.payload.outcome))
        #expect(outcomes == ["success", "failure", "unknown"])
    }

    @Test(.timeLimit(.minutes(3)))
    func osloMessagingListenerReceivesOurNotifications() async throws {
        let calls = try sampleCalls(count: 25)
        // One partition: oslo.messaging's KafkaListener discards the first message of the poll its
        // constructor makes ("first poll to ensure topics are created", impl_kafka.py), so a
        // warm-up notification goes first and is not counted; the 50 after it must all arrive.
        try await withMockCluster(topics: ["notifications.info": 1]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let publisher = try AuditPublisher(
                configuration: AuditPublisher.Configuration(bootstrapServers: bootstrap, publisherID: "nova-api"))
            let warmUp = try sampleCalls(count: 1)[0].request
            #expect(try await publisher.publishAndConfirm(warmUp).offset == 0)
            for call in calls {
                try await publisher.publishAndConfirm(call.request)
                try await publisher.publishAndConfirm(call.response)
            }
            // oslo's listener starts at the latest offset unless its group committed one: commit
            // the beginning for its default group, as a consumer that was already running would have.
            let committer = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap).with("group.id", "oslo_messaging_consumer"))
            try await committer.commit([TopicPartition("notifications.info", 0): 0])
            try await committer.close()

            let python = try Interop.python()
            let result = try await Interop.runAsync(
                python, [Interop.repositoryRoot.appendingPathComponent("interop/oslo_listener.py").path, bootstrap, "50", "90"])
            #expect(result.status == 0, "\(result.stderr.suffix(3000))")
            let received = try result.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: String] }
            #expect(received.count == 50)
            let sent = calls.flatMap { [$0.request, $0.response] }
            let expected = Set(sent.map { "\($0.eventType.rawValue) \($0.publisherID) \($0.payload.id) \($0.payload.outcome) \($0.messageID) \($0.timestamp)" })
            let got = Set(received.map { "\($0["event_type"]!) \($0["publisher_id"]!) \($0["id"]!) \($0["outcome"]!) \($0["message_id"]!) \($0["timestamp"]!)" })
            #expect(got == expected, "missing: \(expected.subtracting(got)) extra: \(got.subtracting(expected))")
        }
    }
}

extension KafkaConfiguration {
    func with(_ key: String, _ value: String) -> KafkaConfiguration {
        var copy = self
        copy.set(key, value)
        return copy
    }
}
