// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import AuditModel
public import AuditStore

extension NotificationFields {
    /// The index fields of a decoded audit notification.
    /// - Parameter digest: the content digest of its bytes (``NotificationFields/contentDigest(of:)``).
    public init(_ notification: AuditNotification, digest: UInt64) {
        // Copied from the notification's bytes into the fields' encoding: no `String` per field.
        var text = Text(capacity: 512)
        func add(_ field: AuditNotification.TextField, emptyIfAbsent: Bool = false) {
            notification.withText(field) { bytes in
                text.append(bytes ?? (emptyIfAbsent ? UnsafeRawBufferPointer(start: nil, count: 0) : nil))
            }
        }
        // The id, then the string fields in their stored order (FORMAT.md "index fields"); the id
        // and the action are empty rather than absent, as their properties give them.
        add(.id, emptyIfAbsent: true)
        add(.initiatorID)
        add(.initiatorName)
        add(.initiatorProjectID)
        add(.action, emptyIfAbsent: true)
        text.append(notification.outcome.rawValue)
        add(.reasonCode)
        add(.targetID)
        add(.targetTypeURI)
        add(.publisherID)
        add(.requestPath)
        add(.messageID)
        add(.requestID)
        add(.globalRequestID)
        self.init(
            eventType: notification.eventType == .request ? .request : .response,
            eventTime: notification.eventTime.microsecondsSinceEpoch, digest: digest, text: text)
    }
}
