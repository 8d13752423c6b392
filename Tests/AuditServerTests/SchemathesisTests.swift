// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

/// schemathesis (PyPI, in `.venv-schemathesis` by `interop/setup-venv.sh schemathesis`) reads
/// `/openapi.json` of a running `audit-trail serve` and calls every operation with generated
/// valid and invalid parameters: no answer is a 5xx, and every status, content type and body
/// is one the document declares.
@Suite struct SchemathesisTests {
    @Test(.timeLimit(.minutes(3)))
    func everyResponseToGeneratedRequestsMatchesTheDocumentAndNoneIsAServerError() async throws {
        let setup = try Interop.run(Interop.repositoryRoot.appendingPathComponent("interop/setup-venv.sh"), ["schemathesis"])
        try #require(setup.status == 0, "interop/setup-venv.sh schemathesis: \(setup.stderr)")
        let schemathesis = URL(fileURLWithPath: setup.stdout.trimmingCharacters(in: .whitespacesAndNewlines))

        let fixture = try CallsAPITests.fixture.get()
        // A cloud admin may read every route, so the generated requests reach past the policy.
        let tokens = NSTemporaryDirectory() + "audit-schemathesis-tokens-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        let admin = "schemathesis-admin"
        try Data("{\"token\": \"\(admin)\", \"roles\": [\"cloud_audit_viewer\"], \"cloud_admin\": true}\n".utf8)
            .write(to: URL(fileURLWithPath: tokens))
        let server = try ServeProcess(data: fixture.directory, tokens: tokens)
        let base = server.base
        try #require(try await server.waitUntilServing())

        // schemathesis keeps caches in its working directory: a scratch one, not the repository.
        let scratch = NSTemporaryDirectory() + "audit-schemathesis-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let started = ContinuousClock.now
        let run = try await Interop.runAsync(URL(fileURLWithPath: "/usr/bin/env"), [
            "-C", scratch, schemathesis.path, "run", "\(base)/openapi.json",
            "--header", "X-Auth-Token: \(admin)",
            "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples", "40", "--max-time", "45", "--seed", "18", "--workers", "4",
            "--generation-with-security-parameters", "false", "--generation-database", "none",
            "--no-color",
        ])
        print("schemathesis took \(ContinuousClock.now - started)")
        #expect(run.status == 0, "schemathesis found problems:\n\(run.stdout)\n\(run.stderr)")
    }
}
