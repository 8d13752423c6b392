// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import Foundation
import Hummingbird
import HTTPTypes
import Logging

/// Who may read what: the caller's token and the scope it asks for, resolved into the
/// ``Visibility`` every read of the request is made with (Hermes' rules).
///
/// - A token is read from `X-Auth-Token` (as OpenStack services take it), else from
///   `Authorization: Bearer`, and validated by the configured ``TokenValidator``. None, an
///   unknown one or an expired one: 401; a backend that cannot answer: 503.
/// - A cloud admin (the ``Policy``'s rule, or a backend's own grant) sees every project;
///   `project_id` or `domain_id` narrow that to one project or one domain's projects (both
///   together: none, as Hermes answers).
/// - Anyone else needs the role `audit_viewer` (else 403) and a scope: a project-scoped token
///   sees its project, a domain-scoped one its domain's projects; an unscoped token gets 403.
///   Its `project_id` or `domain_id` may only name what it already sees (a project of its
///   domain narrows a domain token to it); any other value gets 403.
struct Access: Sendable {
    /// The role a caller needs to read the trail.
    static let viewerRole = "audit_viewer"
    static let tokenHeader = HTTPField.Name("X-Auth-Token")!
    /// Where a backend's failures are told (the caller only gets a 503).
    static let logger = Logger(label: "audit-trail.serve.auth")

    let validator: any TokenValidator
    let policy: Policy

    /// The visibility of `request`.
    /// - Throws: `HTTPError` 401, 403 or 503.
    func visibility(of request: Request, now: Int64) async throws -> Visibility {
        guard let secret = Self.secret(request) else {
            throw HTTPError(.unauthorized, message: "no token: send X-Auth-Token or Authorization: Bearer")
        }
        let validated: ValidatedToken?
        do {
            validated = try await validator.validate(secret)
        } catch {
            Self.logger.warning("the token validator failed", metadata: ["error": "\(error)"])
            throw HTTPError(.serviceUnavailable, message: "the token cannot be validated now")
        }
        guard let token = validated, !token.hasExpired(now: now) else {
            throw HTTPError(.unauthorized, message: "unknown or expired token")
        }
        let parameters = request.uri.queryParameters
        let project = parameters.get("project_id").flatMap { $0.isEmpty ? nil : $0 }
        let domain = parameters.get("domain_id").flatMap { $0.isEmpty ? nil : $0 }
        if policy.isCloudAdmin(token) {
            switch (project, domain) {
            case (nil, nil): return .all
            case (let project?, nil): return .projects([project])
            case (nil, let domain?): return .projects(try await projects(inDomain: domain))
            case (_?, _?): return .projects([])
            }
        }
        guard token.roles.contains(Self.viewerRole) else {
            throw HTTPError(.forbidden, message: "the token lacks the role \(Self.viewerRole)")
        }
        let scope: Set<String>
        if let own = token.projectID {
            scope = [own]
        } else if let own = token.domainID {
            if let listed = token.domainProjects {
                scope = listed
            } else {
                scope = try await projects(inDomain: own)
            }
        } else {
            throw HTTPError(.forbidden, message: "the token is not scoped to a project or domain")
        }
        if let domain, domain != token.domainID || token.projectID != nil {
            throw HTTPError(.forbidden, message: "domain_id names a domain the token is not scoped to")
        }
        if let project {
            guard scope.contains(project) else {
                throw HTTPError(.forbidden, message: "project_id names a project the token is not scoped to")
            }
            return .projects([project])
        }
        return .projects(scope)
    }

    private func projects(inDomain domain: String) async throws -> Set<String> {
        do {
            return try await validator.projects(inDomain: domain)
        } catch {
            Self.logger.warning("listing a domain's projects failed", metadata: ["domain": "\(domain)", "error": "\(error)"])
            throw HTTPError(.serviceUnavailable, message: "the projects of the domain cannot be listed now")
        }
    }

    private static func secret(_ request: Request) -> String? {
        if let token = request.headers[tokenHeader], !token.isEmpty { return token }
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
