// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

import AuditModel
public import AuditStore

extension Trail {
    /// Latency of a pair from its stored response: reporter time minus event time, in
    /// milliseconds (`nil` when the response does not decode or carries no reporter time).
    ///
    /// The closure owns a decoder: use one per thread.
    public static func responseLatency() -> (StoredRecord, StoredRecord) -> Double? {
        var decoder = NotificationDecoder(validator: try! SchemaValidator.bundled())
        return { _, response in
            guard let bytes = response.record.bytes, case .audit(let decoded) = decoder.decode(bytes),
                let nanoseconds = decoded.latencyNanoseconds
            else { return nil }
            return Double(nanoseconds) / 1e6
        }
    }
}
