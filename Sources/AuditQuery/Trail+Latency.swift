// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

import AuditModel
public import AuditStore

extension Trail {
    /// Latency of a pair from its stored response: reporter time minus event time, in
    /// milliseconds (`nil` when the response does not decode or carries no reporter time).
    ///
    /// The closure owns a decoder: use one per thread. The decoders share one schema validator,
    /// compiled on first use: compiling it reads and compiles the bundled schemas, which costs
    /// more than a page of the server's `/v1/calls`.
    public static func responseLatency() -> (StoredRecord, StoredRecord) -> Double? {
        var decoder = NotificationDecoder(validator: bundledValidator)
        return { _, response in
            guard let bytes = response.record.bytes, case .audit(let decoded) = decoder.decode(bytes),
                let nanoseconds = decoded.latencyNanoseconds
            else { return nil }
            return Double(nanoseconds) / 1e6
        }
    }

    /// The bundled CADF schemas, compiled once (a validator is immutable and `Sendable`).
    private static let bundledValidator = try! SchemaValidator.bundled()
}
