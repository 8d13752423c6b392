// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// A strict, single-pass RFC 8259 parser that writes a ``TapeEntry`` tape.
///
/// It enforces the byte-level rules of `schemas/README.md` in the same pass: strict UTF-8 inside
/// strings (outside strings any non-ASCII byte is a syntax error anyway), nesting ≤ ``maxDepth``,
/// no unpaired surrogate escapes, no duplicate member names. It never recurses (an explicit
/// container stack bounded by ``maxDepth``), never traps on input and reuses its buffers, so a
/// parser kept per worker allocates nothing in the steady state.
package struct JSONParser {
    /// The deepest container nesting accepted; the top-level container counts as 1.
    package static let maxDepth = 512

    /// Why a parse failed, and where.
    package struct Failure: Error, Sendable {
        package var code: QuarantineReason.Code
        package var offset: Int

        package var reason: QuarantineReason { QuarantineReason(code, offset: offset) }
    }

    private let tape = ParserStack<TapeEntry>(capacity: 256)
    private let containers = ParserStack<UInt32>(capacity: Self.maxDepth + 1)
    private let keys = ParserStack<UInt32>(capacity: 64)
    private let keyBase = ParserStack<UInt32>(capacity: Self.maxDepth + 1)

    package init() {}

    /// Parses `bytes` and calls `body` with the document; the tape is reused by the next parse.
    /// - Returns: what `body` returns, or the failure (then `body` is not called).
    package func parse<R>(_ bytes: UnsafeRawBufferPointer, _ body: (JSONDocument) -> R) -> Result<R, Failure> {
        do {
            try parseTape(bytes)
        } catch {
            return .failure(error)
        }
        return .success(body(JSONDocument(bytes: bytes, tape: tape.buffer)))
    }

    /// Parses JSON text written as the body of a JSON string that starts at `start` in `bytes`, in
    /// place: the 2.0 envelope's inner message without unescaping it into a copy first.
    ///
    /// Only text with no escape of its own (every backslash is part of a `\"`) and no whitespace but
    /// spaces is taken; the tape then equals that of the unescaped text, with offsets into `bytes`.
    /// - Returns: the document (valid until the next parse) and the offset of the quote that closes
    ///   the enclosing string, or `nil` for anything else, defects included: the caller then
    ///   unescapes and parses the usual way, which finds the precise reason.
    package func parseEmbedded(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (document: JSONDocument, end: Int)? {
        reset()
        guard bytes.count < Int(UInt32.max), let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
            start < bytes.count
        else { return nil }
        var scanner = JSONScanner<EmbeddedJSON>(base: base, end: bytes.count)
        scanner.i = start
        var duplicateAt: Int?
        do {
            try parseValues(&scanner, &duplicateAt)
        } catch {
            return nil
        }
        guard duplicateAt == nil else { return nil }
        return (JSONDocument(bytes: bytes, tape: tape.buffer), scanner.i)
    }

    private func reset() {
        tape.removeAll()
        containers.removeAll()
        keys.removeAll()
        keyBase.removeAll()
    }

    private func parseTape(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        reset()
        guard bytes.count < Int(UInt32.max) else { throw Failure(code: .tooLarge, offset: 0) }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw Failure(code: .notJSON, offset: 0)
        }
        var scanner = JSONScanner<PlainJSON>(base: base, end: bytes.count)
        var duplicateAt: Int?
        do {
            try parseValues(&scanner, &duplicateAt)
        } catch {
            // A document that is too deep and also not UTF-8 is `notJSON` (rule 1 comes before rule 2).
            if error.code == .tooDeep, !UTF8Validator.isValid(bytes) { throw Failure(code: .notJSON, offset: error.offset) }
            throw error
        }
        if let duplicateAt { throw Failure(code: .duplicateKey, offset: duplicateAt) }
    }

    private func parseValues<Form>(_ s: inout JSONScanner<Form>, _ duplicateAt: inout Int?) throws(Failure) {
        s.skipWhitespace()
        while true {
            // A value.
            guard s.i < s.end else { throw s.fail() }
            let byte = s.base[s.i]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard containers.count < Self.maxDepth else { throw Failure(code: .tooDeep, offset: s.i) }
                let isObject = byte == UInt8(ascii: "{")
                containers.append(UInt32(tape.count))
                tape.append(TapeEntry(kind: isObject ? .object : .array, flags: 0, start: 0, length: 0))
                s.i &+= 1
                s.skipWhitespace()
                if isObject {
                    keyBase.append(UInt32(keys.count))
                    if s.peek == UInt8(ascii: "}") {
                        s.i &+= 1
                        try closeContainer(&s, &duplicateAt)
                    } else {
                        try parseKey(&s)
                        continue
                    }
                } else if s.peek == UInt8(ascii: "]") {
                    s.i &+= 1
                    try closeContainer(&s, &duplicateAt)
                } else {
                    continue
                }
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                // Embedded text: a string opens with `\"`, and a bare `"` ends the text too early.
                guard s.atQuote else { throw s.fail() }
                tape.append(try s.scanString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                tape.append(try s.scanNumber())
            case UInt8(ascii: "t"):
                try s.expectLiteral(0x6575_7274, 4)  // "true"
                tape.append(TapeEntry(kind: .true, flags: 0, start: UInt32(s.i &- 4), length: 4))
            case UInt8(ascii: "f"):
                try s.expectLiteral(0x6573_6c61, 4, skip: 1)  // "alse"
                tape.append(TapeEntry(kind: .false, flags: 0, start: UInt32(s.i &- 5), length: 5))
            case UInt8(ascii: "n"):
                try s.expectLiteral(0x6c6c_756e, 4)  // "null"
                tape.append(TapeEntry(kind: .null, flags: 0, start: UInt32(s.i &- 4), length: 4))
            default:
                throw s.fail()
            }
            // After a value: a separator, a closing bracket, or the end.
            while true {
                s.skipWhitespace()
                guard let top = containers.last else {
                    // Embedded text ends at the quote that closes the enclosing string.
                    guard Form.isEmbedded ? s.peek == UInt8(ascii: "\"") : s.i == s.end else { throw s.fail() }
                    return
                }
                let isObject = tape[Int(top)].kind == .object
                let byte = s.peek
                if byte == UInt8(ascii: ",") {
                    s.i &+= 1
                    s.skipWhitespace()
                    if isObject { try parseKey(&s) }
                    break
                }
                guard byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { throw s.fail() }
                s.i &+= 1
                try closeContainer(&s, &duplicateAt)
            }
        }
    }

    /// `"name" :` then leaves the scanner on the value.
    @inline(__always)
    private func parseKey<Form>(_ s: inout JSONScanner<Form>) throws(Failure) {
        guard s.atQuote else { throw s.fail() }
        keys.append(UInt32(tape.count))
        var entry = try s.scanString()
        if !entry.isEscaped {
            let length = Int(entry.length)
            let at = UnsafeRawPointer(s.base + Int(entry.start))
            entry.hash = KeyHash.of(KeyHash.prefix(at, min(length, 8), available: s.end &- Int(entry.start)), length)
        }
        tape.append(entry)
        s.skipWhitespace()
        guard s.peek == UInt8(ascii: ":") else { throw s.fail() }
        s.i &+= 1
        s.skipWhitespace()
    }

    private func closeContainer<Form>(_ s: inout JSONScanner<Form>, _ duplicateAt: inout Int?) throws(Failure) {
        let index = Int(containers.removeLast())
        var count: UInt32 = 0
        if tape[index].kind == .object {
            let first = Int(keyBase.removeLast())
            count = UInt32(keys.count &- first)
            if count > 1, duplicateAt == nil,
                DuplicateKeys.found(UnsafeBufferPointer(rebasing: keys.buffer[first...]), tape: tape.buffer, base: s.base, count: s.end)
            {
                duplicateAt = s.i &- 1
            }
            keys.truncate(to: first)
        } else {
            var child = index + 1
            while child < tape.count {
                count &+= 1
                let entry = tape[child]
                child = entry.kind == .object || entry.kind == .array ? Int(entry.length) : child + 1
            }
        }
        tape[index].start = count
        tape[index].length = UInt32(tape.count)
    }
}
