// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Finds two members of one object with the same name, compared after unescaping (rule 5 of
/// `schemas/README.md`: `"id"` and `"\u0069d"` are the same name).
///
/// Small objects (every object of a notification) are compared pairwise, length first; large ones
/// are hashed and sorted, so an object with 100,000 members costs O(n log n), not O(n²).
enum DuplicateKeys {
    static func found(
        _ keys: UnsafeBufferPointer<UInt32>, tape: UnsafeBufferPointer<TapeEntry>, base: UnsafePointer<UInt8>, count: Int
    ) -> Bool {
        let document = JSONDocument(bytes: UnsafeRawBufferPointer(start: base, count: count), tape: tape)
        var anyEscaped = false
        for key in keys where tape[Int(key)].isEscaped {
            anyEscaped = true
            break
        }
        if anyEscaped || keys.count > 16 {
            return foundByHashing(keys, document)
        }
        for a in 0..<keys.count {
            let ea = tape[Int(keys[a])]
            for b in (a &+ 1)..<keys.count {
                let eb = tape[Int(keys[b])]
                if ea.hash == eb.hash, ea.length == eb.length,
                    memoryEquals(base + Int(ea.start), base + Int(eb.start), Int(ea.length))
                {
                    return true
                }
            }
        }
        return false
    }

    private static func foundByHashing(_ keys: UnsafeBufferPointer<UInt32>, _ document: JSONDocument) -> Bool {
        var names: [(hash: Int, name: [UInt8])] = []
        names.reserveCapacity(keys.count)
        for key in keys {
            let name = document.unescapedBytes(Int(key))
            names.append((name.hashValue, name))
        }
        names.sort { $0.hash < $1.hash }
        var i = 0
        while i < names.count {
            var j = i &+ 1
            while j < names.count, names[j].hash == names[i].hash {
                for k in i..<j where names[k].name == names[j].name { return true }
                j &+= 1
            }
            i = j
        }
        return false
    }
}
