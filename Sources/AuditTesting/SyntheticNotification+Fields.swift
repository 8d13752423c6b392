// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditStore

extension SyntheticNotification {
    /// The fields the store indexes, as the decoder would extract them from ``bytes``: what the
    /// store benchmarks append without paying for a decode.
    public var fields: NotificationFields {
        NotificationFields(
            id: id, eventType: isRequest ? .request : .response, eventTime: eventTime, initiatorId: initiatorId,
            initiatorName: initiatorName, projectId: projectId, action: action, outcome: outcome,
            reasonCode: reasonCode, targetId: targetId, targetTypeURI: targetTypeURI, publisher: publisher,
            requestPath: requestPath, messageId: messageId)
    }
}
