// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditServer
import AuditStore
import AuditTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `request_id` and `global_request_id` on `/v1/calls` and `/v1/events`, and `--request-id` on
/// the command line: each finds exactly the call carrying the id, within the caller's scope.
@Suite struct RequestIDAPITests {
    static let fixture = Result { try ServerFixture(seed: 23, calls: 300) }

    /// `initiator.request_id` of each call, read from its notification.
    static func requestIDs(_ fixture: ServerFixture) -> [String: String] {
        var out: [String: String] = [:]
        for call in fixture.calls {
            guard let bytes = (call.request ?? call.response)?.record.bytes,
                let id = EventPayload.text(EventPayload.object(from: bytes), ["initiator", "request_id"])
            else { continue }
            out[call.id] = id
        }
        return out
    }

    @Test func theAPIAndTheCommandLineFindExactlyTheCallOfARequestID() async throws {
        let fixture = try Self.fixture.get()
        let ids = Self.requestIDs(fixture)
        #expect(ids.count == fixture.calls.count)
        let picked = Array(fixture.calls.prefix(40).enumerated().filter { $0.offset % 13 == 0 }.map(\.element))
        try await fixture.server().application().test(.router) { client in
            for call in picked {
                let requestID = try #require(ids[call.id])
                let project = try #require(call.fields?.projectId)
                // The API's and Hermes' spelling, and the command line's.
                for parameter in ["request_id", "request-id"] {
                    let page = try await client.get("/v1/calls?\(parameter)=\(encoded(requestID))", token: "admin").object
                    let calls = page["calls"] as? [[String: Any]] ?? []
                    #expect(calls.map { $0["id"] as? String } == [call.id])
                }
                let events = try await client.get("/v1/events?request_id=\(encoded(requestID))", token: "admin").object
                #expect(events["total"] as? Int == 1)
                #expect((events["events"] as? [[String: Any]])?.first?["id"] as? String == call.id)
                let negated = try await client.get("/v1/events?request_id=!\(encoded(requestID))&limit=1", token: "admin").object
                #expect(negated["total"] as? Int == fixture.calls.count - 1)
                // Within its project's scope, and not from another project's token.
                let own = try await client.get("/v1/calls?request_id=\(encoded(requestID))", token: "project-\(project)").object
                #expect((own["calls"] as? [[String: Any]])?.count == 1)
                let other = try #require(fixture.projects.first { $0 != project })
                let foreign = try await client.get("/v1/calls?request_id=\(encoded(requestID))", token: "project-\(other)").object
                #expect((foreign["calls"] as? [[String: Any]])?.isEmpty == true)

                let cli = try auditTrail(["query", "--data", fixture.directory, "--request-id", requestID, "--json"])
                #expect(cli.status == 0)
                let printed = try cli.lines.map {
                    try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(printed.map { $0?["id"] as? String } == [call.id])
                let export = try auditTrail(["export", "--data", fixture.directory, "--request-id", requestID, "--format", "ecs"])
                #expect(export.lines.count == 1 && export.lines[0].contains(requestID))
            }
            let none = try await client.get("/v1/calls?global_request_id=req-no-such", token: "admin").object
            #expect((none["calls"] as? [[String: Any]])?.isEmpty == true)
            let values = try await client.get("/v1/attributes/request_id?limit=1000", token: "admin").json as? [String]
            #expect(Set(values ?? []) == Set(ids.values))
        }
    }
}
