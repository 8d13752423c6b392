// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// The oslo 2.0 envelope exactly as oslo.messaging writes it, `{"oslo.version": "2.0", "oslo.message":
/// "…"}`, parsed in place or unescaped in one pass.
///
/// First choice: the inner message is parsed where it lies (``parsedInPlace(_:_:)``), with `\"` as its
/// quote, when it has no escape of its own; no copy is made. Otherwise (e.g. `\\u00fc` for a
/// non-ASCII name) ``inner(_:)`` unescapes it into a new array, which is then parsed.
///
/// The general route (parse the envelope, then unescape its string) reads the 1.7 KB inner message
/// twice and stops at every one of its ~150 `\"`. This pass validates and unescapes at once: it copies
/// 8 bytes at a time unconditionally and advances to the first special byte (`"`, `\`, control,
/// non-ASCII), so a run costs one load, one store and a bit scan. Anything unexpected (another
/// layout, whitespace, a bad escape) returns `nil` and the caller takes the general route, which
/// finds the precise defect: the fast path only ever accepts what the strict parser accepts.
enum EnvelopeFastPath {
    private static let head: StaticString = #"{"oslo.version": "2.0", "oslo.message": ""#

    /// The inner message parsed where it lies in the envelope (no copy, no unescaping), when it has
    /// no escape of its own (see ``JSONParser/parseEmbedded(_:from:)``); else `nil`, and the caller
    /// takes ``inner(_:)``. The document's offsets are into `raw`; it is valid until the next parse.
    static func parsedInPlace(_ raw: UnsafeRawBufferPointer, _ parser: JSONParser) -> JSONDocument? {
        guard hasHead(raw), let (document, quote) = parser.parseEmbedded(raw, from: head.utf8CodeUnitCount),
            let base = raw.baseAddress, endsEnvelope(base.assumingMemoryBound(to: UInt8.self), quote, raw.count)
        else { return nil }
        return document
    }

    private static func hasHead(_ raw: UnsafeRawBufferPointer) -> Bool {
        let headCount = head.utf8CodeUnitCount
        guard raw.count > headCount, let base = raw.baseAddress else { return false }
        return memoryEquals(base, UnsafeRawPointer(head.utf8Start), headCount)
    }

    /// Whether the `"` at `i` closes the inner message and only `}` and trailing whitespace follow.
    private static func endsEnvelope(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Bool {
        guard i < end, p[i] == UInt8(ascii: "\""), i &+ 1 < end, p[i &+ 1] == UInt8(ascii: "}") else { return false }
        var j = i &+ 2
        while j < end, p[j] == 0x20 || p[j] == 0x0A || p[j] == 0x0D || p[j] == 0x09 { j &+= 1 }
        return j == end
    }

    /// The unescaped inner message, or `nil` to fall back to the general route.
    static func inner(_ raw: UnsafeRawBufferPointer) -> [UInt8]? {
        let headCount = head.utf8CodeUnitCount
        guard hasHead(raw), let base = raw.baseAddress else { return nil }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let end = raw.count
        var ok = false
        // 8 bytes of slack: the copy loop stores whole words past the last byte it keeps.
        let inner = [UInt8](unsafeUninitializedCapacity: end - headCount + 8) { buffer, count in
            guard let out = buffer.baseAddress else { return }
            var i = headCount
            var o = 0
            while true {
                while i &+ 8 <= end {
                    let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                    UnsafeMutableRawPointer(out + o).storeBytes(of: word, as: UInt64.self)
                    let special = JSONScanner<PlainJSON>.specialLanes(UInt64(littleEndian: word))
                    if special == 0 {
                        i &+= 8
                        o &+= 8
                        continue
                    }
                    let skip = special.trailingZeroBitCount >> 3
                    i &+= skip
                    o &+= skip
                    // `\"` and `\\` (nearly every escape of an envelope) without leaving the loop.
                    if p[i] == UInt8(ascii: "\\"), i &+ 1 < end {
                        let next = p[i &+ 1]
                        if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") {
                            out[o] = next
                            i &+= 2
                            o &+= 1
                            continue
                        }
                    }
                    break
                }
                guard i < end else { return }
                let byte = p[i]
                if byte == UInt8(ascii: "\"") {
                    guard endsEnvelope(p, i, end) else { return }
                    count = o
                    ok = true
                    return
                } else if byte == UInt8(ascii: "\\") {
                    var scanner = JSONScanner<PlainJSON>(base: p, end: end)
                    scanner.i = i
                    do { try scanner.scanEscape() } catch { return }
                    let (scalar, consumed) = JSONUnescaper.decodeEscape(p, i, end)
                    o &+= JSONUnescaper.writeUTF8(scalar, UnsafeMutableRawPointer(out + o))
                    i &+= consumed
                } else if byte >= 0x80 {
                    guard let length = UTF8Validator.sequenceLength(p, i, end) else { return }
                    for k in 0..<length { out[o &+ k] = p[i &+ k] }
                    i &+= length
                    o &+= length
                } else if byte < 0x20 {
                    return
                } else {
                    out[o] = byte  // an ordinary byte in the tail (fewer than 8 bytes left)
                    i &+= 1
                    o &+= 1
                }
            }
        }
        return ok ? inner : nil
    }
}
