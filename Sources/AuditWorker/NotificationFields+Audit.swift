// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import AuditModel
public import AuditStore

extension NotificationFields {
    /// The index fields of a decoded audit notification.
    /// - Parameter digest: the content digest of its bytes (``NotificationFields/contentDigest(of:)``).
    public init(_ notification: AuditNotification, digest: UInt64) {
        self.init(
            id: notification.id, eventType: notification.eventType == .request ? .request : .response,
            eventTime: notification.eventTime.microsecondsSinceEpoch, initiatorId: notification.initiatorID,
            initiatorName: notification.initiatorName, projectId: notification.initiatorProjectID,
            action: notification.action, outcome: notification.outcome.rawValue, reasonCode: notification.reasonCode,
            targetId: notification.targetID, targetTypeURI: notification.targetTypeURI,
            publisher: notification.publisherID, requestPath: notification.requestPath,
            messageId: notification.messageID, requestId: notification.requestID,
            globalRequestId: notification.globalRequestID, digest: digest)
    }
}
