// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

import AuditModel
public import AuditStore

/// The shapes SIEMs take: Elastic Common Schema documents and Splunk HTTP Event Collector
/// envelopes, one per call of the pair view (docs/EXPORT.md holds the field mapping).
///
/// One document per *call*, not per notification: ECS describes an event by its start, end,
/// duration and final outcome, which only the pair has; a document per half would count every
/// call twice and leave the request's document with an outcome of `unknown` forever.
///
/// Fields the index does not keep (source address, user agent, request ids, reporter time) come
/// from the stored notifications, parsed once per half: load a call's bodies first
/// (``Trail/Call/loadingBodies(from:latency:)``).
public enum SIEMFormat {
    /// The ECS version the documents follow (`ecs.version`).
    public static let ecsVersion = "8.11.0"

    /// The HEC envelope's metadata: `host`, `source`, `sourcetype` and an optional `index`.
    public struct HECMetadata: Sendable, Hashable {
        /// `host`; `nil` uses the call's publisher (oslo `publisher_id`), the nearest the
        /// notification has to the system that emitted it.
        public var host: String?
        /// `source`.
        public var source: String
        /// `sourcetype`.
        public var sourcetype: String
        /// `index`; `nil` leaves it to the HEC token's default index.
        public var index: String?

        /// Metadata with AuditTrail's defaults (`audit-trail`, `cadf:call`).
        public init(
            host: String? = nil, source: String = "audit-trail", sourcetype: String = "cadf:call", index: String? = nil
        ) {
            self.host = host
            self.source = source
            self.sourcetype = sourcetype
            self.index = index
        }
    }

    /// One call as an ECS document on one line (no newline).
    public static func ecsLine(_ call: Trail.Call) -> String {
        ecsDocument(call).text
    }

    /// One call as a Splunk HEC event envelope on one line (no newline): `time` in epoch
    /// seconds with a microsecond fraction (the CADF `eventTime`; left out when the call has
    /// none, so HEC stamps it on receipt), `host`, `source`, `sourcetype`, `index` when given,
    /// and the call's export JSON line (``CallFormat/jsonLine(_:)``) as `event`.
    public static func hecLine(_ call: Trail.Call, metadata: HECMetadata = HECMetadata()) -> String {
        var envelope: [(String, Value)] = []
        if let time = call.eventTime { envelope.append(("time", .raw(epochSeconds(time)))) }
        if let host = metadata.host ?? call.fields?.publisher { envelope.append(("host", .string(host))) }
        envelope.append(("source", .string(metadata.source)))
        envelope.append(("sourcetype", .string(metadata.sourcetype)))
        if let index = metadata.index { envelope.append(("index", .string(index))) }
        envelope.append(("event", .raw(CallFormat.jsonLine(call))))
        return Value.object(envelope).text
    }

    /// `1795342322.734485` for µs since the epoch (HEC's `time`).
    public static func epochSeconds(_ microseconds: Int64) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let fraction = String(microseconds - seconds * 1_000_000)
        return "\(seconds)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// ECS `event.outcome` for a call's outcome: `success` and `failure` as they are; anything
    /// else (`unknown`, a request without its response) is `unknown`.
    public static func ecsOutcome(_ outcome: String) -> String {
        outcome == "success" || outcome == "failure" ? outcome : "unknown"
    }

    /// ECS `event.category` and `event.type` for a CADF action, by its first segment
    /// (`read/list` is a read): every call is `web` `access`; a create, update or delete is also
    /// a `configuration` `creation`, `change` or `deletion`; an authenticate is also an
    /// `authentication` `start`.
    public static func ecsCategorization(action: String?) -> (category: [String], type: [String]) {
        switch action.map({ $0.split(separator: "/", maxSplits: 1).first.map(String.init) ?? $0 }) {
        case "create": (["web", "configuration"], ["access", "creation"])
        case "update": (["web", "configuration"], ["access", "change"])
        case "delete": (["web", "configuration"], ["access", "deletion"])
        case "authenticate": (["web", "authentication"], ["access", "start"])
        default: (["web"], ["access"])
        }
    }

    /// The HTTP method keystonemiddleware mapped to a CADF action, where only one method maps
    /// to it: `read` (GET, and HEAD, which is rare) is `GET`, `create` is `POST`, `delete` is
    /// `DELETE`. `update` (PUT, PATCH, or a POST to an action resource) gives `nil`.
    public static func httpMethod(action: String?) -> String? {
        switch action.map({ $0.split(separator: "/", maxSplits: 1).first.map(String.init) ?? $0 }) {
        case "read": "GET"
        case "create": "POST"
        case "delete": "DELETE"
        default: nil
        }
    }

    // MARK: The ECS document

    static func ecsDocument(_ call: Trail.Call) -> Value {
        let request = call.request.flatMap { Half($0) }
        let response = call.response.flatMap { Half($0) }
        let first = request ?? response
        let fields = call.fields
        let initiator = first?.event?["initiator"] as? [String: Any]
        let host = initiator?["host"] as? [String: Any]
        var document: [(String, Value)] = []
        if let time = call.eventTime { document.append(("@timestamp", .string(CallFormat.utcText(time)))) }
        document.append(("ecs", .object([("version", .string(ecsVersion))])))
        if let message = message(call) { document.append(("message", .string(message))) }

        let (category, type) = ecsCategorization(action: fields?.action)
        var event: [(String, Value)] = [
            ("kind", .string("event")), ("category", .strings(category)), ("type", .strings(type)),
        ]
        event.optional("action", fields?.action.map(Value.string))
        event.append(("outcome", .string(ecsOutcome(call.outcome))))
        event.append(("id", .string(call.id)))
        let start = first?.time("eventTime")
        let end = response?.reporterTime
        if let start, let end { event.append(("duration", .raw(String(start.nanoseconds(to: end))))) }
        if let start { event.append(("start", .string(CallFormat.utcText(start.microsecondsSinceEpoch)))) }
        if let end { event.append(("end", .string(CallFormat.utcText(end.microsecondsSinceEpoch)))) }
        document.append(("event", .object(event)))

        var user: [(String, Value)] = []
        user.optional("id", fields?.initiatorId.map(Value.string))
        user.optional("name", fields?.initiatorName.map(Value.string))
        document.optional("user", user.isEmpty ? nil : .object(user))

        var http: [(String, Value)] = []
        http.optional("request", httpMethod(action: fields?.action).map { .object([("method", .string($0))]) })
        http.optional("response", call.status.map { .object([("status_code", .raw(String($0)))]) })
        document.optional("http", http.isEmpty ? nil : .object(http))
        document.optional("url", fields?.requestPath.map { .object([("path", .string($0))]) })

        if let address = host?["address"] as? String {
            var source: [(String, Value)] = [("address", .string(address))]
            if isIPAddress(address) { source.append(("ip", .string(address))) }
            document.append(("source", .object(source)))
        }
        document.optional("user_agent", (host?["agent"] as? String).map { .object([("original", .string($0))]) })

        var cloud: [(String, Value)] = []
        cloud.optional("project", fields?.projectId.map { .object([("id", .string($0))]) })
        cloud.optional("service", fields?.publisher.map { .object([("name", .string($0))]) })
        document.optional("cloud", cloud.isEmpty ? nil : .object(cloud))

        let requestID = first?.text(["initiator", "request_id"], context: "request_id")
        let globalRequestID = first?.text(["initiator", "global_request_id"], context: "global_request_id")
        document.optional("trace", globalRequestID.map { .object([("id", .string($0))]) })
        document.optional("transaction", requestID.map { .object([("id", .string($0))]) })

        var audit: [(String, Value)] = [("id", .string(call.id)), ("state", .string(call.state.rawValue))]
        audit.optional("outcome", response == nil ? nil : .string(call.outcome))
        audit.optional("request_id", requestID.map(Value.string))
        audit.optional("global_request_id", globalRequestID.map(Value.string))
        var initiatorSet: [(String, Value)] = []
        initiatorSet.optional("type_uri", (initiator?["typeURI"] as? String).map(Value.string))
        audit.optional("initiator", initiatorSet.isEmpty ? nil : .object(initiatorSet))
        var target: [(String, Value)] = []
        target.optional("id", fields?.targetId.map(Value.string))
        target.optional("type_uri", fields?.targetTypeURI.map(Value.string))
        audit.optional("target", target.isEmpty ? nil : .object(target))
        audit.optional("observer_id", first?.text(["observer", "id"]).map(Value.string))
        audit.optional("request", call.request.map(source))
        audit.optional("response", call.response.map(source))
        if !call.conflicts.isEmpty { audit.append(("conflicts", .raw(String(call.conflicts.count)))) }
        document.append(("audit_trail", .object(audit)))
        return .object(document)
    }

    /// `read/list /v2.1/servers/detail: success 200` (a human line for `message`).
    private static func message(_ call: Trail.Call) -> String? {
        guard let fields = call.fields else { return nil }
        var text = fields.action ?? "-"
        if let path = fields.requestPath { text += " " + path }
        text += ": " + call.outcome
        if let status = call.status { text += " \(status)" }
        return text
    }

    /// Where a half is stored (and, for the by-id topic, where it was first consumed).
    private static func source(_ half: StoredRecord) -> Value {
        var source: [(String, Value)] = [
            ("topic", .string(half.topic)), ("partition", .raw(String(half.partition))),
            ("offset", .raw(String(half.record.offset))),
        ]
        source.optional("message_id", half.record.fields?.messageId.map(Value.string))
        if let origin = half.record.origin {
            source.append(("origin", .object([
                ("topic", .string(origin.topic)), ("partition", .raw(String(origin.partition))),
                ("offset", .raw(String(origin.offset))),
            ])))
        }
        return .object(source)
    }

    /// Dotted IPv4 or an IPv6 text (hex groups and colons, an IPv4 tail allowed): what ECS's
    /// `ip` type indexes. Anything else stays in `source.address` only.
    public static func isIPAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, !text.contains(":") {
            return parts.allSatisfy { $0.count <= 3 && !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) && Int($0)! <= 255 }
        }
        guard text.contains(":"), text.count <= 45 else { return false }
        return text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    /// A stored half, parsed (Foundation: a read of one call, not a hot path).
    private struct Half {
        var message: [String: Any]?
        var event: [String: Any]?

        init?(_ stored: StoredRecord) {
            guard let bytes = stored.record.bytes, !bytes.isEmpty else { return nil }
            (message, event) = EventPayload.parts(from: bytes)
        }

        /// The event's text at `path`, else the oslo `_context`'s `context` key.
        func text(_ path: [String], context: String? = nil) -> String? {
            EventPayload.text(event, path) ?? context.flatMap { EventPayload.text(message, ["_context", $0]) }
        }

        func time(_ key: String) -> Timestamp? { text([key]).flatMap(Timestamp.parse) }

        /// `reporterchain[0].reporterTime`.
        var reporterTime: Timestamp? {
            ((event?["reporterchain"] as? [Any])?.first as? [String: Any]).flatMap {
                ($0["reporterTime"] as? String).flatMap(Timestamp.parse)
            }
        }
    }

    /// A JSON value written in the order given (ECS readers do not care, people reading a line do).
    enum Value {
        case string(String)
        case strings([String])
        /// JSON text written as is (a number, or a JSON document).
        case raw(String)
        case object([(String, Value)])

        var text: String {
            switch self {
            case .string(let text): return CallFormat.quote(text)
            case .strings(let texts): return "[" + texts.map(CallFormat.quote).joined(separator: ", ") + "]"
            case .raw(let text): return text
            case .object(let members):
                return "{" + members.map { CallFormat.quote($0.0) + ": " + $0.1.text }.joined(separator: ", ") + "}"
            }
        }
    }
}

extension Array where Element == (String, SIEMFormat.Value) {
    fileprivate mutating func optional(_ key: String, _ value: SIEMFormat.Value?) {
        if let value { append((key, value)) }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
