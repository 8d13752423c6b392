// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// A fixed set of member names found in one walk over an object (instead of one walk per name).
///
/// Names are compared by the parser's key hash first, then by bytes; escaped member names are
/// unescaped and compared in full.
struct MemberQuery: Sendable {
    private let blob: [UInt8]
    private let offsets: [Int]
    private let lengths: [Int]
    private let hashes: [UInt32]

    /// A query for `names`; results come back in this order.
    init(_ names: [String]) {
        var blob: [UInt8] = []
        var offsets: [Int] = []
        var hashes: [UInt32] = []
        for name in names {
            let bytes = Array(name.utf8)
            offsets.append(blob.count)
            hashes.append(bytes.withUnsafeBytes { raw in
                KeyHash.of(raw.baseAddress.map { KeyHash.prefix($0, min(raw.count, 8), available: raw.count) } ?? 0, raw.count)
            })
            blob += bytes
        }
        self.blob = blob
        self.offsets = offsets
        self.lengths = names.map(\.utf8.count)
        self.hashes = hashes
    }

    /// Calls `body` with the tape index of each name's value in the object at `object` (-1 if absent).
    func find<R>(in document: JSONDocument, _ object: Int, _ body: (UnsafeMutableBufferPointer<Int>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: hashes.count) { found in
            found.initialize(repeating: -1)
            guard document.tape[object].kind == .object else { return body(found) }
            blob.withUnsafeBytes { blob in
                let end = Int(document.tape[object].length)
                var key = object + 1
                while key < end {
                    let entry = document.tape[key]
                    for k in 0..<hashes.count where found[k] < 0 && (entry.isEscaped || entry.hash == hashes[k]) {
                        let name = UnsafeRawBufferPointer(rebasing: blob[offsets[k]..<(offsets[k] + lengths[k])])
                        if document.keyEquals(key, name) {
                            found[k] = key + 1
                            break
                        }
                    }
                    key = document.next(after: key + 1)
                }
            }
            return body(found)
        }
    }
}
