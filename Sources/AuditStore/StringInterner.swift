// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Dictionary-codes the strings of one index column: code k (from 1) is `values[k - 1]`, and a
/// string gets the code of the first equal one.
///
/// It replaces a `[String: UInt32]`, which cost 15 % of the append path (`bench
/// store` under perf): Swift hashes every string with SipHash, and each probe of a large table
/// compares against a string stored out of line, a cache miss for a column of unique values
/// (message ids). Here a probe reads one 8-byte slot holding the code and 32 bits of the hash,
/// and only a slot whose bits match compares the strings.
struct StringInterner {
    /// The distinct strings, in order of first appearance.
    private(set) var values: [String] = []
    /// Each value's hash, to re-place it when the table grows.
    private var hashes: [UInt64] = []
    /// Open addressing, linear probing: `hash tag << 32 | code`, 0 for an empty slot.
    private var slots = [UInt64](repeating: 0, count: 16)

    /// The code of `value`, adding it if new.
    mutating func code(_ value: String) -> UInt32 {
        let hash = Self.hash(value)
        let (code, slot) = find(hash) { $0 == value }
        return code ?? insert(value, hash: hash, at: slot)
    }

    /// The code of the string whose UTF-8 is `bytes`, adding it if new: a value already in the
    /// table costs no `String`. Bytes that are not valid UTF-8 get the code of their repaired
    /// `String(decoding:as:)`, as ``code(_:)`` would give them.
    mutating func code(utf8 bytes: UnsafeRawBufferPointer) -> UInt32 {
        let hash = Self.hash(bytes)
        let (code, slot) = find(hash) { Self.equal($0, bytes) }
        if let code { return code }
        let value = String(decoding: bytes, as: UTF8.self)
        // Repaired bytes hash differently: the string's own probe finds or adds it.
        guard Self.equal(value, bytes) else { return self.code(value) }
        return insert(value, hash: hash, at: slot)
    }

    /// The code of the value with `hash` that `matches`, or the empty slot where it goes.
    @inline(__always)
    private func find(_ hash: UInt64, matches: (String) -> Bool) -> (code: UInt32?, slot: Int) {
        let tag = hash & 0xffff_ffff_0000_0000
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return (nil, i) }
            if slot & 0xffff_ffff_0000_0000 == tag {
                let code = UInt32(truncatingIfNeeded: slot)
                if matches(values[Int(code) - 1]) { return (code, i) }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds `value`, not in the table, at the empty `slot` ``find(_:matches:)`` gave for `hash`.
    private mutating func insert(_ value: String, hash: UInt64, at slot: Int) -> UInt32 {
        values.append(value)
        hashes.append(hash)
        let code = UInt32(values.count)
        slots[slot] = hash & 0xffff_ffff_0000_0000 | UInt64(code)
        if values.count * 2 > slots.count { grow() }
        return code
    }

    private static func equal(_ value: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        value.utf8.withContiguousStorageIfAvailable { utf8 in
            utf8.count == bytes.count && (bytes.isEmpty || memcmp(utf8.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        } ?? value.utf8.elementsEqual(bytes)
    }

    private mutating func grow() {
        var bigger = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        for (index, hash) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: hash) & mask
            while bigger[i] != 0 { i = (i + 1) & mask }
            bigger[i] = hash & 0xffff_ffff_0000_0000 | UInt64(index + 1)
        }
        slots = bigger
    }

    /// A 64-bit hash of the string's UTF-8 bytes, 8 bytes at a time (for this table only: it
    /// is never written anywhere).
    static func hash(_ value: String) -> UInt64 {
        if let hash = value.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return hash
        }
        return Array(value.utf8).withUnsafeBytes { hash($0) }
    }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: bytes.count) &* 0x9e37_79b9_7f4a_7c15
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xbf58_476d_1ce4_e5b9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x94d0_49bb_1331_11eb
        // The finaliser of MurmurHash3: every input bit reaches every output bit.
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
