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

/// Scoping (issue 18 item 3): no response ever holds an event of a project the token may not
/// see, and tokens that may not read get 401 or 403.
@Suite struct ScopingTests {
    /// Random stores (12 projects in 2 domains), random tokens, random requests of every route,
    /// page, sort and filter: every call or event in a response belongs to a visible project.
    @Test(arguments: [UInt64(3), 8])
    func noResponseHoldsAnEventOfAProjectTheTokenMayNotSee(seed: UInt64) async throws {
        let fixture = try ServerFixture(seed: seed, calls: 300)
        #expect(fixture.projects.count >= 5)
        #expect(Set(fixture.domainOf.values).count == 2)
        var random = SeededRandom(seed: seed &* 31)
        let readers = fixture.tokens.filter { $0.cloudAdmin || ($0.roles.contains("audit_viewer") && $0.expiresAt == nil && ($0.projectID ?? $0.domainID) != nil) }
        let allIDs = fixture.calls.map(\.id)
        let eventSorts = ["time", "observer_type", "target_type", "target_id", "initiator_type", "initiator_id", "initiator_name", "action", "outcome", "request_path"]
        let callSorts = CallQuery.SortKey.allCases.map(\.rawValue)
        let attributes = ["observer_type", "target_type", "target_id", "initiator_id", "initiator_type", "initiator_name", "action", "outcome", "request_path"]
        // The requests, drawn before the server runs (the generator is not Sendable).
        struct Plan: Sendable {
            var token: TokenFile.Token
            var scope: String
            var visible: Set<String>?
            var uris: [String]
            var ids: [String]
        }
        var plans: [Plan] = []
        for _ in 0..<10 {
            let token = readers.randomElement(using: &random)!
            var visible = fixture.visible(to: token)
            var scope = ""
            // An admin picks a project or a domain half of the time.
            if token.cloudAdmin, Bool.random(using: &random) {
                if Bool.random(using: &random) {
                    let project = fixture.projects.randomElement(using: &random)!
                    scope = "&project_id=\(project)"
                    visible = [project]
                } else {
                    let domain = ServerFixture.domains.randomElement(using: &random)!
                    scope = "&domain_id=\(domain)"
                    visible = Set(fixture.domainOf.filter { $0.value == domain }.map(\.key))
                }
            }
            var uris: [String] = []
            for _ in 0..<4 {
                let keys = (0..<Int.random(in: 1...2, using: &random)).map { _ in
                    eventSorts.randomElement(using: &random)! + (Bool.random(using: &random) ? ":desc" : ":asc")
                }
                let filter = ["", "&outcome=!failure", "&outcome=success", "&time=gte:2020-01-01T00:00:00,lt:2030-01-01T00:00:00"].randomElement(using: &random)!
                uris.append("/v1/events?sort=\(keys.joined(separator: ","))&offset=\(Int.random(in: 0..<40, using: &random))&limit=\(Int.random(in: 1...100, using: &random))\(filter)\(scope)")
                let attribute = attributes.randomElement(using: &random)!
                uris.append("/v1/attributes/\(attribute)?limit=1000\(Bool.random(using: &random) ? "&max_depth=1" : "")\(scope)")
                let sort = callSorts.randomElement(using: &random)!
                uris.append("/v1/calls?sort=\(sort)&desc=\(Bool.random(using: &random))&limit=\(Int.random(in: 1...60, using: &random))\(scope)")
            }
            let ids = (0..<3).map { _ in allIDs.randomElement(using: &random)! }
            plans.append(Plan(token: token, scope: scope, visible: visible, uris: uris, ids: ids))
        }
        let projectOf = fixture.projectOf
        // Attribute values of the visible calls, computed from the store apart from the server.
        let calls = fixture.calls
        func values(_ attribute: String, _ visible: Set<String>?, depth: Int?) -> Set<String> {
            var out = Set<String>()
            for call in calls where visible.map({ $0.contains(projectOf[call.id] ?? "") }) ?? true {
                let payload = EventPayload.object(from: (call.response ?? call.request)?.record.bytes ?? [])
                let value: String?
                switch attribute {
                case "observer_type": value = EventPayload.text(payload, ["observer", "typeURI"])
                case "initiator_type": value = EventPayload.text(payload, ["initiator", "typeURI"])
                case "target_type": value = call.fields?.targetTypeURI
                case "target_id": value = call.fields?.targetId
                case "initiator_id": value = call.fields?.initiatorId
                case "initiator_name": value = call.fields?.initiatorName
                case "action": value = call.fields?.action
                case "outcome": value = call.outcome
                default: value = call.fields?.requestPath
                }
                guard var value else { continue }
                if let depth, ["observer_type", "target_type", "initiator_type", "action"].contains(attribute) {
                    value = value.split(separator: "/", omittingEmptySubsequences: false).prefix(depth).joined(separator: "/")
                }
                out.insert(value)
            }
            return out
        }
        var expectedValues: [String: Set<String>] = [:]
        for plan in plans {
            for uri in plan.uris where uri.hasPrefix("/v1/attributes/") {
                let name = String(uri.dropFirst("/v1/attributes/".count).prefix { $0 != "?" })
                expectedValues[uri + plan.token.token] = values(name, plan.visible, depth: uri.contains("max_depth=1") ? 1 : nil)
            }
        }
        let visibleCount = { (visible: Set<String>?) in
            projectOf.values.filter { project in visible.map { $0.contains(project) } ?? true }.count
        }
        let counts = Dictionary(plans.map { ($0.token.token + $0.scope, visibleCount($0.visible)) }) { a, _ in a }

        let plannedRequests = plans
        let attributeValues = expectedValues
        try await fixture.server().application().test(.router) { client in
            for plan in plannedRequests {
                let maySee = { (id: String) in plan.visible.map { $0.contains(projectOf[id] ?? "-") } ?? true }
                for uri in plan.uris {
                    let reply = try await client.get(uri, token: plan.token.token, bearer: uri.hasPrefix("/v1/calls"))
                    #expect(reply.status == .ok, "\(uri): \(reply.body)")
                    if uri.hasPrefix("/v1/events") {
                        let events = reply.object["events"] as? [[String: Any]] ?? []
                        for event in events { #expect(maySee(event["id"] as? String ?? "-"), "\(plan.token.token) \(uri)") }
                        if !uri.contains("outcome") {
                            #expect(reply.object["total"] as? Int == counts[plan.token.token + plan.scope], "\(uri)")
                        }
                    } else if uri.hasPrefix("/v1/attributes") {
                        let got = Set(reply.json as? [String] ?? ["(not a list)"])
                        #expect(got == attributeValues[uri + plan.token.token], "\(plan.token.token) \(uri)")
                    } else {
                        // Every page, following the cursor.
                        var page = reply.object
                        var seen = 0
                        while true {
                            for call in page["calls"] as? [[String: Any]] ?? [] {
                                let id = call["id"] as? String ?? "-"
                                #expect(maySee(id), "\(plan.token.token) \(uri)")
                                #expect(plan.visible.map { $0.contains(call["projectId"] as? String ?? "-") } ?? true)
                                seen += 1
                            }
                            guard let next = page["next"] as? String else { break }
                            let more = try await client.get(uri + "&after=\(next)", token: plan.token.token)
                            #expect(more.status == .ok)
                            page = more.object
                        }
                        #expect(seen == counts[plan.token.token + plan.scope], "\(uri)")
                    }
                }
                for id in plan.ids {
                    let event = try await client.get("/v1/events/\(id)?x=1\(plan.scope)", token: plan.token.token)
                    let call = try await client.get("/v1/calls/\(id)?x=1\(plan.scope)", token: plan.token.token)
                    if maySee(id) {
                        #expect(event.status == .ok && event.object["id"] as? String == id)
                        #expect(call.status == .ok && (call.object["call"] as? [String: Any])?["id"] as? String == id)
                    } else {
                        #expect(event.status == .notFound, "\(plan.token.token) sees \(id) of \(projectOf[id] ?? "-")")
                        #expect(call.status == .notFound)
                        #expect(!event.body.contains(id) || event.body.contains("no event"))
                    }
                }
            }
        }
    }

    @Test func tokensThatMayNotReadGet401Or403() async throws {
        let fixture = try ServerFixture(seed: 5, calls: 120)
        let project = fixture.projects[0]
        let other = fixture.projects.first { fixture.domainOf[$0] != fixture.domainOf[project] }!
        let routes = ["/v1/events", "/v1/events/\(fixture.calls[0].id)", "/v1/attributes/action", "/v1/calls", "/v1/calls/\(fixture.calls[0].id)"]
        try await fixture.server().application().test(.router) { client in
            // (A statement that throws outside #expect, so the closure is a throwing one.)
            let health = try await client.get("/healthz", token: nil)
            #expect(health.status == .ok)
            for route in routes {
                #expect(try await client.get(route, token: nil).status == .unauthorized, "\(route)")
                #expect(try await client.get(route, token: "no-such-token").status == .unauthorized)
                #expect(try await client.get(route, token: "no-such-token", bearer: true).status == .unauthorized)
                #expect(try await client.get(route, token: "expired").status == .unauthorized)
                #expect(try await client.get(route, token: "no-role").status == .forbidden)
                #expect(try await client.get(route, token: "unscoped").status == .forbidden)
                let separator = route.contains("?") ? "&" : "?"
                // A non-admin's override of its scope.
                #expect(try await client.get(route + "\(separator)project_id=\(other)", token: "project-\(project)").status == .forbidden)
                #expect(try await client.get(route + "\(separator)domain_id=\(fixture.domainOf[project]!)", token: "project-\(project)").status == .forbidden)
                let otherDomain = ServerFixture.domains.first { $0 != fixture.domainOf[project] }!
                #expect(try await client.get(route + "\(separator)domain_id=\(otherDomain)", token: "domain-\(fixture.domainOf[project]!)").status == .forbidden)
                #expect(try await client.get(route + "\(separator)project_id=\(other)", token: "domain-\(fixture.domainOf[project]!)").status == .forbidden)
            }
            // What a token may read it reads, with either header, and naming its own scope.
            #expect(try await client.get("/v1/events", token: "project-\(project)").status == .ok)
            #expect(try await client.get("/v1/events", token: "project-\(project)", bearer: true).status == .ok)
            #expect(try await client.get("/v1/events?project_id=\(project)", token: "project-\(project)").status == .ok)
            #expect(try await client.get("/v1/calls?project_id=\(project)", token: "domain-\(fixture.domainOf[project]!)").status == .ok)
            // Health and the document need no token.
            #expect(try await client.get("/healthz", token: nil).status == .ok)
            #expect(try await client.get("/openapi.json", token: nil).status == .ok)
        }
    }
}
