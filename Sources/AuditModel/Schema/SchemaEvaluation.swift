// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// One run of a ``SchemaProgram`` over a parsed document.
///
/// The fast run only answers valid / invalid. Only when that says invalid does the validator run again
/// with `explain` set, which tracks the instance path and records the failing keyword and pointer;
/// the hot path never builds strings.
struct SchemaEvaluation {
    let program: SchemaProgram
    let document: JSONDocument
    let explain: Bool
    var path: [Int] = []  // tape index of a key (>= 0) or -(array index) - 1
    private(set) var violation: (rule: String, pointer: String)?

    init(program: SchemaProgram, document: JSONDocument, explain: Bool) {
        self.program = program
        self.document = document
        self.explain = explain
    }

    @inline(__always)
    mutating func fail(_ rule: String) -> Bool {
        if explain, violation == nil { violation = (rule, pointer()) }
        return false
    }

    private func pointer() -> String {
        var text = ""
        for step in path {
            text += "/" + (step >= 0 ? JSONPointer.escape(document.string(step) ?? "") : String(-step - 1))
        }
        return text
    }

    /// Whether the value at tape index `t` satisfies node `n`.
    mutating func check(_ n: Int32, _ t: Int) -> Bool {
        let node = UnsafePointer(program.nodes.baseAddress.unsafelyUnwrapped + Int(n))  // no copy of the node
        if node.pointee.alwaysFails { return fail("false") }
        if node.pointee.ref >= 0, !check(node.pointee.ref, t) { return false }
        let entry = document.tape[t]
        if node.pointee.types != 0, !typeMatches(node.pointee.types, entry, t) { return fail("type") }
        if node.pointee.hasEnum || node.pointee.hasConst, !enumMatches(node.pointee.enumValues, entry, t) {
            return fail(node.pointee.hasEnum ? "enum" : "const")
        }
        switch entry.kind {
        case .string:
            if node.pointee.minLength >= 0 || node.pointee.maxLength >= 0 || node.pointee.patterns.count > 0, !checkString(node, t) {
                return false
            }
        case .object:
            if node.pointee.hasObjectKeywords, !checkObject(node, t) { return false }
        case .array:
            if node.pointee.minItems >= 0, Int32(entry.start) < node.pointee.minItems { return fail("minItems") }
            if node.pointee.items >= 0 {
                var child = t + 1
                var index = 0
                while child < Int(entry.length) {
                    if explain { path.append(-index - 1) }
                    let ok = check(node.pointee.items, child)
                    if explain { path.removeLast() }
                    if !ok { return false }
                    child = document.next(after: child)
                    index += 1
                }
            }
        default:
            break
        }
        for k in 0..<Int(node.pointee.allOf.count) where !check(program.children[Int(node.pointee.allOf.start) + k], t) {
            return false
        }
        if node.pointee.anyOf.count > 0, !checkBranches(node.pointee.anyOf, t, exactlyOne: false) { return false }
        if node.pointee.oneOf.count > 0, !checkBranches(node.pointee.oneOf, t, exactlyOne: true) { return false }
        if node.pointee.not >= 0 {
            let saved = violation
            let inner = check(node.pointee.not, t)
            violation = saved
            if inner { return fail("not") }
        }
        return true
    }

    func typeMatches(_ types: UInt8, _ entry: TapeEntry, _ t: Int) -> Bool {
        typealias Bit = SchemaProgram.TypeBit
        switch entry.kind {
        case .null: return types & Bit.null != 0
        case .true, .false: return types & Bit.boolean != 0
        case .object: return types & Bit.object != 0
        case .array: return types & Bit.array != 0
        case .string: return types & Bit.string != 0
        case .number:
            if types & Bit.number != 0 { return true }
            guard types & Bit.integer != 0 else { return false }
            if entry.flags & TapeEntry.numberInteger != 0 { return true }
            let value = Double(String(decoding: document.rawBytes(t), as: UTF8.self)) ?? .nan
            return value.isFinite && value == value.rounded()
        }
    }

    private func enumMatches(_ span: SchemaNode.Span, _ entry: TapeEntry, _ t: Int) -> Bool {
        if entry.kind == .string, !entry.isEscaped {
            let raw = document.rawBytes(t)
            for k in Int(span.start)..<Int(span.start + span.count) {
                let value = program.stringValues[k]
                guard value.count == raw.count else { continue }
                guard let a = raw.baseAddress, let b = program.blob.baseAddress else { return true }  // both empty
                if memoryEquals(a, b + Int(value.start), raw.count) { return true }
            }
            return false
        }
        let instance = SchemaValue(document, t)
        return (Int(span.start)..<Int(span.start + span.count)).contains { program.values[$0] == instance }
    }

    private mutating func checkString(_ node: UnsafePointer<SchemaNode>, _ t: Int) -> Bool {
        let entry = document.tape[t]
        if entry.isEscaped {
            let bytes = document.unescapedBytes(t)
            return bytes.withUnsafeBytes { checkString(node, $0, plainASCII: false) }
        }
        return checkString(node, document.rawBytes(t), plainASCII: entry.isPlainASCII)
    }

    private mutating func checkString(_ pointer: UnsafePointer<SchemaNode>, _ raw: UnsafeRawBufferPointer, plainASCII: Bool) -> Bool {
        let node = pointer.pointee
        if node.minLength >= 0 || node.maxLength >= 0 {
            var length = raw.count
            if !plainASCII {
                length = 0
                for byte in raw where byte & 0xC0 != 0x80 { length += 1 }
            }
            if node.minLength >= 0, length < Int(node.minLength) { return fail("minLength") }
            if node.maxLength >= 0, length > Int(node.maxLength) { return fail("maxLength") }
        }
        for k in Int(node.patterns.start)..<Int(node.patterns.start + node.patterns.count)
        where !program.patterns[k].matches(raw) {
            return fail("pattern")
        }
        return true
    }

    private mutating func checkBranches(_ span: SchemaNode.Span, _ t: Int, exactlyOne: Bool) -> Bool {
        let saved = violation
        var passed = 0
        var deepest: (rule: String, pointer: String)?
        for k in Int(span.start)..<Int(span.start + span.count) {
            violation = nil
            if check(program.children[k], t) {
                passed += 1
                if !exactlyOne || passed > 1 { break }
            } else if let found = violation, found.pointer.count > (deepest?.pointer.count ?? -1) {
                deepest = found
            }
        }
        violation = saved
        if exactlyOne ? passed == 1 : passed > 0 { return true }
        if explain, violation == nil { violation = passed > 1 ? nil : deepest }
        return fail(exactlyOne ? "oneOf" : "anyOf")
    }
}
