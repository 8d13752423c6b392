// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

@_exported public import enum AuditModel.AuditEventType

/// An oslo.messaging notification carrying a CADF event, serialised as oslo's Kafka driver
/// sends it: the 2.0 envelope `{"oslo.version": "2.0", "oslo.message": "<inner JSON as a string>"}`.
public struct OsloNotification: Sendable {
    public var messageID: String
    public var publisherID: String
    public var eventType: AuditEventType
    public var priority: String
    public var payload: CADFEvent
    /// oslo's timestamp format (`2026-11-22 10:12:02.735273`).
    public var timestamp: String

    public init(messageID: String = UUIDText.random(), publisherID: String, eventType: AuditEventType,
                priority: String = "INFO", payload: CADFEvent, timestamp: String) {
        self.messageID = messageID
        self.publisherID = publisherID
        self.eventType = eventType
        self.priority = priority
        self.payload = payload
        self.timestamp = timestamp
    }

    /// The inner message (oslo's `raw_msg`), as `json.dumps` writes it.
    public var innerMessage: [UInt8] {
        var writer = JSONWriter(capacity: 2048)
        writeInnerMessage(to: &writer)
        return writer.bytes
    }

    private func writeInnerMessage(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("message_id", messageID)
        writer.field("publisher_id", publisherID)
        writer.field("event_type", eventType.rawValue)
        writer.field("priority", priority)
        writer.key("payload")
        payload.write(to: &writer)
        writer.field("timestamp", timestamp)
        writer.key("_context")
        writer.beginObject()
        writer.endObject()
        writer.endObject()
    }

    /// The Kafka record value: the 2.0 envelope. The inner message is written straight into it
    /// in its escaped (string) form, in one pass.
    public var envelope: [UInt8] {
        var writer = Self.envelopeWriter()
        writeEnvelope(to: &writer)
        return writer.bytes
    }

    /// A writer with room for a typical event plus the escaping of its quotes, so its buffer
    /// never grows.
    static func envelopeWriter() -> JSONWriter { JSONWriter(capacity: 2560) }

    /// Writes the envelope (see ``envelope``).
    func writeEnvelope(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("oslo.version", constant: "2.0")
        writer.key("oslo.message")
        writer.nestedString { writeInnerMessage(to: &$0) }
        writer.endObject()
    }
}
