// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation
import Testing

/// Every wire form of DESIGN §2, built from a sample, decodes to the same event.
struct WireFormTests {
    /// The first sample's envelope and its inner message (as Python wrote it).
    static func sample(_ index: Int = 0) throws -> (envelope: [UInt8], inner: [UInt8]) {
        let file = try #require(Fixtures.sampleFiles().last)
        let envelope = try Fixtures.lines(file)[index]
        let object = try #require(try JSONSerialization.jsonObject(with: Data(envelope)) as? [String: Any])
        let inner = try #require(object["oslo.message"] as? String)
        return (envelope, Array(inner.utf8))
    }

    static func decode(_ text: String) -> DecodedNotification {
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        return decoder.decode(Array(text.utf8))
    }

    static func replacing(_ bytes: [UInt8], _ old: String, _ new: String) -> String {
        String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: old, with: new)
    }

    @Test("v1: the inner message as a plain JSON object")
    func v1() throws {
        let (_, inner) = try Self.sample()
        guard case .audit(let event) = Self.decode(String(decoding: inner, as: UTF8.self)) else {
            Issue.record("v1 not decoded")
            return
        }
        #expect(event.form == .v1)
        #expect(event.id == "48d1ff70-52bd-5a6f-9ebe-ba70fbbc5a5d")
        #expect(event.messageID == "5d993540-271f-43cf-8e22-e9c3ce99a38b")
    }

    @Test("v1 with the context flattened into _context_* keys")
    func v1FlattenedContext() throws {
        let (_, inner) = try Self.sample()
        let text = Self.replacing(inner, #""_context": {}"#, #""_context_request_id": "req-ctx", "_context_global_request_id": "req-global", "_context_is_admin": true"#)
        let withoutInitiatorID = text.replacingOccurrences(of: #", "request_id": "req-b0a72c94-d601-4ac3-9488-6358e07572fc""#, with: "")
        guard case .audit(let event) = Self.decode(withoutInitiatorID) else {
            Issue.record("v1 flattened not decoded: \(Self.decode(withoutInitiatorID))")
            return
        }
        #expect(event.form == .v1FlattenedContext)
        #expect(event.requestID == "req-ctx")
        #expect(event.globalRequestID == "req-global")
    }

    @Test(
        "an oslo log-driver line, outside a request ([-]) or inside one (oslo.log's request context)",
        arguments: ["[-]", "[req-4b1d6c0e-5f7a-4c1e-9d2b-2f6e8a9c0d11 5bdc7d833d79c0ea494e908360667235 282ee0bc04a1bde44806aa81e65150b5 - default default]"])
    func logDriver(context: String) throws {
        let (_, inner) = try Self.sample()
        let line = "2026-11-22 10:12:02.735 4242 INFO oslo.messaging.notification.audit.http.request \(context) "
            + String(decoding: inner, as: UTF8.self).replacingOccurrences(of: #", "_context": {}"#, with: "") + "\n"
        guard case .audit(let event) = Self.decode(line) else {
            Issue.record("log line not decoded: \(Self.decode(line))")
            return
        }
        #expect(event.form == .logDriver)
        #expect(event.id == "48d1ff70-52bd-5a6f-9ebe-ba70fbbc5a5d")
        #expect(event.initiatorName == "heidi.qa310")
    }

    @Test("a bare CADF event: the event type comes from the outcome", arguments: [0, 1])
    func bareEvent(index: Int) throws {
        let (envelope, _) = try Self.sample(index)
        let payload = try #require(try Fixtures.innerMessage(ofEnvelope: envelope)["payload"])
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: payload))
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        guard case .audit(let event) = decoder.decode(bytes) else {
            Issue.record("bare event not decoded: \(decoder.decode(bytes))")
            return
        }
        #expect(event.form == .bareEvent)
        #expect(event.eventType == (index == 0 ? .request : .response))
        #expect(event.publisherID == nil && event.messageID == nil)
        #expect(event.id == "48d1ff70-52bd-5a6f-9ebe-ba70fbbc5a5d")
    }

    @Test("eventTime with +0000, +00:00 and Z is the same instant")
    func offsets() throws {
        let (envelope, _) = try Self.sample()
        var instants: [Timestamp] = []
        for offset in ["+0000", "+00:00", "Z"] {
            let text = Self.replacing(envelope, #"10:12:02.734485+0000"#, "10:12:02.734485" + offset)
            guard case .audit(let event) = Self.decode(text) else {
                Issue.record("offset \(offset): \(Self.decode(text))")
                continue
            }
            instants.append(event.eventTime)
        }
        #expect(instants.count == 3 && Set(instants).count == 1)
    }

    @Test("a non-audit notification is recognised as such, not as invalid")
    func nonAudit() throws {
        let (envelope, inner) = try Self.sample()
        for text in [
            Self.replacing(envelope, "audit.http.request", "compute.instance.create.end"),
            Self.replacing(inner, "audit.http.request", "compute.instance.create.end"),
        ] {
            guard case .nonAudit(let other) = Self.decode(text) else {
                Issue.record("not skipped: \(Self.decode(text))")
                continue
            }
            #expect(other.eventType == "compute.instance.create.end")
        }
    }

    @Test("shapes that are JSON but no wire form", arguments: [
        #"{"foo": 1}"#, "[1, 2]", "42", #""text""#, #"{"oslo.version": "2.0", "oslo.message": {"a": 1}}"#,
    ])
    func unknownEnvelope(text: String) {
        guard case .quarantined(let bad) = Self.decode(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(bad.reason.code == .unknownEnvelope)
        #expect(Array(text.utf8) == bad.original)
    }

    @Test("schema violations carry the rule and the pointer inside the inner message")
    func schemaViolation() throws {
        let (envelope, _) = try Self.sample()
        let text = Self.replacing(envelope, #"10:12:02.734485+0000"#, "yesterday")
        guard case .quarantined(let bad) = Self.decode(text) else {
            Issue.record("accepted a bad eventTime")
            return
        }
        #expect(bad.reason == .schemaViolation(rule: "pattern", pointer: "/payload/eventTime"))
        #expect(bad.reason.rule == "pattern")
        #expect(bad.reason.pointer == "/payload/eventTime")
        #expect(bad.form == .osloEnvelope)
    }
}
