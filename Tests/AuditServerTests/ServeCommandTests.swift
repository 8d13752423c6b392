// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `audit-trail serve` as an operator runs it: a process that answers over TCP until SIGTERM.
@Suite struct ServeCommandTests {
    @Test(.timeLimit(.minutes(2)))
    func theCommandServesTheDocumentAndScopedCallsAndStopsOnSIGTERM() async throws {
        let fixture = try CallsAPITests.fixture.get()
        let tokens = NSTemporaryDirectory() + "audit-tokens-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        let project = fixture.projects[2]
        try Data("{\"token\": \"t1\", \"project_id\": \"\(project)\", \"roles\": [\"audit_viewer\"]}\n".utf8)
            .write(to: URL(fileURLWithPath: tokens))
        let server = try ServeProcess(data: fixture.directory, tokens: tokens)
        let process = server.process
        let port = server.port
        func get(_ path: String, token: String? = nil) async throws -> (Int, Data) {
            var request = URLRequest(url: URL(string: server.base + path)!)
            if let token { request.setValue(token, forHTTPHeaderField: "X-Auth-Token") }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        }
        #expect(try await server.waitUntilServing())
        let document = try await get("/openapi.json")
        #expect(document.0 == 200)
        #expect((try JSONSerialization.jsonObject(with: document.1) as? [String: Any])?["openapi"] as? String == "3.1.0")
        #expect(try await get("/v1/calls").0 == 401)
        let calls = try await get("/v1/calls?limit=10000", token: "t1")
        #expect(calls.0 == 200)
        let listed = (try JSONSerialization.jsonObject(with: calls.1) as? [String: Any])?["calls"] as? [[String: Any]] ?? []
        let cli = try auditTrail(["query", "--data", fixture.directory, "--json", "--project", project])
        #expect(try listed.map { try canonical($0) } == cli.lines.map { try canonical(try JSONSerialization.jsonObject(with: Data($0.utf8))) })
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // A data directory that holds no store is refused at start.
        let wrong = try auditTrail(["serve", "--data", "/no/such/store", "--tokens", tokens, "--port", String(port)])
        #expect(wrong.status != 0)
    }
}
