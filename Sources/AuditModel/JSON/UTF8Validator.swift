// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800–DFFF), nothing above U+10FFFF.
///
/// Python's `bytes.decode("utf-8")` is the reference the differential corpus uses.
package enum UTF8Validator {
    /// The length of the multi-byte sequence starting at `i` (whose first byte is ≥ 0x80), or `nil`.
    @inline(__always)
    static func sequenceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int? {
        let lead = p[i]
        @inline(__always) func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i &+ k < end && p[i &+ k] >= low && p[i &+ k] <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : nil
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : nil
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : nil
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default:
            return nil
        }
    }

    /// Whether all of `bytes` is strict UTF-8.
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        var i = 0
        while i < bytes.count {
            if p[i] < 0x80 {
                i &+= 1
            } else if let length = sequenceLength(p, i, bytes.count) {
                i &+= length
            } else {
                return false
            }
        }
        return true
    }
}
