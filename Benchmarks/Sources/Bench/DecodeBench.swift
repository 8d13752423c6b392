// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import AuditTesting
import Foundation

/// Decode + validate throughput on an in-memory corpus shaped like the samples, one core (the
/// `DecodeBenchmarks` target measures the same decode per notification, with allocations).
struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode + validate MB/s and notifications/s (one core), with Foundation's JSONSerialization for scale.")

    @Option(help: "Notifications in the generated corpus (request/response pairs in oslo 2.0 envelopes).")
    var notifications: Int = 1_000_000

    @Option(help: "Seed of the corpus generator.")
    var seed: UInt64 = 20_261_122

    @Option(help: "Passes over the corpus; the fastest is reported.")
    var passes: Int = 3

    @Option(help: "Notifications to parse with JSONSerialization (it is slow; 0 to skip).")
    var foundationSample: Int = 20_000

    func run() throws {
        let validator = try SchemaValidator.bundled()
        let corpus = SampleNotifications.corpus(count: notifications, seed: seed)
        let bytes = corpus.reduce(0) { $0 + $1.count }
        print(String(format: "corpus: %d notifications, %.1f MB, %.0f B average (oslo 2.0 envelopes)",
                     corpus.count, Double(bytes) / 1e6, Double(bytes) / Double(max(corpus.count, 1))))

        var decoder = NotificationDecoder(validator: validator)
        var audit = 0
        var other = 0
        var quarantined = 0
        let clock = ContinuousClock()
        var seconds = Double.infinity
        var cpuSeconds = Double.infinity
        for _ in 0..<max(passes, 1) {
            (audit, other, quarantined) = (0, 0, 0)
            let cpuStart = threadCPUTime()
            let start = clock.now
            for value in corpus {
                switch decoder.decode(value) {
                case .audit: audit += 1
                case .nonAudit: other += 1
                case .quarantined: quarantined += 1
                }
            }
            seconds = min(seconds, start.duration(to: clock.now).inSeconds)
            cpuSeconds = min(cpuSeconds, threadCPUTime() - cpuStart)
        }
        print(String(format: "decode + validate (AuditModel, best of %d): %.2f s, %.0f MB/s, %.0f notifications/s per core (wall clock)",
                     max(passes, 1), seconds, Double(bytes) / seconds / 1e6, Double(corpus.count) / seconds))
        print(String(format: "  by this thread's CPU time (insensitive to other load on the machine): %.2f s, %.0f MB/s, %.0f notifications/s",
                     cpuSeconds, Double(bytes) / cpuSeconds / 1e6, Double(corpus.count) / cpuSeconds))
        print("  verdicts: \(audit) audit, \(other) non-audit, \(quarantined) quarantined")

        guard foundationSample > 0 else { return }
        let sample = corpus.prefix(foundationSample)
        let sampleBytes = sample.reduce(0) { $0 + $1.count }
        let data = sample.map { Data($0) }
        let foundationStart = clock.now
        var parsed = 0
        for value in data {
            // The same two parses the decoder does: the envelope, then the inner message string.
            if let envelope = try? JSONSerialization.jsonObject(with: value) as? [String: Any],
                let inner = envelope["oslo.message"] as? String,
                (try? JSONSerialization.jsonObject(with: Data(inner.utf8))) != nil
            {
                parsed += 1
            }
        }
        let foundationSeconds = foundationStart.duration(to: clock.now).inSeconds
        print(String(format: "parse only (Foundation JSONSerialization, envelope + inner, %d notifications): %.0f MB/s, %.0f notifications/s",
                     parsed, Double(sampleBytes) / foundationSeconds / 1e6, Double(parsed) / foundationSeconds))
    }

}
