// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditServer
import Foundation
import Hummingbird

/// `audit-trail serve`: the stored trail over HTTP, scoped by token.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the stored trail over HTTP: Hermes' /v1/events API and the pair view (/v1/calls), scoped by token.",
        discussion: """
            Routes: GET /v1/events, /v1/events/{id}, /v1/attributes/{name} (SAP Hermes' v1 API), \
            /v1/calls, /v1/calls/{id} (the pair view, as `query --json` prints it), /healthz, \
            /metrics and /openapi.json. /metrics (Prometheus text: requests by route and status, \
            durations, 401/403 counts, store query times) needs no token, like /healthz: keep the \
            port private or filter /metrics at the proxy. Callers send a token (X-Auth-Token, or Authorization: Bearer). A caller \
            sees its project's events (its domain's, for a domain-scoped token) with the role \
            audit_viewer; a cloud admin sees every project and may pass project_id or domain_id.

            Exactly one backend validates tokens.

            --tokens FILE: static tokens, one JSON object a line, e.g.
            {"token": "...", "project_id": "...", "domain_id": "...", "roles": ["audit_viewer"], "cloud_admin": false}
            A domain's projects are those the file's lines place in it.

            --keystone URL: OpenStack Keystone. The server logs in as --keystone-user (password \
            from --keystone-password or AUDIT_TRAIL_KEYSTONE_PASSWORD) scoped to --keystone-project \
            in --keystone-domain, validates each token with GET /v3/auth/tokens and keeps the answer \
            for --token-cache-ttl seconds (never past the token's expiry), so a revoked token is \
            refused at the latest one TTL later. A domain's projects come from GET /v3/projects. The \
            service user needs the roles to validate tokens and list projects (e.g. service and admin).

            --oidc-jwks URL-or-FILE: OIDC/JWT bearer tokens signed by a key of the JWKS (read again \
            when a token names an unknown kid), with exp, nbf, iss (--oidc-issuer) and aud \
            (--oidc-audience) checked. Project, domain and roles come from the claims named by \
            --oidc-project-claim, --oidc-domain-claim, --oidc-roles-claim; a domain-scoped token's \
            projects from its --oidc-projects-claim, else from the --oidc-domains file \
            ({"domain-id": ["project-id", ...]}).

            Cloud admins: --policy FILE, a JSON object whose "cloud_admin" rule is written with \
            role:X, project_id:X, project_name:X, domain_id:X, domain_name:X, \
            is_admin_project:true|false, @ (everyone), ! (nobody), and, or, not and parentheses, \
            e.g. {"cloud_admin": "role:admin and project_name:admin"}. Without it the rule is \
            "\(Policy.defaultCloudAdminRule)". A token file's "cloud_admin": true also grants it.
            """)

    @Option(help: "Data directory of the store.")
    var data: String?

    @OptionGroup(title: "Object store") var archive: ArchiveCacheOptions

    @Option(help: "With --object-store: how often the cache is brought in line with the bucket (e.g. 60s, 5m).")
    var refresh: String = "60s"

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind.")
    var port = 8788

    @Option(help: "Static tokens: a file of JSON lines (token, project_id, domain_id, roles, cloud_admin, expires_at).")
    var tokens: String?

    @Option(help: "Keystone's public URL (e.g. https://keystone.example:5000/v3): validate tokens with Keystone.")
    var keystone: String?

    @Option(help: "The server's own Keystone user.")
    var keystoneUser: String?

    @Option(help: "Its password (default: the environment variable AUDIT_TRAIL_KEYSTONE_PASSWORD).")
    var keystonePassword: String?

    @Option(help: "The project its token is scoped to.")
    var keystoneProject: String?

    @Option(help: "The domain name of that user and project.")
    var keystoneDomain = "Default"

    @Option(help: "Seconds a Keystone answer about a token is kept (never past the token's expiry).")
    var tokenCacheTtl = 300

    @Option(help: "A JWKS file or URL: validate OIDC/JWT bearer tokens.")
    var oidcJwks: String?

    @Option(help: "The issuer (iss) OIDC tokens must have.")
    var oidcIssuer: String?

    @Option(help: "The audience (aud) OIDC tokens must hold.")
    var oidcAudience: String?

    @Option(help: "The claim holding the project id.")
    var oidcProjectClaim = "project_id"

    @Option(help: "The claim holding the domain id.")
    var oidcDomainClaim = "domain_id"

    @Option(help: "The claim holding the roles (a list, or space-separated names); dots walk nested objects.")
    var oidcRolesClaim = "roles"

    @Option(help: "The claim listing a domain-scoped token's projects.")
    var oidcProjectsClaim = "projects"

    @Option(help: "A JSON file of domain id to project ids, for domain-scoped OIDC tokens without a projects claim.")
    var oidcDomains: String?

    @Option(help: "A JSON policy file with a \"cloud_admin\" rule (default rule: \(Policy.defaultCloudAdminRule)).")
    var policy: String?

    @Option(help: "Correlation window in seconds: a single half older than this is an orphan.")
    var window: Int = 900

    func validate() throws {
        let backends = [tokens, keystone, oidcJwks].compactMap { $0 }
        guard backends.count == 1 else {
            throw ValidationError("give exactly one of --tokens, --keystone and --oidc-jwks")
        }
        if keystone != nil {
            guard keystoneUser != nil, keystoneProject != nil else {
                throw ValidationError("--keystone needs --keystone-user and --keystone-project")
            }
            guard tokenCacheTtl >= 0 else { throw ValidationError("--token-cache-ttl must not be negative") }
        }
        if oidcJwks != nil, oidcIssuer == nil || oidcAudience == nil {
            throw ValidationError("--oidc-jwks needs --oidc-issuer and --oidc-audience")
        }
    }

    /// The backend the options name.
    func validator() throws -> any TokenValidator {
        if let tokens {
            do {
                return try TokenFile(path: tokens)
            } catch {
                throw ValidationError("--tokens: \(error)")
            }
        }
        if let keystone, let keystoneUser, let keystoneProject {
            guard let password = keystonePassword ?? ProcessInfo.processInfo.environment["AUDIT_TRAIL_KEYSTONE_PASSWORD"]
            else { throw ValidationError("--keystone needs --keystone-password or AUDIT_TRAIL_KEYSTONE_PASSWORD") }
            return KeystoneValidator(
                configuration: .init(
                    url: keystone, user: keystoneUser, password: password, project: keystoneProject,
                    domain: keystoneDomain, cacheTTL: .seconds(tokenCacheTtl)))
        }
        guard let oidcJwks, let oidcIssuer, let oidcAudience else {
            throw ValidationError("give exactly one of --tokens, --keystone and --oidc-jwks")
        }
        var claims = OIDCValidator.ClaimNames()
        claims.projectID = oidcProjectClaim
        claims.domainID = oidcDomainClaim
        claims.roles = oidcRolesClaim
        claims.projects = oidcProjectsClaim
        var domains: [String: Set<String>] = [:]
        if let oidcDomains {
            do {
                domains = try OIDCValidator.domains(path: oidcDomains)
            } catch {
                throw ValidationError("--oidc-domains: \(error)")
            }
        }
        return OIDCValidator(
            configuration: .init(jwks: oidcJwks, issuer: oidcIssuer, audience: oidcAudience, claims: claims, domains: domains))
    }

    func run() async throws {
        let interval = DurationText.parse(refresh)
        if archive.isSet, (interval ?? .zero) <= .zero { throw ValidationError("--refresh: give a duration such as 60s") }
        let data = try await archive.dataDirectory(data: self.data)
        try TrailOptions.requireStore(data)
        guard archive.isSet, let interval else { return try await serve(data) }
        // The cache is a data directory; every request opens its own reader on it, so each
        // refresh is seen by the requests after it.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { return }
                    do {
                        try await archive.mirror()
                    } catch {
                        printError("object store: refreshing the cache failed, serving what it holds: \(error)")
                    }
                }
            }
            // The server ends on SIGTERM/SIGINT (a graceful shutdown); the refresh ends with it.
            try await serve(data)
            group.cancelAll()
        }
    }

    private func serve(_ data: String) async throws {
        let rules: Policy
        do {
            rules = try policy.map { try Policy(path: $0) } ?? Policy()
        } catch {
            throw ValidationError("--policy: \(error)")
        }
        let server = ReadServer(
            configuration: .init(
                data: data, validator: try validator(), policy: rules, host: host, port: port,
                window: Int64(window) * 1_000_000))
        try await server.application().runService()
    }
}
