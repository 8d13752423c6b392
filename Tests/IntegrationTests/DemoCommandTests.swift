// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

/// DESIGN §6.9: the main command ends by checking its own result and fails loudly otherwise.
@Suite(.timeLimit(.minutes(4)))
struct DemoCommandTests {
    @Test func theDemoProvesItsResultAndFailsWhenTheStoreDisagrees() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("demo")).path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let demo = try Interop.run(TestEnvironment.auditTrailExecutable, ["demo", "--calls", "600", "--data", data])
        #expect(demo.status == 0, "\(demo.stdout)\(demo.stderr)")
        let summary = demo.stdout.split(separator: "\n").first { $0.hasPrefix("4. published ") }.map(String.init) ?? ""
        // 600 calls: 7 without a response, 7 responses sent twice.
        #expect(summary.hasPrefix("4. published 1200 · stored 1200 (593 pairs, 7 orphans, 7 repeats recognised) · lost 0 · verify: clean"), "\(summary)")

        // The same data directory again, with a new embedded cluster whose offsets start at 0:
        // the store resumes each partition after what it already holds, so this run's first
        // notifications are never stored. The demo must notice and say so.
        let again = try Interop.run(TestEnvironment.auditTrailExecutable, ["demo", "--calls", "600", "--data", data])
        #expect(again.status == 1)
        #expect(again.stderr.contains("MISMATCH"), "\(again.stderr)")
        #expect(again.stderr.contains("does not match what was published"))
    }
}
