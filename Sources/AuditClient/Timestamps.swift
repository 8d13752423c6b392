// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Synchronization

/// The two time formats on the wire, written without Foundation's formatters (they run per event).
public enum Timestamps {
    /// pycadf's `%Y-%m-%dT%H:%M:%S.%f%z` in UTC: `2026-11-22T10:12:02.734485+0000`.
    public static func cadf(microsecondsSinceEpoch us: Int64) -> String {
        format(us, separator: UInt8(ascii: "T"), fractionAlways: true, zone: true)
    }

    /// oslo's `str(timeutils.utcnow())`: `2026-11-22 10:12:02.735273`, no fraction when zero.
    public static func oslo(microsecondsSinceEpoch us: Int64) -> String {
        format(us, separator: UInt8(ascii: " "), fractionAlways: false, zone: false)
    }

    private static func format(_ us: Int64, separator: UInt8, fractionAlways: Bool, zone: Bool) -> String {
        let day = 86_400_000_000 as Int64
        let days = us >= 0 ? us / day : (us - day + 1) / day
        let inDay = us - days * day
        let (year, month, dayOfMonth) = AuditModel.Timestamp.civil(fromDays: days)
        let seconds = inDay / 1_000_000
        let micros = inDay % 1_000_000
        return String(unsafeUninitializedCapacity: 32) { out in
            var i = 0
            func put(_ value: Int64, _ width: Int) {
                var v = value
                var j = i + width - 1
                while j >= i {
                    out[j] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                    j -= 1
                }
                i += width
            }
            func put(_ byte: UInt8) {
                out[i] = byte
                i += 1
            }
            put(year, 4)
            put(UInt8(ascii: "-"))
            put(month, 2)
            put(UInt8(ascii: "-"))
            put(dayOfMonth, 2)
            put(separator)
            put(seconds / 3600, 2)
            put(UInt8(ascii: ":"))
            put(seconds / 60 % 60, 2)
            put(UInt8(ascii: ":"))
            put(seconds % 60, 2)
            if fractionAlways || micros != 0 {
                put(UInt8(ascii: "."))
                put(micros, 6)
            }
            if zone {
                for byte in "+0000".utf8 { put(byte) }
            }
            return i
        }
    }
}

/// Random version-4 UUIDs in Python's lowercase text form.
public enum UUIDText {
    /// A new random UUID, e.g. `5d993540-271f-43cf-8e22-e9c3ce99a38b`.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var high = generator.next()
        var low = generator.next()
        high = (high & ~0x0000_0000_0000_F000) | 0x0000_0000_0000_4000
        low = (low & ~0xC000_0000_0000_0000) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { out in
            // 32 nibbles, most significant first, dashes before digits 8, 12, 16 and 20.
            var i = 0
            for digit in 0..<32 {
                if digit == 8 || digit == 12 || digit == 16 || digit == 20 {
                    out[i] = UInt8(ascii: "-")
                    i += 1
                }
                let word = digit < 16 ? high : low
                let nibble = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * (digit & 15))) & 0xF
                out[i] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
                i += 1
            }
            return i
        }
    }

    /// A new random UUID from a fast generator seeded by the system's (ids must be unique, not
    /// secret; the system generator costs a system call per draw).
    public static func random() -> String {
        shared.withLock { random(using: &$0) }
    }

    private static let shared: Mutex<FastRandom> = {
        var system = SystemRandomNumberGenerator()
        return Mutex(FastRandom(seed: system.next()))
    }()
}

/// xorshift-style generator (SplitMix64) for identifiers.
struct FastRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
