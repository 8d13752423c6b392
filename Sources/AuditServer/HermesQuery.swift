// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditStore
import Hummingbird

/// An attribute of a Hermes event, by its API name (filters, sort keys, `/v1/attributes`).
///
/// An event is a call's final CADF event: its response, or its request while no response is
/// stored (outcome `pending`). Most attributes come from the store's index; the initiator's and
/// observer's type URIs only from the event's body.
enum EventAttribute: String, CaseIterable, Sendable {
    case time
    case observerType = "observer_type"
    case targetType = "target_type"
    case targetID = "target_id"
    case initiatorID = "initiator_id"
    case initiatorType = "initiator_type"
    case initiatorName = "initiator_name"
    case action, outcome
    case requestPath = "request_path"
    case requestID = "request_id"
    case globalRequestID = "global_request_id"

    /// Attributes `GET /v1/events` filters on by equality (time has its own grammar).
    static let filters: [EventAttribute] = allCases.filter { $0 != .time }

    /// Whether the value is read from the event's body, not from the index.
    var needsBody: Bool { self == .observerType || self == .initiatorType }

    /// Hierarchical values (`update/add/floatingip`), which `max_depth` truncates.
    var isHierarchical: Bool { [.observerType, .targetType, .initiatorType, .action].contains(self) }

    /// The value for `call`, whose final event's body is `payload` (needed when ``needsBody``).
    func value(of call: Trail.Call, payload: [String: Any]?) -> String? {
        let fields = call.fields
        switch self {
        case .time: return call.eventTime.map { String($0) }
        case .observerType: return EventPayload.text(payload, ["observer", "typeURI"])
        case .targetType: return fields?.targetTypeURI
        case .targetID: return fields?.targetId
        case .initiatorID: return fields?.initiatorId
        case .initiatorType: return EventPayload.text(payload, ["initiator", "typeURI"])
        case .initiatorName: return fields?.initiatorName
        case .action: return fields?.action
        case .outcome: return call.outcome
        case .requestPath: return fields?.requestPath
        case .requestID: return fields?.requestIDsRecorded == true ? fields?.requestId : nil
        case .globalRequestID: return fields?.requestIDsRecorded == true ? fields?.globalRequestId : nil
        }
    }
}

/// The query of `GET /v1/events`, parsed from Hermes' parameters.
struct HermesQuery: Sendable {
    /// An equality filter, or its negation (`outcome=!failure`).
    struct Filter: Sendable {
        var attribute: EventAttribute
        var value: String
        var negated: Bool
    }

    /// A bound on `eventTime` (µs).
    struct TimeBound: Sendable {
        enum Comparison: String, Sendable { case lt, lte, gt, gte, eq }
        var comparison: Comparison
        var time: Int64

        func holds(_ value: Int64?) -> Bool {
            guard let value else { return false }
            switch comparison {
            case .lt: return value < time
            case .lte: return value <= time
            case .gt: return value > time
            case .gte: return value >= time
            case .eq: return value == time
            }
        }
    }

    var filters: [Filter] = []
    var times: [TimeBound] = []
    var sort: [(attribute: EventAttribute, descending: Bool)] = [(.time, false)]
    var offset = 0
    var limit = 10

    /// Hermes' largest page.
    static let maximumLimit = 100

    /// Parses `parameters`.
    /// - Throws: `HTTPError` 400 naming the parameter at fault.
    init(_ parameters: Parameters, now: Int64) throws {
        for attribute in EventAttribute.filters {
            guard let text = parameters.get(attribute.rawValue), !text.isEmpty else { continue }
            let negated = text.hasPrefix("!")
            filters.append(Filter(attribute: attribute, value: negated ? String(text.dropFirst()) : text, negated: negated))
        }
        if let time = parameters.get("time"), !time.isEmpty {
            for part in time.split(separator: ",") {
                var comparison = TimeBound.Comparison.eq
                var value = Substring(part)
                if let colon = part.firstIndex(of: ":"), let parsed = TimeBound.Comparison(rawValue: String(part[..<colon])) {
                    comparison = parsed
                    value = part[part.index(after: colon)...]
                }
                do {
                    times.append(TimeBound(comparison: comparison, time: try CallFilter.time(String(value), now: now)))
                } catch {
                    throw HTTPError(.badRequest, message: "time: \(error.message)")
                }
            }
        }
        if let text = parameters.get("sort"), !text.isEmpty {
            sort = try text.split(separator: ",").map { key in
                let parts = key.split(separator: ":", maxSplits: 1)
                guard let attribute = EventAttribute(rawValue: String(parts[0])) else {
                    throw HTTPError(
                        .badRequest,
                        message: "sort: unknown key \(parts[0]): \(EventAttribute.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                switch parts.count > 1 ? parts[1] : "asc" {
                case "asc": return (attribute, false)
                case "desc": return (attribute, true)
                default: throw HTTPError(.badRequest, message: "sort: direction must be asc or desc: \(key)")
                }
            }
        }
        offset = try Self.integer(parameters, "offset") ?? 0
        limit = min(try Self.integer(parameters, "limit") ?? 10, Self.maximumLimit)
    }

    /// A non-negative integer parameter.
    static func integer(_ parameters: Parameters, _ name: String) throws -> Int? {
        guard let text = parameters.get(name), !text.isEmpty else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw HTTPError(.badRequest, message: "\(name) must be a non-negative integer: \(text)")
        }
        return value
    }

    /// The request-id conditions for the store (``Trail/RequestIDs``): the ids of plain filters
    /// narrow the read on the index; any filter or sort on a request id reads the ids of records
    /// stored before they were indexed from their bytes.
    var requestIDs: Trail.RequestIDs {
        func value(_ attribute: EventAttribute) -> String? {
            filters.first { $0.attribute == attribute && !$0.negated }?.value
        }
        let uses = filters.contains { [.requestID, .globalRequestID].contains($0.attribute) }
            || sort.contains { [.requestID, .globalRequestID].contains($0.attribute) }
        return Trail.RequestIDs(requestID: value(.requestID), globalRequestID: value(.globalRequestID), resolve: uses)
    }

    /// Whether any filter or sort key reads the events' bodies.
    var needsBodies: Bool { filters.contains { $0.attribute.needsBody } || sort.contains { $0.attribute.needsBody } }

    /// Whether `call` (final event body `payload`) passes every filter and time bound.
    func matches(_ call: Trail.Call, payload: [String: Any]?) -> Bool {
        for filter in filters where (filter.attribute.value(of: call, payload: payload) == filter.value) == filter.negated {
            return false
        }
        return times.allSatisfy { $0.holds(call.eventTime) }
    }

    /// Whether `a` sorts before `b`: by the sort keys (absent values first, times as numbers),
    /// then by id, so that offsets page a stable order.
    func before(_ a: (call: Trail.Call, payload: [String: Any]?), _ b: (call: Trail.Call, payload: [String: Any]?)) -> Bool {
        for (attribute, descending) in sort {
            let order: Bool?
            if attribute == .time {
                let (x, y) = (a.call.eventTime ?? .min, b.call.eventTime ?? .min)
                order = x == y ? nil : x < y
            } else {
                let (x, y) = (attribute.value(of: a.call, payload: a.payload), attribute.value(of: b.call, payload: b.payload))
                order = x == y ? nil : (x ?? "") < (y ?? "") || x == nil
            }
            if let order { return order != descending }
        }
        return a.call.id < b.call.id
    }
}
