// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// An instant on the UTC time line, to the nanosecond: what `eventTime`, `reporterTime` and the
/// oslo `timestamp` denote once their offsets are applied.
///
/// pycadf writes `2026-11-22T10:12:02.734485+0000`; RFC 3339 writers `+00:00` or `Z`; both parse to
/// the same instant. Oslo's `timestamp` is naive UTC with a space (`2026-11-22 10:12:02.735273`).
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    public var seconds: Int64
    /// Nanoseconds within the second, 0 ..< 1,000,000,000.
    public var nanoseconds: Int32

    /// Creates an instant from seconds since the Unix epoch and nanoseconds within the second.
    public init(seconds: Int64, nanoseconds: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Microseconds since the epoch (the resolution pycadf and oslo write).
    public var microsecondsSinceEpoch: Int64 { seconds &* 1_000_000 &+ Int64(nanoseconds / 1000) }

    /// The signed duration from `self` to `other`, in nanoseconds (e.g. latency = reporterTime − eventTime).
    public func nanoseconds(to other: Timestamp) -> Int64 {
        (other.seconds &- seconds) &* 1_000_000_000 &+ Int64(other.nanoseconds &- nanoseconds)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// RFC 3339 in UTC with nanoseconds: `2026-11-22T10:12:02.734485000Z`.
    public var description: String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = Self.civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2))"
            + ":\(pad(secondOfDay % 60, 2)).\(pad(Int64(nanoseconds), 9))Z"
    }

    /// Parses `YYYY-MM-DD(T| )hh:mm:ss[.f{1,9}][Z|±hh:mm|±hhmm]`; a missing offset means UTC.
    ///
    /// Returns `nil` for anything else. Field ranges are the schema's (second 60 is kept as is).
    public static func parse(_ text: UnsafeRawBufferPointer) -> Timestamp? {
        guard text.count >= 19, let p = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let n = text.count
        @inline(__always) func number(_ at: Int, _ width: Int) -> Int64? {
            var value: Int64 = 0
            for k in at..<(at + width) {
                let digit = p[k] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let year = number(0, 4), p[4] == UInt8(ascii: "-"), let month = number(5, 2), p[7] == UInt8(ascii: "-"),
            let day = number(8, 2), p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: " "),
            let hour = number(11, 2), p[13] == UInt8(ascii: ":"), let minute = number(14, 2),
            p[16] == UInt8(ascii: ":"), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if i < n, p[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            let first = i
            while i < n, p[i] &- UInt8(ascii: "0") < 10 {
                guard i - first < 9 else { return nil }
                nanos += Int64(p[i] &- UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
            guard i > first else { return nil }
        }
        var offset: Int64 = 0
        if i < n {
            switch p[i] {
            case UInt8(ascii: "Z"):
                i += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign: Int64 = p[i] == UInt8(ascii: "-") ? -1 : 1
                guard i + 5 <= n, let oh = number(i + 1, 2) else { return nil }
                let colon = p[i + 3] == UInt8(ascii: ":") ? 1 : 0
                guard i + 5 + colon <= n, let om = number(i + 3 + colon, 2), oh < 24, om < 60 else { return nil }
                offset = sign * (oh * 3600 + om * 60)
                i += 5 + colon
            default:
                return nil
            }
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year, month, day)
        return Timestamp(seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanoseconds: Int32(nanos))
    }

    /// Parses a Swift string; see ``parse(_:)-(UnsafeRawBufferPointer)``.
    public static func parse(_ text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of ``daysFromCivil(_:_:_:)``.
    package static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// The duration in whole microseconds (toward zero).
    public var inMicroseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
