// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// The parsed form of an ECMA-262 regular expression, for the subset JSON Schema `pattern` needs:
/// literals, `.`, classes `[...]` / `[^...]` with ranges and escapes, `\d \D \w \W \s \S`, groups
/// `(...)` and `(?:...)`, `|`, the quantifiers `? * + {n} {n,} {n,m}` (lazy forms too: they match
/// the same strings), and the assertions `^` and `$` (no multiline flag).
///
/// Anything else (backreferences, lookaround, `\b`, Unicode property escapes) is refused at load
/// time with ``DecodeError/Code-swift.struct/unsupportedSchema``: a schema is never silently
/// weakened.
indirect enum PatternSyntax {
    /// Code point ranges (inclusive), after negation.
    case set([ClosedRange<UInt32>])
    case sequence([PatternSyntax])
    case alternation([PatternSyntax])
    case repetition(PatternSyntax, min: Int, max: Int?)
    case lineStart
    case lineEnd

    static let maxScalar: UInt32 = 0x10FFFF

    struct Unsupported: Error { var message: String }

    static func parse(_ pattern: String) throws(Unsupported) -> PatternSyntax {
        var parser = Parser(scalars: Array(pattern.unicodeScalars.map(\.value)))
        let syntax = try parser.alternation()
        guard parser.i == parser.scalars.count else { throw Unsupported(message: "unbalanced ')' in \(pattern)") }
        return syntax
    }

    /// Complement of a sorted, non-overlapping list of ranges within 0...maxScalar.
    static func negate(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in normalize(ranges) {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = range.upperBound + 1
        }
        if next <= maxScalar { result.append(next...maxScalar) }
        return result
    }

    static func normalize(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound <= last.upperBound + 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }

    private struct Parser {
        let scalars: [UInt32]
        var i = 0

        var peek: UInt32? { i < scalars.count ? scalars[i] : nil }

        mutating func alternation() throws(Unsupported) -> PatternSyntax {
            var branches = [try sequence()]
            while peek == 0x7C {  // |
                i += 1
                branches.append(try sequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func sequence() throws(Unsupported) -> PatternSyntax {
            var items: [PatternSyntax] = []
            while let c = peek, c != 0x7C, c != 0x29 {  // | )
                var atom = try self.atom()
                while let (min, max) = try quantifier() { atom = .repetition(atom, min: min, max: max) }
                items.append(atom)
            }
            return .sequence(items)
        }

        mutating func atom() throws(Unsupported) -> PatternSyntax {
            let c = scalars[i]
            i += 1
            switch c {
            case 0x5E: return .lineStart  // ^
            case 0x24: return .lineEnd  // $
            case 0x2E: return .set(PatternSyntax.negate([0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]))  // .
            case 0x28:  // (
                if peek == 0x3F {  // (?
                    guard i + 1 < scalars.count, scalars[i + 1] == 0x3A else {
                        throw Unsupported(message: "lookaround or named groups")
                    }
                    i += 2
                }
                let inner = try alternation()
                guard peek == 0x29 else { throw Unsupported(message: "unbalanced '('") }
                i += 1
                return inner
            case 0x5B: return .set(try characterClass())  // [
            case 0x5C: return .set(try escape(inClass: false))  // \
            case 0x2A, 0x2B, 0x3F, 0x7B: throw Unsupported(message: "nothing to repeat")
            default: return .set([c...c])
            }
        }

        mutating func quantifier() throws(Unsupported) -> (Int, Int?)? {
            guard let c = peek else { return nil }
            var result: (Int, Int?)
            switch c {
            case 0x3F: result = (0, 1)
            case 0x2A: result = (0, nil)
            case 0x2B: result = (1, nil)
            case 0x7B:
                guard let braces = bounds() else { return nil }  // a literal '{', as Annex B allows
                result = braces
            default: return nil
            }
            i += 1
            if peek == 0x3F { i += 1 }  // lazy: same language
            if let max = result.1, max < result.0 { throw Unsupported(message: "{n,m} with m < n") }
            if result.0 > 1000 || (result.1 ?? 0) > 1000 { throw Unsupported(message: "repetition bound above 1000") }
            return result
        }

        /// `{n}`, `{n,}`, `{n,m}` starting at the cursor; leaves the cursor on the closing brace.
        mutating func bounds() -> (Int, Int?)? {
            var j = i + 1
            func number() -> Int? {
                var value: Int?
                while j < scalars.count, (0x30...0x39).contains(scalars[j]), (value ?? 0) < 100_000 {
                    value = (value ?? 0) * 10 + Int(scalars[j] - 0x30)
                    j += 1
                }
                return value
            }
            guard let min = number() else { return nil }
            var max: Int? = min
            if j < scalars.count, scalars[j] == 0x2C {
                j += 1
                max = number()
            }
            guard j < scalars.count, scalars[j] == 0x7D else { return nil }
            i = j
            return (min, max)
        }

        mutating func characterClass() throws(Unsupported) -> [ClosedRange<UInt32>] {
            var negated = false
            if peek == 0x5E {
                negated = true
                i += 1
            }
            var ranges: [ClosedRange<UInt32>] = []
            while let c = peek, c != 0x5D {
                i += 1
                var low = [c...c]
                if c == 0x5C { low = try escape(inClass: true) }
                if peek == 0x2D, i + 1 < scalars.count, scalars[i + 1] != 0x5D, low.count == 1,
                    low[0].lowerBound == low[0].upperBound
                {
                    i += 1
                    var high = [scalars[i]...scalars[i]]
                    i += 1
                    if high[0].lowerBound == 0x5C { high = try escape(inClass: true) }
                    guard high.count == 1, high[0].lowerBound >= low[0].lowerBound else {
                        throw Unsupported(message: "bad class range")
                    }
                    ranges.append(low[0].lowerBound...high[0].lowerBound)
                } else {
                    ranges.append(contentsOf: low)
                }
            }
            guard peek == 0x5D else { throw Unsupported(message: "unterminated class") }
            i += 1
            return negated ? PatternSyntax.negate(ranges) : PatternSyntax.normalize(ranges)
        }

        /// After a backslash: an escaped character or a class shorthand.
        mutating func escape(inClass: Bool) throws(Unsupported) -> [ClosedRange<UInt32>] {
            guard let c = peek else { throw Unsupported(message: "trailing backslash") }
            i += 1
            let digit: [ClosedRange<UInt32>] = [0x30...0x39]
            let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
            let space: [ClosedRange<UInt32>] = [
                0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029,
                0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
            ]
            switch c {
            case 0x64: return digit  // d
            case 0x44: return PatternSyntax.negate(digit)
            case 0x77: return PatternSyntax.normalize(word)  // w
            case 0x57: return PatternSyntax.negate(word)
            case 0x73: return PatternSyntax.normalize(space)  // s
            case 0x53: return PatternSyntax.negate(space)
            case 0x6E: return [0x0A...0x0A]  // n
            case 0x72: return [0x0D...0x0D]  // r
            case 0x74: return [0x09...0x09]  // t
            case 0x66: return [0x0C...0x0C]  // f
            case 0x76: return [0x0B...0x0B]  // v
            case 0x62 where inClass: return [0x08...0x08]  // [\b] is backspace
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A:
                throw Unsupported(message: "escape \\\(Character(Unicode.Scalar(c) ?? "?"))")
            default: return [c...c]  // an escaped punctuation character stands for itself
            }
        }
    }
}
