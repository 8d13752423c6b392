// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
import AuditModel

/// How calls of the pair view are written for machines: JSON lines and CSV (RFC 4180).
///
/// A JSON line holds the call's attributes, where each half came from, and both halves
/// embedded exactly as stored (they are JSON: only valid notifications are stored as such).
/// CSV holds the same attributes, and the halves as text columns when asked.
public enum CallFormat {
    /// The attribute columns, in order (CSV header and JSON keys).
    public static let columns = [
        "id", "state", "eventTime", "action", "outcome", "status", "latencyMs", "initiatorId", "initiatorName",
        "projectId", "targetTypeURI", "targetId", "publisher", "requestPath", "conflicts", "requestId",
        "globalRequestId",
    ]

    /// The attribute values of `call`, as text (`nil`: absent), in ``columns`` order.
    public static func values(_ call: Trail.Call) -> [String?] {
        let fields = call.fields
        return [
            call.id, call.state.rawValue, call.eventTime.map(utcText), fields?.action, call.outcome,
            call.status.map(String.init), call.latencyMilliseconds.map { String($0) }, fields?.initiatorId,
            fields?.initiatorName, fields?.projectId, fields?.targetTypeURI, fields?.targetId, fields?.publisher,
            fields?.requestPath, String(call.conflicts.count), recorded(fields)?.requestId,
            recorded(fields)?.globalRequestId,
        ]
    }

    /// `fields` when its request ids were recorded (a record stored before they were indexed
    /// has them unknown: written as absent).
    private static func recorded(_ fields: NotificationFields?) -> NotificationFields? {
        fields?.requestIDsRecorded == true ? fields : nil
    }

    /// One call as a JSON object on one line (no newline).
    public static func jsonLine(_ call: Trail.Call) -> String {
        var line = "{"
        for (column, value) in zip(columns, values(call)) {
            line += quote(column) + ": "
            switch column {
            case "status", "latencyMs", "conflicts": line += value ?? "null"
            default: line += value.map(quote) ?? "null"
            }
            line += ", "
        }
        line += "\"pair\": \(call.isPair), "
        line += "\"requestSource\": \(source(call.request)), \"responseSource\": \(source(call.response)), "
        line += "\"request\": \(body(call.request)), \"response\": \(body(call.response))}"
        return line
    }

    /// The CSV header line (no newline).
    public static func csvHeader(withBodies: Bool) -> String {
        (columns + (withBodies ? ["request", "response"] : [])).joined(separator: ",")
    }

    /// One call as a CSV record (no newline); absent values are empty fields.
    public static func csvLine(_ call: Trail.Call, withBodies: Bool) -> String {
        var fields = values(call).map { csvField($0 ?? "") }
        if withBodies {
            for half in [call.request, call.response] {
                fields.append(csvField(half?.record.bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""))
            }
        }
        return fields.joined(separator: ",")
    }

    /// A CSV field, quoted when it holds a comma, quote, or line break.
    public static func csvField(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }

    /// A JSON string literal.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `2026-11-22T10:12:02.734485Z` for µs since the epoch.
    public static func utcText(_ microseconds: Int64) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let fraction = microseconds - seconds * 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Timestamp.civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(fraction, 6))Z"
    }

    private static func source(_ half: StoredRecord?) -> String {
        guard let half else { return "null" }
        var text = "{\"topic\": \(quote(half.topic)), \"partition\": \(half.partition), \"offset\": \(half.record.offset)"
        if let origin = half.record.origin {
            text += ", \"origin\": {\"topic\": \(quote(origin.topic)), \"partition\": \(origin.partition)"
            text += ", \"offset\": \(origin.offset)}"
        }
        return text + "}"
    }

    /// A half as stored: embedded as JSON when it is a JSON document (every wire form but a
    /// log-driver line), else as a JSON string of its text.
    private static func body(_ half: StoredRecord?) -> String {
        guard let bytes = half?.record.bytes, !bytes.isEmpty else { return "null" }
        let text = String(decoding: bytes, as: UTF8.self)
        return bytes.first == UInt8(ascii: "{") ? text : quote(text)
    }
}
