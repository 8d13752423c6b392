// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

/// Writes JSON byte for byte as Python's `json.dumps` does with its defaults
/// (`", "` and `": "` separators, `ensure_ascii=True`), which is what oslo.messaging and pycadf
/// put on the wire. Existing OpenStack consumers therefore see our notifications in the exact
/// form they see keystonemiddleware's.
public struct JSONWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []
    /// Per open container, one bit (bit n for the container at depth n): set until its first
    /// element is written.
    /// A bit stack instead of an array of flags keeps the per-value bookkeeping free of
    /// allocation and uniqueness checks; events are a handful of levels deep.
    private var first: UInt64 = 0
    private var depth = 0
    /// A key was just written: its value takes no separator.
    private var afterKey = false
    /// Inside ``nestedString(_:)``: everything is written as the content of a JSON string, so
    /// quotes and backslashes get one more backslash (oslo's double encoding in one pass).
    private var nested = false

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 2048) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts an object (as a value: at the top level, after a key, or in an array).
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        push()
    }

    /// Ends the innermost object.
    public mutating func endObject() {
        pop()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Starts an array.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        push()
    }

    /// Ends the innermost array.
    public mutating func endArray() {
        pop()
        bytes.append(UInt8(ascii: "]"))
    }

    private mutating func push() {
        precondition(depth < 64, "JSONWriter nests at most 64 containers")
        first |= 1 << UInt64(depth)
        depth += 1
    }

    private mutating func pop() {
        depth -= 1
        first &= ~(1 << UInt64(depth))
    }

    /// Writes an object key; the next call writes its value.
    public mutating func key(_ key: String) {
        separate()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
        afterKey = true
    }

    /// Writes a string value.
    public mutating func string(_ value: String) {
        separate()
        writeString(value)
    }

    /// Writes `key: value` for a string.
    public mutating func field(_ key: String, _ value: String) {
        self.key(key)
        string(value)
    }

    /// Writes `key: value` for a string when the value is present.
    public mutating func field(_ key: String, _ value: String?) {
        if let value { field(key, value) }
    }

    /// Writes an integer value.
    public mutating func integer(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes `null`.
    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Writes already-encoded JSON as the next value.
    public mutating func raw(_ json: some Collection<UInt8>) {
        separate()
        if nested {
            for byte in json {
                if byte == 0x22 || byte == 0x5C { bytes.append(0x5C) }
                bytes.append(byte)
            }
        } else {
            bytes.append(contentsOf: json)
        }
    }

    /// Writes, as the next value, a JSON string whose content is the JSON that `body` writes:
    /// how oslo puts the inner message into the 2.0 envelope. The inner JSON is written with
    /// `ensure_ascii`, so only its quotes and backslashes need escaping, and they are escaped as
    /// they are written: no intermediate buffer, no second pass.
    public mutating func nestedString(_ body: (inout JSONWriter) -> Void) {
        precondition(!nested, "a nested string cannot contain another")
        separate()
        bytes.append(UInt8(ascii: "\""))
        let (outerFirst, outerDepth, outerAfterKey) = (first, depth, afterKey)
        (first, depth, afterKey, nested) = (0, 0, false, true)
        body(&self)
        (first, depth, afterKey, nested) = (outerFirst, outerDepth, outerAfterKey, false)
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard depth > 0 else { return }
        let bit: UInt64 = 1 << UInt64(depth - 1)
        if first & bit != 0 {
            first &= ~bit
        } else {
            bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: " "))
        }
    }

    /// A quote of the JSON being written (escaped when nested).
    private mutating func quote() {
        if nested { bytes.append(0x5C) }
        bytes.append(0x22)
    }

    /// The backslash that starts an escape in the JSON being written (escaped when nested).
    private mutating func backslash() {
        if nested { bytes.append(0x5C) }
        bytes.append(0x5C)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `value` as a JSON string with Python's escaping (`ensure_ascii`).
    public mutating func writeString(_ value: String) {
        quote()
        var value = value
        let plain = value.withUTF8 { utf8 -> Bool in
            // Printable ASCII without quote or backslash is copied as is: the common case. The
            // check folds every byte into one flag without an early exit, which the compiler
            // turns into a vector loop; strings that need escaping are rare.
            var special: UInt8 = 0
            for byte in utf8 {
                special |= (byte &- 0x20 > 0x5E ? 1 : 0) | (byte == 0x22 ? 1 : 0) | (byte == 0x5C ? 1 : 0)
            }
            guard special == 0 else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if !plain {
            for unit in value.utf16 {
                switch unit {
                case 0x22:
                    backslash()
                    quote()
                case 0x5C:
                    backslash()
                    backslash()
                case 0x0A: escape(UInt8(ascii: "n"))
                case 0x0D: escape(UInt8(ascii: "r"))
                case 0x09: escape(UInt8(ascii: "t"))
                case 0x08: escape(UInt8(ascii: "b"))
                case 0x0C: escape(UInt8(ascii: "f"))
                case 0x20..<0x7F: bytes.append(UInt8(unit))
                default:
                    escape(UInt8(ascii: "u"))
                    bytes.append(Self.hex[Int(unit >> 12) & 0xF])
                    bytes.append(Self.hex[Int(unit >> 8) & 0xF])
                    bytes.append(Self.hex[Int(unit >> 4) & 0xF])
                    bytes.append(Self.hex[Int(unit) & 0xF])
                }
            }
        }
        quote()
    }

    private mutating func escape(_ letter: UInt8) {
        backslash()
        bytes.append(letter)
    }

    /// `value` as a JSON string literal (quotes included), Python-escaped.
    public static func quoted(_ value: String) -> [UInt8] {
        var writer = JSONWriter(capacity: value.utf8.count + 2)
        writer.writeString(value)
        return writer.bytes
    }

    /// `bytes` (UTF-8 JSON) as a JSON string literal: how oslo puts the inner message into the
    /// 2.0 envelope. Only ASCII arrives here, since the inner JSON was written with `ensure_ascii`;
    /// quotes and backslashes are escaped.
    public static func quotedASCII(_ bytes: [UInt8]) -> [UInt8] {
        enclosed(bytes, prefix: [], suffix: [])
    }

    /// `prefix`, then `bytes` as a quoted JSON string (see ``quotedASCII(_:)``), then `suffix`,
    /// in one pass and one allocation.
    public static func enclosed(_ bytes: [UInt8], prefix: [UInt8], suffix: [UInt8]) -> [UInt8] {
        let capacity = prefix.count + 2 * bytes.count + 2 + suffix.count
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, count in
            guard var o = out.baseAddress else { return }
            let start = o
            for byte in prefix {
                o.pointee = byte
                o += 1
            }
            o.pointee = 0x22
            o += 1
            bytes.withUnsafeBufferPointer { input in
                for byte in input {
                    if byte == 0x22 || byte == 0x5C {
                        o.pointee = 0x5C
                        o += 1
                    }
                    o.pointee = byte
                    o += 1
                }
            }
            o.pointee = 0x22
            o += 1
            for byte in suffix {
                o.pointee = byte
                o += 1
            }
            count = o - start
        }
    }
}
