// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// A JSON value as a tree: how schema documents are held while they are compiled, and how `enum`
/// and `const` values are kept. Read once at start; never on the hot path.
package enum SchemaValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's value and its literal text.
    case number(Double, String)
    case string(String)
    case array([SchemaValue])
    /// Members in document order.
    case object([(String, SchemaValue)])

    /// Parses one JSON document with the strict parser (duplicate keys and depth > 512 are refused).
    package static func parse(_ bytes: [UInt8]) throws(JSONParser.Failure) -> SchemaValue {
        let parser = JSONParser()
        return try bytes.withUnsafeBytes { raw in parser.parse(raw) { SchemaValue($0, 0) } }.get()
    }

    /// The value at tape index `index` of `document`.
    package init(_ document: JSONDocument, _ index: Int) {
        let entry = document.tape[index]
        switch entry.kind {
        case .null: self = .null
        case .true: self = .bool(true)
        case .false: self = .bool(false)
        case .string: self = .string(document.string(index) ?? "")
        case .number:
            let text = String(decoding: document.rawBytes(index), as: UTF8.self)
            self = .number(Double(text) ?? .nan, text)
        case .array:
            var items: [SchemaValue] = []
            var child = index + 1
            while child < Int(entry.length) {
                items.append(SchemaValue(document, child))
                child = document.next(after: child)
            }
            self = .array(items)
        case .object:
            var members: [(String, SchemaValue)] = []
            var child = index + 1
            while child < Int(entry.length) {
                members.append((document.string(child) ?? "", SchemaValue(document, child + 1)))
                child = document.next(after: child + 1)
            }
            self = .object(members)
        }
    }

    /// The member `name` of an object, if any.
    package subscript(_ name: String) -> SchemaValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == name }?.1
    }

    /// JSON Schema equality (`enum`, `const`): numbers by value, booleans distinct from numbers,
    /// objects regardless of member order.
    package static func == (lhs: SchemaValue, rhs: SchemaValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a, _), .number(let b, _)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { member in b.contains { $0.0 == member.0 && $0.1 == member.1 } }
        default: return false
        }
    }
}
