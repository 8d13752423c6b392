// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// Runs the Python side of interoperability tests: the real pycadf, keystonemiddleware and
/// oslo.messaging, installed from PyPI into `.venv-interop` by `interop/setup-venv.sh`.
public enum Interop {
    /// The repository root (two levels above this file's folder).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/samples` beside the repository (where CI puts `shared/`).
    public static var sharedSamples: URL {
        repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/samples")
    }

    /// The interop venv's python, creating the venv if needed (about 30 s the first time).
    public static func python() throws -> URL {
        let result = try run(repositoryRoot.appendingPathComponent("interop/setup-venv.sh"), [])
        guard result.status == 0 else { throw Failure("interop/setup-venv.sh failed: \(result.stderr)") }
        return URL(fileURLWithPath: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs `interop/<script>` with the venv's python.
    public static func runScript(_ script: String, _ arguments: [String]) throws -> Result {
        try run(try python(), [repositoryRoot.appendingPathComponent("interop/\(script)").path] + arguments)
    }

    /// What a finished process printed.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Standard output split into lines, empty lines dropped.
        public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// A failed interop step.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Runs a program to completion, collecting its output (read concurrently, so a chatty
    /// child never blocks on a full pipe).
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var stdout = Data()
        nonisolated(unsafe) var stderr = Data()
        group.enter()
        DispatchQueue.global().async {
            stdout = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            stderr = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs a program off the cooperative pool.
    public static func runAsync(_ executable: URL, _ arguments: [String]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try run(executable, arguments) })
            }
        }
    }
}
