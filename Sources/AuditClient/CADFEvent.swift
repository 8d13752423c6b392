// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

/// A CADF event as keystonemiddleware's audit middleware builds it (pycadf `Event`), with the
/// fields in pycadf's order so that the JSON is the same shape OpenStack consumers already read.
public struct CADFEvent: Sendable, Equatable {
    /// `payload.id`: the same for the request and the response of one HTTP call.
    public var id: String
    /// When the call started (pycadf format, `+0000`).
    public var eventTime: String
    /// Taxonomy action, e.g. `read/list`, `create`, `update/resize`.
    public var action: String
    /// `pending` on the request; `success`, `failure` or `unknown` on the response.
    public var outcome: String
    /// Who called.
    public var initiator: Initiator
    /// What was called.
    public var target: Target
    /// Path and query of the call.
    public var requestPath: String
    /// Tags; keystonemiddleware adds `correlation_id?value=<uuid>`.
    public var tags: [String]
    /// The HTTP status, on responses of calls that returned.
    public var reason: Reason?
    /// The response's reporter step (`modifier`, reporter `target`, with the reporting time).
    public var reporterTime: String?

    /// An event.
    public init(
        id: String, eventTime: String, action: String, outcome: String, initiator: Initiator, target: Target,
        requestPath: String, tags: [String], reason: Reason?, reporterTime: String?
    ) {
        self.id = id
        self.eventTime = eventTime
        self.action = action
        self.outcome = outcome
        self.initiator = initiator
        self.target = target
        self.requestPath = requestPath
        self.tags = tags
        self.reason = reason
        self.reporterTime = reporterTime
    }

    /// The caller, as keystonemiddleware takes it from keystone's auth headers.
    public struct Initiator: Sendable, Equatable {
        public var id: String
        public var name: String
        /// The token, already masked as pycadf masks it (see ``CADFEvent/maskToken(_:)``).
        public var maskedToken: String
        public var identityStatus: String
        public var hostAddress: String?
        public var hostAgent: String?
        public var projectID: String
        public var requestID: String?
        public var globalRequestID: String?

        public init(
            id: String, name: String, maskedToken: String, identityStatus: String, hostAddress: String?,
            hostAgent: String?, projectID: String, requestID: String?, globalRequestID: String?
        ) {
            self.id = id
            self.name = name
            self.maskedToken = maskedToken
            self.identityStatus = identityStatus
            self.hostAddress = hostAddress
            self.hostAgent = hostAgent
            self.projectID = projectID
            self.requestID = requestID
            self.globalRequestID = globalRequestID
        }
    }

    /// The service resource called.
    public struct Target: Sendable, Equatable {
        public var id: String
        public var typeURI: String
        public var name: String
        /// `(name, url)` pairs: admin, private, public, in keystonemiddleware's order.
        public var addresses: [(name: String, url: String)]

        public init(id: String, typeURI: String, name: String, addresses: [(name: String, url: String)]) {
            self.id = id
            self.typeURI = typeURI
            self.name = name
            self.addresses = addresses
        }

        public static func == (lhs: Target, rhs: Target) -> Bool {
            lhs.id == rhs.id && lhs.typeURI == rhs.typeURI && lhs.name == rhs.name
                && lhs.addresses.map(\.name) == rhs.addresses.map(\.name)
                && lhs.addresses.map(\.url) == rhs.addresses.map(\.url)
        }
    }

    /// An HTTP reason: `{"reasonType": "HTTP", "reasonCode": "<status>"}`.
    public struct Reason: Sendable, Equatable {
        public var reasonType: String
        public var reasonCode: String
        public init(reasonType: String = "HTTP", reasonCode: String) {
            self.reasonType = reasonType
            self.reasonCode = reasonCode
        }
    }

    /// Masks a token as pycadf's `mask_value` does: keep round(len/8) characters (at most 32)
    /// at each end, Python's round-half-to-even included, around `" xxxxxxxx "`, and pycadf's
    /// leak of short tokens too (it must match what OpenStack services send).
    public static func maskToken(_ token: String) -> String {
        // Python counts code points: ASCII tokens (all real ones) take the fast path, by bytes.
        let ascii = token.utf8.withContiguousStorageIfAvailable { utf8 -> String? in
            guard utf8.reduce(0, |) < 0x80 else { return nil }
            let visible = min(32, Int((Double(utf8.count) * 0.125).rounded(.toNearestOrEven)))
            // Python's value[-0:] is the whole string: tokens of up to 4 characters leak in full.
            let suffix = UnsafeBufferPointer(rebasing: utf8[(visible == 0 ? 0 : utf8.count - visible)...])
            let middle: StaticString = " xxxxxxxx "
            return String(unsafeUninitializedCapacity: visible + middle.utf8CodeUnitCount + suffix.count) { out in
                var i = out.initialize(fromContentsOf: UnsafeBufferPointer(rebasing: utf8[..<visible]))
                i = out[i...].initialize(fromContentsOf: UnsafeBufferPointer(start: middle.utf8Start, count: middle.utf8CodeUnitCount))
                return out[i...].initialize(fromContentsOf: suffix)
            }
        }
        if let masked = ascii ?? nil { return masked }
        let scalars = Array(token.unicodeScalars)
        let visible = min(32, Int((Double(scalars.count) * 0.125).rounded(.toNearestOrEven)))
        var result = String.UnicodeScalarView(scalars.prefix(visible))
        result.append(contentsOf: " xxxxxxxx ".unicodeScalars)
        result.append(contentsOf: visible == 0 ? scalars[...] : scalars.suffix(visible))
        return String(result)
    }

    /// The event's JSON, as pycadf's `as_dict()` serialised by `json.dumps`.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("typeURI", constant: "http://schemas.dmtf.org/cloud/audit/1.0/event")
        writer.field("eventType", constant: "activity")
        writer.field("id", id)
        writer.field("eventTime", eventTime)
        writer.field("action", action)
        writer.field("outcome", outcome)
        writer.key("observer")
        writer.beginObject()
        writer.field("id", constant: "target")
        writer.endObject()
        writer.key("initiator")
        writer.beginObject()
        writer.field("id", initiator.id)
        writer.field("typeURI", constant: "service/security/account/user")
        writer.field("name", initiator.name)
        writer.key("credential")
        writer.beginObject()
        writer.field("token", initiator.maskedToken)
        writer.field("identity_status", initiator.identityStatus)
        writer.endObject()
        writer.key("host")
        writer.beginObject()
        writer.field("address", initiator.hostAddress)
        writer.field("agent", initiator.hostAgent)
        writer.endObject()
        writer.field("project_id", initiator.projectID)
        writer.field("request_id", initiator.requestID)
        writer.field("global_request_id", initiator.globalRequestID)
        writer.endObject()
        writer.key("target")
        writer.beginObject()
        writer.field("id", target.id)
        writer.field("typeURI", target.typeURI)
        writer.field("name", target.name)
        if !target.addresses.isEmpty {
            writer.key("addresses")
            writer.beginArray()
            for address in target.addresses {
                writer.beginObject()
                writer.field("url", address.url)
                writer.field("name", address.name)
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
        writer.field("requestPath", requestPath)
        writer.key("tags")
        writer.beginArray()
        for tag in tags { writer.string(tag) }
        writer.endArray()
        if let reason {
            writer.key("reason")
            writer.beginObject()
            writer.field("reasonType", reason.reasonType)
            writer.field("reasonCode", reason.reasonCode)
            writer.endObject()
        }
        if let reporterTime {
            writer.key("reporterchain")
            writer.beginArray()
            writer.beginObject()
            writer.field("role", constant: "modifier")
            writer.field("reporterTime", reporterTime)
            writer.key("reporter")
            writer.beginObject()
            writer.field("id", constant: "target")
            writer.endObject()
            writer.endObject()
            writer.endArray()
        }
        writer.endObject()
    }

    /// The event's JSON bytes.
    public var json: [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }
}
