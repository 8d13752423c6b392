// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditClient

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
