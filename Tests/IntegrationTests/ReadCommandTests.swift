// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import Foundation
import Testing

/// What a run of `audit-trail` printed.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String

    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs `audit-trail` with `arguments` to its end; both outputs are pipes (not terminals).
func auditTrail(_ arguments: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = TestEnvironment.auditTrailExecutable
    process.arguments = arguments
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // Read both before waiting: a full pipe would block the child.
    let errors = DispatchQueue(label: "stderr")
    nonisolated(unsafe) var errorData = Data()
    errors.async { errorData = stderr.fileHandleForReading.readDataToEndOfFile() }
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    errors.sync {}
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
        stderr: String(decoding: errorData, as: UTF8.self))
}

/// The auditor commands as a user runs them: query, show, export, stats, verify.
@Suite struct ReadCommandTests {
    final class Store: @unchecked Sendable {
        let path = NSTemporaryDirectory() + "audit-read-" + UUID().uuidString
        let sample: SampleStore
        init(signer: SegmentSigner? = nil) throws {
            var options = StoreOptions()
            options.signer = signer
            options.blockSize = 16 << 10
            sample = try SampleStore.write(directory: path, calls: 600, partitions: 2, options: options, sealEvery: 300)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func queryFiltersNegatesSortsPagesAndPrintsEveryFormat() throws {
        let store = try Store()
        let all = try auditTrail(["query", "--data", store.path, "--format", "json"])
        #expect(all.status == 0, "\(all.stderr)")
        let calls = try all.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(calls.count == store.sample.calls)
        // A filter and its negation split the calls.
        let failed = try auditTrail(["query", "--data", store.path, "--json", "--outcome", "failure"]).lines
        let notFailed = try auditTrail(["query", "--data", store.path, "--json", "--not", "outcome=failure"]).lines
        #expect(!failed.isEmpty && failed.count + notFailed.count == calls.count)
        #expect(failed.allSatisfy { $0.contains("\"outcome\": \"failure\"") })
        // Orphans: exactly the calls missing a half (the window is long over).
        let orphans = try auditTrail(["query", "--data", store.path, "--json", "--orphans", "--window", "0"]).lines
        #expect(orphans.count == store.sample.missingRequests.count + store.sample.missingResponses.count)
        // Relative and absolute times.
        #expect(try auditTrail(["query", "--data", store.path, "--json", "--since", "1h"]).lines.isEmpty)
        #expect(try auditTrail(["query", "--data", store.path, "--json", "--since", "2020-01-01"]).lines.count == calls.count)
        // Paging by cursor, sorted by status, largest first: the pages add up to the whole list.
        let sorted = try auditTrail(["query", "--data", store.path, "--json", "--sort", "status", "--desc"]).lines
        var paged: [String] = []
        var after: String?
        repeat {
            let page = try auditTrail(
                ["query", "--data", store.path, "--json", "--sort", "status", "--desc", "--limit", "250"]
                    + (after.map { ["--after", $0] } ?? []))
            #expect(page.status == 0)
            paged += page.lines
            after = page.stderr.split(separator: "\n").first { $0.hasPrefix("next page: --after ") }
                .map { String($0.dropFirst("next page: --after ".count)) }
        } while after != nil
        #expect(paged == sorted)
        // CSV: a header and one record a call; the table: a header and one line a call.
        let csv = try auditTrail(["query", "--data", store.path, "--format", "csv", "--publisher", "nova-api-wsgi"])
        #expect(csv.lines.first?.hasPrefix("id,state,eventTime,action,outcome,status,latencyMs") == true)
        #expect(csv.lines.count - 1 == calls.filter { ($0["publisher"] as? String) == "nova-api-wsgi" }.count)
        let table = try auditTrail(["query", "--data", store.path, "--action", "read", "--limit", "5"])
        #expect(table.lines.count == 6 && table.lines[0].hasPrefix("TIME"))
        // A bad filter is a clear error.
        let bad = try auditTrail(["query", "--data", store.path, "--not", "colour=blue"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown filter"))
    }

    @Test func showPrintsBothNotificationsAndTheirSources() throws {
        let store = try Store()
        let conflicted = store.sample.conflicts.first!
        let shown = try auditTrail(["show", conflicted, "--data", store.path])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("state:    pair"))
        #expect(shown.stdout.contains("request: stored in notifications.info/"))
        #expect(shown.stdout.contains("response: stored in notifications.info/"))
        #expect(shown.stdout.contains("CONFLICTING copy of the response"))
        #expect(shown.stdout.contains("\"oslo.version\": \"2.0\""))
        let json = try auditTrail(["show", conflicted, "--data", store.path, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        #expect(object["id"] as? String == conflicted && object["conflicts"] as? Int == 1)
        #expect(object["latencyMs"] is Double)
        let missing = try auditTrail(["show", "no-such-id", "--data", store.path])
        #expect(missing.status == 1 && missing.stderr.contains("no notification with id"))
    }

    @Test func exportStreamsEveryCallAndStaysQuietWhenPiped() throws {
        let store = try Store()
        let output = store.path + "-export.jsonl"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let export = try auditTrail(["export", "--data", store.path, "--output", output])
        #expect(export.status == 0 && export.stdout.isEmpty && export.stderr.isEmpty)
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == store.sample.calls)
        let query = try auditTrail(["query", "--data", store.path, "--json"])
        #expect(lines.map(String.init) == query.lines)
        let csv = try auditTrail(["export", "--data", store.path, "--format", "csv", "--outcome", "success"])
        #expect(csv.lines.first?.hasSuffix(",request,response") == true)
        #expect(csv.stderr.isEmpty)
    }

    /// On a terminal (a pseudo-terminal from util-linux `script`), export shows its progress.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func exportShowsProgressOnATerminal() throws {
        let store = try Store()
        let output = store.path + "-tty.jsonl"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let command = [TestEnvironment.auditTrailExecutable.path, "export", "--data", store.path, "--output", output]
            .map { "'\($0)'" }.joined(separator: " ")
        let terminal = try Interop.run(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"])
        #expect(terminal.status == 0)
        #expect(terminal.stdout.contains("export: \(store.sample.calls)/\(store.sample.calls) ["), "\(terminal.stdout)")
        #expect(try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").count == store.sample.calls)
    }

    @Test func statsReportCountsPerPublisherActionOutcomeAndCompression() throws {
        let store = try Store()
        let stats = try auditTrail(["stats", "--data", store.path, "--window", "0", "--json"])
        #expect(stats.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        #expect(object["quarantined"] as? Int == store.sample.quarantined)
        #expect(object["duplicates"] as? Int == store.sample.duplicates)
        #expect(object["orphanRequests"] as? Int == store.sample.missingResponses.count)
        #expect((object["byPublisher"] as? [String: Int])?.values.reduce(0, +) == store.sample.calls)
        #expect((object["quarantineReasons"] as? [String: Int]) == ["notJSON": store.sample.quarantined])
        #expect((object["compressionRatio"] as? Double ?? 0) > 2)
        let text = try auditTrail(["stats", "--data", store.path])
        #expect(text.stdout.contains("by publisher:") && text.stdout.contains("time span:"))
    }

    /// Every tampering case of the store's tests, caught by `audit-trail verify` (exit 1).
    @Test func verifyCatchesEveryTamperingCase() throws {
        let signer = SegmentSigner.generate()
        let store = try Store(signer: signer)
        let key = signer.publicKey.map { String(format: "%02x", $0) }.joined()
        let clean = try auditTrail(["verify", "--data", store.path, "--key", key])
        #expect(clean.status == 0 && clean.stdout.contains("OK: no finding"), "\(clean.stdout)")
        let log = store.path + "/notifications.info/0/"
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: log).sorted()
        let segments = names.filter { $0.hasSuffix(".seg") }.map { String($0.dropLast(4)) }
        #expect(segments.count >= 2)
        let original = try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: URL(fileURLWithPath: log + $0))) })
        func restore() throws {
            for name in try manager.contentsOfDirectory(atPath: log) { try manager.removeItem(atPath: log + name) }
            for (name, data) in original { try data.write(to: URL(fileURLWithPath: log + name)) }
        }
        func expectCaught(_ what: String, key: String? = nil) throws {
            let result = try auditTrail(["verify", "--data", store.path] + (key.map { ["--key", $0] } ?? []))
            #expect(result.status == 1, "not caught: \(what)")
            #expect(result.stdout.contains("FINDING"), "no finding printed: \(what)")
            try restore()
        }
        var random = SeededRandom(seed: 5)
        let files = names.filter { $0.hasSuffix(".seg") || $0.hasSuffix(".idx") || $0 == "MANIFEST" }
        for name in files {
            var bytes = original[name]!
            let position = Int.random(in: 0..<bytes.count, using: &random)
            bytes[position] ^= 0x10
            try bytes.write(to: URL(fileURLWithPath: log + name))
            try expectCaught("\(name) byte \(position) flipped")
            try original[name]!.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: log + name))
            try expectCaught("\(name) truncated")
        }
        let first = segments[0]
        let second = segments[1]
        try manager.removeItem(atPath: log + first + ".seg")
        try expectCaught("segment deleted")
        try original[second + ".seg"]!.write(to: URL(fileURLWithPath: log + first + ".seg"))
        try original[second + ".idx"]!.write(to: URL(fileURLWithPath: log + first + ".idx"))
        try expectCaught("segment duplicated over another")
        for suffix in [".seg", ".idx"] {
            try original[second + suffix]!.write(to: URL(fileURLWithPath: log + first + suffix))
            try original[first + suffix]!.write(to: URL(fileURLWithPath: log + second + suffix))
        }
        try expectCaught("segments reordered")
        try original[first + ".seg"]!.write(to: URL(fileURLWithPath: log + "99999999999999999999.seg"))
        try expectCaught("segment copied to a new name")
        // Signed by another key than the one required.
        try expectCaught("wrong key", key: SegmentSigner.generate().publicKey.map { String(format: "%02x", $0) }.joined())
    }
}
