// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import Foundation
import JWTKit

/// `serve --oidc-jwks`: OIDC/JWT bearer tokens, for deployments without Keystone.
///
/// A token is accepted when its signature verifies with the JWKS key its `kid` names (jwt-kit:
/// ES256/384/512, RS256/384/512, PS256/384/512, EdDSA), it has an `exp` in the future, its
/// `nbf` (if any) has passed, its `iss` is the configured issuer and its `aud` (a string or a
/// list) holds the configured audience. Anything else is an unknown token (401).
///
/// The scope comes from claims whose names are configurable (``ClaimNames``; a name with dots,
/// `realm_access.roles`, walks nested objects): the project id and name, the domain id and name,
/// and the roles (a list of strings, or one string of space-separated names).
///
/// Domains: a domain-scoped token (a domain claim, no project claim) sees the projects its
/// `projects` claim lists; without that claim, and for a cloud admin's `domain_id`, the
/// projects of the domain are those of the `--oidc-domains` file, a JSON object of domain id to
/// project ids. An identity provider has no notion of an OpenStack domain, so one of the two
/// must say it; none is an empty domain.
public struct OIDCValidator: TokenValidator {
    /// The claims the scope is read from.
    public struct ClaimNames: Sendable, Hashable {
        public var projectID = "project_id"
        public var projectName = "project_name"
        public var domainID = "domain_id"
        public var domainName = "domain_name"
        public var roles = "roles"
        /// The projects of a domain-scoped token's domain.
        public var projects = "projects"

        /// The default names.
        public init() {}
    }

    /// What tokens are accepted.
    public struct Configuration: Sendable {
        /// The JWKS: a file path or an `http(s)://` URL.
        public var jwks: String
        /// The required `iss`.
        public var issuer: String
        /// The audience `aud` must hold.
        public var audience: String
        /// The claims the scope is read from.
        public var claims: ClaimNames
        /// The projects of each domain (`--oidc-domains`).
        public var domains: [String: Set<String>]
        /// The least time between two reads of the JWKS caused by unknown `kid`s.
        public var refetchInterval: Duration

        /// A configuration.
        public init(
            jwks: String, issuer: String, audience: String, claims: ClaimNames = ClaimNames(),
            domains: [String: Set<String>] = [:], refetchInterval: Duration = .seconds(10)
        ) {
            self.jwks = jwks
            self.issuer = issuer
            self.audience = audience
            self.claims = claims
            self.domains = domains
            self.refetchInterval = refetchInterval
        }
    }

    /// A domains file that cannot be read or parsed.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads an `--oidc-domains` file: `{"domain-id": ["project-id", ...], ...}`.
    /// - Throws: ``LoadError``.
    public static func domains(path: String) throws -> [String: Set<String>] {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw LoadError(description: "\(path): not readable as a JSON object") }
        var domains: [String: Set<String>] = [:]
        for (domain, projects) in object {
            guard let projects = projects as? [String] else {
                throw LoadError(description: "\(path): \(domain) does not map to a list of project ids")
            }
            domains[domain] = Set(projects)
        }
        return domains
    }

    /// The configuration.
    public let configuration: Configuration
    private let keys: JSONWebKeys

    /// A validator; the JWKS is read at the first token.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.keys = JSONWebKeys(location: configuration.jwks, minInterval: configuration.refetchInterval)
    }

    public func validate(_ secret: String) async throws -> ValidatedToken? {
        let parts = secret.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = Self.object(parts[0]), let kid = header["kid"] as? String,
            let claims = Self.object(parts[1])
        else { return nil }
        guard let collection = try await keys.keys(holding: kid) else { return nil }
        do {
            _ = try await collection.verify(secret, as: Signed.self)
        } catch {
            return nil
        }
        return token(claims, now: Date().timeIntervalSince1970)
    }

    public func projects(inDomain domain: String) -> Set<String> { configuration.domains[domain] ?? [] }

    /// The scope of verified `claims`, or `nil` when `exp`, `nbf`, `iss` or `aud` refuse them.
    func token(_ claims: [String: Any], now: Double) -> ValidatedToken? {
        guard let exp = Self.number(claims["exp"]), exp > now else { return nil }
        if let nbf = claims["nbf"] {
            guard let nbf = Self.number(nbf), nbf <= now else { return nil }
        }
        guard claims["iss"] as? String == configuration.issuer else { return nil }
        let audiences = claims["aud"] as? [String] ?? (claims["aud"] as? String).map { [$0] } ?? []
        guard audiences.contains(configuration.audience) else { return nil }
        let names = configuration.claims
        let roles: [String]
        switch Self.value(claims, names.roles) {
        case let list as [Any]: roles = list.compactMap { $0 as? String }
        case let text as String: roles = text.split(separator: " ").map(String.init)
        default: roles = []
        }
        return ValidatedToken(
            projectID: Self.value(claims, names.projectID) as? String,
            projectName: Self.value(claims, names.projectName) as? String,
            domainID: Self.value(claims, names.domainID) as? String,
            domainName: Self.value(claims, names.domainName) as? String,
            roles: Set(roles), expiresAt: Int64(exp * 1_000_000),
            domainProjects: (Self.value(claims, names.projects) as? [Any]).map { Set($0.compactMap { $0 as? String }) })
    }

    /// What jwt-kit decodes: nothing (the claims are read apart, so that their names can be
    /// configured); `verify` checks the signature only.
    private struct Signed: JWTPayload {
        init() {}
        init(from decoder: any Decoder) throws {}
        func encode(to encoder: any Encoder) throws {}
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    private static func object(_ part: Substring) -> [String: Any]? {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    private static func value(_ claims: [String: Any], _ name: String) -> Any? {
        if let direct = claims[name] { return direct }
        var current: Any? = claims
        for key in name.split(separator: ".") {
            current = (current as? [String: Any])?[String(key)]
        }
        return current
    }

    private static func number(_ value: Any?) -> Double? {
        (value as? NSNumber)?.doubleValue
    }
}
