// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// Appends little-endian integers, length-prefixed strings and raw bytes to a byte array.
///
/// All multi-byte integers of the on-disk format are little-endian (FORMAT.md §1).
struct ByteWriter: Hashable {
    var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }
    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }
    mutating func raw(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }

    /// A `u32` length, then the bytes.
    mutating func blob(_ value: some Collection<UInt8>) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `u32` length, then UTF-8.
    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { blob($0) }
    }

    /// `0xFFFF_FFFF` for absent, else as ``string(_:)``.
    mutating func optionalString(_ value: String?) {
        if let value { string(value) } else { u32(.max) }
    }

    /// `value` in 7-bit groups, least significant first, the high bit set on all but the last
    /// byte (LEB128): 1 byte below 128, at most 10.
    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// A signed `value` as a ``varint(_:)`` of its zigzag form (0, -1, 1, -2, … → 0, 1, 2, 3, …),
    /// so that small differences of either sign take one byte.
    mutating func signedVarint(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Overwrites a `u32` written earlier at `position`.
    mutating func patchU32(_ value: UInt32, at position: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(position..<position + 4, with: $0) }
    }
}

/// Reads what ``ByteWriter`` wrote, throwing ``StoreError/Code/corrupt`` past the end.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var position: Int

    init(_ buffer: UnsafeRawBufferPointer, position: Int = 0) {
        self.buffer = buffer
        self.position = position
    }

    var remaining: Int { buffer.count - position }

    private mutating func take(_ count: Int) throws(StoreError) -> Int {
        guard count >= 0, count <= remaining else {
            throw StoreError(.corrupt, "truncated: need \(count) bytes at \(position), have \(remaining)")
        }
        defer { position += count }
        return position
    }

    mutating func u8() throws(StoreError) -> UInt8 { buffer[try take(1)] }

    /// What ``ByteWriter/varint(_:)`` wrote.
    mutating func varint() throws(StoreError) -> UInt64 {
        var value: UInt64 = 0
        try forEachVarint(1) { value = $0 }
        return value
    }

    /// Reads `count` varints, handing each to `body`: ``varint()`` in one loop over the buffer,
    /// for the index's columns of a million values.
    mutating func forEachVarint(_ count: Int, _ body: (UInt64) throws(StoreError) -> Void) throws(StoreError) {
        var at = position
        let end = buffer.count
        for _ in 0..<count {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard at < end else { throw StoreError(.corrupt, "truncated: varint at \(at)") }
                let byte = buffer[at]
                at += 1
                guard shift < 63 || (shift == 63 && byte <= 1) else { throw StoreError(.corrupt, "varint too long at \(at)") }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            try body(value)
        }
        position = at
    }

    /// What ``ByteWriter/signedVarint(_:)`` wrote.
    mutating func signedVarint() throws(StoreError) -> Int64 { Self.signed(zigzag: try varint()) }

    /// The value whose zigzag form (``ByteWriter/signedVarint(_:)``) is `zigzag`.
    static func signed(zigzag: UInt64) -> Int64 { Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1) }

    mutating func u16() throws(StoreError) -> UInt16 {
        UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self))
    }
    mutating func u32() throws(StoreError) -> UInt32 {
        UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self))
    }
    mutating func u64() throws(StoreError) -> UInt64 {
        UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self))
    }
    mutating func i32() throws(StoreError) -> Int32 { Int32(bitPattern: try u32()) }
    mutating func i64() throws(StoreError) -> Int64 { Int64(bitPattern: try u64()) }

    mutating func raw(_ count: Int) throws(StoreError) -> UnsafeRawBufferPointer {
        let start = try take(count)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<start + count])
    }

    mutating func bytes(_ count: Int) throws(StoreError) -> [UInt8] { Array(try raw(count)) }

    mutating func blob() throws(StoreError) -> [UInt8] { try bytes(Int(try u32())) }

    mutating func string() throws(StoreError) -> String {
        String(decoding: try raw(Int(try u32())), as: UTF8.self)
    }

    mutating func optionalString() throws(StoreError) -> String? {
        let length = try u32()
        if length == .max { return nil }
        return String(decoding: try raw(Int(length)), as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hex, for messages and the manifest.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses lower- or upper-case hex; `nil` if malformed.
    public init?(hex: String) {
        let utf8 = Array<UInt8>(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        self = out
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` keeping the closure's typed error.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StoreError) -> R) throws(StoreError) -> R {
        let result = withUnsafeBytes { buffer in Result { () throws(StoreError) in try body(buffer) } }
        return try result.get()
    }

    /// `withUnsafeMutableBytes` keeping the closure's typed error.
    mutating func withMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(StoreError) -> R
    ) throws(StoreError) -> R {
        let result = withUnsafeMutableBytes { buffer in Result { () throws(StoreError) in try body(buffer) } }
        return try result.get()
    }
}
