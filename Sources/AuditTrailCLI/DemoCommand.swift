// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditClient
import AuditStore
import AuditTraffic
import AuditWorker
import Foundation
import Kafka
import Logging

/// `audit-trail demo`: the whole pipeline on the embedded Kafka, proving its own result.
///
/// Starts librdkafka's mock cluster, runs two workers of one group that share a data directory,
/// publishes realistic audit traffic as OpenStack services do (oslo envelope, unkeyed; some
/// responses missing, some sent twice) while the workers run, as services do, then checks the
/// stored trail from the store alone (DESIGN §6.9): every published notification stored or
/// recognised as a repeat, the pairs and orphans the traffic implies, nothing lost, verify
/// clean. Any disagreement is printed and the command exits 1.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole pipeline on an embedded Kafka and prove it: publisher, two workers, self-check, query.",
        discussion: """
            Exits 0 only when the store holds every published notification (stored, or recognised \
            as a repeat), the expected pairs and orphans, no lost notification, and verifies clean.
            """)

    @Option(help: "HTTP calls to publish (each a request and a response).")
    var calls: Int = 5_000

    @Option(help: "Data directory (default: a new temporary directory).")
    var data: String?

    /// The embedded cluster keeps about 5 MiB per partition (older messages are deleted, as by
    /// retention): the traffic is spread over enough partitions, published at a pace the workers
    /// keep up with, so nothing is deleted before it is read.
    static let partitions: Int32 = 12
    /// Notifications published between two waits for the workers.
    static let chunk = 500
    /// How long the workers may store nothing while notifications wait for them.
    static let stallLimit = Duration.seconds(10)

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            // The workers' warnings here are about the embedded cluster itself (it cannot report
            // the by-id topic's retention); errors, a loss among them, still show.
            handler.logLevel = label == "audit.worker" ? .error : .warning
            return handler
        }
        let topic = "notifications.info"
        let group = "audit-demo"
        let dataDirectory = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("audit-trail-demo-\(getpid())").path
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic(topic, partitions: Self.partitions)
        try cluster.createTopic("\(group).by-id", partitions: Self.partitions)
        let bootstrap = cluster.bootstrapServers
        print("1. embedded Kafka (librdkafka mock cluster) at \(bootstrap): \(topic) and \(group).by-id, \(Self.partitions) partitions each")

        var configuration = WorkerConfiguration(bootstrapServers: bootstrap, topics: [topic], group: group, dataDirectory: dataDirectory)
        configuration.kafka.set("session.timeout.ms", "6000")
        configuration.kafka.set("heartbeat.interval.ms", "500")
        configuration.idleTick = .milliseconds(200)
        let workers = try (0..<2).map { _ in try Worker(configuration: configuration) }
        print("2. two workers of group \(group) storing into \(dataDirectory)")
        func handled() -> Int { workers.map { $0.progress.stored + $0.progress.duplicates }.reduce(0, +) }
        /// Waits until `done(handled)` holds, or until the workers made no progress for
        /// ``stallLimit``: the check at the end then says what is missing.
        func waitForWorkers(until done: (Int) -> Bool) async throws {
            var last = handled()
            var progressed = ContinuousClock.now
            while !done(last), progressed.duration(to: .now) < Self.stallLimit {
                try await Task.sleep(for: .milliseconds(20))
                let now = handled()
                if now != last { (last, progressed) = (now, .now) }
            }
        }

        var traffic = SampleTraffic(seed: UInt64(getpid()))
        var producerConfiguration = KafkaConfiguration(bootstrapServers: bootstrap)
        // oslo.messaging's producer sends no key; without stickiness each message takes a random
        // partition, as keyless messages spread over time in production.
        producerConfiguration.set("sticky.partitioning.linger.ms", "0")
        let producer = try Producer(configuration: producerConfiguration)
        var published = 0
        var missing = 0
        var redelivered = 0
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for worker in workers { tasks.addTask { try await worker.run() } }
            // Publish as oslo.messaging does (the 2.0 envelope, no key) while the workers run.
            var progress = Progress("3. publishing and storing", total: nil)
            var sinceWait = 0
            for i in 0..<calls {
                let call = traffic.next()
                var envelopes = [call.request.envelope]
                if i % 97 == 13 {
                    missing += 1
                } else {
                    envelopes.append(call.response.envelope)
                    if i % 89 == 7 {
                        envelopes.append(call.response.envelope)
                        redelivered += 1
                    }
                }
                for envelope in envelopes { try await producer.enqueue(ProducerRecord(topic: topic, value: envelope)) }
                published += envelopes.count
                sinceWait += envelopes.count
                if sinceWait >= Self.chunk {
                    sinceWait = 0
                    try await producer.flush()
                    // Stay at most a few chunks ahead of the workers.
                    try await waitForWorkers { published - $0 <= 4 * Self.chunk }
                    progress.update(handled())
                }
            }
            try await producer.flush()
            try await waitForWorkers { progress.update($0); return $0 >= published }
            progress.finish(handled())
            for worker in workers { worker.stop() }
            try await tasks.waitForAll()
        }
        print("   published \(published) notifications from 5 services: \(calls) calls, \(missing) without a response, \(redelivered) responses sent twice")
        for (n, worker) in workers.enumerated() {
            print("   worker \(n + 1): stored \(worker.progress.stored), forwarded \(worker.progress.forwarded), repeats recognised \(worker.progress.duplicates)")
        }

        // The proof, from the store alone.
        let reader = try AuditStore(directory: dataDirectory).reader()
        let trail = try Trail(reader: reader, window: 0, now: microsecondsNow(), indexOnly: true)
        let s = trail.statistics
        let report = StoreVerifier(directory: dataDirectory).verify()
        let hop = try HopAccount(reader: reader)
        let stored = s.notifications + s.duplicates
        var differences: [String] = []
        func expect(_ what: String, _ actual: some BinaryInteger, _ expected: some BinaryInteger) {
            if actual != expected { differences.append("\(what): \(actual), expected \(expected)") }
        }
        expect("stored (notifications + repeats recognised)", stored, published)
        expect("distinct notifications", s.notifications, published - redelivered)
        expect("repeats recognised", s.duplicates, redelivered)
        expect("pairs", s.pairs, calls - missing)
        expect("orphan requests", s.orphanRequests, missing)
        expect("orphan responses", s.orphanResponses, 0)
        expect("quarantined", s.quarantined, 0)
        expect("lost", hop.lost, 0)
        expect("forwarded copies not stored yet", hop.inFlight.count, 0)
        let orphans = s.orphanRequests + s.orphanResponses
        let verdict = report.isValid ? "clean" : "\(report.findings.count) finding(s)"
        print("4. published \(published) · stored \(stored) (\(s.pairs) pairs, \(orphans) orphans, \(s.duplicates) repeats recognised) · lost \(hop.lost) · verify: \(verdict)")
        if !report.isValid || !differences.isEmpty {
            for finding in report.findings.prefix(20) { printError("FINDING \(finding)") }
            for difference in differences { printError("MISMATCH \(difference)") }
            printError("the demo's trail does not match what was published: see above; the store is kept at \(dataDirectory)")
            throw ExitCode(1)
        }
        print("5. a query (the first 5 failed calls):")
        for call in trail.calls.filter({ $0.outcome == "failure" }).prefix(5) {
            let fields = (call.request ?? call.response)?.record.fields
            print("   \(call.id)  \(fields?.publisher ?? "-")  \(fields?.action ?? "-")  \(call.status.map(String.init) ?? "-")  \(fields?.initiatorName ?? "-")  \(fields?.requestPath ?? "-")")
        }
        print("   more: audit-trail query --data \(dataDirectory) --window 0; audit-trail stats --data \(dataDirectory) --window 0; audit-trail verify --data \(dataDirectory)")
        withExtendedLifetime(cluster) {}
    }
}
