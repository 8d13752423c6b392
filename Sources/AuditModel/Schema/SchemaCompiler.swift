// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Compiles JSON Schema (draft 2020-12) documents into a ``SchemaProgram``.
///
/// Documents are registered under their `$id`; `$ref` resolves against the current document's `$id`
/// (`cadf-event.schema.json` from the notification schema) and follows JSON Pointer fragments
/// (`#/$defs/identifier`). Each (document, pointer) compiles once, so recursive references work.
/// Keywords outside the supported set are refused, never ignored: users may tighten the schemas, and a
/// silently skipped rule would accept what they meant to reject.
struct SchemaCompiler {
    static let annotations: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs", "definitions",
        "deprecated", "readOnly", "writeOnly", "format",
    ]

    private var documents: [String: SchemaValue] = [:]
    private var compiled: [String: Int32] = [:]
    private var nodes: [SchemaNode] = []
    private var names: [SchemaProgram.Name] = []
    private var dependencies: [SchemaProgram.Dependency] = []
    private var children: [Int32] = []
    private var slots: [Int32] = []
    private var blob: [UInt8] = []
    private var values: [SchemaValue] = []
    private var patterns: [Pattern] = []

    /// Compiles `documents`; `roots` names the `$id`s whose root schemas become entry points.
    static func compile(_ documents: [SchemaValue]) throws(DecodeError) -> SchemaProgram {
        var compiler = SchemaCompiler()
        for document in documents {
            guard case .string(let id)? = document["$id"] else {
                throw DecodeError(.unsupportedSchema, "a schema document without a string $id")
            }
            compiler.documents[id] = document
        }
        var roots: [String: Int32] = [:]
        for id in compiler.documents.keys.sorted() {
            roots[id] = try compiler.node(uri: id, pointer: "")
        }
        compiler.shortcutReferences()
        roots = roots.mapValues { SchemaCompiler.target($0, in: compiler.nodes) }
        return SchemaProgram(
            nodes: compiler.nodes, names: compiler.names, dependencies: compiler.dependencies,
            children: compiler.children, slots: compiler.slots, blob: compiler.blob, values: compiler.values, patterns: compiler.patterns,
            roots: roots)
    }

    /// The node for the subschema at `pointer` in document `uri`, compiling it on first use.
    private mutating func node(uri: String, pointer: String) throws(DecodeError) -> Int32 {
        let key = uri + "#" + pointer
        if let known = compiled[key] { return known }
        guard let document = documents[uri] else { throw DecodeError(.unsupportedSchema, "unresolved $ref to \(key)") }
        var value = document
        for token in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let name = JSONPointer.unescape(token)
            switch value {
            case .object: value = value[name] ?? .null
            case .array(let items): value = Int(name).flatMap { items.indices.contains($0) ? items[$0] : nil } ?? .null
            default: value = .null
            }
            if value == .null { throw DecodeError(.unsupportedSchema, "unresolved $ref to \(key)") }
        }
        let index = Int32(nodes.count)
        nodes.append(SchemaNode())
        compiled[key] = index
        nodes[Int(index)] = try build(value, uri: uri, pointer: pointer)
        return index
    }

    private mutating func build(_ schema: SchemaValue, uri: String, pointer: String) throws(DecodeError) -> SchemaNode {
        var node = SchemaNode()
        if case .bool(let accept) = schema {
            node.alwaysFails = !accept
            return node
        }
        guard case .object(let members) = schema else { throw invalid(pointer, "a schema must be an object or a boolean") }
        func sub(_ keyword: String) -> String { pointer + "/" + keyword }
        func int(_ value: SchemaValue, _ keyword: String) throws(DecodeError) -> Int32 {
            guard case .number(let n, _) = value, n >= 0, n < 1e9, n == n.rounded() else {
                throw invalid(pointer, "\(keyword) must be a non-negative integer")
            }
            return Int32(n)
        }
        var required: [String] = []
        var properties: [(String, Int32)] = []
        var dependentRequired: [(String, [String])] = []
        for (keyword, value) in members {
            switch keyword {
            case "type":
                let list: [SchemaValue]
                if case .array(let items) = value { list = items } else { list = [value] }
                for item in list {
                    guard case .string(let name) = item, let bit = Self.typeBits[name] else {
                        throw invalid(pointer, "unknown type \(item)")
                    }
                    node.types |= bit
                }
            case "enum", "const":
                var list = [value]
                if keyword == "enum" {
                    guard case .array(let items) = value else { throw invalid(pointer, "enum must be an array") }
                    list = items
                }
                node.enumValues = SchemaNode.Span(start: Int32(values.count), count: Int32(list.count))
                values.append(contentsOf: list)
                if keyword == "enum" { node.hasEnum = true } else { node.hasConst = true }
            case "required", "properties", "dependentRequired":
                try collectObjectKeyword(keyword, value, pointer, uri, &required, &properties, &dependentRequired)
            case "additionalProperties": node.additional = try self.node(uri: uri, pointer: sub(keyword))
            case "items": node.items = try self.node(uri: uri, pointer: sub(keyword))
            case "not": node.not = try self.node(uri: uri, pointer: sub(keyword))
            case "minLength": node.minLength = try int(value, keyword)
            case "maxLength": node.maxLength = try int(value, keyword)
            case "minItems": node.minItems = try int(value, keyword)
            case "pattern":
                guard case .string(let source) = value else { throw invalid(pointer, "pattern must be a string") }
                do {
                    patterns.append(try Pattern(source))
                } catch {
                    throw invalid(pointer, "pattern \(source): \(error.message)")
                }
                node.patterns = SchemaNode.Span(start: Int32(patterns.count - 1), count: 1)
            case "allOf", "anyOf", "oneOf":
                guard case .array(let items) = value, !items.isEmpty else {
                    throw invalid(pointer, "\(keyword) must be a non-empty array")
                }
                var list: [Int32] = []
                for i in items.indices { list.append(try self.node(uri: uri, pointer: sub(keyword) + "/\(i)")) }
                let span = SchemaNode.Span(start: Int32(children.count), count: Int32(list.count))
                children.append(contentsOf: list)
                if keyword == "allOf" { node.allOf = span } else if keyword == "anyOf" { node.anyOf = span } else { node.oneOf = span }
            case "$ref":
                guard case .string(let reference) = value else { throw invalid(pointer, "$ref must be a string") }
                let (target, fragment) = Self.resolve(reference, against: uri)
                node.ref = try self.node(uri: target, pointer: fragment)
            default:
                guard Self.annotations.contains(keyword) else {
                    throw DecodeError(.unsupportedSchema, "unsupported keyword \(keyword) at \(uri)#\(pointer)")
                }
            }
        }
        try addNames(&node, required, properties, dependentRequired, pointer)
        return node
    }

    private mutating func collectObjectKeyword(
        _ keyword: String, _ value: SchemaValue, _ pointer: String, _ uri: String, _ required: inout [String],
        _ properties: inout [(String, Int32)], _ dependentRequired: inout [(String, [String])]
    ) throws(DecodeError) {
        func strings(_ value: SchemaValue) throws(DecodeError) -> [String] {
            guard case .array(let items) = value else { throw invalid(pointer, "\(keyword) needs an array of names") }
            var result: [String] = []
            for item in items {
                guard case .string(let name) = item else { throw invalid(pointer, "\(keyword) needs strings") }
                result.append(name)
            }
            return result
        }
        guard keyword != "required" else {
            required = try strings(value)
            return
        }
        guard case .object(let members) = value else { throw invalid(pointer, "\(keyword) must be an object") }
        for (name, member) in members {
            if keyword == "properties" {
                properties.append((name, try node(uri: uri, pointer: pointer + "/properties/" + JSONPointer.escape(name))))
            } else {
                dependentRequired.append((name, try strings(member)))
            }
        }
    }

    /// Lays out the node's name table: one bit per distinct name (at most 64 per subschema).
    private mutating func addNames(
        _ node: inout SchemaNode, _ required: [String], _ properties: [(String, Int32)],
        _ dependentRequired: [(String, [String])], _ pointer: String
    ) throws(DecodeError) {
        var order: [String] = []
        for name in properties.map(\.0) + required + dependentRequired.flatMap({ [$0.0] + $0.1 })
        where !order.contains(name) {
            order.append(name)
        }
        guard order.count <= 64 else { throw invalid(pointer, "more than 64 property names in one subschema") }
        node.names = SchemaNode.Span(start: Int32(names.count), count: Int32(order.count))
        func bit(_ name: String) -> UInt64 { 1 << UInt64(order.firstIndex(of: name) ?? 0) }
        var size = 1
        while size < order.count * 2 { size *= 2 }
        var table = [Int32](repeating: -1, count: order.isEmpty ? 0 : size)
        for name in order {
            let bytes = Array(name.utf8)
            let prefix = bytes.withUnsafeBytes { raw in
                raw.baseAddress.map { KeyHash.prefix($0, min(raw.count, 8), available: raw.count) } ?? 0
            }
            let hash = KeyHash.of(prefix, bytes.count)
            var slot = Int(hash) & (size - 1)
            while table[slot] >= 0 { slot = (slot + 1) & (size - 1) }
            table[slot] = Int32(names.count)
            names.append(
                SchemaProgram.Name(
                    offset: Int32(blob.count), length: Int32(bytes.count), hash: hash,
                    schema: properties.first { $0.0 == name }?.1 ?? -1, bit: bit(name)))
            blob.append(contentsOf: bytes)
        }
        node.nameSlots = SchemaNode.Span(start: Int32(slots.count), count: Int32(table.count))
        slots.append(contentsOf: table)
        node.requiredMask = required.reduce(0) { $0 | bit($1) }
        node.requiredOnly = !required.isEmpty && properties.isEmpty && dependentRequired.isEmpty && node.additional < 0
        node.dependencies = SchemaNode.Span(start: Int32(dependencies.count), count: Int32(dependentRequired.count))
        for (trigger, needed) in dependentRequired {
            dependencies.append(.init(trigger: bit(trigger), required: needed.reduce(0) { $0 | bit($1) }))
        }
    }

    /// A node that is nothing but `{"$ref": …}` is replaced, wherever it is referenced, by what it
    /// refers to, and nodes that are nothing but `type` are marked: both save a call per visit.
    private mutating func shortcutReferences() {
        let original = nodes
        func fix(_ index: Int32) -> Int32 { index >= 0 ? Self.target(index, in: original) : index }
        for i in nodes.indices {
            var node = nodes[i]
            node.ref = fix(node.ref)
            node.not = fix(node.not)
            node.items = fix(node.items)
            node.additional = fix(node.additional)
            var plain = SchemaNode()
            plain.types = node.types
            node.typeOnly = node.types != 0 && plain == node
            nodes[i] = node
        }
        children = children.map(fix)
        names = names.map { name in
            var name = name
            name.schema = fix(name.schema)
            return name
        }
    }

    /// Follows chains of nodes that are only a `$ref` (bounded, so reference cycles end).
    static func target(_ start: Int32, in nodes: [SchemaNode]) -> Int32 {
        var index = start
        for _ in 0..<64 {
            var bare = SchemaNode()
            bare.ref = nodes[Int(index)].ref
            guard bare.ref >= 0, bare == nodes[Int(index)] else { return index }
            index = bare.ref
        }
        return index
    }

    private func invalid(_ pointer: String, _ message: String) -> DecodeError {
        DecodeError(.unsupportedSchema, "\(message) at #\(pointer)")
    }

    static let typeBits: [String: UInt8] = [
        "null": SchemaProgram.TypeBit.null, "boolean": SchemaProgram.TypeBit.boolean,
        "object": SchemaProgram.TypeBit.object, "array": SchemaProgram.TypeBit.array,
        "number": SchemaProgram.TypeBit.number, "string": SchemaProgram.TypeBit.string,
        "integer": SchemaProgram.TypeBit.integer,
    ]

    /// Splits `reference` into a document URI (resolved against `base`) and a JSON Pointer fragment.
    static func resolve(_ reference: String, against base: String) -> (String, String) {
        let parts = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let fragment = parts.count > 1 ? String(parts[1]) : ""
        guard !path.isEmpty else { return (base, fragment) }
        if path.contains("://") { return (path, fragment) }
        guard let slash = base.lastIndex(of: "/") else { return (path, fragment) }
        return (String(base[...slash]) + path, fragment)
    }
}
