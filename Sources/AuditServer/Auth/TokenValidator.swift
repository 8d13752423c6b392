// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

/// Tells what a caller's token grants: the backend behind `serve --tokens`, `--keystone` or
/// `--oidc-jwks`.
///
/// ``Access`` asks it for every request (a backend caches as it sees fit) and applies Hermes'
/// scoping rules and the cloud-admin ``Policy`` to the answer; a backend only reports what the
/// token says.
public protocol TokenValidator: Sendable {
    /// What the token `secret` grants, or `nil` when the backend does not know it (401).
    ///
    /// An expired token may be returned with its expiry: ``Access`` refuses it.
    /// - Throws: when the backend cannot answer (its identity service is down): the caller
    ///   gets 503, never a scope.
    func validate(_ secret: String) async throws -> ValidatedToken?

    /// The projects of `domain`, for a domain-scoped token and for a cloud admin's `domain_id`
    /// (the store's index knows each notification's project, not its domain).
    /// - Throws: when the backend cannot answer (503).
    func projects(inDomain domain: String) async throws -> Set<String>
}
