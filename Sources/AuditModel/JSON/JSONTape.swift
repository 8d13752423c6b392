// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// One value of a parsed JSON document, in document order.
///
/// Scalars point into the parsed bytes (`start`, `length`, without the quotes of a string).
/// Containers hold their element count in `start` and, in `length`, the tape index just past their
/// last descendant, so a reader skips a subtree in O(1). An object's members follow it as
/// key, value, key, value, …
package struct TapeEntry: Sendable, BitwiseCopyable {
    /// The value's kind.
    package var kind: JSONKind
    /// ``stringEscaped``, ``stringNonASCII``, ``numberInteger``.
    package var flags: UInt8
    /// Byte offset (scalars) or element count (containers).
    package var start: UInt32
    /// Byte length (scalars) or the index past the subtree (containers).
    package var length: UInt32
    /// For an object member name without escapes: ``KeyHash/of(_:_:)`` of its bytes (else 0).
    package var hash: UInt32 = 0

    /// The string holds at least one backslash escape.
    package static let stringEscaped: UInt8 = 1
    /// The string holds at least one raw non-ASCII byte.
    package static let stringNonASCII: UInt8 = 2
    /// The number has no fraction and no exponent.
    package static let numberInteger: UInt8 = 4

    @inline(__always) package var isEscaped: Bool { flags & Self.stringEscaped != 0 }
    @inline(__always) package var isPlainASCII: Bool { flags & (Self.stringEscaped | Self.stringNonASCII) == 0 }
}

/// The JSON value kinds a tape distinguishes.
package enum JSONKind: UInt8, Sendable, BitwiseCopyable {
    case object = 1, array, string, number, `true`, `false`, null
}

/// A parsed document: the tape plus the bytes it points into.
///
/// Only valid while the bytes it was parsed from are alive and unchanged; the decoder keeps both
/// together and never lets a tape outlive its bytes.
package struct JSONDocument {
    package let bytes: UnsafeRawBufferPointer
    package let tape: UnsafeBufferPointer<TapeEntry>

    package init(bytes: UnsafeRawBufferPointer, tape: UnsafeBufferPointer<TapeEntry>) {
        self.bytes = bytes
        self.tape = tape
    }

    /// The index just past the value at `index` (its subtree included).
    @inline(__always) package func next(after index: Int) -> Int {
        let entry = tape[index]
        return entry.kind == .object || entry.kind == .array ? Int(entry.length) : index + 1
    }

    /// The value of member `name` of the object at `object`, if present.
    ///
    /// `name` is compared with the member names after unescaping.
    package func member(_ object: Int, _ name: StaticString) -> Int? {
        guard tape[object].kind == .object else { return nil }
        let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        let count = wanted.count
        let hash = KeyHash.of(KeyHash.prefix(UnsafeRawPointer(name.utf8Start), min(count, 8), available: count), count)
        var index = object + 1
        let end = Int(tape[object].length)
        while index < end {
            let entry = tape[index]
            if entry.isEscaped || entry.hash == hash, keyEquals(index, wanted) { return index + 1 }
            index = next(after: index + 1)
        }
        return nil
    }

    /// Whether the value at `index` is a string equal to `text` after unescaping.
    package func stringEquals(_ index: Int, _ text: StaticString) -> Bool {
        tape[index].kind == .string
            && keyEquals(index, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Whether the string entry at `index` equals `wanted` after unescaping.
    package func keyEquals(_ index: Int, _ wanted: UnsafeRawBufferPointer) -> Bool {
        let entry = tape[index]
        if !entry.isEscaped {
            guard Int(entry.length) == wanted.count else { return false }
            guard let a = bytes.baseAddress, let b = wanted.baseAddress else { return true }  // both empty
            return memoryEquals(a + Int(entry.start), b, wanted.count)
        }
        return unescapedBytes(index) == Array(wanted)
    }

    /// The raw (still escaped) bytes of the string entry at `index`.
    @inline(__always) package func rawBytes(_ index: Int) -> UnsafeRawBufferPointer {
        let entry = tape[index]
        return UnsafeRawBufferPointer(rebasing: bytes[Int(entry.start)..<Int(entry.start + entry.length)])
    }

    /// The bytes of the string entry at `index` after unescaping (allocates; off the hot path).
    package func unescapedBytes(_ index: Int) -> [UInt8] {
        let raw = rawBytes(index)
        guard tape[index].isEscaped else { return Array(raw) }
        return [UInt8](unsafeUninitializedCapacity: raw.count) { buffer, count in
            count = JSONUnescaper.unescape(raw, into: UnsafeMutableRawPointer(buffer.baseAddress!))
        }
    }

    /// The string entry at `index` as a Swift `String`, or `nil` if it is not a string.
    package func string(_ index: Int) -> String? {
        guard tape[index].kind == .string else { return nil }
        return String(decoding: unescapedBytes(index), as: UTF8.self)
    }
}

/// The hash of a member name used by the parser and the schema program's name tables: its length
/// and first (up to) 8 bytes, so it costs one load.
package enum KeyHash {
    /// The first (up to) 8 bytes at `p`, zero-padded, little-endian; `available` bytes are readable.
    @inline(__always)
    package static func prefix(_ p: UnsafeRawPointer, _ count: Int, available: Int) -> UInt64 {
        if count >= 8 { return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) }
        if available >= 8 {
            let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            return count == 0 ? 0 : word & (~UInt64(0) >> (64 - 8 * count))
        }
        var word: UInt64 = 0
        for k in 0..<count { word |= UInt64(p.load(fromByteOffset: k, as: UInt8.self)) << (8 * k) }
        return word
    }

    /// The hash of a name of `length` bytes whose ``prefix(_:_:available:)`` is `prefix`.
    @inline(__always)
    package static func of(_ prefix: UInt64, _ length: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: ((prefix ^ UInt64(length) << 59) &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }
}

/// `memcmp` without Foundation: word at a time, then bytes.
@inline(__always)
package func memoryEquals(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    var i = 0
    while i &+ 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i &+= 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i &+= 1
    }
    return true
}
