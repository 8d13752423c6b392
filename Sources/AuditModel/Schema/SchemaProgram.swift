// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// One compiled subschema: plain data whose lists are spans of the program's flat tables, so the
/// evaluator reads it without reference counting.
struct SchemaNode: Equatable {
    /// A span of one of the program's tables.
    struct Span: Equatable {
        var start: Int32 = 0
        var count: Int32 = 0
    }

    /// `false` schema.
    var alwaysFails = false
    /// Bit set of ``SchemaProgram/TypeBit`` values; 0 = no `type` keyword.
    var types: UInt8 = 0
    var ref: Int32 = -1
    var not: Int32 = -1
    var items: Int32 = -1
    /// `additionalProperties`: a node, or -1.
    var additional: Int32 = -1
    var minLength: Int32 = -1
    var maxLength: Int32 = -1
    var minItems: Int32 = -1
    /// `enum` values (indices into ``SchemaProgram/values``); `const` is an enum of one.
    var enumValues = Span()
    var hasEnum = false
    var hasConst = false
    var patterns = Span()
    var allOf = Span()
    var anyOf = Span()
    var oneOf = Span()
    /// Names this node knows about (properties ∪ required ∪ dependentRequired), in ``SchemaProgram/names``.
    var names = Span()
    /// The open-addressing hash table over ``names`` (indices into ``SchemaProgram/names``, -1 = empty),
    /// in ``SchemaProgram/slots``; its count is a power of two.
    var nameSlots = Span()
    var requiredMask: UInt64 = 0
    /// `dependentRequired`: entries of ``SchemaProgram/dependencies``.
    var dependencies = Span()
    /// Only `required` among the object keywords (no property schemas, no `additionalProperties`,
    /// no `dependentRequired`).
    var requiredOnly = false
    /// Only `type`: checked inline by the caller, without a call.
    var typeOnly = false
    /// Whether any object keyword is present (skip the member walk otherwise).
    var hasObjectKeywords: Bool { names.count > 0 || additional >= 0 }
}

/// The compiled form of a set of schema documents: nodes and the flat tables they point into.
///
/// Immutable after ``SchemaCompiler`` builds it; tables are copied into unmanaged buffers once so
/// the evaluator reads them without ARC traffic, and freed with the program.
final class SchemaProgram: @unchecked Sendable {
    // @unchecked: every buffer is written in init and only read afterwards.
    enum TypeBit {
        static let null: UInt8 = 1
        static let boolean: UInt8 = 2
        static let object: UInt8 = 4
        static let array: UInt8 = 8
        static let number: UInt8 = 16
        static let string: UInt8 = 32
        static let integer: UInt8 = 64
    }

    /// A property or required name known to a node.
    struct Name {
        /// Offset and length in ``SchemaProgram/blob``.
        var offset: Int32
        var length: Int32
        /// ``KeyHash/of(_:_:)`` of the name.
        var hash: UInt32
        /// The `properties` subschema for this name, or -1.
        var schema: Int32
        /// This name's bit in the node's masks (position in the node's name span).
        var bit: UInt64
    }

    /// `dependentRequired`: when `trigger` is present, every bit of `required` must be.
    struct Dependency {
        var trigger: UInt64
        var required: UInt64
    }

    let nodes: UnsafeMutableBufferPointer<SchemaNode>
    let names: UnsafeMutableBufferPointer<Name>
    let dependencies: UnsafeMutableBufferPointer<Dependency>
    let children: UnsafeMutableBufferPointer<Int32>
    let slots: UnsafeMutableBufferPointer<Int32>
    let blob: UnsafeMutableBufferPointer<UInt8>
    /// String `enum`/`const` values as spans of ``blob`` (count -1 for a non-string value).
    let stringValues: UnsafeMutableBufferPointer<SchemaNode.Span>
    let values: [SchemaValue]
    let patterns: [Pattern]
    /// Keyword names for `pattern` failures etc. are static; patterns' sources for messages.
    let roots: [String: Int32]

    init(
        nodes: [SchemaNode], names: [Name], dependencies: [Dependency], children: [Int32], slots: [Int32], blob: [UInt8],
        values: [SchemaValue], patterns: [Pattern], roots: [String: Int32]
    ) {
        func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
            _ = buffer.initialize(from: array)
            return buffer
        }
        self.nodes = copy(nodes)
        self.names = copy(names)
        self.dependencies = copy(dependencies)
        self.children = copy(children)
        self.slots = copy(slots)
        var blob = blob
        var spans: [SchemaNode.Span] = []
        for value in values {
            if case .string(let text) = value {
                spans.append(SchemaNode.Span(start: Int32(blob.count), count: Int32(text.utf8.count)))
                blob.append(contentsOf: text.utf8)
            } else {
                spans.append(SchemaNode.Span(start: 0, count: -1))
            }
        }
        self.blob = copy(blob)
        self.stringValues = copy(spans)
        self.values = values
        self.patterns = patterns
        self.roots = roots
    }

    deinit {
        nodes.deallocate()
        names.deallocate()
        dependencies.deallocate()
        children.deallocate()
        slots.deallocate()
        blob.deallocate()
        stringValues.deallocate()
    }

}
