// AuditTrail — ObjectStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import ObjectStore

/// A Python HTTP server written by a test, run on a free loopback port for the test's body.
enum ScriptedServer {
    /// Runs `script` as `python script PORT ARGUMENTS…` (`python3` from the path unless `python` is
    /// given), waits until it answers, and gives
    /// `body` a client (bucket `b`, ``MotoS3/credentials`` unless `credentials` is given) for it.
    static func with(
        script: String, arguments: [String], python: URL? = nil,
        credentials: S3Credentials = MotoS3.credentials, retry: S3RetryPolicy,
        _ body: (S3Client) async throws -> Void
    ) async throws {
        let scriptPath = NSTemporaryDirectory() + "scripted-s3-\(UUID().uuidString).py"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: scriptPath) }
        let port = TestEnvironment.freePort()
        let process = Process()
        process.executableURL = python ?? URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = (python == nil ? ["python3"] : []) + [scriptPath, "\(port)"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        func configuration(_ credentials: S3Credentials, _ retry: S3RetryPolicy) -> S3Configuration {
            S3Configuration(
                endpoint: "http://127.0.0.1:\(port)", credentials: credentials, retry: retry,
                connectTimeout: .milliseconds(500))
        }
        // Wait until it listens: any HTTP answer will do.
        let probe = try S3Client(bucket: "b", configuration: configuration(credentials, S3RetryPolicy(maxAttempts: 1)))
        var listening = false
        for _ in 0..<400 where !listening {
            do {
                _ = try await probe.head("probe")
                listening = true
            } catch ObjectStoreError.transport {
                try await Task.sleep(for: .milliseconds(25))
            } catch {
                listening = true
            }
        }
        try await probe.shutdown()
        try #require(listening)
        try await withS3Client(bucket: "b", configuration: configuration(credentials, retry), body)
    }
}
