// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// The CADF event inside a stored notification, for readers that show the event itself (the
/// Hermes API) rather than the notification as stored.
///
/// Every stored wire form holds it: the `payload` of the oslo message (inside a 2.0 envelope's
/// `oslo.message` string, or the v1 message itself), the JSON after the prefix of a log-driver
/// line, or the bare event. Parsed with Foundation: a read of one event, not a hot path.
public enum EventPayload {
    /// The CADF event of `bytes` as a JSON object, or `nil` when the bytes hold none.
    public static func object(from bytes: [UInt8]) -> [String: Any]? { parts(from: bytes).event }

    /// The oslo message of `bytes` (`nil` for a bare event) and the CADF event inside it (`nil`
    /// when the bytes hold none).
    public static func parts(from bytes: [UInt8]) -> (message: [String: Any]?, event: [String: Any]?) {
        guard let start = bytes.firstIndex(of: UInt8(ascii: "{")),
            let outer = try? JSONSerialization.jsonObject(with: Data(bytes[start...])) as? [String: Any]
        else { return (nil, nil) }
        var message = outer
        if let inner = outer["oslo.message"] as? String {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(inner.utf8)) as? [String: Any] else {
                return (nil, nil)
            }
            message = parsed
        }
        if let payload = message["payload"] as? [String: Any] { return (message, payload) }
        return (nil, message["eventType"] != nil || message["typeURI"] != nil ? message : nil)
    }

    /// `object[key]` as text, for a path of keys (`["initiator", "typeURI"]`).
    public static func text(_ object: [String: Any]?, _ path: [String]) -> String? {
        var value: Any? = object
        for key in path { value = (value as? [String: Any])?[key] }
        return value as? String
    }
}
