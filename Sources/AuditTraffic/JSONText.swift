// AuditTrail — sample traffic
// SPDX-License-Identifier: Apache-2.0

/// A JSON value written exactly as Python's `json.dumps(value)` writes it: `", "` and `": "`
/// separators, members in insertion order, `ensure_ascii` escapes (`\uXXXX`, surrogate pairs above
/// U+FFFF), and `\n \r \t \b \f \" \\` as short escapes.
public enum JSONText: Sendable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case array([JSONText])
    case object([(String, JSONText)])

    /// Appends the text to `out`.
    public func write(to out: inout [UInt8]) {
        switch self {
        case .string(let text): Self.writeString(Array(text.utf8), to: &out)
        case .number(let text): out.append(contentsOf: Array(text.utf8))
        case .bool(let value): out.append(contentsOf: Array((value ? "true" : "false").utf8))
        case .null: out.append(contentsOf: Array("null".utf8))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (name, value)) in members.enumerated() {
                if i > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                Self.writeString(Array(name.utf8), to: &out)
                out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The serialized bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    /// Appends `utf8` as a JSON string literal with `ensure_ascii` escaping.
    public static func writeString(_ utf8: [UInt8], to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        func unit(_ u: UInt32) {
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
            for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((u >> UInt32(shift)) & 15)]) }
        }
        out.append(UInt8(ascii: "\""))
        for scalar in String(decoding: utf8, as: UTF8.self).unicodeScalars {
            switch scalar.value {
            case 0x22: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case 0x5C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x20..<0x7F: out.append(UInt8(scalar.value))
            case 0x10000...:
                let v = scalar.value - 0x10000
                unit(0xD800 + (v >> 10))
                unit(0xDC00 + (v & 0x3FF))
            default: unit(scalar.value)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
