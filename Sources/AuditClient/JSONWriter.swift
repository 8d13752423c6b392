// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

/// Writes JSON byte for byte as Python's `json.dumps` does with its defaults
/// (`", "` and `": "` separators, `ensure_ascii=True`), which is what oslo.messaging and pycadf
/// put on the wire. Existing OpenStack consumers therefore see our notifications in the exact
/// form they see keystonemiddleware's.
public struct JSONWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []
    /// Per open container: true until its first element is written.
    private var first: [Bool] = []
    /// A key was just written: its value takes no separator.
    private var afterKey = false

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 2048) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts an object (as a value: at the top level, after a key, or in an array).
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        first.append(true)
    }

    /// Ends the innermost object.
    public mutating func endObject() {
        first.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Starts an array.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        first.append(true)
    }

    /// Ends the innermost array.
    public mutating func endArray() {
        first.removeLast()
        bytes.append(UInt8(ascii: "]"))
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
        bytes.append(contentsOf: json)
    }

    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard let isFirst = first.last else { return }
        if isFirst {
            first[first.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: " "))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `value` as a JSON string with Python's escaping (`ensure_ascii`).
    public mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        let plain = value.withUTF8 { utf8 -> Bool in
            // Printable ASCII without quote or backslash is copied as is: the common case.
            for byte in utf8 where byte < 0x20 || byte >= 0x7F || byte == 0x22 || byte == 0x5C {
                return false
            }
            bytes.append(contentsOf: utf8)
            return true
        }
        if !plain {
            for unit in value.utf16 {
                switch unit {
                case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
                case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                case 0x20..<0x7F: bytes.append(UInt8(unit))
                default:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u")])
                    bytes.append(Self.hex[Int(unit >> 12) & 0xF])
                    bytes.append(Self.hex[Int(unit >> 8) & 0xF])
                    bytes.append(Self.hex[Int(unit >> 4) & 0xF])
                    bytes.append(Self.hex[Int(unit) & 0xF])
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
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
