// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditTesting
import Benchmark

/// Decode + validate of one Kafka value, on `bench decode`'s corpus (generated oslo 2.0
/// envelopes, request/response pairs): time, instructions and allocations per notification.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .instructions, .mallocCountTotal], scalingFactor: .kilo,
        maxDuration: .seconds(2))

    let corpus = SampleNotifications.corpus(count: 4096)
    guard let validator = try? SchemaValidator.bundled() else { fatalError("the bundled schemas did not load") }
    // One decoder for the whole run, as a worker keeps one: its buffers are reused, so the steady
    // state is what is measured (the first, warm-up iteration sizes them).
    var decoder = NotificationDecoder(validator: validator)
    var next = 0

    Benchmark("Decode + validate a notification (oslo 2.0 envelope)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(decoder.decode(corpus[next]))
            next = (next + 1) % corpus.count
        }
    }
}
