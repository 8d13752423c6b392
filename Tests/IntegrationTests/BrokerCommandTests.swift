// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@Suite(.timeLimit(.minutes(2)))
struct BrokerCommandTests {
    @Test func brokerProcessIsListedByKcatAndStopsOnSigterm() async throws {
        let process = Process()
        process.executableURL = TestEnvironment.auditTrailExecutable
        process.arguments = ["broker", "--brokers", "1", "--topic", "notifications.info:6", "--topic", "other:2", "--group", "audit-trail"]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let firstLine = try await readLine(stdout.fileHandleForReading)
        #expect(firstLine.hasPrefix("127.0.0.1:"), "first line was '\(firstLine)'")

        let kcat = Process()
        kcat.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        kcat.arguments = ["-L", "-b", firstLine, "-m", "10"]
        let listing = Pipe()
        kcat.standardOutput = listing
        try kcat.run()
        let output = String(decoding: listing.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        kcat.waitUntilExit()
        #expect(kcat.terminationStatus == 0)
        #expect(output.contains("topic \"notifications.info\" with 6 partitions"), "\(output)")
        #expect(output.contains("topic \"other\" with 2 partitions"))
        // A group's by-id topic, which the embedded brokers could not create on the worker's request.
        #expect(output.contains("topic \"audit-trail.by-id\" with 6 partitions"))
        #expect(output.contains("1 brokers"))

        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }

    /// Reads up to the first newline, off the cooperative pool.
    func readLine(_ handle: FileHandle) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                while true {
                    let chunk = handle.readData(ofLength: 1)
                    guard let byte = chunk.first else { break }
                    if byte == UInt8(ascii: "\n") { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
    }
}
