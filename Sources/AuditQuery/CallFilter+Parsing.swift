// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation

extension CallFilter {
    /// The filter names as the command line and the API spell them, in the order they are listed.
    public static let names = [
        "id", "since", "until", "initiator", "project", "action", "outcome", "status", "target-type", "target",
        "publisher", "path", "request-id", "global-request-id", "orphans",
    ]

    /// The filter `name=value` (`orphans` takes no value), or its negation; times are resolved
    /// against `now` (µs since the epoch), see ``CallFilter/time(_:now:)``.
    /// - Throws: ``QueryError`` `unknownFilter` for a name not in ``names``, `invalidValue` for
    ///   a status that is not a number or a time that is not one.
    public static func parse(_ name: String, _ value: String, negated: Bool, now: Int64) throws(QueryError) -> CallFilter {
        let condition: Condition
        switch name {
        case "id": condition = .id(value)
        case "since": condition = .since(try time(value, now: now))
        case "until": condition = .until(try time(value, now: now))
        case "initiator": condition = .initiator(value)
        case "project": condition = .project(value)
        case "action": condition = .actionPrefix(value)
        case "outcome": condition = .outcome(value)
        case "status":
            guard let status = Int(value) else { throw QueryError(.invalidValue, "status must be a number: \(value)") }
            condition = .status(status)
        case "target-type": condition = .targetType(value)
        case "target": condition = .target(value)
        case "publisher": condition = .publisher(value)
        case "path": condition = .pathPrefix(value)
        case "request-id": condition = .requestID(value)
        case "global-request-id": condition = .globalRequestID(value)
        case "orphans": condition = .orphan
        default:
            throw QueryError(
                .unknownFilter, "unknown filter \(name.debugDescription): \(names.joined(separator: ", "))")
        }
        return CallFilter(condition, negated: negated)
    }

    /// The negation of the filter `text` spells as `FILTER=VALUE` (or a bare `orphans`), as the
    /// command line's `--not` and the API's `not` take it.
    /// - Throws: ``QueryError``, as ``parse(_:_:negated:now:)``.
    public static func exclusion(_ text: String, now: Int64) throws(QueryError) -> CallFilter {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return try parse(String(parts[0]), parts.count > 1 ? String(parts[1]) : "", negated: true, now: now)
    }

    /// µs since the epoch for an ISO 8601 time or date (`2026-11-22T10:00:00Z`, `2026-11-22`; a
    /// time without offset is UTC), or a duration before `now` (`90s`, `15m`, `1h`, `2d`, `1w`).
    /// - Throws: ``QueryError`` `invalidValue`.
    public static func time(_ text: String, now: Int64) throws(QueryError) -> Int64 {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        if let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()) {
            return now - Int64(count * Double(unit) * 1e6)
        }
        if let timestamp = Timestamp.parse(text) { return timestamp.microsecondsSinceEpoch }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1e6) }
        }
        throw QueryError(
            .invalidValue, "not a time: \(text.debugDescription) (use 2026-11-22T10:00:00Z, 2026-11-22, or 15m/1h/2d)")
    }
}

extension CallQuery.SortKey {
    /// The sort key named `name`.
    /// - Throws: ``QueryError`` `unknownSortKey`.
    public static func named(_ name: String) throws(QueryError) -> Self {
        guard let key = Self(rawValue: name) else {
            throw QueryError(
                .unknownSortKey,
                "unknown sort key \(name.debugDescription): \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return key
    }
}
