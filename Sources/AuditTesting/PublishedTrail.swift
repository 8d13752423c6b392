// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditStore
import AuditTraffic
import AuditWorker

/// Notifications a test publishes, and what the store must show for them afterwards.
public struct PublishedTrail: Sendable {
    /// Kafka records in publishing order: key (nil when unkeyed) and value.
    public var values: [(key: [UInt8]?, value: [UInt8])] = []
    /// Calls published with both halves.
    public var pairs = 0
    /// Calls whose response was never published.
    public var missingResponses = 0
    /// Responses published a second time.
    public var duplicates = 0

    /// Distinct notifications the store must hold.
    public var notifications: Int { pairs * 2 + missingResponses }

    public init() {}

    /// `calls` HTTP calls of ``SampleTraffic``; 1% of responses missing and 1% published twice,
    /// in shuffled order, so a response often goes out before its request. Keyed by `payload.id`
    /// as AuditClient publishes, or unkeyed as oslo.messaging's Kafka driver does.
    public init(calls: Int, keyed: Bool, seed: UInt64) {
        var traffic = SampleTraffic(seed: seed)
        var random = SeededRandom(seed: seed ^ 0xABCDEF)
        for i in 0..<calls {
            let call = traffic.next()
            let key: [UInt8]? = keyed ? Array(call.request.payload.id.utf8) : nil
            values.append((key, call.request.envelope))
            if i % 100 == 17 {
                missingResponses += 1
                continue
            }
            pairs += 1
            values.append((key, call.response.envelope))
            if i % 100 == 53 {
                duplicates += 1
                values.append((key, call.response.envelope))
            }
        }
        values.shuffle(using: &random)
    }
}

extension PublishedTrail {
    /// How the store at `directory` differs from what this trail (plus `clientCalls` keyed
    /// calls with both halves) must leave there, checked from the store alone (DESIGN §6): every
    /// notification stored once, every pair and orphan, no conflict, nothing quarantined, every
    /// redelivery recognised, no notification lost or still in flight, verify clean. Empty when
    /// the store is as it must be.
    public func mismatches(inStoreAt directory: String, clientCalls: Int = 0) throws -> [String] {
        var out: [String] = []
        func expect(_ what: String, _ actual: Int, _ expected: Int) {
            if actual != expected { out.append("\(what): \(actual), expected \(expected)") }
        }
        let statistics = try Trail(directory: directory, window: 0, now: Int64.max / 2).statistics
        expect("notifications (lost or stored twice)", statistics.notifications, notifications + 2 * clientCalls)
        expect("pairs", statistics.pairs, pairs + clientCalls)
        expect("orphan requests", statistics.orphanRequests, missingResponses)
        expect("orphan responses", statistics.orphanResponses, 0)
        expect("conflicts", statistics.conflicts, 0)
        expect("quarantined", statistics.quarantined, 0)
        if statistics.duplicates < duplicates { out.append("repeats recognised: \(statistics.duplicates), expected at least \(duplicates)") }
        let account = try HopAccount(directory: directory)
        expect("lost", Int(account.lost), 0)
        expect("forwarded copies in flight", account.inFlight.count, 0)
        out += StoreVerifier(directory: directory).verify().findings.prefix(5).map { "verify: \($0)" }
        return out
    }
}
