// AuditTrail — read-side tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
@testable import AuditStore
import AuditTesting
import Foundation
import Testing

/// `--request-id` and `--global-request-id`: the pair view narrowed on the index finds exactly
/// the calls carrying the id, and a store whose sealed indexes predate request ids still
/// answers exactly (their notifications' ids are read from the bytes).
@Suite struct RequestIDFilterTests {
    /// The calls of `known` a filter must find.
    static func expected(_ known: KnownCalls, _ filter: CallFilter) -> [String] {
        known.calls.filter { call in
            let holds: Bool
            switch filter.condition {
            case .requestID(let id): holds = call.requestID == id
            case .globalRequestID(let id): holds = call.globalRequestID == id
            default: holds = false
            }
            return holds != filter.negated
        }.map(\.id).sorted()
    }

    static func answer(_ directory: String, _ filters: [CallFilter], lastTime: Int64) throws -> [String] {
        let reader = try AuditStore(directory: directory).reader()
        let trail = try Trail(
            reader: reader, window: 1_000_000, now: lastTime + 60_000_000, indexOnly: true,
            requestIDs: Trail.RequestIDs(filters: filters))
        var query = CallQuery()
        query.filters = filters
        return try query.page(of: trail.calls).calls.map(\.id).sorted()
    }

    static func filters(_ known: KnownCalls) -> [CallFilter] {
        let globals = Set(known.calls.compactMap(\.globalRequestID)).sorted()
        var out: [CallFilter] = []
        for call in [known.calls[0], known.calls[6], known.calls[33], known.calls[known.calls.count - 1]] {
            out.append(CallFilter(.requestID(call.requestID!)))
        }
        for global in globals.prefix(3) { out.append(CallFilter(.globalRequestID(global))) }
        out.append(CallFilter(.requestID("req-no-such")))
        out.append(CallFilter(.requestID(known.calls[6].requestID!), negated: true))
        return out
    }

    @Test(arguments: [2, 1])
    func aRequestIDFilterFindsExactlyItsCalls(indexVersion: Int) throws {
        let directory = NSTemporaryDirectory() + "request-ids-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = StoreOptions()
        options.indexVersion = indexVersion
        let known = try KnownCalls.write(directory: directory, count: 120, orphanEvery: 7, sealEvery: 25, options: options)
        #expect(known.calls.contains { $0.globalRequestID != nil })
        #expect(known.calls.allSatisfy { $0.requestID != nil })
        for filter in Self.filters(known) {
            let expected = Self.expected(known, filter)
            #expect(try Self.answer(directory, [filter], lastTime: known.lastTime) == expected, "\(filter)")
        }
        // Both at once: the call whose request carries both.
        let traced = try #require(known.calls.first { $0.globalRequestID != nil })
        let both = [CallFilter(.requestID(traced.requestID!)), CallFilter(.globalRequestID(traced.globalRequestID!))]
        #expect(try Self.answer(directory, both, lastTime: known.lastTime) == [traced.id])
    }

    @Test func theFilterNamesParse() throws {
        #expect(try CallFilter.parse("request-id", "req-1", negated: false, now: 0).condition == .requestID("req-1"))
        #expect(try CallFilter.parse("global-request-id", "req-2", negated: true, now: 0).description == "not global-request-id=req-2")
        let narrowing = Trail.RequestIDs(filters: [
            CallFilter(.requestID("a")), CallFilter(.globalRequestID("b"), negated: true),
        ])
        #expect(narrowing == Trail.RequestIDs(requestID: "a", globalRequestID: nil, resolve: true))
        #expect(!Trail.RequestIDs(filters: [CallFilter(.outcome("success"))]).resolve)
    }
}
