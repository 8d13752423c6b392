// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditQuery
import AuditStore
import Foundation
import Hummingbird

/// Hermes' v1 API (`/v1/events`, `/v1/events/{id}`, `/v1/attributes/{name}`), so that its clients
/// (Elektra's audit view, the OpenStack CLI plugin, hermescli) read this trail.
///
/// An event is a call's final CADF event: its response, or its request while no response is
/// stored. Every read is made with the caller's ``Visibility``.
struct EventsAPI: Sendable {
    let source: StoreSource

    /// `GET /v1/events`: `{events, total, next, previous}`, `next`/`previous` only where there is
    /// such a page.
    func list(_ request: Request, visibility: Visibility) async throws -> Response {
        let now = StoreSource.now()
        let query = try HermesQuery(request.uri.queryParameters, now: now)
        let (items, total) = try await source.read("events", visibility: visibility, requestIDs: query.requestIDs) { reader, trail in
            var rows: [(call: Trail.Call, payload: [String: Any]?)] = []
            for call in trail.calls {
                let payload = query.needsBodies ? try Self.payload(of: call, reader) : nil
                if query.matches(call, payload: payload) { rows.append((call, payload)) }
            }
            var order = Array(rows.indices)
            order.sort { query.before(rows[$0], rows[$1]) }
            let page = order.dropFirst(query.offset).prefix(query.limit)
            let items = try page.map { index in
                let row = rows[index]
                return try Self.listItem(row.payload ?? Self.payload(of: row.call, reader), call: row.call)
            }
            return (try JSON.text(items), rows.count)
        }
        var body = "{\"events\": \(items), \"total\": \(total)"
        if query.offset + query.limit < total {
            body += ", \"next\": \(JSON.quote(Self.link(request, offset: query.offset + query.limit, limit: query.limit)))"
        }
        if query.offset > 0 {
            body += ", \"previous\": \(JSON.quote(Self.link(request, offset: max(0, query.offset - query.limit), limit: query.limit)))"
        }
        return JSON.response(body + "}")
    }

    /// `GET /v1/events/{id}`: the full CADF event; 400 when `id` is not a UUID, 404 when no
    /// event the caller may see has it.
    func event(_ id: String, visibility: Visibility) async throws -> Response {
        guard UUID(uuidString: id) != nil else { throw HTTPError(.badRequest, message: "not a UUID: \(id)") }
        let text = try await source.read("event") { reader -> String? in
            let stored = try reader.notifications(withId: id, visibility: visibility)
            guard let final = stored.first(where: { $0.record.fields?.eventType == .response }) ?? stored.first,
                let bytes = final.record.bytes
            else { return nil }
            // The stored event written back from the strict parser's tape; Foundation only for
            // what that parser refuses (nothing the worker stored as a notification).
            if let text = CADFEventText.json(from: bytes) { return String(decoding: text, as: UTF8.self) }
            return try EventPayload.object(from: bytes).map(JSON.text)
        }
        guard let text else { throw HTTPError(.notFound, message: "no event \(id)") }
        return JSON.response(text)
    }

    /// `GET /v1/attributes/{name}`: the distinct values of an attribute over the events the
    /// caller may see, sorted, cut to `max_depth` levels and `limit` values (default 50).
    func attributes(_ name: String, _ request: Request, visibility: Visibility) async throws -> Response {
        guard let attribute = EventAttribute(rawValue: name), attribute != .time else {
            throw HTTPError(
                .notFound,
                message: "unknown attribute \(name): \(EventAttribute.filters.map(\.rawValue).joined(separator: ", "))")
        }
        let parameters = request.uri.queryParameters
        let depth = try HermesQuery.integer(parameters, "max_depth")
        let limit = try HermesQuery.integer(parameters, "limit") ?? 50
        let requestIDs = Trail.RequestIDs(resolve: attribute == .requestID || attribute == .globalRequestID)
        let values = try await source.read("attributes", visibility: visibility, requestIDs: requestIDs) { reader, trail in
            var values = Set<String>()
            for call in trail.calls {
                let payload = attribute.needsBody ? try Self.payload(of: call, reader) : nil
                guard var value = attribute.value(of: call, payload: payload) else { continue }
                if let depth, attribute.isHierarchical {
                    value = value.split(separator: "/", omittingEmptySubsequences: false).prefix(max(1, depth))
                        .joined(separator: "/")
                }
                values.insert(value)
            }
            return Array(values.sorted().prefix(limit))
        }
        return JSON.response(try JSON.text(values))
    }

    /// The body of `call`'s final event.
    static func payload(of call: Trail.Call, _ reader: StoreReader) throws -> [String: Any]? {
        guard let half = call.response ?? call.request else { return nil }
        if let bytes = half.record.bytes, !bytes.isEmpty { return EventPayload.object(from: bytes) }
        guard let record = try reader.record(topic: half.topic, partition: half.partition, offset: half.record.offset),
            let bytes = record.bytes
        else { return nil }
        return EventPayload.object(from: bytes)
    }

    /// Hermes' list item: id, eventTime, action, outcome, and the type URI, id and name of the
    /// initiator, target and observer.
    static func listItem(_ payload: [String: Any]?, call: Trail.Call) -> [String: Any] {
        var item: [String: Any] = ["id": call.id, "outcome": call.outcome]
        item["eventTime"] = payload?["eventTime"] ?? call.eventTime.map(CallFormat.utcText)
        item["action"] = payload?["action"] ?? call.fields?.action
        for resource in ["initiator", "target", "observer"] {
            guard let object = payload?[resource] as? [String: Any] else { continue }
            item[resource] = object.filter { ["typeURI", "id", "name"].contains($0.key) }
        }
        return item
    }

    /// This request's URL with another offset and limit.
    static func link(_ request: Request, offset: Int, limit: Int) -> String {
        var parts = (request.uri.query ?? "").split(separator: "&").filter {
            !$0.hasPrefix("offset=") && !$0.hasPrefix("limit=") && $0 != "offset" && $0 != "limit"
        }.map(String.init)
        parts += ["offset=\(offset)", "limit=\(limit)"]
        let path = request.uri.path + "?" + parts.joined(separator: "&")
        return request.head.authority.map { "http://\($0)\(path)" } ?? path
    }
}
