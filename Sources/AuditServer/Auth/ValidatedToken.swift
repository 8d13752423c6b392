// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

/// What a validated token says about its caller: its scope, its roles, its expiry.
///
/// The attributes a ``PolicyRule`` can test (`role`, `project_id`, `project_name`, `domain_id`,
/// `domain_name`, `is_admin_project`) are those of a Keystone token, which the other backends
/// fill as far as they know them.
public struct ValidatedToken: Sendable, Hashable {
    /// The project the token is scoped to.
    public var projectID: String?
    /// That project's name, if the backend reports it.
    public var projectName: String?
    /// The domain the token is scoped to (a domain-scoped token has no project), or the domain
    /// of its project.
    public var domainID: String?
    /// That domain's name, if the backend reports it.
    public var domainName: String?
    /// Role names; reading needs `audit_viewer`.
    public var roles: Set<String>
    /// Granted cloud-wide reading by the backend itself (a token file's `cloud_admin: true`),
    /// whatever the policy says.
    public var cloudAdmin: Bool
    /// Keystone's `is_admin_project`; `nil` when the backend does not say (a rule then reads it
    /// as `true`, as OpenStack services do).
    public var isAdminProject: Bool?
    /// The end of the token's validity, µs since the epoch.
    public var expiresAt: Int64?
    /// The projects of ``domainID`` the token itself lists (an OIDC claim), if it lists them;
    /// otherwise a domain-scoped token asks ``TokenValidator/projects(inDomain:)``.
    public var domainProjects: Set<String>?

    /// A validated token.
    public init(
        projectID: String? = nil, projectName: String? = nil, domainID: String? = nil, domainName: String? = nil,
        roles: Set<String> = [], cloudAdmin: Bool = false, isAdminProject: Bool? = nil, expiresAt: Int64? = nil,
        domainProjects: Set<String>? = nil
    ) {
        self.projectID = projectID
        self.projectName = projectName
        self.domainID = domainID
        self.domainName = domainName
        self.roles = roles
        self.cloudAdmin = cloudAdmin
        self.isAdminProject = isAdminProject
        self.expiresAt = expiresAt
        self.domainProjects = domainProjects
    }

    /// Whether the token has expired at `now` (µs since the epoch).
    public func hasExpired(now: Int64) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }
}
