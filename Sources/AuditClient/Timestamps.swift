// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

/// The two time formats on the wire, written without Foundation's formatters (they run per event).
public enum Timestamps {
    /// pycadf's `%Y-%m-%dT%H:%M:%S.%f%z` in UTC: `2026-11-22T10:12:02.734485+0000`.
    public static func cadf(microsecondsSinceEpoch us: Int64) -> String {
        var out = date(us)
        out.append(UInt8(ascii: "T"))
        out += time(us, fractionAlways: true)
        out += Array("+0000".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// oslo's `str(timeutils.utcnow())`: `2026-11-22 10:12:02.735273`, no fraction when zero.
    public static func oslo(microsecondsSinceEpoch us: Int64) -> String {
        var out = date(us)
        out.append(UInt8(ascii: " "))
        out += time(us, fractionAlways: false)
        return String(decoding: out, as: UTF8.self)
    }

    private static func date(_ us: Int64) -> [UInt8] {
        let days = Int64((Double(us) / 86_400_000_000).rounded(.down))
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        digits(year, 4, into: &out)
        out.append(UInt8(ascii: "-"))
        digits(month, 2, into: &out)
        out.append(UInt8(ascii: "-"))
        digits(day, 2, into: &out)
        return out
    }

    private static func time(_ us: Int64, fractionAlways: Bool) -> [UInt8] {
        let inDay = ((us % 86_400_000_000) + 86_400_000_000) % 86_400_000_000
        let seconds = inDay / 1_000_000
        let micros = inDay % 1_000_000
        var out: [UInt8] = []
        out.reserveCapacity(16)
        digits(seconds / 3600, 2, into: &out)
        out.append(UInt8(ascii: ":"))
        digits(seconds / 60 % 60, 2, into: &out)
        out.append(UInt8(ascii: ":"))
        digits(seconds % 60, 2, into: &out)
        if fractionAlways || micros != 0 {
            out.append(UInt8(ascii: "."))
            digits(micros, 6, into: &out)
        }
        return out
    }

    private static func digits(_ value: Int64, _ width: Int, into out: inout [UInt8]) {
        var buffer = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var v = value
        var i = width - 1
        while i >= 0 {
            buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        }
        out += buffer
    }
}

/// Random version-4 UUIDs in Python's lowercase text form.
public enum UUIDText {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A new random UUID, e.g. `5d993540-271f-43cf-8e22-e9c3ce99a38b`.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A new random UUID from the system generator.
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }
}
