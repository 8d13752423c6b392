// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The cloud-admin rule (`serve --policy`): its language, and the server honouring it.
@Suite struct PolicyTests {
    @Test func rulesParseWithNotOverAndOverOr() throws {
        #expect(try PolicyRule(parsing: "role:a or role:b and not role:c").description == "role:a or (role:b and not role:c)")
        #expect(try PolicyRule(parsing: "(role:a or role:b) and role:c").description == "(role:a or role:b) and role:c")
        #expect(try PolicyRule(parsing: "not (role:a and project_name:admin)").description == "not (role:a and project_name:admin)")
        #expect(try PolicyRule(parsing: "  @ ") == .always)
        #expect(try PolicyRule(parsing: "!") == .never)
        #expect(try PolicyRule(parsing: "domain_id:d1 or domain_name:Default or project_id:p:1") == .or(.or(.check(.domainID, "d1"), .check(.domainName, "Default")), .check(.projectID, "p:1")))
        // What it prints parses back to the same rule.
        for text in ["role:a and (project_id:x or not is_admin_project:false)", "not not @", "(role:x)"] {
            let rule = try PolicyRule(parsing: text)
            #expect(try PolicyRule(parsing: rule.description) == rule)
        }
    }

    @Test(arguments: ["", "   ", "role:", "user_id:x", "role:a and", "(role:a", "role:a)", "and role:a", "role:a role:b", "is_admin_project:yes", "not"])
    func malformedRulesAreRefused(text: String) {
        #expect(throws: PolicyRule.ParseError.self) { try PolicyRule(parsing: text) }
    }

    @Test func rulesMatchTokens() throws {
        let admin = ValidatedToken(projectID: "p0", projectName: "admin", domainID: "default", domainName: "Default", roles: ["Admin", "reader"])
        let member = ValidatedToken(projectID: "p1", projectName: "web", domainID: "d1", roles: ["member"], isAdminProject: false)
        func holds(_ text: String, _ token: ValidatedToken) throws -> Bool { try PolicyRule(parsing: text).matches(token) }
        #expect(try holds("role:admin", admin))  // roles compare without case
        #expect(try !holds("role:admin", member))
        #expect(try holds("role:admin and project_name:admin", admin))
        #expect(try !holds("role:admin and project_name:Admin", admin))  // names do not
        #expect(try holds("project_id:p1 and domain_id:d1", member))
        #expect(try holds("domain_name:Default", admin))
        // A token that does not say is_admin_project counts as the admin project, as in OpenStack.
        #expect(try holds("is_admin_project:true", admin))
        #expect(try holds("is_admin_project:False", member))
        #expect(try holds("not role:member or @", member))
        #expect(try !holds("!", admin))
        #expect(try holds("@", member))
    }

    @Test func policyFilesNameTheirCloudAdminRule() throws {
        #expect(Policy().cloudAdmin == (try PolicyRule(parsing: Policy.defaultCloudAdminRule)))
        let policy = try Policy(parsing: Data(#"{"cloud_admin": "role:admin and project_name:admin", "event:list": "@"}"#.utf8))
        #expect(policy.cloudAdmin == .and(.check(.role, "admin"), .check(.projectName, "admin")))
        #expect(throws: Policy.LoadError.self) { try Policy(parsing: Data(#"{"admin": "role:admin"}"#.utf8)) }
        #expect(throws: Policy.LoadError.self) { try Policy(parsing: Data(#"{"cloud_admin": "role:admin and"}"#.utf8)) }
        #expect(throws: Policy.LoadError.self) { try Policy(parsing: Data("[]".utf8)) }
        #expect(throws: Policy.LoadError.self) { try Policy(path: "/no/such/policy.json") }
        // A backend's own grant (a token file's cloud_admin) holds whatever the rule says.
        #expect(Policy(cloudAdmin: .never).isCloudAdmin(ValidatedToken(cloudAdmin: true)))
    }

    /// The default rule, a configured one, and the token file's flag, each against the server:
    /// a cloud admin's `/v1/events` total is the store's, anyone else's is its project's.
    @Test func theServerHonoursTheRule() async throws {
        let fixture = try ServerFixture(seed: 11, calls: 120)
        let project = fixture.projects[0]
        let all = fixture.projectOf.count
        let own = fixture.projectOf.values.filter { $0 == project }.count
        let tokens = TokenFile(tokens: [
            .init(token: "auditor", projectID: project, roles: ["cloud_audit_viewer"]),
            .init(token: "operator", projectID: "ops", roles: ["admin"]),
            .init(token: "flagged", roles: [], cloudAdmin: true),
            .init(token: "viewer", projectID: project, roles: ["audit_viewer", "admin"]),
        ])
        func totals(_ policy: Policy) async throws -> [String: Int] {
            let server = ReadServer(configuration: .init(data: fixture.directory, tokens: tokens, policy: policy))
            return try await server.application().test(.router) { client in
                var totals: [String: Int] = [:]
                for token in ["auditor", "operator", "flagged", "viewer"] {
                    let reply = try await client.get("/v1/events?limit=1", token: token)
                    totals[token] = reply.status == .ok ? reply.object["total"] as? Int ?? -1 : -Int(reply.status.code)
                }
                // An admin chooses a project; not a viewer.
                #expect(try await client.get("/v1/events?project_id=\(project)", token: "flagged").object["total"] as? Int == own)
                #expect(try await client.get("/v1/events?project_id=elsewhere", token: "viewer").status == .forbidden)
                return totals
            }
        }
        #expect(try await totals(Policy()) == ["auditor": all, "operator": -403, "flagged": all, "viewer": own])
        let custom = try Policy(parsing: Data(#"{"cloud_admin": "role:admin and project_id:ops"}"#.utf8))
        #expect(try await totals(custom) == ["auditor": -403, "operator": all, "flagged": all, "viewer": own])
        #expect(try await totals(Policy(cloudAdmin: .never)) == ["auditor": -403, "operator": -403, "flagged": all, "viewer": own])
    }
}
