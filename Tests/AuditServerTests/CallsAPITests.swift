// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditServer
import AuditStore
import AuditTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Runs the built `audit-trail` with `arguments`; returns its status and standard output.
func auditTrail(_ arguments: [String]) throws -> (status: Int32, lines: [String]) {
    let process = Process()
    process.executableURL = TestEnvironment.auditTrailExecutable
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
}

/// A JSON value as text with sorted keys, to compare two parses.
func canonical(_ value: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
}

/// `/v1/calls` and `/v1/calls/{id}`: the pair view the command line prints.
@Suite struct CallsAPITests {
    static let fixture = Result { try ServerFixture(seed: 11, calls: 500) }

    /// For the same filters, the API's calls (every page) equal `audit-trail query --json`.
    @Test func theAPIEqualsTheCommandLine() async throws {
        let fixture = try Self.fixture.get()
        let someone = fixture.calls.compactMap { $0.fields?.initiatorName }.first!
        let project = fixture.projects[1]
        // (API query, command-line flags, token)
        let cases: [(String, [String], String)] = [
            ("", [], "admin"),
            ("outcome=failure", ["--outcome", "failure"], "admin"),
            ("not=status%3D404&not=outcome=pending", ["--not", "status=404", "--not", "outcome=pending"], "admin"),
            ("initiator=\(encoded(someone))&since=2020-01-01", ["--initiator", someone, "--since", "2020-01-01"], "admin"),
            ("orphans=true", ["--orphans"], "admin"),
            ("action=read&sort=status&desc=true", ["--action", "read", "--sort", "status", "--desc"], "admin"),
            ("sort=latency&desc=true&publisher=nova-api-wsgi", ["--sort", "latency", "--desc", "--publisher", "nova-api-wsgi"], "admin"),
            ("path=/v2&sort=path", ["--path", "/v2", "--sort", "path"], "admin"),
            // A project's token sees what `--project` selects.
            ("", ["--project", project], "project-\(project)"),
            ("outcome=success&sort=initiator", ["--project", project, "--outcome", "success", "--sort", "initiator"], "project-\(project)"),
        ]
        var expected: [[String]] = []
        for (_, flags, _) in cases {
            let cli = try auditTrail(["query", "--data", fixture.directory, "--json"] + flags)
            #expect(cli.status == 0)
            expected.append(try cli.lines.map { try canonical(try JSONSerialization.jsonObject(with: Data($0.utf8))) })
        }
        #expect(expected[0].count == fixture.sample.calls)
        #expect(!expected[8].isEmpty && expected[8].count < expected[0].count)
        let expectedLines = expected
        try await fixture.server().application().test(.router) { client in
            for ((query, flags, token), cli) in zip(cases, expectedLines) {
                var calls: [String] = []
                var after: String?
                var pages = 0
                repeat {
                    let uri = "/v1/calls?limit=37&\(query)" + (after.map { "&after=\($0)" } ?? "")
                    let reply = try await client.get(uri, token: token)
                    #expect(reply.status == .ok, "\(uri): \(reply.body)")
                    calls += try (reply.object["calls"] as? [Any] ?? []).map(canonical)
                    after = reply.object["next"] as? String
                    pages += 1
                } while after != nil && pages < 100
                #expect(calls == cli, "\(query) vs \(flags): \(calls.count) vs \(cli.count)")
            }
        }
    }

    @Test func aCallShowsBothNotificationsTheirSourcesAndWhetherTheyVerify() async throws {
        let fixture = try Self.fixture.get()
        let conflicted = fixture.sample.conflicts.first!
        try await fixture.server().application().test(.router) { client in
            let reply = try await client.get("/v1/calls/\(conflicted)", token: "admin")
            #expect(reply.status == .ok)
            let call = reply.object["call"] as? [String: Any] ?? [:]
            #expect(call["id"] as? String == conflicted && call["conflicts"] as? Int == 1)
            #expect((call["requestSource"] as? [String: Any])?["topic"] as? String == "notifications.info")
            #expect(call["request"] is [String: Any] && call["response"] is [String: Any])
            let copies = reply.object["copies"] as? [[String: Any]] ?? []
            #expect(copies.count == 1 && copies.first?["conflict"] as? Bool == true)
            let logs = reply.object["logs"] as? [[String: Any]] ?? []
            #expect(!logs.isEmpty && logs.allSatisfy { $0["verifies"] as? Bool == true })
            // The same as `show --json` prints.
            let shown = try auditTrail(["show", conflicted, "--data", fixture.directory, "--json"])
            #expect(try canonical(call) == canonical(try JSONSerialization.jsonObject(with: Data(shown.lines.joined().utf8))))
            #expect(try await client.get("/v1/calls/no-such-call", token: "admin").status == .notFound)
            // A cursor of another order, a bad filter, a bad sort key.
            #expect(try await client.get("/v1/calls?after=zz", token: "admin").status == .badRequest)
            #expect(try await client.get("/v1/calls?status=abc", token: "admin").status == .badRequest)
            #expect(try await client.get("/v1/calls?not=colour=blue", token: "admin").status == .badRequest)
            #expect(try await client.get("/v1/calls?sort=colour", token: "admin").status == .badRequest)
        }
    }
}
