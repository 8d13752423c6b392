// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import AuditStore
import AuditWorker
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `audit-trail worker`: one member of the workers' consumer group.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume audit notifications as a group member: validate, correlate, store exactly once.",
        discussion: """
            Many workers share one group; workers on one machine share one --data directory (each \
            partition's log is written by the worker that owns the partition). Unkeyed notifications \
            are re-keyed by payload.id onto the group's internal topic <group>.by-id, which must exist \
            with enough partitions for the group (the demo and docker-compose create it).

            SIGTERM or SIGINT: finish the batch, make it durable, commit, leave the group, exit 0 \
            (the metrics endpoint keeps answering until the worker is done).
            """)

    @OptionGroup var kafka: KafkaOptions

    @Option(help: "Source topics, comma-separated.")
    var topic: String = "notifications.info"

    @Option(help: "Consumer group of the workers.")
    var group: String = "audit-trail"

    @Option(help: "Data directory (segment logs).")
    var data: String

    @Option(help: "Internal by-id topic (default <group>.by-id).")
    var byIdTopic: String?

    @Option(help: "Also copy invalid input to this dead-letter topic.")
    var deadLetterTopic: String?

    @Flag(help: "Accept a by-id topic whose retention can delete copies before they are stored (refused otherwise).")
    var allowByIDRetention = false

    @Option(help: "Serve Prometheus metrics on this port (GET /metrics, text format with HELP and TYPE lines).")
    var metricsPort: Int?

    @Option(help: "Milliseconds appended records may wait for their durability barrier and offset commit (0: every batch).")
    var syncIntervalMs: Int = 200

    @Option(help: "Seconds a stored half is remembered to recognise a redelivered copy (about 50 bytes per call).")
    var duplicateRetentionS: Int = 600

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @OptionGroup(title: "Object store (DESIGN §9)") var objectStore: ObjectStoreOptions

    @Option(help: "Seal the active segment at this many raw bytes (e.g. 256MiB).")
    var segmentBytes: String = "256MiB"

    @Option(help: "Seal the active segment at this age (e.g. 1h, 15m).")
    var segmentAge: String = "1h"

    @Option(help: "Ed25519 private key (64 hex digits, or a file holding them) that signs sealed segments, checkpoints and tombstones.")
    var signingKey: String?

    @Option(help: "With --object-store: how often each log's owner writes a signed checkpoint (e.g. 5m).")
    var checkpointInterval: String = "5m"

    @Option(help: "With --object-store: remove sealed segments older than this (e.g. 400d), leaving a signed tombstone. Kept forever when not given.")
    var retain: String?

    func validate() throws {
        guard let bytes = ByteText.parse(segmentBytes), bytes > 0 else { throw ValidationError("--segment-bytes: give a size such as 256MiB") }
        _ = bytes
        guard let age = DurationText.parse(segmentAge), age > .zero else { throw ValidationError("--segment-age: give a duration such as 1h") }
        _ = age
        guard DurationText.parse(checkpointInterval).map({ $0 > .zero }) ?? false else {
            throw ValidationError("--checkpoint-interval: give a duration such as 5m")
        }
        if let retain, DurationText.parse(retain).map({ $0 > .zero }) != true {
            throw ValidationError("--retain: give a duration such as 400d")
        }
        if retain != nil && objectStore.objectStore == nil { throw ValidationError("--retain needs --object-store") }
        guard syncIntervalMs >= 0 else { throw ValidationError("--sync-interval-ms must be 0 or more") }
        guard duplicateRetentionS > 0 else { throw ValidationError("--duplicate-retention-s must be more than 0") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = WorkerConfiguration(
            bootstrapServers: kafka.brokers, topics: topic.split(separator: ",").map(String.init), group: group,
            dataDirectory: data)
        configuration.kafka = try kafka.configuration()
        if let byIdTopic { configuration.byIDTopic = byIdTopic }
        configuration.deadLetterTopic = deadLetterTopic
        configuration.allowByIDRetention = allowByIDRetention
        configuration.syncInterval = .milliseconds(syncIntervalMs)
        configuration.duplicateRetention = .seconds(duplicateRetentionS)
        configuration.storeOptions.segmentMaxBytes = ByteText.parse(segmentBytes)!
        configuration.storeOptions.segmentMaxAge = Int64(DurationText.parse(segmentAge)!.inSeconds * 1000)
        if let signingKey { configuration.storeOptions.signer = try SigningKey.signer(signingKey) }
        configuration.checkpointInterval = DurationText.parse(checkpointInterval)!
        configuration.retention = retain.flatMap(DurationText.parse)
        try await objectStore.withArchive(signer: configuration.storeOptions.signer) { archive in
            configuration.archive = archive
            try await run(configuration)
        }
    }

    private func run(_ configuration: WorkerConfiguration) async throws {
        // The process's one bootstrap: whatever records through swift-metrics lands in `registry`.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(DescribedPrometheusFactory(registry: registry))
        let worker = try Worker(configuration: configuration)
        // A graceful shutdown stops the services in reverse order: the worker drains first, and
        // the metrics endpoint answers until it is done. When the worker ends (stopped, or on an
        // error, which the group then throws) the endpoint is shut down gracefully too.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metricsPort { services.append(.init(service: metricsServer(registry, port: metricsPort))) }
        services.append(
            .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup,
                  failureTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "audit.worker")))
        try await group.run()
    }
}

/// An HTTP server answering `GET /metrics` with `registry` in Prometheus' text format.
func metricsServer(_ registry: PrometheusCollectorRegistry, port: Int) -> some Service {
    let router = Router()
    router.get("/metrics") { _, _ -> Response in
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
    }
    return Application(
        router: router, configuration: .init(address: .hostname("0.0.0.0", port: port)),
        logger: Logger(label: "audit.metrics"))
}
