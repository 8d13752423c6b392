// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Kafka

/// Where tests find what the build and the repository provide.
public enum TestEnvironment {
    /// The built `audit-trail` executable: `$AUDIT_TRAIL_BIN`, else beside the test bundle.
    public static var auditTrailExecutable: URL {
        if let path = ProcessInfo.processInfo.environment["AUDIT_TRAIL_BIN"] {
            return URL(fileURLWithPath: path)
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The runner may sit inside an .xctest bundle directory on some layouts.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("audit-trail")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("audit-trail")
    }

    /// A name unique to this process and call, for topics and groups.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Consumer settings for tests: short session timeouts so the mock group rebalances in
    /// seconds, not the 45 s a production session timeout would make it wait.
    public static func consumerConfiguration(bootstrap: String, group: String) -> KafkaConfiguration {
        var configuration = KafkaConfiguration(bootstrapServers: bootstrap)
        configuration.set("group.id", group)
        configuration.set("session.timeout.ms", "6000")
        configuration.set("heartbeat.interval.ms", "500")
        configuration.set("topic.metadata.refresh.interval.ms", "1000")
        return configuration
    }
}
