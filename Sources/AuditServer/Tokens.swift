// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation

/// The static tokens of a `--tokens` file: JSON lines of
/// `{"token": "...", "project_id": "...", "domain_id": "...", "roles": ["audit_viewer"], "cloud_admin": false}`.
///
/// For small installs and tests, where no Keystone validates tokens (the ``TokenValidator`` of
/// `serve --tokens`). A project-scoped line names its project and that project's domain; a
/// domain-scoped line names only its domain. The projects of a domain are those the file's
/// project lines place in it, plus any a line lists under `"projects"` (the index knows each
/// notification's project, not its domain).
public struct TokenFile: TokenValidator {
    /// One token and what it grants.
    public struct Token: Sendable, Hashable, Decodable {
        /// The secret a caller presents (`X-Auth-Token`, or `Authorization: Bearer`).
        public var token: String
        /// The project the token is scoped to.
        public var projectID: String?
        /// The domain the token is scoped to (a domain-scoped token has no project), or the
        /// domain of its project.
        public var domainID: String?
        /// Keystone role names; reading needs `audit_viewer`.
        public var roles: [String]
        /// Sees every project, and may choose one with `project_id` or `domain_id`.
        public var cloudAdmin: Bool
        /// Projects of ``domainID`` this line declares, beside those of project-scoped lines.
        public var projects: [String]
        /// The end of the token's validity (ISO 8601), if it has one.
        public var expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case token, roles, projects
            case projectID = "project_id"
            case domainID = "domain_id"
            case cloudAdmin = "cloud_admin"
            case expiresAt = "expires_at"
        }

        /// A token.
        public init(
            token: String, projectID: String? = nil, domainID: String? = nil, roles: [String] = ["audit_viewer"],
            cloudAdmin: Bool = false, projects: [String] = [], expiresAt: String? = nil
        ) {
            self.token = token
            self.projectID = projectID
            self.domainID = domainID
            self.roles = roles
            self.cloudAdmin = cloudAdmin
            self.projects = projects
            self.expiresAt = expiresAt
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            token = try container.decode(String.self, forKey: .token)
            projectID = try container.decodeIfPresent(String.self, forKey: .projectID)
            domainID = try container.decodeIfPresent(String.self, forKey: .domainID)
            roles = try container.decodeIfPresent([String].self, forKey: .roles) ?? []
            cloudAdmin = try container.decodeIfPresent(Bool.self, forKey: .cloudAdmin) ?? false
            projects = try container.decodeIfPresent([String].self, forKey: .projects) ?? []
            expiresAt = try container.decodeIfPresent(String.self, forKey: .expiresAt)
        }

        /// What the line grants; an expiry that does not parse is none (it fails the load).
        var validated: ValidatedToken {
            ValidatedToken(
                projectID: projectID, domainID: domainID, roles: Set(roles), cloudAdmin: cloudAdmin,
                expiresAt: expiresAt.flatMap { Timestamp.parse($0)?.microsecondsSinceEpoch })
        }
    }

    /// A token file that cannot be read or parsed.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    private let tokens: [String: Token]
    private let domains: [String: Set<String>]

    /// A token file holding `tokens` (a later line with the same secret replaces an earlier one).
    public init(tokens: [Token]) {
        var byToken: [String: Token] = [:]
        var domains: [String: Set<String>] = [:]
        for token in tokens {
            byToken[token.token] = token
            guard let domain = token.domainID else { continue }
            domains[domain, default: []].formUnion(token.projects)
            if let project = token.projectID { domains[domain, default: []].insert(project) }
        }
        self.tokens = byToken
        self.domains = domains
    }

    /// Parses JSON lines (blank lines and lines starting with `#` are skipped).
    /// - Throws: ``LoadError`` naming the line that does not parse.
    public init(parsing text: String) throws {
        var tokens: [Token] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            do {
                let token = try JSONDecoder().decode(Token.self, from: Data(trimmed.utf8))
                if let expiresAt = token.expiresAt, Timestamp.parse(expiresAt) == nil {
                    throw LoadError(description: "expires_at is not an ISO 8601 time: \(expiresAt)")
                }
                tokens.append(token)
            } catch {
                throw LoadError(description: "line \(number + 1): \(error)")
            }
        }
        self.init(tokens: tokens)
    }

    /// Reads the file at `path`.
    /// - Throws: ``LoadError``.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "cannot read the tokens file \(path)")
        }
        do {
            try self.init(parsing: String(decoding: data, as: UTF8.self))
        } catch let error as LoadError {
            throw LoadError(description: "\(path): \(error.description)")
        }
    }

    /// The token whose secret is `text`.
    public func token(_ text: String) -> Token? { tokens[text] }

    /// What the token whose secret is `secret` grants.
    public func validate(_ secret: String) -> ValidatedToken? { tokens[secret]?.validated }

    /// The projects of `domain` the file knows of.
    public func projects(inDomain domain: String) -> Set<String> { domains[domain] ?? [] }
}

extension ReadServer.Configuration {
    /// A configuration whose callers present the static tokens of `tokens`.
    public init(
        data: String, tokens: TokenFile, policy: Policy = Policy(), host: String = "127.0.0.1", port: Int = 8788,
        window: Int64 = 900_000_000
    ) {
        self.init(data: data, validator: tokens, policy: policy, host: host, port: port, window: window)
    }
}
