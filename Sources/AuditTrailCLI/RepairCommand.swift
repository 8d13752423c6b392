// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditStore
import AuditWorker
import Foundation
import Logging

/// `audit-trail repair`: forwarded notifications whose copies were lost, fetched again from
/// their source offsets and forwarded once more.
struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Fetch lost forwarded notifications again from their source offsets and forward them once more.",
        discussion: """
            `verify` names each forwarded notification whose copy on the by-id topic was never \
            stored (the broker deleted it first). repair reads each again at its source offset \
            (assign, throwaway group: no group is disturbed) and produces it onto the by-id topic \
            as the worker does; the worker that owns that partition stores it. Safe beside running \
            workers and idempotent (a copy forwarded twice is stored once). Exits 1 when a source \
            offset is gone from Kafka (lost for good: listed), or when --wait ends before every \
            repaired copy is stored.
            """)

    @OptionGroup(title: "Kafka") var kafka: KafkaOptions

    @Option(help: "Data directory of the workers' store.")
    var data: String?

    @OptionGroup(title: "Object store") var archive: ArchiveCacheOptions

    @Option(help: "Only repair copies of this consumer group (its <group>.by-id topic).")
    var group: String?

    @Option(help: "Seconds to wait until the workers have stored every repaired copy (0: do not wait).")
    var wait: Int = 0

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        // With --object-store, the store read is the bucket's (through the cache, brought in line
        // again at each check): repair writes to Kafka only, never to a log.
        let data = try await archive.dataDirectory(data: self.data)
        try TrailOptions.requireStore(data)
        let repair = Repair(kafka: try kafka.configuration(), dataDirectory: data, byIDTopic: group.map { "\($0).by-id" })
        let summary = try await repair.run()
        print("repair: \(summary.resent.count) lost cop(ies) forwarded again, \(summary.unrecoverable.count) no longer in Kafka, \(summary.inFlight) in flight (not repaired)")
        for unstored in summary.unrecoverable { print("UNRECOVERABLE \(unstored.topic)/\(unstored.partition) offset \(unstored.offset) (id \(unstored.key)): gone from Kafka") }
        var failed = !summary.unrecoverable.isEmpty
        if wait > 0, !summary.resent.isEmpty {
            let resent = Set(summary.resent.map { "\($0.topic)/\($0.partition)/\($0.offset)" })
            let deadline = ContinuousClock.now + .seconds(wait)
            var left = resent.count
            while true {
                if archive.isSet { try await archive.mirror() }
                let account = try HopAccount(directory: data)
                left = account.missing.filter { resent.contains("\($0.topic)/\($0.partition)/\($0.offset)") }.count
                if left == 0 || ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            print(left == 0 ? "every repaired copy is stored" : "\(left) repaired cop(ies) not stored after \(wait) s: is a worker of the group running?")
            failed = failed || left > 0
        }
        if failed { throw ExitCode(1) }
    }
}
