// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import UnixSignals

/// `audit-trail broker`: the embedded Kafka cluster as a process of its own.
struct Broker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an embedded Kafka cluster (librdkafka's mock brokers) until SIGINT/SIGTERM.",
        discussion: """
            Prints the bootstrap address as the first line on stdout, then runs until SIGINT or SIGTERM \
            (exit 0). Messages live in memory only; each partition keeps a bounded log, like retention would.

            The embedded brokers cannot create topics on request: a worker group's by-id topic \
            (<group>.by-id) is created here with --group, as the worker would on a real Kafka.

            Example: audit-trail broker --brokers 1 --topic notifications.info:6 --group audit-trail
            """
    )

    @Option(help: "Number of brokers.")
    var brokers: Int32 = 1

    @Option(name: .customLong("topic"), help: "A topic to create, as NAME:PARTITIONS (repeatable).")
    var topics: [String] = []

    @Option(
        name: .customLong("group"),
        help: "A worker group that will use the cluster: creates its <group>.by-id topic with as many partitions as the largest --topic (repeatable).")
    var groups: [String] = []

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let cluster = try MockCluster(brokers: brokers)
        let parsed = try topics.map(parseTopic)
        for (name, partitions) in parsed {
            try cluster.createTopic(name, partitions: partitions)
        }
        let byIDPartitions = parsed.map(\.1).max() ?? 1
        for group in groups {
            try cluster.createTopic("\(group).by-id", partitions: byIDPartitions)
        }
        print(cluster.bootstrapServers)
        fflush(nil)
        let logger = Logger(label: "audit.broker")
        let group = ServiceGroup(
            services: [EmbeddedBroker(cluster: cluster, logger: logger)], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await group.run()
    }
}

/// Keeps an embedded cluster alive until its group shuts down.
struct EmbeddedBroker: Service {
    let cluster: MockCluster
    let logger: Logger

    func run() async throws {
        // Suspends until the graceful shutdown (or throws on cancellation, which ends it too).
        try? await gracefulShutdown()
        logger.info("audit-trail broker: stopping")
        withExtendedLifetime(cluster) {}
    }
}

/// Parses `NAME:PARTITIONS` (partitions default to 1).
func parseTopic(_ spec: String) throws -> (String, Int32) {
    let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
    guard let name = parts.first, !name.isEmpty, parts.count <= 2 else {
        throw ValidationError("--topic expects NAME:PARTITIONS, got '\(spec)'")
    }
    guard parts.count == 2 else { return (String(name), 1) }
    guard let count = Int32(parts[1]), count > 0 else {
        throw ValidationError("--topic expects a positive partition count, got '\(spec)'")
    }
    return (String(name), count)
}
