// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditClient
import AuditTraffic
import Foundation
import Logging

/// `audit-trail publish`: send sample traffic or captured notifications to Kafka.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish audit notifications: generated sample traffic, or the lines of files.",
        discussion: """
            --sample N publishes N HTTP calls (a request and a response each) of realistic traffic to
            several services, built by AuditClient exactly as the middleware builds them and keyed by
            payload.id. FILE arguments are JSON lines, one Kafka record value per line (for example
            captured oslo.messaging notifications); each line is published byte for byte, unkeyed as
            oslo.messaging's Kafka driver publishes.
            """)

    @OptionGroup var kafka: KafkaOptions

    @Option(help: "Topic to publish to.")
    var topic = "notifications.info"

    @Option(help: "Publish N generated HTTP calls (2N notifications).")
    var sample: Int?

    @Option(help: "Seed of the generated traffic.")
    var seed: UInt64 = 42

    @Argument(help: "Files of notifications, one Kafka value per line.")
    var files: [String] = []

    func validate() throws {
        if (sample == nil) == files.isEmpty { throw ValidationError("give either --sample N or FILE arguments") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        var configuration = AuditPublisher.Configuration(bootstrapServers: kafka.brokers, topic: topic, publisherID: "audit-trail")
        configuration.kafka = try kafka.configuration()
        let publisher = try AuditPublisher(configuration: configuration)
        var count = 0
        if let sample {
            var progress = Progress("publishing", total: 2 * sample)
            var traffic = SampleTraffic(seed: seed, startTime: currentMicroseconds() - Int64(sample) * 20_000)
            for _ in 0..<sample {
                let call = traffic.next()
                try await publisher.enqueue(call.request)
                try await publisher.enqueue(call.response)
                count += 2
                progress.update(count)
            }
            progress.finish(count)
        } else {
            var progress = Progress("publishing", total: nil)
            for file in files {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                    try await publisher.enqueue(value: Array(line), key: nil)
                    count += 1
                    progress.update(count)
                }
            }
            progress.finish(count)
        }
        let statistics = try await publisher.flush(timeout: .seconds(120))
        print("published \(statistics.delivered) notifications to \(topic) (\(statistics.failed) failed)")
        if statistics.failed > 0 || statistics.delivered != count { throw ExitCode.failure }
    }
}
