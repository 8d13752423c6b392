// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditStore
import Hummingbird

/// AuditTrail's own API over the pair view: `GET /v1/calls` and `GET /v1/calls/{id}`.
///
/// A call is written as `audit-trail query --json` writes it (``CallFormat/jsonLine(_:)``): its
/// attributes, state, status and latency, where each half came from, and both notifications as
/// stored.
struct CallsAPI: Sendable {
    let source: StoreSource

    /// Calls a page holds when the request does not say, and at most.
    static let defaultLimit = 100
    static let maximumLimit = 10_000

    /// `GET /v1/calls`: `{calls, next}`. Takes the command line's filters as parameters
    /// (`outcome=failure`, `since=1h`, `orphans=true`), `not=FILTER=VALUE` (repeatable),
    /// `sort`, `desc`, `limit` and the cursor `after` (`next` of the previous page, `null` on
    /// the last). Cursors page by sort key and id, so no page is capped by its position.
    func list(_ request: Request, visibility: Visibility) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = CallQuery()
        do {
            let now = StoreSource.now()
            for name in CallFilter.names {
                // `request_id` as Hermes spells it, or `request-id` as the command line does.
                guard let value = parameters.get(name) ?? parameters.get(name.replacing("-", with: "_")) else { continue }
                if name == "orphans" {
                    guard !["false", "0"].contains(value) else { continue }
                    query.filters.append(CallFilter(.orphan))
                } else {
                    query.filters.append(try CallFilter.parse(name, value, negated: false, now: now))
                }
            }
            for exclusion in parameters.getAll("not") { query.filters.append(try CallFilter.exclusion(exclusion, now: now)) }
            query.sort = try CallQuery.SortKey.named(parameters.get("sort") ?? "time")
        } catch {
            throw HTTPError(.badRequest, message: error.message)
        }
        query.descending = ["true", "1", ""].contains(parameters.get("desc") ?? "false")
        query.limit = min(try HermesQuery.integer(parameters, "limit") ?? Self.defaultLimit, Self.maximumLimit)
        query.after = parameters.get("after").flatMap { $0.isEmpty ? nil : $0 }
        let finalQuery = query
        // As the command line does: sorting by latency needs every response's body; any other
        // order sorts from the indexes and reads the bodies of the page's calls only.
        let body = try await source.read(
            "calls", visibility: visibility, indexOnly: finalQuery.sort != .latency,
            requestIDs: Trail.RequestIDs(filters: finalQuery.filters)
        ) { reader, trail -> Result<String, CallQuery.CursorError> in
            let page: CallQuery.Page
            do {
                page = try finalQuery.page(of: trail)
            } catch let error as CallQuery.CursorError {
                return .failure(error)
            }
            let latency = Trail.responseLatency()
            let lines = try page.calls.loadingBodies(from: reader, latency: latency).map(CallFormat.jsonLine)
            return .success(
                "{\"calls\": [\(lines.joined(separator: ", "))], \"next\": \(page.next.map(JSON.quote) ?? "null")}")
        }
        switch body {
        case .success(let text): return JSON.response(text)
        case .failure(let error): throw HTTPError(.badRequest, message: error.description)
        }
    }

    /// `GET /v1/calls/{id}`: `{call, copies, logs}`: the call (both notifications and their
    /// Kafka sources), every other stored copy of a half (a redelivery, or a conflict with other
    /// bytes), and for each log holding any of them whether it verifies (hash chains, digests,
    /// indexes, manifests: `audit-trail verify`) and its findings. 404 when the caller may see
    /// no notification with this id.
    func call(_ id: String, visibility: Visibility) async throws -> Response {
        let window = source.window
        let directory = source.directory
        let text = try await source.read("call") { reader -> String? in
            let stored = try reader.notifications(withId: id, visibility: visibility)
            guard !stored.isEmpty else { return nil }
            var call = Trail.Call(id: id)
            for record in stored { call.add(record) }
            call.settle(now: StoreSource.now(), window: window, latency: Trail.responseLatency())
            let kept = [call.request, call.response].compactMap { $0 }
            let copies = stored.filter { !kept.contains($0) }.map { copy in
                "{\"topic\": \(JSON.quote(copy.topic)), \"partition\": \(copy.partition), \"offset\": \(copy.record.offset)"
                    + ", \"conflict\": \(call.conflicts.contains(copy))}"
            }
            var logs: [String: (topic: String, partition: Int32)] = [:]
            for half in stored { logs["\(half.topic)/\(half.partition)"] = (half.topic, half.partition) }
            let report = StoreVerifier(directory: directory).verify()
            let verified = logs.sorted { $0.key < $1.key }.map { _, log in
                let findings = report.findings.filter { $0.topic == log.topic && $0.partition == log.partition }
                return "{\"topic\": \(JSON.quote(log.topic)), \"partition\": \(log.partition)"
                    + ", \"verifies\": \(findings.isEmpty), \"findings\": ["
                    + findings.map { JSON.quote($0.description) }.joined(separator: ", ") + "]}"
            }
            return "{\"call\": \(CallFormat.jsonLine(call)), \"copies\": [\(copies.joined(separator: ", "))]"
                + ", \"logs\": [\(verified.joined(separator: ", "))]}"
        }
        guard let text else { throw HTTPError(.notFound, message: "no call \(id)") }
        return JSON.response(text)
    }
}
