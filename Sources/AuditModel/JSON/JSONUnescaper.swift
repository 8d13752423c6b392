// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Unescapes the body of a JSON string that ``JSONScanner`` has already validated.
///
/// The 2.0 envelope carries the whole inner message as one string in which every quote is `\"`
/// (about one escape per 10 bytes), so this is on the hot path: runs between backslashes are found
/// 8 bytes at a time and copied with one `copyMemory` each, into a caller-owned buffer.
package enum JSONUnescaper {
    /// Writes the unescaped bytes of `raw` to `out` (at least `raw.count` bytes) and returns the count.
    ///
    /// The output is never longer than the input: every escape is at least as long as its UTF-8.
    /// - Precondition: `raw` was accepted by ``JSONScanner/scanString()``.
    @inline(__always)
    package static func unescape(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> Int {
        guard let p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let end = raw.count
        var i = 0
        var o = 0
        while i < end {
            // Find the next backslash from i.
            var j = i
            let backslashes: UInt64 = 0x5C5C_5C5C_5C5C_5C5C
            while j &+ 8 <= end {
                let word = UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self) ^ backslashes
                let zero = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
                if zero != 0 {
                    j &+= zero.trailingZeroBitCount >> 3
                    break
                }
                j &+= 8
            }
            while j < end, p[j] != 0x5C { j &+= 1 }
            if j > i {
                (out + o).copyMemory(from: p + i, byteCount: j &- i)
                o &+= j &- i
            }
            guard j < end else { break }
            let (scalar, consumed) = decodeEscape(p, j, end)
            o &+= writeUTF8(scalar, out + o)
            i = j &+ consumed
        }
        return o
    }

    /// The scalar an escape at `i` stands for and the escape's length. Invalid escapes (which the
    /// scanner never lets through) decode as U+FFFD rather than trapping.
    @inline(__always)
    static func decodeEscape(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> (UInt32, Int) {
        guard i &+ 1 < end else { return (0xFFFD, end &- i) }
        switch p[i &+ 1] {
        case UInt8(ascii: "b"): return (0x08, 2)
        case UInt8(ascii: "f"): return (0x0C, 2)
        case UInt8(ascii: "n"): return (0x0A, 2)
        case UInt8(ascii: "r"): return (0x0D, 2)
        case UInt8(ascii: "t"): return (0x09, 2)
        case UInt8(ascii: "u"):
            guard let unit = hex4(p, i &+ 2, end) else { return (0xFFFD, 2) }
            if unit & 0xFC00 == 0xD800, i &+ 11 < end, p[i &+ 6] == 0x5C, p[i &+ 7] == UInt8(ascii: "u"),
                let low = hex4(p, i &+ 8, end), low & 0xFC00 == 0xDC00
            {
                return (0x10000 &+ ((unit &- 0xD800) << 10) &+ (low &- 0xDC00), 12)
            }
            return (unit & 0xF800 == 0xD800 ? 0xFFFD : unit, 6)
        default: return (UInt32(p[i &+ 1]), 2)
        }
    }

    /// Four hex digits at `i`, or `nil`.
    @inline(__always)
    static func hex4(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> UInt32? {
        guard i &+ 4 <= end else { return nil }
        var value: UInt32 = 0
        for k in 0..<4 {
            let c = p[i &+ k]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Encodes `scalar` as UTF-8 at `out`; returns the byte count.
    @inline(__always)
    static func writeUTF8(_ scalar: UInt32, _ out: UnsafeMutableRawPointer) -> Int {
        switch scalar {
        case 0..<0x80:
            out.storeBytes(of: UInt8(scalar), as: UInt8.self)
            return 1
        case 0x80..<0x800:
            out.storeBytes(of: UInt8(0xC0 | scalar >> 6), as: UInt8.self)
            out.storeBytes(of: UInt8(0x80 | scalar & 0x3F), toByteOffset: 1, as: UInt8.self)
            return 2
        case 0x800..<0x10000:
            out.storeBytes(of: UInt8(0xE0 | scalar >> 12), as: UInt8.self)
            out.storeBytes(of: UInt8(0x80 | scalar >> 6 & 0x3F), toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt8(0x80 | scalar & 0x3F), toByteOffset: 2, as: UInt8.self)
            return 3
        default:
            out.storeBytes(of: UInt8(0xF0 | scalar >> 18 & 0x07), as: UInt8.self)
            out.storeBytes(of: UInt8(0x80 | scalar >> 12 & 0x3F), toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt8(0x80 | scalar >> 6 & 0x3F), toByteOffset: 2, as: UInt8.self)
            out.storeBytes(of: UInt8(0x80 | scalar & 0x3F), toByteOffset: 3, as: UInt8.self)
            return 4
        }
    }
}
