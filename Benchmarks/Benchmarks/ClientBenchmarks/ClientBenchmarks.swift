// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTesting
import Benchmark

/// What AuditClient does per audited HTTP call before Kafka: build the CADF request and response
/// events as keystonemiddleware does and write both as oslo 2.0 envelopes (`bench client`
/// measures the same with the producer and delivery reports added).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .instructions, .mallocCountTotal], scalingFactor: .kilo,
        maxDuration: .seconds(2))

    var traffic = SampleTraffic(seed: 7)
    let calls = (0..<4096).map { _ in traffic.nextHTTPCall() }
    var next = 0

    Benchmark("Encode an audited call (CADF request + response, two oslo 2.0 envelopes)") { benchmark in
        for _ in benchmark.scaledIterations {
            let call = calls[next]
            next = (next + 1) % calls.count
            let request = call.builder.requestEvent(for: call.request, time: call.time)
            let response = AuditEventBuilder.responseEvent(for: request, status: call.status, time: call.time + call.latency)
            for (event, type, time) in [(request, AuditEventType.request, call.time), (response, .response, call.time + call.latency)] {
                let notification = OsloNotification(
                    publisherID: call.publisherID, eventType: type, payload: event,
                    timestamp: Timestamps.oslo(microsecondsSinceEpoch: time))
                blackHole(notification.envelope)
            }
        }
    }
}
