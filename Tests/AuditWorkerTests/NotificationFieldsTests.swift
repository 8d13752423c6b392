// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Testing

/// A notification's index fields are copied from its bytes into their stored encoding, with no
/// `String` per field: they must be the fields its properties give, escapes and absent fields
/// included, and setting one field must change that field alone.
@Suite struct NotificationFieldsTests {
    /// The fields as the decoded notification's `String` properties give them.
    static func fromProperties(_ n: AuditNotification, digest: UInt64) -> NotificationFields {
        NotificationFields(
            id: n.id, eventType: n.eventType == .request ? .request : .response,
            eventTime: n.eventTime.microsecondsSinceEpoch, initiatorId: n.initiatorID, initiatorName: n.initiatorName,
            projectId: n.initiatorProjectID, action: n.action, outcome: n.outcome.rawValue, reasonCode: n.reasonCode,
            targetId: n.targetID, targetTypeURI: n.targetTypeURI, publisher: n.publisherID, requestPath: n.requestPath,
            messageId: n.messageID, requestId: n.requestID, globalRequestId: n.globalRequestID, digest: digest)
    }

    @Test("fields copied from a notification's bytes equal those its properties give")
    func copiedFieldsMatchTheProperties() throws {
        let samples = try String(contentsOf: Interop.sharedSamples.appendingPathComponent("notifications.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { Array($0.utf8) }
        try #require(samples.count >= 20)
        // An initiator name with escapes of the inner message's own (é, a quote, a backslash), so
        // that the field is unescaped on its way into the encoding.
        let escaped = samples.map {
            Array(String(decoding: $0, as: UTF8.self)
                .replacingOccurrences(of: "heidi.qa310", with: #"h\\u00e9idi \\\"q\\\" \\\\"#).utf8)
        }
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        var names: Set<String> = []
        for (i, bytes) in (samples + escaped + SampleNotifications.corpus(count: 200)).enumerated() {
            guard case .audit(let notification) = decoder.decode(bytes) else {
                Issue.record("not an audit notification: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
                continue
            }
            let digest = UInt64(i)
            let copied = NotificationFields(notification, digest: digest)
            #expect(copied == Self.fromProperties(notification, digest: digest))
            #expect(copied.id == notification.id && copied.requestId == notification.requestID)
            if let name = copied.initiatorName { names.insert(name) }
        }
        #expect(names.contains(#"héidi "q" \"#), "the escaped name was unescaped: \(names.sorted().prefix(5))")
    }

    @Test("setting a field changes that field alone, and absent stays distinct from empty")
    func settersChangeOneField() {
        var fields = NotificationFields(
            id: "id-1", eventType: .response, eventTime: 7, initiatorId: "u", action: "read", outcome: "success",
            requestPath: "/v2.1/servers", requestId: "req-1", digest: 9)
        fields.initiatorName = "émile"
        fields.action = nil
        fields.id = "id-2"
        fields.globalRequestId = ""
        #expect(fields == NotificationFields(
            id: "id-2", eventType: .response, eventTime: 7, initiatorId: "u", initiatorName: "émile", outcome: "success",
            requestPath: "/v2.1/servers", requestId: "req-1", globalRequestId: "", digest: 9))
        #expect(fields.action == nil && fields.globalRequestId == "" && fields.targetId == nil)
        #expect(fields.initiatorName == "émile" && fields.requestPath == "/v2.1/servers" && fields.id == "id-2")
        fields.globalRequestId = nil
        #expect(fields != NotificationFields(
            id: "id-2", eventType: .response, eventTime: 7, initiatorId: "u", initiatorName: "émile", outcome: "success",
            requestPath: "/v2.1/servers", requestId: "req-1", globalRequestId: "", digest: 9))
    }
}
