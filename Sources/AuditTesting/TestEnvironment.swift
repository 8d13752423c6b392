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

    /// A TCP port that nothing is bound to right now, below Linux's ephemeral range
    /// (32768–60999), so the mock brokers' and clients' own sockets never take it meanwhile.
    public static func freePort() -> Int {
        while true {
            let port = Int.random(in: 20_000..<32_768)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return port }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = 0  // any address, as the metrics server binds
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
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

    /// Bytes of the regular files under `directory`, at any depth (0 when it does not exist).
    public static func bytesOfFiles(under directory: String) -> Int64 {
        var total: Int64 = 0
        for name in FileManager.default.subpaths(atPath: directory) ?? [] {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0 }
        }
        return total
    }
}
