// AuditTrail — read-side tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditStore
import AuditTesting
import Foundation
import Testing

/// `export --format ecs` and `--format splunk-hec`: each line, parsed by Foundation, holds the
/// attributes of the notifications as written (docs/EXPORT.md).
@Suite struct SIEMFormatTests {
    /// A store of known calls (every 7th without its response) and its pair view, bodies loaded.
    final class Fixture: @unchecked Sendable {
        let directory = NSTemporaryDirectory() + "siem-" + UUID().uuidString
        let known: KnownCalls
        let calls: [Trail.Call]

        init() throws {
            known = try KnownCalls.write(directory: directory, count: 60)
            let reader = try AuditStore(directory: directory).reader()
            let trail = try Trail(reader: reader, window: 1_000_000, now: known.lastTime + 60_000_000, indexOnly: true)
            calls = try trail.calls.map { try $0.loadingBodies(from: reader) { _, _ in nil } }
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The CADF event and oslo message of a notification, parsed here (not by the formatter).
    static func message(_ bytes: [UInt8]) throws -> [String: Any] {
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let inner = try #require(envelope["oslo.message"] as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(inner.utf8)) as? [String: Any])
    }

    /// Nanoseconds since the epoch of a pycadf time (`2026-11-22T10:12:02.734485+0000`).
    static func nanoseconds(_ text: String) throws -> Int64 {
        let formatter = ISO8601DateFormatter()
        let date = try #require(formatter.date(from: String(text.prefix(19)) + "Z"))
        let fraction = text.dropFirst(20).prefix { $0.isNumber }
        let micros = try #require(Int64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0)))
        return Int64(date.timeIntervalSince1970) * 1_000_000_000 + micros * 1000
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    static func value(_ object: [String: Any], _ path: String) -> Any? {
        var value: Any? = object
        for key in path.split(separator: ".") { value = (value as? [String: Any])?[String(key)] }
        return value
    }

    @Test func anECSDocumentHoldsEachCallsAttributes() throws {
        let fixture = try Fixture()
        #expect(fixture.calls.count == 60)
        var orphans = 0
        var traced = 0
        for known in fixture.known.calls {
            let call = try #require(fixture.calls.first { $0.id == known.id })
            let document = try Self.object(SIEMFormat.ecsLine(call))
            func field(_ path: String) -> Any? { Self.value(document, path) }
            let request = try Self.message(known.request)
            let payload = try #require(request["payload"] as? [String: Any])
            let initiator = try #require(payload["initiator"] as? [String: Any])
            let eventTime = try #require(payload["eventTime"] as? String)

            #expect(field("@timestamp") as? String == String(eventTime.prefix(26)) + "Z")
            #expect(field("ecs.version") as? String == SIEMFormat.ecsVersion)
            #expect(field("event.kind") as? String == "event")
            #expect(field("event.id") as? String == known.id)
            #expect(field("event.action") as? String == payload["action"] as? String)
            #expect((field("event.category") as? [String])?.contains("web") == true)
            #expect(field("user.id") as? String == initiator["id"] as? String)
            #expect(field("user.name") as? String == initiator["name"] as? String)
            #expect(field("url.path") as? String == payload["requestPath"] as? String)
            #expect(field("cloud.project.id") as? String == initiator["project_id"] as? String)
            #expect(field("cloud.service.name") as? String == request["publisher_id"] as? String)
            let address = (initiator["host"] as? [String: Any])?["address"] as? String
            #expect(field("source.ip") as? String == address)
            #expect(field("transaction.id") as? String == known.requestID)
            #expect(field("audit_trail.request_id") as? String == known.requestID)
            #expect(field("trace.id") as? String == known.globalRequestID)
            if known.globalRequestID != nil { traced += 1 }
            #expect(field("audit_trail.request.topic") as? String == "notifications.info")
            #expect(field("audit_trail.request.partition") as? Int == Int(known.partition))
            #expect(field("audit_trail.request.offset") as? Int == Int(known.requestOffset))
            #expect(field("audit_trail.request.message_id") as? String == request["message_id"] as? String)

            guard let responseBytes = known.response else {
                // An orphan request: nothing says how it ended.
                orphans += 1
                #expect(field("event.outcome") as? String == "unknown")
                #expect(field("audit_trail.state") as? String == "orphanRequest")
                #expect(field("event.duration") == nil)
                #expect(field("event.end") == nil)
                #expect(field("http.response") == nil)
                #expect(field("audit_trail.response") == nil)
                continue
            }
            let response = try Self.message(responseBytes)
            let responsePayload = try #require(response["payload"] as? [String: Any])
            let outcome = try #require(responsePayload["outcome"] as? String)
            #expect(field("event.outcome") as? String == (outcome == "success" || outcome == "failure" ? outcome : "unknown"))
            #expect(field("audit_trail.state") as? String == "pair")
            let status = ((responsePayload["reason"] as? [String: Any])?["reasonCode"] as? String).flatMap { Int($0) }
            #expect(field("http.response.status_code") as? Int == status)
            let reporter = try #require(
                ((responsePayload["reporterchain"] as? [Any])?.first as? [String: Any])?["reporterTime"] as? String)
            let duration = try Self.nanoseconds(reporter) - Self.nanoseconds(eventTime)
            #expect(duration > 0)
            #expect((field("event.duration") as? NSNumber)?.int64Value == duration)
            #expect(field("audit_trail.response.offset") as? Int == known.responseOffset.map { Int($0) })
        }
        #expect(orphans == 8)
        #expect(traced > 0 && traced < 60)
    }

    @Test func theCategoryTypeAndMethodFollowTheAction() {
        #expect(SIEMFormat.ecsCategorization(action: "read/list").type == ["access"])
        #expect(SIEMFormat.ecsCategorization(action: "update/addresses") == (["web", "configuration"], ["access", "change"]))
        #expect(SIEMFormat.ecsCategorization(action: "delete").type == ["access", "deletion"])
        #expect(SIEMFormat.httpMethod(action: "read/list") == "GET")
        #expect(SIEMFormat.httpMethod(action: "create") == "POST")
        #expect(SIEMFormat.httpMethod(action: "update") == nil)
        #expect(SIEMFormat.isIPAddress("203.0.113.9"))
        #expect(SIEMFormat.isIPAddress("2001:db8::1"))
        #expect(!SIEMFormat.isIPAddress("host.example"))
        #expect(!SIEMFormat.isIPAddress("300.1.1.1"))
    }

    @Test func aHECEnvelopeHoldsTheCallAtItsEventTime() throws {
        let fixture = try Fixture()
        let custom = SIEMFormat.HECMetadata(host: "audit-1", source: "cloud-a", sourcetype: "openstack:cadf", index: "audit")
        // Envelopes back to back, newline-separated, as HEC takes a batch.
        let batch = fixture.calls.map { SIEMFormat.hecLine($0) }.joined(separator: "\n")
        let lines = batch.split(separator: "\n").map(String.init)
        #expect(lines.count == fixture.calls.count)
        for (line, call) in zip(lines, fixture.calls) {
            let envelope = try Self.object(line)
            let known = try #require(fixture.known.calls.first { $0.id == call.id })
            let payload = try #require(try Self.message(known.request)["payload"] as? [String: Any])
            let time = try #require(envelope["time"] as? NSNumber).doubleValue
            let expected = Double(try Self.nanoseconds(try #require(payload["eventTime"] as? String))) / 1e9
            #expect(abs(time - expected) < 1e-6)
            #expect(line.contains("\"time\": \(SIEMFormat.epochSeconds(call.eventTime!))"))
            #expect(envelope["host"] as? String == (try Self.message(known.request))["publisher_id"] as? String)
            #expect(envelope["source"] as? String == "audit-trail")
            #expect(envelope["sourcetype"] as? String == "cadf:call")
            #expect(envelope["index"] == nil)
            let event = try #require(envelope["event"] as? [String: Any])
            #expect(event["id"] as? String == call.id)
            #expect(event["status"] as? Int == call.status)
            #expect(event["outcome"] as? String == call.outcome)
            #expect(event["requestId"] as? String == known.requestID)
            #expect(event["globalRequestId"] as? String == known.globalRequestID)
            #expect((event["request"] as? [String: Any])?["oslo.message"] as? String != nil)

            let other = try Self.object(SIEMFormat.hecLine(call, metadata: custom))
            #expect(other["host"] as? String == "audit-1")
            #expect(other["source"] as? String == "cloud-a")
            #expect(other["sourcetype"] as? String == "openstack:cadf")
            #expect(other["index"] as? String == "audit")
        }
        #expect(SIEMFormat.epochSeconds(1_795_342_322_000_005) == "1795342322.000005")
    }
}
