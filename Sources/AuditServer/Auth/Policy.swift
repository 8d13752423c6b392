// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// Who reads the whole trail: the cloud-admin rule of `serve --policy FILE`, like Hermes'
/// policy.json.
///
/// The file is a JSON object; its `cloud_admin` entry is a ``PolicyRule`` (other entries are
/// ignored, so a Hermes policy.json with a `cloud_admin` entry serves as is):
/// ```
/// {"cloud_admin": "role:admin and project_name:admin"}
/// ```
/// Without a file the rule is ``defaultCloudAdminRule``. A backend may also grant it on its own
/// (a token file's `cloud_admin: true`).
public struct Policy: Sendable, Hashable {
    /// `role:cloud_audit_viewer`: a role given for this purpose only.
    ///
    /// Not OpenStack's `role:admin and is_admin_project:true`: a Keystone without an admin
    /// project configured does not mark tokens with `is_admin_project`, services then read it as
    /// true, and every project's admin would read every project's trail.
    public static let defaultCloudAdminRule = "role:cloud_audit_viewer"

    /// The rule that grants reading every project.
    public var cloudAdmin: PolicyRule

    /// A policy with `cloudAdmin` (by default ``defaultCloudAdminRule``).
    public init(cloudAdmin: PolicyRule = .check(.role, "cloud_audit_viewer")) {
        self.cloudAdmin = cloudAdmin
    }

    /// A policy file that cannot be read or parsed.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses a policy file's bytes.
    /// - Throws: ``LoadError``.
    public init(parsing data: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LoadError(description: "not a JSON object")
        }
        guard let text = object["cloud_admin"] as? String else {
            throw LoadError(description: "no \"cloud_admin\" rule (a string)")
        }
        do {
            self.init(cloudAdmin: try PolicyRule(parsing: text))
        } catch {
            throw LoadError(description: "cloud_admin: \(error.description)")
        }
    }

    /// Reads the policy file at `path`.
    /// - Throws: ``LoadError`` naming the path.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "cannot read the policy file \(path)")
        }
        do {
            try self.init(parsing: data)
        } catch let error as LoadError {
            throw LoadError(description: "\(path): \(error.description)")
        }
    }

    /// Whether `token` reads every project.
    public func isCloudAdmin(_ token: ValidatedToken) -> Bool {
        token.cloudAdmin || cloudAdmin.matches(token)
    }
}
