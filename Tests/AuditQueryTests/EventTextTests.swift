// AuditTrail — read-side tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditQuery
import AuditTesting
import Foundation
import Testing

/// `CADFEventText` (the event `GET /v1/events/{id}` serves) against Foundation's reading of
/// the same bytes (``EventPayload``), over every wire form a notification is stored in.
struct EventTextTests {
    /// The forms of one oslo 2.0 envelope: itself, the v1 message, a log-driver line, the bare event.
    static func forms(_ envelope: [UInt8]) throws -> [(String, [UInt8])] {
        let outer = try #require(try JSONSerialization.jsonObject(with: Data(envelope)) as? [String: Any])
        let inner = Array(try #require(outer["oslo.message"] as? String).utf8)
        let message = try #require(try JSONSerialization.jsonObject(with: Data(inner)) as? [String: Any])
        let event = try JSONSerialization.data(withJSONObject: try #require(message["payload"]))
        let line = Array("2026-12-06 10:00:00.123 4242 INFO oslo.messaging.notification.audit.http.request [-] ".utf8) + inner
        return [("envelope", envelope), ("v1", inner), ("log driver", line), ("bare event", Array(event))]
    }

    @Test func theEventOfEveryWireFormEqualsFoundationsReading() throws {
        var checked = 0
        for envelope in SampleNotifications.corpus(count: 200, seed: 18) {
            for (form, bytes) in try Self.forms(envelope) {
                let expected = try #require(EventPayload.object(from: bytes), "\(form)")
                let text = try #require(CADFEventText.json(from: bytes), "\(form): no event")
                let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text)) as? [String: Any])
                #expect(NSDictionary(dictionary: parsed).isEqual(to: expected), "\(form): \(String(decoding: text, as: UTF8.self))")
                #expect(!text.contains(UInt8(ascii: "\n")) && text.first == UInt8(ascii: "{"))
                checked += 1
            }
        }
        #expect(checked == 800)
    }

    @Test func bytesWithoutAnEventHaveNone() {
        for text in ["", "not json", "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"event_type\\\": \\\"x\\\"}\"}",
                     "{\"payload\": [1, 2]}", "{\"a\": 1}", "{\"payload\": {\"id\": 1}, \"payload\": {}}"] {
            #expect(CADFEventText.json(from: Array(text.utf8)) == nil, "\(text)")
        }
    }
}
