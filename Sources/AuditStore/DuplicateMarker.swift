// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// How a redelivered duplicate is recorded (FORMAT.md §3): a `skipped` record whose event type
/// says so, `duplicate request <id>` or `duplicate response <id>`. Readers count it as a
/// repeat, never as a notification.
public enum DuplicateMarker {
    /// The prefix of a duplicate's `skipped` event type: `duplicate request <id>`.
    public static let prefix = "duplicate "

    /// The `skipped` event type recording a duplicate of half `eventType` of call `id`.
    public static func eventType(_ eventType: NotificationFields.EventType, id: String) -> String {
        "\(prefix)\(eventType == .request ? "request" : "response") \(id)"
    }
}
