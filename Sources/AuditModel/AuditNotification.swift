// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// How a notification arrived (DESIGN §2).
public enum WireForm: String, Sendable, CaseIterable {
    /// `{"oslo.version": "2.0", "oslo.message": "<inner message as a JSON string>"}`: what the Kafka driver sends.
    case osloEnvelope
    /// The inner message as a plain JSON object (oslo v1, no envelope).
    case v1
    /// v1 with the context flattened into `_context_*` keys.
    case v1FlattenedContext
    /// A line of oslo's `log` notification driver: `<date> <pid> INFO oslo.messaging.notification.<type> [-] {json}`.
    case logDriver
    /// A CADF event without a notification around it.
    case bareEvent
}

/// Which half of a keystonemiddleware pair a notification is.
public enum AuditEventType: String, Sendable {
    /// `audit.http.request` (or a bare event whose outcome is `pending`).
    case request = "audit.http.request"
    /// `audit.http.response` (or a bare event with any other outcome).
    case response = "audit.http.response"
}

/// A CADF outcome (`outcome`).
public enum Outcome: String, Sendable, CaseIterable {
    case success, failure, pending, unknown
}

/// A decoded, schema-valid audit notification: the original bytes plus what the pipeline needs.
///
/// Text fields are decoded on access from the bytes they were found in, so decoding allocates no
/// strings; times are parsed eagerly. Optional fields are `nil` when the notification lacks them.
public struct AuditNotification: Sendable {
    /// The bytes exactly as received (a Kafka value or a log line): the evidence to store.
    public let original: [UInt8]
    /// How it arrived.
    public let form: WireForm
    /// Request or response.
    public let eventType: AuditEventType
    /// The CADF `outcome`.
    public let outcome: Outcome
    /// `eventTime` as an instant (`+0000`, `+00:00` and `Z` offsets are applied).
    public let eventTime: Timestamp
    /// `reporterchain[0].reporterTime`, present on responses.
    public let reporterTime: Timestamp?

    /// The JSON text the fields point into: `original`, or the unescaped inner message of a 2.0
    /// envelope whose inner message has escapes of its own.
    let storage: [UInt8]
    let fields: Fields

    /// Byte ranges of the text fields within ``storage``.
    struct Fields {
        var id = TextRef.absent
        var action = TextRef.absent
        var initiatorID = TextRef.absent
        var initiatorName = TextRef.absent
        var initiatorProjectID = TextRef.absent
        var targetID = TextRef.absent
        var targetTypeURI = TextRef.absent
        var reasonCode = TextRef.absent
        var requestPath = TextRef.absent
        var publisherID = TextRef.absent
        var messageID = TextRef.absent
        var requestID = TextRef.absent
        var globalRequestID = TextRef.absent
        var eventTypeText = TextRef.absent
    }

    /// The CADF event id (`payload.id`): the same for a request and its response.
    public var id: String { text(fields.id) ?? "" }
    /// The CADF `action`, e.g. `read/list`.
    public var action: String { text(fields.action) ?? "" }
    /// `initiator.id` (or `initiatorId`).
    public var initiatorID: String? { text(fields.initiatorID) }
    /// `initiator.name`.
    public var initiatorName: String? { text(fields.initiatorName) }
    /// `initiator.project_id` (keystonemiddleware).
    public var initiatorProjectID: String? { text(fields.initiatorProjectID) }
    /// `target.id` (or `targetId`).
    public var targetID: String? { text(fields.targetID) }
    /// `target.typeURI`.
    public var targetTypeURI: String? { text(fields.targetTypeURI) }
    /// `reason.reasonCode`: the HTTP status on responses (absent when the app raised).
    public var reasonCode: String? { text(fields.reasonCode) }
    /// `requestPath` (keystonemiddleware).
    public var requestPath: String? { text(fields.requestPath) }
    /// `publisher_id`, e.g. `nova-api`; `nil` for a bare event.
    public var publisherID: String? { text(fields.publisherID) }
    /// `message_id` (new per notification); `nil` for a bare event.
    public var messageID: String? { text(fields.messageID) }
    /// `initiator.request_id`, else the context's `request_id`.
    public var requestID: String? { text(fields.requestID) }
    /// `initiator.global_request_id`, else the context's `global_request_id`.
    public var globalRequestID: String? { text(fields.globalRequestID) }
    /// The notification's `event_type` as written (`nil` for a bare event).
    public var eventTypeText: String? { text(fields.eventTypeText) }

    /// Request-to-response latency: `reporterTime − eventTime`, in nanoseconds (responses only).
    public var latencyNanoseconds: Int64? { reporterTime.map { eventTime.nanoseconds(to: $0) } }

    /// A text field of a notification, for ``withText(_:_:)``.
    package enum TextField: Sendable {
        case id, action, initiatorID, initiatorName, initiatorProjectID, targetID, targetTypeURI, reasonCode
        case requestPath, publisherID, messageID, requestID, globalRequestID
    }

    /// Calls `body` with the UTF-8 of `field` as its property gives it (unescaped), or `nil` when
    /// absent, without building a `String`: for a store that keeps the fields as bytes.
    package func withText<R>(_ field: TextField, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        let ref = switch field {
        case .id: fields.id
        case .action: fields.action
        case .initiatorID: fields.initiatorID
        case .initiatorName: fields.initiatorName
        case .initiatorProjectID: fields.initiatorProjectID
        case .targetID: fields.targetID
        case .targetTypeURI: fields.targetTypeURI
        case .reasonCode: fields.reasonCode
        case .requestPath: fields.requestPath
        case .publisherID: fields.publisherID
        case .messageID: fields.messageID
        case .requestID: fields.requestID
        case .globalRequestID: fields.globalRequestID
        }
        guard ref.isPresent, Int(ref.start) + Int(ref.length) <= storage.count else { return body(nil) }
        return storage.withUnsafeBytes { raw in
            let slice = UnsafeRawBufferPointer(rebasing: raw[Int(ref.start)..<Int(ref.start + ref.length)])
            guard ref.escaped else { return body(slice) }
            return Self.unescaped(slice).withUnsafeBytes { body($0) }
        }
    }

    /// The bytes of a JSON string's escaped content, unescaped.
    private static func unescaped(_ slice: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: slice.count) { buffer, count in
            count = buffer.baseAddress.map { JSONUnescaper.unescape(slice, into: UnsafeMutableRawPointer($0)) } ?? 0
        }
    }

    private func text(_ ref: TextRef) -> String? {
        guard ref.isPresent, Int(ref.start) + Int(ref.length) <= storage.count else { return nil }
        return storage.withUnsafeBytes { raw in
            let slice = UnsafeRawBufferPointer(rebasing: raw[Int(ref.start)..<Int(ref.start + ref.length)])
            guard ref.escaped else { return String(decoding: slice, as: UTF8.self) }
            return String(decoding: Self.unescaped(slice), as: UTF8.self)
        }
    }
}

/// Where a string value sits in a notification's bytes (still escaped when `escaped`).
struct TextRef: Sendable {
    var start: UInt32
    var length: UInt32
    var escaped: Bool
    var isPresent: Bool

    static let absent = TextRef(start: 0, length: 0, escaped: false, isPresent: false)
}
