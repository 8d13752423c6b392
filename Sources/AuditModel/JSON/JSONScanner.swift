// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// How the text a ``JSONScanner`` reads is written.
protocol JSONForm {
    /// `true`: the JSON text is the body of a JSON string (the 2.0 envelope's `oslo.message`), read in
    /// place, so each of its quotes is written `\"`. Only the subset with no escape of its own and
    /// no whitespace but spaces is accepted; anything else fails, and the caller unescapes first.
    static var isEmbedded: Bool { get }
}

/// Plain JSON text.
enum PlainJSON: JSONForm {
    static var isEmbedded: Bool { false }
}

/// JSON text inside a JSON string, read without unescaping it (see ``JSONForm/isEmbedded``).
enum EmbeddedJSON: JSONForm {
    static var isEmbedded: Bool { true }
}

/// The lexical half of ``JSONParser``: a cursor over the input that scans strings, numbers and
/// literals. Strings, where nearly all the bytes of a notification are, are scanned 8 bytes at a
/// time (SWAR): one test finds the next quote, backslash, control byte or non-ASCII byte.
///
/// `Form` is a type parameter, not a stored flag, so each form gets its own specialised code.
struct JSONScanner<Form: JSONForm> {
    let base: UnsafePointer<UInt8>
    let end: Int
    var i = 0

    init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    /// The byte under the cursor, or 0 at the end (never a valid token start).
    @inline(__always) var peek: UInt8 { i < end ? base[i] : 0 }

    @inline(__always) func fail() -> JSONParser.Failure { JSONParser.Failure(code: .notJSON, offset: i) }

    @inline(__always) mutating func skipWhitespace() {
        if Form.isEmbedded {
            // A tab or newline of the embedded text would be an escape (`\n`): not accepted here.
            while i < end, base[i] == 0x20 { i &+= 1 }
            return
        }
        while i < end {
            let byte = base[i]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            i &+= 1
        }
    }

    /// Matches 4 bytes (`word`, little-endian) after skipping `skip` already-known bytes.
    @inline(__always)
    mutating func expectLiteral(_ word: UInt32, _ count: Int, skip: Int = 0) throws(JSONParser.Failure) {
        let at = i &+ skip
        guard at &+ count <= end,
            UnsafeRawPointer(base + at).loadUnaligned(as: UInt32.self) == word.littleEndian
        else { throw fail() }
        i = at &+ count
    }

    /// Whether a string opens under the cursor: `"`, or `\"` in embedded text.
    @inline(__always) var atQuote: Bool {
        guard Form.isEmbedded else { return peek == UInt8(ascii: "\"") }
        return i &+ 1 < end && base[i] == UInt8(ascii: "\\") && base[i &+ 1] == UInt8(ascii: "\"")
    }

    /// Scans the string whose opening quote (``atQuote``) is under the cursor and returns its entry.
    @inline(__always)
    mutating func scanString() throws(JSONParser.Failure) -> TapeEntry {
        let start = i &+ (Form.isEmbedded ? 2 : 1)
        i = start
        var flags: UInt8 = 0
        let raw = UnsafeRawPointer(base)
        while true {
            // 8 bytes at a time: a lane is "special" if it is '"', '\\', < 0x20 or >= 0x80.
            while i &+ 8 <= end {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let special = Self.specialLanes(word)
                if special == 0 {
                    i &+= 8
                    continue
                }
                i &+= special.trailingZeroBitCount >> 3
                break
            }
            guard i < end else { throw fail() }
            let byte = base[i]
            if byte == UInt8(ascii: "\"") {
                // In embedded text a bare quote ends the enclosing string: the text is cut short.
                guard !Form.isEmbedded else { throw fail() }
                let entry = TapeEntry(kind: .string, flags: flags, start: UInt32(start), length: UInt32(i &- start))
                i &+= 1
                return entry
            } else if byte == UInt8(ascii: "\\") {
                if Form.isEmbedded {
                    // `\"` closes the string; any other escape belongs to the text itself (`\\u00fc`
                    // for `\u00fc`), which this form does not take.
                    guard i &+ 1 < end, base[i &+ 1] == UInt8(ascii: "\"") else { throw fail() }
                    let entry = TapeEntry(kind: .string, flags: flags, start: UInt32(start), length: UInt32(i &- start))
                    i &+= 2
                    return entry
                }
                flags |= TapeEntry.stringEscaped
                try scanEscape()
            } else if byte >= 0x80 {
                flags |= TapeEntry.stringNonASCII
                try scanUTF8Sequence()
            } else if byte < 0x20 {
                throw fail()
            } else {
                i &+= 1  // an ordinary byte in the tail (fewer than 8 bytes left)
            }
        }
    }

    /// Lanes (high bit of each byte) that hold '"', '\\', a control byte or a non-ASCII byte.
    @inline(__always)
    static func specialLanes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        let isControl = word &- (ones &* 0x20)
        // `& ~word` keeps lanes whose own high bit is clear; non-ASCII lanes are added back by `| word`.
        return ((hasQuote | hasBackslash | isControl) & ~word | word) & high
    }

    /// A backslash escape under the cursor; `\uD8xx` must pair with `\uDCxx` (rule 4).
    @inline(__always)
    mutating func scanEscape() throws(JSONParser.Failure) {
        guard i &+ 1 < end else { throw fail() }
        switch base[i &+ 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i &+= 2
        case UInt8(ascii: "u"):
            guard let unit = JSONUnescaper.hex4(base, i &+ 2, end) else { throw fail() }
            if unit & 0xFC00 == 0xD800 {
                guard i &+ 11 < end, base[i &+ 6] == UInt8(ascii: "\\"), base[i &+ 7] == UInt8(ascii: "u"),
                    let low = JSONUnescaper.hex4(base, i &+ 8, end), low & 0xFC00 == 0xDC00
                else { throw fail() }
                i &+= 12
            } else if unit & 0xFC00 == 0xDC00 {
                throw fail()
            } else {
                i &+= 6
            }
        default:
            throw fail()
        }
    }

    /// One strict UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF) under the cursor.
    @inline(__always)
    mutating func scanUTF8Sequence() throws(JSONParser.Failure) {
        guard let length = UTF8Validator.sequenceLength(base, i, end) else { throw fail() }
        i &+= length
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    mutating func scanNumber() throws(JSONParser.Failure) -> TapeEntry {
        let start = i
        var flags = TapeEntry.numberInteger
        if peek == UInt8(ascii: "-") { i &+= 1 }
        if peek == UInt8(ascii: "0") {
            i &+= 1
        } else {
            guard digits() > 0 else { throw fail() }
        }
        if peek == UInt8(ascii: ".") {
            i &+= 1
            flags = 0
            guard digits() > 0 else { throw fail() }
        }
        if peek | 0x20 == UInt8(ascii: "e") {
            i &+= 1
            flags = 0
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i &+= 1 }
            guard digits() > 0 else { throw fail() }
        }
        return TapeEntry(kind: .number, flags: flags, start: UInt32(start), length: UInt32(i &- start))
    }

    @inline(__always) private mutating func digits() -> Int {
        let start = i
        while i < end, base[i] &- UInt8(ascii: "0") < 10 { i &+= 1 }
        return i &- start
    }
}
