// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

extension SchemaEvaluation {
    /// `properties`, `additionalProperties`, `required` and `dependentRequired` in one walk over the
    /// members: each member name is looked up once in the node's name table, and presence is a bit mask.
    mutating func checkObject(_ node: UnsafePointer<SchemaNode>, _ t: Int) -> Bool {
        if node.pointee.requiredOnly { return checkRequiredOnly(node, t) }
        let end = Int(document.tape[t].length)
        var seen: UInt64 = 0
        var key = t + 1
        while key < end {
            let value = key + 1
            var schema = node.pointee.additional
            if let name = lookup(node.pointee, key) {
                seen |= name.bit
                schema = name.schema
            }
            if schema >= 0 {
                let target = program.nodes[Int(schema)]
                if target.typeOnly, typeMatches(target.types, document.tape[value], value) {
                    key = document.next(after: value)
                    continue
                }
                if explain { path.append(key) }
                let ok = check(schema, value)
                if explain { path.removeLast() }
                if !ok { return false }
            }
            key = document.next(after: value)
        }
        if node.pointee.requiredMask & ~seen != 0 { return fail("required") }
        for k in Int(node.pointee.dependencies.start)..<Int(node.pointee.dependencies.start + node.pointee.dependencies.count) {
            let dependency = program.dependencies[k]
            if seen & dependency.trigger != 0, dependency.required & ~seen != 0 { return fail("dependentRequired") }
        }
        return true
    }

    /// `{"required": [...]}` alone (the `oneOf` branches of the CADF schema): each required name is
    /// looked for among the members by hash, with no table probe per member.
    private mutating func checkRequiredOnly(_ node: UnsafePointer<SchemaNode>, _ t: Int) -> Bool {
        let end = Int(document.tape[t].length)
        let names = node.pointee.names
        for k in Int(names.start)..<Int(names.start &+ names.count) {
            let name = program.names[k]
            var key = t &+ 1
            var found = false
            while key < end {
                let entry = document.tape[key]
                if entry.isEscaped || (entry.hash == name.hash && entry.length == UInt32(name.length)) {
                    if let blob = program.blob.baseAddress,
                        document.keyEquals(key, UnsafeRawBufferPointer(start: blob + Int(name.offset), count: Int(name.length)))
                    {
                        found = true
                        break
                    }
                }
                key = document.next(after: key &+ 1)
            }
            if !found { return fail("required") }
        }
        return true
    }

    /// The entry of the node's name table equal to the member name at tape index `key`.
    @inline(__always)
    private func lookup(_ node: SchemaNode, _ key: Int) -> SchemaProgram.Name? {
        guard node.nameSlots.count > 0 else { return nil }
        let entry = document.tape[key]
        if entry.isEscaped {
            let bytes = document.unescapedBytes(key)
            return bytes.withUnsafeBytes { raw in
                let prefix = raw.baseAddress.map { KeyHash.prefix($0, min(raw.count, 8), available: raw.count) } ?? 0
                return find(node.nameSlots, raw, hash: KeyHash.of(prefix, raw.count))
            }
        }
        return find(node.nameSlots, document.rawBytes(key), hash: entry.hash)
    }

    @inline(__always)
    private func find(_ table: SchemaNode.Span, _ name: UnsafeRawBufferPointer, hash: UInt32) -> SchemaProgram.Name? {
        let mask = Int(table.count) &- 1
        var slot = Int(hash) & mask
        while true {
            let index = program.slots[Int(table.start) &+ slot]
            guard index >= 0 else { return nil }
            let candidate = program.names[Int(index)]
            if candidate.hash == hash, Int(candidate.length) == name.count {
                guard let p = name.baseAddress, let blob = program.blob.baseAddress else { return candidate }
                if memoryEquals(p, blob + Int(candidate.offset), name.count) { return candidate }
            }
            slot = (slot &+ 1) & mask
        }
    }
}
