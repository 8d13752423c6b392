// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditServer
import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Testing

/// `serve --oidc-jwks`: tokens signed in the test with ES256 and EdDSA keys whose public halves
/// are in a JWKS file.
@Suite struct OIDCAuthTests {
    static let issuer = "https://idp.example/realms/cloud"
    static let audience = "audit-trail"

    /// The claims a test token carries; `nil` leaves a claim out.
    struct Claims: JWTPayload {
        var iss: String? = OIDCAuthTests.issuer
        var aud: [String]? = ["other-client", OIDCAuthTests.audience]
        var exp: Double? = Date().timeIntervalSince1970 + 600
        var nbf: Double? = Date().timeIntervalSince1970 - 60
        var projectID: String?
        var domainID: String?
        var roles: [String]? = ["audit_viewer"]
        var projects: [String]?

        enum CodingKeys: String, CodingKey {
            case iss, aud, exp, nbf, roles, projects
            case projectID = "project_id"
            case domainID = "domain_id"
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// Signing keys (private halves) and the JWKS file of their public halves.
    struct Keys {
        let signers = JWTKeyCollection()
        let ec = ES256PrivateKey()
        let ed: EdDSA.PrivateKey
        let stranger = ES256PrivateKey()
        let jwks = NSTemporaryDirectory() + "audit-jwks-" + UUID().uuidString + ".json"

        init() async throws {
            ed = try EdDSA.PrivateKey()
            await signers.add(ecdsa: ec, kid: "ec-1")
            await signers.add(eddsa: ed, kid: "ed-1")
            // Not in the JWKS: a key the identity provider never published...
            await signers.add(ecdsa: stranger, kid: "unknown-1")
            // ... and a stranger's key claiming a published kid.
            let forger = JWTKeyCollection()
            await forger.add(ecdsa: stranger, kid: "ec-1")
            self.forger = forger
            try write([Self.jwk(ec, kid: "ec-1"), Self.jwk(ed, kid: "ed-1")])
        }

        let forger: JWTKeyCollection

        func write(_ keys: [[String: String]]) throws {
            try JSONSerialization.data(withJSONObject: ["keys": keys]).write(to: URL(fileURLWithPath: jwks))
        }

        static func jwk(_ key: ES256PrivateKey, kid: String) -> [String: String] {
            let parameters = key.publicKey.parameters!
            return ["kty": "EC", "crv": "P-256", "x": parameters.x, "y": parameters.y, "kid": kid, "alg": "ES256", "use": "sig"]
        }

        static func jwk(_ key: EdDSA.PrivateKey, kid: String) -> [String: String] {
            let x = key.publicKey.rawRepresentation.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            return ["kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"]
        }

        func sign(_ claims: Claims, kid: String = "ec-1") async throws -> String {
            try await signers.sign(claims, kid: JWKIdentifier(string: kid))
        }
    }

    static func server(_ fixture: ServerFixture, jwks: String, domains: [String: Set<String>] = [:]) -> ReadServer {
        let validator = OIDCValidator(
            configuration: .init(jwks: jwks, issuer: issuer, audience: audience, domains: domains))
        return ReadServer(configuration: .init(data: fixture.directory, validator: validator))
    }

    @Test func validTokensReadTheirScopeAndOthersAreRefused() async throws {
        let fixture = try ServerFixture(seed: 21, calls: 120)
        let keys = try await Keys()
        defer { try? FileManager.default.removeItem(atPath: keys.jwks) }
        let project = fixture.projects[0]
        let domain = fixture.domainOf[project]!
        let inDomain = Set(fixture.domainOf.filter { $0.value == domain }.map(\.key))
        let ownCount = fixture.projectOf.values.filter { $0 == project }.count
        let domainCount = fixture.projectOf.values.filter { inDomain.contains($0) }.count
        let now = Date().timeIntervalSince1970

        let valid = try await keys.sign(Claims(projectID: project))
        let validEd = try await keys.sign(Claims(projectID: project), kid: "ed-1")
        let listedDomain = try await keys.sign(Claims(domainID: domain, projects: Array(inDomain)))
        let mappedDomain = try await keys.sign(Claims(domainID: domain), kid: "ed-1")
        let refused: [(String, String)] = [
            ("expired", try await keys.sign(Claims(exp: now - 5, projectID: project))),
            ("without exp", try await keys.sign(Claims(exp: nil, projectID: project))),
            ("not yet valid", try await keys.sign(Claims(nbf: now + 300, projectID: project))),
            ("wrong issuer", try await keys.sign(Claims(iss: "https://other.example", projectID: project))),
            ("no issuer", try await keys.sign(Claims(iss: nil, projectID: project))),
            ("wrong audience", try await keys.sign(Claims(aud: ["other-client"], projectID: project))),
            ("unknown kid", try await keys.sign(Claims(projectID: project), kid: "unknown-1")),
            ("forged", try await keys.forger.sign(Claims(projectID: project), kid: JWKIdentifier(string: "ec-1"))),
            ("tampered", Self.tamper(valid)),
            ("not a JWT", "abc.def"),
        ]
        let noRole = try await keys.sign(Claims(projectID: project, roles: ["member"]))
        let unscoped = try await keys.sign(Claims())

        try await Self.server(fixture, jwks: keys.jwks, domains: [domain: inDomain]).application().test(.router) { client in
            let reply = try await client.get("/v1/events?limit=1", token: valid, bearer: true)
            #expect(reply.status == .ok)
            #expect(reply.object["total"] as? Int == ownCount)
            #expect(try await client.get("/v1/events?limit=1", token: validEd, bearer: true).object["total"] as? Int == ownCount)
            // X-Auth-Token carries a JWT as well.
            #expect(try await client.get("/v1/calls?limit=1", token: valid).status == .ok)
            #expect(try await client.get("/v1/events?limit=1", token: listedDomain, bearer: true).object["total"] as? Int == domainCount)
            #expect(try await client.get("/v1/events?limit=1", token: mappedDomain, bearer: true).object["total"] as? Int == domainCount)
            for (name, token) in refused {
                #expect(try await client.get("/v1/events", token: token, bearer: true).status == .unauthorized, "\(name)")
            }
            #expect(try await client.get("/v1/events", token: noRole, bearer: true).status == .forbidden)
            #expect(try await client.get("/v1/events", token: unscoped, bearer: true).status == .forbidden)
            let other = fixture.projects.first { $0 != project }!
            #expect(try await client.get("/v1/events?project_id=\(other)", token: valid, bearer: true).status == .forbidden)
        }
    }

    /// A key published after the server read the JWKS (a rotation) is found by reading it again
    /// when a token names it; a JWKS that cannot be read is a 503, not a 401.
    @Test func anUnknownKidReadsTheKeySetAgain() async throws {
        let fixture = try ServerFixture(seed: 22, calls: 40)
        let keys = try await Keys()
        defer { try? FileManager.default.removeItem(atPath: keys.jwks) }
        let project = fixture.projects[0]
        let validator = OIDCValidator(
            configuration: .init(jwks: keys.jwks, issuer: Self.issuer, audience: Self.audience, refetchInterval: .zero))
        let server = ReadServer(configuration: .init(data: fixture.directory, validator: validator))
        let rotated = try await keys.sign(Claims(projectID: project), kid: "unknown-1")
        let known = try await keys.sign(Claims(projectID: project))
        try await server.application().test(.router) { client in
            #expect(try await client.get("/v1/events", token: known, bearer: true).status == .ok)
            #expect(try await client.get("/v1/events", token: rotated, bearer: true).status == .unauthorized)
            try keys.write([Keys.jwk(keys.ec, kid: "ec-1"), Keys.jwk(keys.stranger, kid: "unknown-1")])
            #expect(try await client.get("/v1/events", token: rotated, bearer: true).status == .ok)
        }
        let missing = OIDCValidator(configuration: .init(jwks: "/no/such/jwks.json", issuer: Self.issuer, audience: Self.audience))
        let token = try await keys.sign(Claims(projectID: project))
        try await ReadServer(configuration: .init(data: fixture.directory, validator: missing)).application().test(.router) { client in
            let reply = try await client.get("/v1/events", token: token, bearer: true)
            #expect(reply.status == .serviceUnavailable)
        }
    }

    /// The JWKS fetched from an HTTP URL (here a live server on a loopback port) serves as
    /// the file does.
    @Test func theKeySetIsFetchedFromAURL() async throws {
        let fixture = try ServerFixture(seed: 23, calls: 40)
        let keys = try await Keys()
        defer { try? FileManager.default.removeItem(atPath: keys.jwks) }
        let project = fixture.projects[0]
        let valid = try await keys.sign(Claims(projectID: project))
        let unknown = try await keys.sign(Claims(projectID: project), kid: "unknown-1")
        let published = try String(contentsOfFile: keys.jwks, encoding: .utf8)
        let router = Router()
        router.get("/jwks.json") { _, _ in published }
        try await Application(router: router).test(.live) { idp in
            let url = "http://127.0.0.1:\(idp.port!)/jwks.json"
            let validator = OIDCValidator(configuration: .init(jwks: url, issuer: Self.issuer, audience: Self.audience))
            let server = ReadServer(configuration: .init(data: fixture.directory, validator: validator))
            try await server.application().test(.router) { client in
                let reply = try await client.get("/v1/events", token: valid, bearer: true)
                #expect(reply.status == .ok)
                #expect(try await client.get("/v1/events", token: unknown, bearer: true).status == .unauthorized)
            }
        }
    }

    /// Flips a character of the payload, keeping the signature.
    static func tamper(_ token: String) -> String {
        var parts = token.split(separator: ".").map(String.init)
        var payload = Array(parts[1])
        payload[10] = payload[10] == "A" ? "B" : "A"
        parts[1] = String(payload)
        return parts.joined(separator: ".")
    }
}
