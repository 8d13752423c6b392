// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// The outcome of decoding one Kafka value or log line.
public enum DecodedNotification: Sendable {
    /// A schema-valid `audit.http.*` notification (or bare CADF event).
    case audit(AuditNotification)
    /// A well-formed notification of another event type (e.g. `compute.instance.create.end`):
    /// skipped and counted, not quarantined (DESIGN §2).
    case nonAudit(NonAuditNotification)
    /// Anything else: the reason and the original bytes, for the quarantine.
    case quarantined(QuarantinedNotification)
}

/// A notification that is not an audit event.
public struct NonAuditNotification: Sendable {
    /// The bytes exactly as received.
    public let original: [UInt8]
    /// How it arrived.
    public let form: WireForm
    /// Its `event_type`.
    public let eventType: String
}

/// Input that cannot be accepted, kept whole.
public struct QuarantinedNotification: Sendable {
    /// The bytes exactly as received.
    public let original: [UInt8]
    /// Why it was refused.
    public let reason: QuarantineReason
    /// The wire form, when it was recognised before the defect was found.
    public let form: WireForm?
}

/// Decodes every wire form of DESIGN §2 and validates the result against the schemas.
///
/// A decoder owns reusable parse buffers: keep one per worker task (it is not `Sendable` to share,
/// but cheap to make). It never traps and never loops on input: bad input becomes
/// ``DecodedNotification/quarantined(_:)``.
public struct NotificationDecoder {
    private let validator: SchemaValidator
    private let parser = JSONParser()

    /// Creates a decoder that validates with `validator`.
    public init(validator: SchemaValidator) {
        self.validator = validator
    }

    /// Decodes one Kafka message value or one log-driver line.
    public mutating func decode(_ original: [UInt8]) -> DecodedNotification {
        original.withUnsafeBytes { raw in
            if let document = EnvelopeFastPath.parsedInPlace(raw, parser) {
                return Self.accept(document, validator, original, original, 0, .osloEnvelope)
            }
            if let inner = EnvelopeFastPath.inner(raw) {
                return decodeInner(inner, original)
            }
            if let json = LogDriverLine.json(in: raw) {
                var offset = 0
                if let start = raw.baseAddress, let jsonStart = json.baseAddress { offset = jsonStart - start }
                return decodeJSON(json, original, storage: original, base: offset, form: .logDriver)
            }
            return decodeJSON(raw, original, storage: original, base: 0, form: nil)
        }
    }

    /// Parses `json` (a view into `storage` at `base`) and dispatches on its shape.
    private mutating func decodeJSON(
        _ json: UnsafeRawBufferPointer, _ original: [UInt8], storage: [UInt8], base: Int, form: WireForm?
    ) -> DecodedNotification {
        enum Next {
            case done(DecodedNotification)
            case envelope([UInt8])
        }
        let validator = self.validator
        let parsed = parser.parse(json) { document -> Next in
            let shape = form ?? Self.shape(of: document)
            guard let shape else {
                return .done(.quarantined(.init(original: original, reason: QuarantineReason(.unknownEnvelope), form: nil)))
            }
            if shape == .osloEnvelope {
                guard let message = document.member(0, "oslo.message"), document.tape[message].kind == .string else {
                    return .done(.quarantined(.init(original: original, reason: QuarantineReason(.unknownEnvelope), form: shape)))
                }
                return .envelope(Self.unescaped(document, message))
            }
            return .done(Self.accept(document, validator, original, storage, base, shape))
        }
        switch parsed {
        case .failure(let failure):
            return .quarantined(.init(original: original, reason: failure.reason, form: form))
        case .success(.done(let result)):
            return result
        case .success(.envelope(let inner)):
            return decodeInner(inner, original)
        }
    }

    /// Parses and accepts the unescaped inner message of a 2.0 envelope.
    private mutating func decodeInner(_ inner: [UInt8], _ original: [UInt8]) -> DecodedNotification {
        let validator = self.validator
        let result = inner.withUnsafeBytes { raw in
            parser.parse(raw) { Self.accept($0, validator, original, inner, 0, .osloEnvelope) }
        }
        switch result {
        case .success(let decoded): return decoded
        case .failure(let failure):
            return .quarantined(.init(original: original, reason: failure.reason, form: .osloEnvelope))
        }
    }

    /// The wire form of a parsed top-level document, or `nil` if it is none of them.
    static func shape(of document: JSONDocument) -> WireForm? {
        guard document.tape[0].kind == .object else { return nil }
        if document.member(0, "oslo.message") != nil { return .osloEnvelope }
        if document.member(0, "event_type") != nil || document.member(0, "payload") != nil
            || document.member(0, "message_id") != nil || document.member(0, "publisher_id") != nil
        {
            return hasFlattenedContext(document) ? .v1FlattenedContext : .v1
        }
        if document.member(0, "eventType") != nil || document.member(0, "typeURI") != nil
            || document.member(0, "outcome") != nil || document.member(0, "action") != nil
        {
            return .bareEvent
        }
        return nil
    }

    private static func hasFlattenedContext(_ document: JSONDocument) -> Bool {
        let prefix: StaticString = "_context_"
        let wanted = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        var key = 1
        while key < Int(document.tape[0].length) {
            let raw = document.rawBytes(key)
            if raw.count > wanted.count, let p = raw.baseAddress, let w = wanted.baseAddress,
                memoryEquals(p, w, wanted.count)
            {
                return true
            }
            key = document.next(after: key + 1)
        }
        return false
    }

    /// The unescaped bytes of the string at `index` (the envelope's inner message).
    private static func unescaped(_ document: JSONDocument, _ index: Int) -> [UInt8] {
        let raw = document.rawBytes(index)
        return [UInt8](unsafeUninitializedCapacity: raw.count) { buffer, count in
            count = buffer.baseAddress.map { JSONUnescaper.unescape(raw, into: UnsafeMutableRawPointer($0)) } ?? 0
        }
    }

    /// Filters non-audit event types, validates, and extracts the fields.
    private static func accept(
        _ document: JSONDocument, _ validator: SchemaValidator, _ original: [UInt8], _ storage: [UInt8], _ base: Int,
        _ form: WireForm
    ) -> DecodedNotification {
        let isEvent = form == .bareEvent
        if !isEvent, document.tape[0].kind == .object, let type = document.member(0, "event_type"),
            document.tape[type].kind == .string, !Self.isAuditType(document, type)
        {
            let name = document.string(type) ?? ""
            return .nonAudit(NonAuditNotification(original: original, form: form, eventType: name))
        }
        if let reason = validator.violation(in: document, as: isEvent ? .event : .notification) {
            return .quarantined(.init(original: original, reason: reason, form: form))
        }
        guard let notification = FieldExtractor.extract(document, original, storage, base, form) else {
            // Unreachable with the bundled schemas (they require every field read here); a user's
            // loosened schema must not crash the worker either.
            let reason = QuarantineReason.schemaViolation(rule: "required", pointer: isEvent ? "" : "/payload")
            return .quarantined(.init(original: original, reason: reason, form: form))
        }
        return .audit(notification)
    }

    /// `audit.http.` prefix (DESIGN §4: the worker filters `audit.http.*` before it validates).
    private static func isAuditType(_ document: JSONDocument, _ index: Int) -> Bool {
        let prefix: StaticString = "audit.http."
        let wanted = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard !document.tape[index].isEscaped else { return document.unescapedBytes(index).starts(with: wanted) }
        let raw = document.rawBytes(index)
        guard raw.count >= wanted.count, let p = raw.baseAddress, let w = wanted.baseAddress else { return false }
        return memoryEquals(p, w, wanted.count)
    }
}
