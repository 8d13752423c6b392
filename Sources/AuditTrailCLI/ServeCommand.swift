// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditServer
import Hummingbird

/// `audit-trail serve`: the stored trail over HTTP, scoped by token.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the stored trail over HTTP: Hermes' /v1/events API and the pair view (/v1/calls), scoped by token.",
        discussion: """
            Routes: GET /v1/events, /v1/events/{id}, /v1/attributes/{name} (SAP Hermes' v1 API), \
            /v1/calls, /v1/calls/{id} (the pair view, as `query --json` prints it), /healthz and \
            /openapi.json. Callers send a token (X-Auth-Token, or Authorization: Bearer) from the \
            --tokens file, one JSON object a line:
              {"token": "...", "project_id": "...", "domain_id": "...", "roles": ["audit_viewer"], "cloud_admin": false}
            A caller sees its project's events (its domain's, for a domain-scoped token) with the \
            role audit_viewer; a cloud admin sees every project and may pass project_id or domain_id.

            Cloud admins: --policy FILE, a JSON object whose "cloud_admin" rule is written with \
            role:X, project_id:X, project_name:X, domain_id:X, domain_name:X, \
            is_admin_project:true|false, @ (everyone), ! (nobody), and, or, not and parentheses, \
            e.g. {"cloud_admin": "role:admin and project_name:admin"}. Without it the rule is \
            "\(Policy.defaultCloudAdminRule)". A token file's "cloud_admin": true also grants it.
            """)

    @Option(help: "Data directory of the store.")
    var data: String

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind.")
    var port = 8788

    @Option(help: "Static tokens: a file of JSON lines (token, project_id, domain_id, roles, cloud_admin, expires_at).")
    var tokens: String

    @Option(help: "A JSON policy file with a \"cloud_admin\" rule (default rule: \(Policy.defaultCloudAdminRule)).")
    var policy: String?

    @Option(help: "Correlation window in seconds: a single half older than this is an orphan.")
    var window: Int = 900

    func run() async throws {
        try TrailOptions.requireStore(data)
        let tokenFile: TokenFile
        do {
            tokenFile = try TokenFile(path: tokens)
        } catch {
            throw ValidationError("--tokens: \(error)")
        }
        let rules: Policy
        do {
            rules = try policy.map { try Policy(path: $0) } ?? Policy()
        } catch {
            throw ValidationError("--policy: \(error)")
        }
        let server = ReadServer(
            configuration: .init(
                data: data, validator: tokenFile, policy: rules, host: host, port: port,
                window: Int64(window) * 1_000_000))
        try await server.application().runService()
    }
}
