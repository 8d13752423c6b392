// AuditTrail — sample traffic
// SPDX-License-Identifier: Apache-2.0

/// SplitMix64: small, fast, and the same on every platform (unlike `SystemRandomNumberGenerator`).
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0 ..< bound`.
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// `count` lowercase hex digits.
    public mutating func hex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        while bytes.count < count {
            var word = next()
            for _ in 0..<16 where bytes.count < count {
                bytes.append(digits[Int(word & 15)])
                word >>= 4
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A random version-4 UUID string.
    public mutating func uuid() -> String {
        let h = Array(hex(32))
        let variant = "89ab"[String.Index(utf16Offset: Int(next() % 4), in: "89ab")]
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-4" + String(h[13..<16]) + "-" + String(variant)
            + String(h[17..<20]) + "-" + String(h[20..<32])
    }

    /// A Fernet-like token as pycadf masks it (`<head> xxxxxxxx <tail>`).
    public mutating func token() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        func part(_ n: Int) -> String {
            String(decoding: (0..<n).map { _ in alphabet[next(below: alphabet.count)] }, as: UTF8.self)
        }
        return "gAAAAAB" + part(21) + " xxxxxxxx " + part(28)
    }
}
