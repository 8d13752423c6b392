// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

/// Who made an HTTP call, as a service knows it after authentication (keystone's auth headers:
/// `X-User-Id`, `X-User-Name`, `X-Project-Id`, `X-Auth-Token`, `X-Identity-Status`).
public struct CallerIdentity: Sendable, Equatable {
    public var userID: String
    public var userName: String
    public var projectID: String
    /// The raw token; it is masked before it reaches an event.
    public var token: String
    public var identityStatus: String

    /// A caller; unknown parts are `unknown`, as keystonemiddleware writes them.
    public init(
        userID: String = "unknown", userName: String = "unknown", projectID: String = "unknown",
        token: String = "", identityStatus: String = "unknown"
    ) {
        self.userID = userID
        self.userName = userName
        self.projectID = projectID
        self.token = token
        self.identityStatus = identityStatus
    }
}

/// The service being audited: its catalog entry (keystonemiddleware matches the request's host
/// against the catalog; a Swift service simply says who it is).
public struct ServiceInfo: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Catalog type, e.g. `compute`; mapped through the audit map's `service_endpoints`.
    public var type: String
    public var adminURL: String
    public var internalURL: String
    public var publicURL: String

    public init(id: String, name: String, type: String, adminURL: String, internalURL: String, publicURL: String) {
        self.id = id
        self.name = name
        self.type = type
        self.adminURL = adminURL
        self.internalURL = internalURL
        self.publicURL = publicURL
    }
}

/// An HTTP call as the audit layer sees it.
public struct AuditedRequest: Sendable {
    public var method: String
    /// The path without the query.
    public var path: String
    /// The query string without `?`, if any.
    public var query: String?
    public var clientAddress: String?
    public var userAgent: String?
    public var caller: CallerIdentity
    public var requestID: String?
    public var globalRequestID: String?
    /// For `POST …/action`: the first key of the JSON body (the action's name).
    public var bodyFirstKey: String?

    public init(
        method: String, path: String, query: String? = nil, clientAddress: String? = nil, userAgent: String? = nil,
        caller: CallerIdentity, requestID: String? = nil, globalRequestID: String? = nil, bodyFirstKey: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.clientAddress = clientAddress
        self.userAgent = userAgent
        self.caller = caller
        self.requestID = requestID
        self.globalRequestID = globalRequestID
        self.bodyFirstKey = bodyFirstKey
    }
}

/// Builds CADF events as keystonemiddleware's audit middleware does.
public struct AuditEventBuilder: Sendable {
    public var auditMap: AuditMap
    /// The audited service, or nil when unknown (the target is then `unknown`).
    public var service: ServiceInfo?

    public init(auditMap: AuditMap, service: ServiceInfo?) {
        self.auditMap = auditMap
        self.service = service
    }

    /// The request event (`outcome: pending`) for a call starting at `time` (µs since the epoch).
    public func requestEvent(for request: AuditedRequest, time: Int64, id: String = UUIDText.random(),
                             correlationID: String = UUIDText.random()) -> CADFEvent {
        let target: CADFEvent.Target
        if let service {
            target = CADFEvent.Target(
                id: service.id, typeURI: auditMap.targetTypeURI(serviceType: service.type, path: request.path),
                name: service.name,
                addresses: [("admin", service.adminURL), ("private", service.internalURL), ("public", service.publicURL)])
        } else {
            target = CADFEvent.Target(id: "unknown", typeURI: "unknown", name: "unknown", addresses: [])
        }
        return CADFEvent(
            id: id, eventTime: Timestamps.cadf(microsecondsSinceEpoch: time),
            action: auditMap.action(method: request.method, path: request.path, bodyFirstKey: request.bodyFirstKey),
            outcome: "pending",
            initiator: CADFEvent.Initiator(
                id: request.caller.userID, name: request.caller.userName,
                maskedToken: CADFEvent.maskToken(request.caller.token), identityStatus: request.caller.identityStatus,
                hostAddress: request.clientAddress, hostAgent: request.userAgent, projectID: request.caller.projectID,
                requestID: request.requestID, globalRequestID: request.globalRequestID),
            target: target,
            requestPath: request.query.map { "\(request.path)?\($0)" } ?? request.path,
            tags: ["correlation_id?value=\(correlationID)"], reason: nil, reporterTime: nil)
    }

    /// The response event for `request`: `success` for 200–399, `failure` otherwise, and
    /// `unknown` without a reason when the handler threw (`status` nil).
    public static func responseEvent(for request: CADFEvent, status: Int?, time: Int64) -> CADFEvent {
        var event = request
        if let status {
            event.outcome = (200..<400).contains(status) ? "success" : "failure"
            event.reason = CADFEvent.Reason(reasonCode: String(status))
        } else {
            event.outcome = "unknown"
        }
        event.reporterTime = Timestamps.cadf(microsecondsSinceEpoch: time)
        return event
    }
}
