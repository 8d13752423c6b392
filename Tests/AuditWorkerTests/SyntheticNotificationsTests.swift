// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import AuditTesting
import AuditWorker
import Testing

/// The store bench's corpus must be what it claims: valid notifications whose decoded fields are
/// the ones the bench indexes (an invalid corpus would measure the wrong compression).
@Suite struct SyntheticNotificationsTests {
    @Test func everyGeneratedNotificationDecodesToItsStatedFields() throws {
        var generator = SyntheticNotifications(seed: 42)
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        for n in generator.next(3000) {
            guard case .audit(let decoded) = decoder.decode(n.bytes) else {
                Issue.record("not a valid audit notification: \(String(decoding: n.bytes.prefix(300), as: UTF8.self))")
                return
            }
            let fields = NotificationFields(decoded, digest: 0)
            #expect(fields.id == n.id)
            #expect(fields.eventType == (n.isRequest ? .request : .response))
            #expect(fields.eventTime == n.eventTime)
            #expect(fields.initiatorId == n.initiatorId && fields.initiatorName == n.initiatorName)
            #expect(fields.projectId == n.projectId && fields.action == n.action && fields.outcome == n.outcome)
            #expect(fields.reasonCode == n.reasonCode)
            #expect(fields.targetId == n.targetId && fields.targetTypeURI == n.targetTypeURI)
            #expect(fields.publisher == n.publisher && fields.requestPath == n.requestPath && fields.messageId == n.messageId)
        }
    }
}
