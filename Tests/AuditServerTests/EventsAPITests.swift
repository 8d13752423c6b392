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

/// Hermes' v1 API over the stored trail.
@Suite struct EventsAPITests {
    @Test func listsFiltersSortsAndPagesAsHermesDoes() async throws {
        let fixture = try CallsAPITests.fixture.get()
        let calls = fixture.calls
        try await fixture.server().application().test(.router) { client in
            let first = try await client.get("/v1/events?limit=5&offset=5", token: "admin")
            #expect(first.status == .ok)
            #expect(first.object["total"] as? Int == calls.count)
            let events = first.object["events"] as? [[String: Any]] ?? []
            #expect(events.count == 5)
            // Hermes' list item.
            let item = try #require(events.first)
            #expect(Set(item.keys).isSuperset(of: ["id", "eventTime", "action", "outcome", "initiator", "target", "observer"]))
            #expect((item["initiator"] as? [String: Any])?["typeURI"] is String)
            #expect((first.object["next"] as? String)?.hasSuffix("offset=10&limit=5") == true)
            #expect((first.object["previous"] as? String)?.hasSuffix("offset=0&limit=5") == true)
            // Oldest first by default; newest first with time:desc.
            let byTime = calls.sorted { ($0.eventTime ?? 0, $0.id) < ($1.eventTime ?? 0, $1.id) }.map(\.id)
            #expect(events.map { $0["id"] as? String } == byTime[5..<10].map { $0 })
            let newest = try await client.get("/v1/events?sort=time:desc&limit=3", token: "admin")
            let newestIDs = (newest.object["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(newestIDs.first.flatMap { id in calls.first { $0.id == id }?.eventTime } == calls.compactMap(\.eventTime).max())
            #expect(newest.object["previous"] == nil)
            // Negation splits the events.
            let failed = try await client.get("/v1/events?outcome=failure", token: "admin").object["total"] as? Int ?? -1
            let notFailed = try await client.get("/v1/events?outcome=!failure", token: "admin").object["total"] as? Int ?? -1
            #expect(failed > 0 && failed + notFailed == calls.count)
            #expect(failed == calls.filter { $0.outcome == "failure" }.count)
            // Time bounds: the first third of the span.
            let span = fixture.sample.lastTime - fixture.sample.firstTime
            let cut = CallFormat.utcText(fixture.sample.firstTime + span / 3)
            let early = try await client.get("/v1/events?time=gte:2020-01-01T00:00:00,lt:\(cut)", token: "admin")
            let cutTime = fixture.sample.firstTime + span / 3
            #expect(early.object["total"] as? Int == calls.filter { ($0.eventTime ?? .max) < cutTime }.count)
            // An attribute of the body filters and sorts too (keystonemiddleware's observer has an id only).
            let initiatorType = try #require((item["initiator"] as? [String: Any])?["typeURI"] as? String)
            let typed = try await client.get("/v1/events?initiator_type=\(initiatorType)&sort=observer_type:desc,time", token: "admin")
            #expect(typed.status == .ok && (typed.object["total"] as? Int ?? 0) > 0)
            #expect((typed.object["events"] as? [[String: Any]] ?? []).allSatisfy {
                ($0["initiator"] as? [String: Any])?["typeURI"] as? String == initiatorType
            })
            #expect(try await client.get("/v1/events?sort=colour", token: "admin").status == .badRequest)
            #expect(try await client.get("/v1/events?limit=-1", token: "admin").status == .badRequest)
            #expect(try await client.get("/v1/events?time=gte:yesterday", token: "admin").status == .badRequest)
        }
    }

    @Test func anEventIsItsFullCADFPayload() async throws {
        let fixture = try CallsAPITests.fixture.get()
        let call = try #require(fixture.calls.first { $0.response != nil })
        try await fixture.server().application().test(.router) { client in
            let reply = try await client.get("/v1/events/\(call.id)", token: "admin")
            #expect(reply.status == .ok)
            #expect(reply.object["id"] as? String == call.id)
            #expect(reply.object["typeURI"] as? String == "http://schemas.dmtf.org/cloud/audit/1.0/event")
            #expect((reply.object["reason"] as? [String: Any])?["reasonCode"] as? String == call.response?.record.fields?.reasonCode)
            #expect(try await client.get("/v1/events/not-a-uuid", token: "admin").status == .badRequest)
            #expect(try await client.get("/v1/events/\(UUID().uuidString.lowercased())", token: "admin").status == .notFound)
        }
    }

    @Test func attributesAreDistinctValuesCutToADepth() async throws {
        let fixture = try CallsAPITests.fixture.get()
        try await fixture.server().application().test(.router) { client in
            let actions = try await client.get("/v1/attributes/action?limit=1000", token: "admin").json as? [String] ?? []
            #expect(Set(actions) == Set(fixture.calls.compactMap { $0.fields?.action }))
            #expect(actions == actions.sorted())
            let top = try await client.get("/v1/attributes/action?max_depth=1&limit=1000", token: "admin").json as? [String] ?? []
            #expect(Set(top) == Set(actions.map { String($0.split(separator: "/")[0]) }))
            let two = try await client.get("/v1/attributes/action?limit=2", token: "admin").json as? [String] ?? []
            #expect(two == Array(actions.prefix(2)))
            let types = try await client.get("/v1/attributes/initiator_type", token: "admin").json as? [String] ?? []
            #expect(!types.isEmpty)
            #expect(try await client.get("/v1/attributes/colour", token: "admin").status == .notFound)
        }
    }

    /// Each route's answer has the properties the OpenAPI document says it has.
    @Test func theOpenAPIDocumentDescribesTheResponses() async throws {
        let fixture = try CallsAPITests.fixture.get()
        let id = fixture.calls[0].id
        try await fixture.server().application().test(.router) { client in
            let document = try await client.get("/openapi.json", token: nil).object
            let paths = document["paths"] as? [String: Any] ?? [:]
            #expect(Set(paths.keys) == ["/healthz", "/metrics", "/openapi.json", "/v1/events", "/v1/events/{id}", "/v1/attributes/{name}", "/v1/calls", "/v1/calls/{id}"])
            let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
            func schema(_ path: String, _ status: String = "200") -> [String: Any] {
                let get = (paths[path] as? [String: Any])?["get"] as? [String: Any]
                let response = (get?["responses"] as? [String: Any])?[status] as? [String: Any]
                var schema = ((response?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any] ?? [:]
                if let reference = schema["$ref"] as? String { schema = schemas[String(reference.split(separator: "/").last!)] as? [String: Any] ?? [:] }
                return schema
            }
            func conforms(_ value: [String: Any], _ schema: [String: Any]) -> Bool {
                let required = schema["required"] as? [String] ?? []
                let properties = schema["properties"] as? [String: Any] ?? [:]
                return required.allSatisfy { value.keys.contains($0) } && value.keys.allSatisfy { properties.keys.contains($0) }
            }
            let cases = [
                ("/healthz", "/healthz"), ("/v1/events", "/v1/events?offset=2&limit=2"), ("/v1/events/{id}", "/v1/events/\(id)"),
                ("/v1/calls", "/v1/calls?limit=2"), ("/v1/calls/{id}", "/v1/calls/\(id)"),
            ]
            for (path, uri) in cases {
                let reply = try await client.get(uri, token: "admin")
                let documented = schema(path)
                #expect(reply.status == .ok)
                if path == "/v1/events/{id}" {
                    let required = documented["required"] as? [String] ?? []
                    #expect(required.allSatisfy { reply.object.keys.contains($0) })
                } else {
                    #expect(conforms(reply.object, documented), "\(path): \(reply.object.keys.sorted())")
                }
            }
            let callSchema = schemas["Call"] as? [String: Any] ?? [:]
            let calls = try await client.get("/v1/calls?limit=5", token: "admin").object["calls"] as? [[String: Any]] ?? []
            #expect(!calls.isEmpty && calls.allSatisfy { conforms($0, callSchema) })
            let itemSchema = schemas["EventListItem"] as? [String: Any] ?? [:]
            let events = try await client.get("/v1/events?limit=5", token: "admin").object["events"] as? [[String: Any]] ?? []
            #expect(!events.isEmpty && events.allSatisfy { conforms($0, itemSchema) })
            let error = try await client.get("/v1/events", token: nil)
            let errorSchema = ((((document["components"] as? [String: Any])?["responses"] as? [String: Any])?["Error"] as? [String: Any])?["content"] as? [String: Any]).flatMap { ($0["application/json"] as? [String: Any])?["schema"] as? [String: Any] } ?? [:]
            #expect(conforms(error.object, errorSchema))
        }
    }
}
