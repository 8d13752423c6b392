// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditServer
import AuditStore
import AuditTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// A sample store of 12 projects in two domains, with a token file over them, and what each
/// project holds (read from the store directly, apart from the server).
final class ServerFixture: @unchecked Sendable {
    let directory = NSTemporaryDirectory() + "audit-server-" + UUID().uuidString
    let sample: SampleStore
    /// The project of each call (by CADF id); every sample call has one.
    let projectOf: [String: String]
    /// The domain of each project.
    let domainOf: [String: String]
    /// Every call with both halves' bodies.
    let calls: [Trail.Call]
    let tokens: [TokenFile.Token]

    static let domains = ["domain-a", "domain-b"]

    init(seed: UInt64, calls count: Int = 400) throws {
        sample = try SampleStore.write(directory: directory, calls: count, partitions: 2, seed: seed, sealEvery: 150)
        let reader = try StoreReader(directory: directory)
        calls = try Trail(reader: reader, window: 0, now: 0, indexOnly: true).calls.map {
            try $0.loadingBodies(from: reader) { _, _ in nil }
        }
        var projectOf: [String: String] = [:]
        for call in calls { projectOf[call.id] = call.fields?.projectId }
        self.projectOf = projectOf
        var random = SeededRandom(seed: seed)
        let projects = Set(projectOf.values).sorted()
        var domainOf: [String: String] = [:]
        for (number, project) in projects.enumerated() {
            // Both domains hold at least two projects.
            domainOf[project] = number < 4 ? Self.domains[number % 2] : Self.domains.randomElement(using: &random)!
        }
        self.domainOf = domainOf
        var tokens = projects.map { TokenFile.Token(token: "project-\($0)", projectID: $0, domainID: domainOf[$0]) }
        tokens += Self.domains.map { TokenFile.Token(token: "domain-\($0)", domainID: $0) }
        tokens += [
            TokenFile.Token(token: "admin", roles: [], cloudAdmin: true),
            TokenFile.Token(token: "no-role", projectID: projects[0], domainID: domainOf[projects[0]], roles: ["member"]),
            TokenFile.Token(token: "unscoped", roles: ["audit_viewer"]),
            TokenFile.Token(token: "expired", projectID: projects[0], expiresAt: "2020-01-01T00:00:00Z"),
        ]
        self.tokens = tokens
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var projects: [String] { domainOf.keys.sorted() }

    /// The server over this store.
    func server() throws -> ReadServer {
        let lines = try tokens.map { token -> String in
            var object: [String: Any] = ["token": token.token, "roles": token.roles, "cloud_admin": token.cloudAdmin]
            object["project_id"] = token.projectID
            object["domain_id"] = token.domainID
            object["expires_at"] = token.expiresAt
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        return ReadServer(configuration: .init(data: directory, tokens: try TokenFile(parsing: lines.joined(separator: "\n"))))
    }

    /// The projects `token` may see with no `project_id`/`domain_id` (nil: all).
    func visible(to token: TokenFile.Token) -> Set<String>? {
        if token.cloudAdmin { return nil }
        if let project = token.projectID { return [project] }
        return Set(domainOf.filter { $0.value == token.domainID }.map(\.key))
    }
}

/// A response: status and body parsed as JSON (`nil` when it is not).
struct Reply {
    var status: HTTPResponse.Status
    var body: String
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
}

extension TestClientProtocol {
    /// `GET uri` with `token` in `X-Auth-Token` (or as a bearer token).
    func get(_ uri: String, token: String?, bearer: Bool = false) async throws -> Reply {
        var headers = HTTPFields()
        if let token {
            if bearer {
                headers[.authorization] = "Bearer \(token)"
            } else {
                headers[HTTPField.Name("X-Auth-Token")!] = token
            }
        }
        return try await execute(uri: uri, method: .get, headers: headers) { response in
            Reply(status: response.status, body: String(buffer: response.body))
        }
    }
}

/// Percent-encodes a query value.
func encoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
}

/// `audit-trail serve --data DIR --tokens FILE` as a process of its own on a free port, stopped
/// (SIGTERM) when released.
final class ServeProcess {
    let process = Process()
    let port = TestEnvironment.freePort()
    var base: String { "http://127.0.0.1:\(port)" }

    init(data: String, tokens: String) throws {
        process.executableURL = TestEnvironment.auditTrailExecutable
        process.arguments = ["serve", "--data", data, "--tokens", tokens, "--port", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit { if process.isRunning { process.terminate() } }

    /// Until `/healthz` answers 200 (the process is up), at most 30 s.
    func waitUntilServing() async throws -> Bool {
        for _ in 0..<300 {
            let status = try? await URLSession.shared.data(from: URL(string: "\(base)/healthz")!).1
            if (status as? HTTPURLResponse)?.statusCode == 200 { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
