// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation

/// `serve --keystone`: tokens validated by OpenStack Keystone (`GET /v3/auth/tokens`), as
/// Hermes and every OpenStack service validate them.
///
/// The server holds a token of its own, got with the password method for its service account
/// and renewed before it expires (or when Keystone refuses it). A caller's token is sent as
/// `X-Subject-Token` beside it; Keystone's answer gives the project (id, name, domain), the
/// domain of a domain-scoped token, the roles, `is_admin_project` and `expires_at`. A 404 (an
/// unknown, expired or revoked token) is an unknown token (401); any other failure is a
/// validator that cannot answer (503).
///
/// Each answer, a refusal too, is kept for the cache TTL (`--token-cache-ttl`), never past the
/// token's expiry: a revoked token is refused at the latest one TTL after its revocation. The
/// projects of a domain come from `GET /v3/projects?domain_id=`, kept for the same TTL, so the
/// service account needs the right to list projects (Keystone's default policy: `admin`) and to
/// validate tokens (`service`, or `admin` with a system-wide reader).
public struct KeystoneValidator: TokenValidator {
    /// Where Keystone is and who the server is to it.
    public struct Configuration: Sendable {
        /// Keystone's public URL, with or without `/v3`.
        public var url: String
        /// The service account's user name.
        public var user: String
        /// Its password.
        public var password: String
        /// The project the service token is scoped to.
        public var project: String
        /// The domain (name) of the user and of the project.
        public var domain: String
        /// How long an answer is kept.
        public var cacheTTL: Duration

        /// A configuration.
        public init(
            url: String, user: String, password: String, project: String, domain: String = "Default",
            cacheTTL: Duration = .seconds(300)
        ) {
            self.url = url
            self.user = user
            self.password = password
            self.project = project
            self.domain = domain
            self.cacheTTL = cacheTTL
        }
    }

    /// Keystone answered something other than a token or a refusal.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let session: KeystoneSession

    /// A validator; nothing is asked of Keystone before the first token.
    public init(configuration: Configuration) {
        session = KeystoneSession(configuration: configuration)
    }

    public func validate(_ secret: String) async throws -> ValidatedToken? {
        try await session.validate(secret)
    }

    public func projects(inDomain domain: String) async throws -> Set<String> {
        try await session.projects(inDomain: domain)
    }

    /// The scope in a `GET /v3/auth/tokens` body, or `nil` when it holds no token.
    static func token(fromBody data: Data) -> ValidatedToken? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let token = object["token"] as? [String: Any]
        else { return nil }
        let project = token["project"] as? [String: Any]
        let projectDomain = project?["domain"] as? [String: Any]
        let domain = token["domain"] as? [String: Any] ?? projectDomain
        let roles = (token["roles"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        return ValidatedToken(
            projectID: project?["id"] as? String, projectName: project?["name"] as? String,
            domainID: domain?["id"] as? String, domainName: domain?["name"] as? String, roles: Set(roles),
            isAdminProject: token["is_admin_project"] as? Bool,
            expiresAt: (token["expires_at"] as? String).flatMap { Timestamp.parse($0)?.microsecondsSinceEpoch })
    }
}

/// The service token and the caches of a ``KeystoneValidator``: one owner for both.
actor KeystoneSession {
    let configuration: KeystoneValidator.Configuration
    private let base: String
    private let fetch = HTTPFetch()
    private var service: (token: String, expiresAt: Int64)?
    private var tokens: [String: (token: ValidatedToken?, until: Int64)] = [:]
    private var domains: [String: (projects: Set<String>, until: Int64)] = [:]
    /// Entries kept before expired ones are dropped (and all of them, if none has expired).
    private let maxEntries = 10_000
    /// A service token with less than this left (µs) is renewed first.
    private let renewBefore: Int64 = 120_000_000

    init(configuration: KeystoneValidator.Configuration) {
        self.configuration = configuration
        var base = configuration.url
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v3") { base.removeLast(3) }
        self.base = base
    }

    private var ttl: Int64 {
        let (seconds, attoseconds) = configuration.cacheTTL.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    func validate(_ secret: String) async throws -> ValidatedToken? {
        let now = Self.now()
        if let cached = tokens[secret], cached.until > now { return cached.token }
        let reply = try await asService(.get, "/v3/auth/tokens", headers: [("X-Subject-Token", secret)])
        let token: ValidatedToken?
        switch reply.status {
        case 200:
            guard let parsed = KeystoneValidator.token(fromBody: reply.body) else {
                throw KeystoneValidator.Failure(description: "GET /v3/auth/tokens: a body without a token")
            }
            token = parsed
        case 404: token = nil
        default: throw KeystoneValidator.Failure(description: "GET /v3/auth/tokens: \(reply.status)")
        }
        if tokens.count >= maxEntries {
            tokens = tokens.filter { $0.value.until > now }
            if tokens.count >= maxEntries { tokens = [:] }
        }
        tokens[secret] = (token, min(now + ttl, token?.expiresAt ?? .max))
        return token
    }

    func projects(inDomain domain: String) async throws -> Set<String> {
        let now = Self.now()
        if let cached = domains[domain], cached.until > now { return cached.projects }
        let query = domain.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? domain
        let reply = try await asService(.get, "/v3/projects?domain_id=\(query)")
        guard reply.status == 200,
            let object = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
            let list = object["projects"] as? [[String: Any]]
        else { throw KeystoneValidator.Failure(description: "GET /v3/projects?domain_id=\(domain): \(reply.status)") }
        let projects = Set(list.compactMap { $0["id"] as? String })
        if domains.count >= maxEntries { domains = [:] }
        domains[domain] = (projects, now + ttl)
        return projects
    }

    /// A request with the service token, renewed first when it is about to expire, and once
    /// more when Keystone refuses it (401: revoked, or the keys rotated).
    private func asService(
        _ method: HTTPFetch.Method, _ path: String, headers: [(String, String)] = []
    ) async throws -> HTTPFetch.Reply {
        var reply = try await fetch(method, base + path, headers: [("X-Auth-Token", try await serviceToken())] + headers)
        if reply.status == 401 {
            service = nil
            reply = try await fetch(method, base + path, headers: [("X-Auth-Token", try await serviceToken())] + headers)
        }
        return reply
    }

    private func serviceToken() async throws -> String {
        if let service, service.expiresAt - Self.now() > renewBefore { return service.token }
        let domain: [String: Any] = ["name": configuration.domain]
        let body: [String: Any] = [
            "auth": [
                "identity": [
                    "methods": ["password"],
                    "password": ["user": ["name": configuration.user, "domain": domain, "password": configuration.password]],
                ],
                "scope": ["project": ["name": configuration.project, "domain": domain]],
            ]
        ]
        let reply = try await fetch(.post, base + "/v3/auth/tokens", body: try JSONSerialization.data(withJSONObject: body))
        guard reply.status == 201, let token = reply.header("X-Subject-Token"),
            let expiresAt = KeystoneValidator.token(fromBody: reply.body)?.expiresAt
        else {
            throw KeystoneValidator.Failure(
                description: "POST /v3/auth/tokens for the service user \(configuration.user): \(reply.status)")
        }
        service = (token, expiresAt)
        return token
    }
}
