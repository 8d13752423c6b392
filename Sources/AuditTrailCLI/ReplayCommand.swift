// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditWorker
import Foundation
import Logging

/// `audit-trail replay`: a topic range into a case store, or stored notifications back onto a topic.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a topic range into a separate case store, or republish stored notifications byte for byte.",
        discussion: """
            From Kafka into a case store (assigns the partitions: no group is joined, nothing is committed):
              audit-trail replay --brokers B --topic T --since 2026-11-22T10:00:00Z --until 2026-11-22T11:00:00Z --into DIR
              audit-trail replay --brokers B --topic T --offsets 0:1000-2000,3:0-500 --into DIR
            From a store back onto a topic (keyed by CADF id; the call filters of `query` apply):
              audit-trail replay --data DIR --to-topic T --brokers B [--outcome failure ...]
            """)

    @OptionGroup(title: "Kafka") var kafka: KafkaOptions

    @Option(help: "Topic to read (with --into).")
    var topic: String?

    @Option(help: "Case store directory to write (a new one, not a workers' store).")
    var into: String?

    @Option(help: "Offsets per partition: P:FROM-TO[,P:FROM-TO...] (TO excluded).")
    var offsets: String?

    @Option(help: "Store directory to republish from (with --to-topic).")
    var data: String?

    @Option(help: "Topic to republish onto.")
    var toTopic: String?

    @OptionGroup(title: "Filters (--since/--until also bound a topic range, by Kafka timestamp)") var filters: CallFilterOptions

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let now = microsecondsNow()
        if let data, let toTopic {
            var progress = Progress("republish", total: nil)
            let delivered = try await Replay.republish(
                from: data, filters: try filters.filters(now: now), to: toTopic, kafka: try kafka.configuration()
            ) { done, _ in progress.update(done) }
            progress.finish(delivered)
            print("republished \(delivered) notification(s) from \(data) onto \(toTopic)")
            return
        }
        guard let topic, let into else {
            throw ValidationError("give --topic and --into (topic to case store), or --data and --to-topic (store to topic)")
        }
        let range: Replay.Range
        if let offsets {
            guard filters.since == nil && filters.until == nil else { throw ValidationError("--offsets or --since/--until, not both") }
            range = .offsets(try Self.offsets(offsets))
        } else {
            range = .times(
                since: try filters.since.map { try CallFilterOptions.time($0, now: now) / 1000 },
                until: try filters.until.map { try CallFilterOptions.time($0, now: now) / 1000 })
        }
        var progress = Progress("replay", total: nil)
        let summary = try await Replay(kafka: try kafka.configuration(), topic: topic, range: range, dataDirectory: into)
            .run { done, _ in progress.update(done) }
        progress.finish(summary.messages)
        let ranges = summary.ranges.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.lowerBound)-\($0.value.upperBound)" }
        print("replayed \(summary.messages) message(s) of \(topic) into \(into): \(summary.notifications) notifications, \(summary.quarantined) quarantined, \(summary.skipped) skipped, \(summary.duplicates) duplicates, \(summary.gapOffsets) offsets gone")
        print("offsets: \(ranges.isEmpty ? "none" : ranges.joined(separator: ","))")
    }

    static func offsets(_ text: String) throws -> [Int32: Range<Int64>] {
        var out: [Int32: Range<Int64>] = [:]
        for part in text.split(separator: ",") {
            let fields = part.split(separator: ":")
            let bounds = fields.count == 2 ? fields[1].split(separator: "-") : []
            guard fields.count == 2, bounds.count == 2, let partition = Int32(fields[0]), let from = Int64(bounds[0]),
                let to = Int64(bounds[1]), from <= to
            else { throw ValidationError("--offsets: P:FROM-TO, e.g. 0:100-200 (got \(part))") }
            out[partition] = from..<to
        }
        return out
    }
}
