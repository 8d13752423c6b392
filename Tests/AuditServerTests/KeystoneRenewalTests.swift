// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditServer
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// The server's own Keystone token, against a scripted Keystone on a loopback port (a real one
/// cannot be told to issue short-lived tokens or refuse a service token on demand): it is got
/// once, renewed when Keystone refuses it, and renewed before it expires.
@Suite struct KeystoneRenewalTests {
    /// What the scripted Keystone does and has seen.
    actor Script {
        var logins = 0
        var lifetime: TimeInterval = 3600
        var revoked: Set<String> = []
        var validations: [String] = []

        func login() -> (token: String, expiresAt: String) {
            logins += 1
            let formatter = ISO8601DateFormatter()
            return ("svc-\(logins)", formatter.string(from: Date().addingTimeInterval(lifetime)))
        }

        func validate(service: String) -> Bool {
            validations.append(service)
            return !revoked.contains(service)
        }

        func revoke(_ token: String) { revoked.insert(token) }
        func setLifetime(_ seconds: TimeInterval) { lifetime = seconds }
    }

    @Test func theServiceTokenIsRenewedWhenRefusedAndBeforeItExpires() async throws {
        let script = Script()
        let router = Router()
        router.post("/v3/auth/tokens") { _, _ -> Response in
            let (token, expiresAt) = await script.login()
            var headers = HTTPFields()
            headers[HTTPField.Name("X-Subject-Token")!] = token
            headers[.contentType] = "application/json"
            return Response(
                status: .created, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: #"{"token": {"expires_at": "\#(expiresAt)"}}"#)))
        }
        router.get("/v3/auth/tokens") { request, _ -> Response in
            let service = request.headers[HTTPField.Name("X-Auth-Token")!] ?? ""
            guard await script.validate(service: service) else { return Response(status: .unauthorized) }
            let body = #"{"token": {"project": {"id": "p1", "name": "web", "domain": {"id": "d1"}}, "roles": [{"name": "audit_viewer"}]}}"#
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        try await Application(router: router).test(.live) { keystone in
            let validator = KeystoneValidator(
                configuration: .init(
                    url: "http://127.0.0.1:\(keystone.port!)/v3/", user: "audit", password: "pw", project: "service",
                    cacheTTL: .zero))
            // One login for many validations (the TTL of zero asks Keystone every time).
            for _ in 0..<3 { #expect(try await validator.validate("caller")?.projectID == "p1") }
            #expect(await script.logins == 1)
            // A refused service token: one more login, and the caller is still validated.
            await script.revoke("svc-1")
            #expect(try await validator.validate("caller")?.roles == ["audit_viewer"])
            #expect(await script.logins == 2)
            // A service token about to expire is renewed before it is used.
            await script.setLifetime(60)
            await script.revoke("svc-2")
            _ = try await validator.validate("caller")
            #expect(await script.logins == 3)
            _ = try await validator.validate("caller")
            #expect(await script.logins == 4)
            #expect(await script.validations.suffix(1) == ["svc-4"])
        }
    }
}
