// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditModel
@testable import AuditServer
import AuditStore
import AuditTesting
import AuditTraffic
import AuditWorker
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// `serve --keystone` against a real Keystone from PyPI (interop/keystone_server.py, sqlite and
/// fernet keys in a temporary directory, started once per test run), over a store whose
/// notifications belong to that Keystone's projects.
@Suite(.serialized) struct KeystoneAuthTests {
    @Test(.timeLimit(.minutes(10)))
    func keystoneTokensReadTheirScopeAndRevokedOnesAreRefusedAfterTheTTL() async throws {
        let keystone = try await KeystoneFixture.shared()
        let ttl = 2
        func server(_ policy: Policy = Policy()) -> ReadServer {
            ReadServer(configuration: .init(data: keystone.store, validator: keystone.validator(ttl: ttl), policy: policy))
        }
        let a = keystone.projectA, b = keystone.projectB
        let counts = keystone.counts
        let all = counts.values.reduce(0, +)
        #expect(counts[a, default: 0] > 0 && counts[b, default: 0] > 0 && all > counts[a]! + counts[b]!)
        let token = keystone.tokens
        try await server().application().test(.router) { client in
            func total(_ uri: String, _ user: String) async throws -> Int? {
                let reply = try await client.get(uri, token: token[user]!)
                #expect(reply.status == .ok, "\(user) \(uri): \(reply.body)")
                return reply.object["total"] as? Int
            }
            #expect(try await total("/v1/events?limit=1", "viewer-a") == counts[a])
            #expect(try await total("/v1/events?limit=1", "viewer-b") == counts[b])
            // Every call project A's token lists is A's.
            let calls = try await client.get("/v1/calls?limit=10000", token: token["viewer-a"]!, bearer: true)
            let listed = calls.object["calls"] as? [[String: Any]] ?? []
            #expect(listed.count == counts[a])
            #expect(listed.allSatisfy { $0["projectId"] as? String == a })
            // A domain-scoped token sees the projects Keystone lists in its domain.
            #expect(try await total("/v1/events?limit=1", "domain-viewer") == counts[a]! + counts[b]!)
            #expect(try await total("/v1/events?limit=1&project_id=\(b)", "domain-viewer") == counts[b])
            // The default cloud-admin rule: role:cloud_audit_viewer.
            #expect(try await total("/v1/events?limit=1", "auditor") == all)
            #expect(try await total("/v1/events?limit=1&project_id=\(a)", "auditor") == counts[a])
            #expect(try await total("/v1/events?limit=1&domain_id=\(keystone.domain)", "auditor") == counts[a]! + counts[b]!)
            // No audit_viewer role: 403; Keystone's admin is no cloud admin by default; garbage: 401.
            #expect(try await client.get("/v1/events", token: token["no-role"]!).status == .forbidden)
            #expect(try await client.get("/v1/events", token: token["admin"]!).status == .forbidden)
            #expect(try await client.get("/v1/events", token: "gAAAAAB-not-a-token").status == .unauthorized)
            #expect(try await client.get("/v1/events?project_id=\(b)", token: token["viewer-a"]!).status == .forbidden)
        }

        // A policy that makes Keystone's admin project's admins cloud admins.
        let policy = try Policy(parsing: Data(#"{"cloud_admin": "role:admin and project_name:admin"}"#.utf8))
        try await server(policy).application().test(.router) { client in
            let admin = try await client.get("/v1/events?limit=1", token: token["admin"]!)
            #expect(admin.object["total"] as? Int == all)
            #expect(try await client.get("/v1/events", token: token["auditor"]!).status == .forbidden)
        }

        // Revocation: the cached answer holds for the TTL at most.
        let fresh = try await keystone.passwordToken(user: "viewer-a", project: a)
        try await server().application().test(.router) { client in
            #expect(try await client.get("/v1/events?limit=1", token: fresh).status == .ok)
            try await keystone.revoke(fresh)
            let revoked = ContinuousClock.now
            var status = HTTPResponse.Status.ok
            while status == .ok, ContinuousClock.now - revoked < .seconds(ttl + 20) {
                try await Task.sleep(for: .milliseconds(250))
                status = try await client.get("/v1/events?limit=1", token: fresh).status
            }
            #expect(status == .unauthorized)
            #expect(ContinuousClock.now - revoked < .seconds(ttl + 5))
        }
    }

    /// `audit-trail serve --keystone` as an operator runs it, the password from the environment.
    @Test(.timeLimit(.minutes(10)))
    func theCommandValidatesWithKeystone() async throws {
        let keystone = try await KeystoneFixture.shared()
        let port = TestEnvironment.freePort()
        let process = Process()
        process.executableURL = TestEnvironment.auditTrailExecutable
        process.arguments = [
            "serve", "--data", keystone.store, "--port", String(port), "--keystone", keystone.url + "/v3",
            "--keystone-user", keystone.service["user"]!, "--keystone-project", keystone.service["project"]!,
            "--token-cache-ttl", "1",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["AUDIT_TRAIL_KEYSTONE_PASSWORD": keystone.service["password"]!]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        func get(_ path: String, token: String) async throws -> (Int, [String: Any]) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.setValue(token, forHTTPHeaderField: "X-Auth-Token")
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
        }
        // Until the port answers, at most 30 s.
        var status = 0
        for _ in 0..<300 where status == 0 {
            status = (try? await get("/v1/events?limit=1", token: keystone.tokens["viewer-b"]!).0) ?? 0
            if status == 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        let b = try await get("/v1/events?limit=1", token: keystone.tokens["viewer-b"]!)
        #expect(b.0 == 200 && b.1["total"] as? Int == keystone.counts[keystone.projectB])
        #expect(try await get("/v1/events", token: "garbage").0 == 401)
        #expect(try await get("/v1/events", token: keystone.tokens["no-role"]!).0 == 403)
        process.terminate()
        process.waitUntilExit()
    }

    /// Exactly one backend, each with what it needs.
    @Test func theCommandRefusesIncompleteOrSeveralBackends() throws {
        let fixture = try CallsAPITests.fixture.get()
        let tokens = NSTemporaryDirectory() + "audit-tokens-" + UUID().uuidString
        let policy = tokens + ".policy"
        defer {
            try? FileManager.default.removeItem(atPath: tokens)
            try? FileManager.default.removeItem(atPath: policy)
        }
        try Data("{\"token\": \"t\", \"roles\": []}\n".utf8).write(to: URL(fileURLWithPath: tokens))
        try Data(#"{"cloud_admin": "role:admin and"}"#.utf8).write(to: URL(fileURLWithPath: policy))
        let serve = ["serve", "--data", fixture.directory, "--port", String(TestEnvironment.freePort())]
        for options in [
            [String](),
            ["--tokens", tokens, "--oidc-jwks", "/tmp/jwks.json", "--oidc-issuer", "i", "--oidc-audience", "a"],
            ["--tokens", tokens, "--keystone", "http://127.0.0.1:1/v3", "--keystone-user", "u", "--keystone-project", "p"],
            ["--keystone", "http://127.0.0.1:1/v3", "--keystone-user", "u"],
            ["--oidc-jwks", "/tmp/jwks.json", "--oidc-issuer", "i"],
            ["--tokens", tokens, "--policy", policy],
        ] {
            #expect(try auditTrail(serve + options).status != 0, "\(options)")
        }
    }

    /// A Keystone that does not answer is a 503, not a 401 and never a scope.
    @Test func anUnreachableKeystoneIsUnavailable() async throws {
        let fixture = try CallsAPITests.fixture.get()
        let validator = KeystoneValidator(
            configuration: .init(
                url: "http://127.0.0.1:\(TestEnvironment.freePort())/v3", user: "u", password: "p", project: "service"))
        let server = ReadServer(configuration: .init(data: fixture.directory, validator: validator))
        try await server.application().test(.router) { client in
            let reply = try await client.get("/v1/events", token: "anything")
            #expect(reply.status == .serviceUnavailable)
        }
    }

    @Test func keystoneTokenBodiesGiveTheScope() throws {
        let body = #"""
            {"token": {"methods": ["password"], "expires_at": "2030-01-02T03:04:05.000000Z", "is_admin_project": false,
             "project": {"id": "p1", "name": "web", "domain": {"id": "d1", "name": "Shop"}},
             "roles": [{"id": "r1", "name": "audit_viewer"}, {"id": "r2", "name": "reader"}]}}
            """#
        let token = KeystoneValidator.token(fromBody: Data(body.utf8))
        #expect(token == ValidatedToken(
            projectID: "p1", projectName: "web", domainID: "d1", domainName: "Shop", roles: ["audit_viewer", "reader"],
            isAdminProject: false, expiresAt: Timestamp.parse("2030-01-02T03:04:05Z")!.microsecondsSinceEpoch))
        let domainScoped = KeystoneValidator.token(fromBody: Data(#"{"token": {"domain": {"id": "d2", "name": "D"}, "roles": []}}"#.utf8))
        #expect(domainScoped?.domainID == "d2" && domainScoped?.projectID == nil)
        #expect(KeystoneValidator.token(fromBody: Data("{}".utf8)) == nil)
    }
}

/// A Keystone started by interop/keystone_server.py, and a store over its projects.
final class KeystoneFixture: @unchecked Sendable {
    let url: String
    let domain: String
    let projectA: String
    let projectB: String
    let tokens: [String: String]
    let service: [String: String]
    /// The store, and how many calls each project has in it.
    let store: String
    let counts: [String: Int]
    private let process: Process
    private let input: Pipe

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<KeystoneFixture, any Error>?

    /// The Keystone of this test run, started at the first call.
    static func shared() async throws -> KeystoneFixture {
        try await offPool {
            lock.lock()
            defer { lock.unlock() }
            if started == nil { started = Result { try KeystoneFixture() } }
            return try started!.get()
        }
    }

    /// Runs blocking work (pip, keystone-manage, reading a pipe) on a Dispatch thread.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    private init() throws {
        let root = Interop.repositoryRoot
        let setup = try Interop.run(root.appendingPathComponent("interop/setup-venv.sh"), ["keystone"])
        guard setup.status == 0 else { throw Interop.Failure("interop/setup-venv.sh keystone: \(setup.stderr)") }
        let python = setup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let directory = NSTemporaryDirectory() + "audit-keystone-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("interop/keystone_server.py").path, directory]
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: directory + "/stderr.log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: directory + "/stderr.log")
        try process.run()
        // Its first line, once Keystone answers (it exits when this process closes its stdin).
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let info = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let url = info["url"] as? String
        else {
            let log = (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? ""
            throw Interop.Failure("keystone_server.py did not start: \(String(decoding: line, as: UTF8.self)) \(log)")
        }
        self.url = url
        domain = info["domain"] as? String ?? ""
        projectA = info["project_a"] as? String ?? ""
        projectB = info["project_b"] as? String ?? ""
        tokens = info["tokens"] as? [String: String] ?? [:]
        service = info["service"] as? [String: String] ?? [:]
        store = directory + "/store"
        counts = try Self.writeStore(store, projects: [projectA, projectB])
    }

    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }

    /// The validator of `serve --keystone` with the fixture's service account.
    func validator(ttl: Int) -> KeystoneValidator {
        KeystoneValidator(
            configuration: .init(
                url: url + "/v3", user: service["user"]!, password: service["password"]!, project: service["project"]!,
                domain: service["domain"]!, cacheTTL: .seconds(ttl)))
    }

    /// A new token for `user` (whose password is its name) scoped to `project`.
    func passwordToken(user: String, project: String) async throws -> String {
        let body: [String: Any] = [
            "auth": [
                "identity": ["methods": ["password"], "password": ["user": ["name": user, "domain": ["id": "default"], "password": user]]],
                "scope": ["project": ["id": project]],
            ]
        ]
        var request = URLRequest(url: URL(string: url + "/v3/auth/tokens")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (_, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse, http.statusCode == 201,
            let token = http.value(forHTTPHeaderField: "X-Subject-Token")
        else { throw Interop.Failure("no token for \(user)") }
        return token
    }

    /// Revokes `token` (`DELETE /v3/auth/tokens`, as its owner).
    func revoke(_ token: String) async throws {
        var request = URLRequest(url: URL(string: url + "/v3/auth/tokens")!)
        request.httpMethod = "DELETE"
        request.setValue(token, forHTTPHeaderField: "X-Auth-Token")
        request.setValue(token, forHTTPHeaderField: "X-Subject-Token")
        let (_, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 204 else { throw Interop.Failure("the token was not revoked") }
    }

    /// A store of sample calls whose first two projects are renamed to `projects` (Keystone's
    /// ids are its own); returns the number of calls of each project.
    static func writeStore(_ directory: String, projects: [String]) throws -> [String: Int] {
        var traffic = SampleTraffic(seed: 9)
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        let writer = try AuditStore(directory: directory).openWriter(topic: "notifications.info", partition: 0)
        var renamed: [String: String] = [:]
        var counts: [String: Int] = [:]
        var offset: Int64 = 0
        for _ in 0..<200 {
            let call = traffic.next()
            var project: String?
            for var bytes in [call.request.envelope, call.response.envelope] {
                guard case .audit(let original) = decoder.decode(bytes) else { throw Interop.Failure("a sample does not decode") }
                let sample = NotificationFields(original, digest: 0).projectId ?? ""
                if renamed[sample] == nil, renamed.count < projects.count { renamed[sample] = projects[renamed.count] }
                if let keystone = renamed[sample] { bytes = replacing(Array(sample.utf8), with: Array(keystone.utf8), in: bytes) }
                guard case .audit(let notification) = decoder.decode(bytes) else { throw Interop.Failure("a renamed sample does not decode") }
                let fields = NotificationFields(notification, digest: NotificationFields.contentDigest(of: bytes))
                project = fields.projectId
                try writer.append([StoreRecord(offset: offset, timestamp: offset, body: .notification(fields, bytes: bytes))])
                offset += 1
            }
            counts[project ?? "", default: 0] += 1
        }
        try writer.close()
        return counts
    }

    private static func replacing(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard !pattern.isEmpty else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + pattern.count <= bytes.count, bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                out += replacement
                i += pattern.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
