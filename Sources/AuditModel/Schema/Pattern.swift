// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// A compiled JSON Schema `pattern`: a deterministic automaton over code-point classes.
///
/// The pattern is parsed (``PatternSyntax``), turned into a Thompson NFA, then into a DFA by subset
/// construction at load time. Matching is one table lookup per code point, with search semantics
/// (patterns are not anchored implicitly) and an early exit on the first match or on a dead state,
/// so a 1 MB string costs a linear scan at worst and backtracking blow-ups cannot happen.
package final class Pattern: @unchecked Sendable {
    // @unchecked: the tables are written in init and only read afterwards.
    /// The pattern as written in the schema.
    package let source: String
    private let asciiClass: UnsafeMutableBufferPointer<UInt16>
    private let boundaries: [UInt32]
    private let classCount: Int
    private let transitions: UnsafeMutableBufferPointer<Int32>
    private let accepting: UnsafeMutableBufferPointer<Bool>
    private let acceptingAtEnd: UnsafeMutableBufferPointer<Bool>
    private let dead: UnsafeMutableBufferPointer<Bool>
    /// `transitions` composed with `asciiClass`: the next state for each (state, ASCII byte),
    /// -1 when that state accepts, -2 when it is dead.
    private let asciiTransitions: UnsafeMutableBufferPointer<Int32>

    /// Compiles `source`.
    /// - Throws: ``PatternSyntax/Unsupported`` for syntax outside the supported subset or an automaton
    ///   above 4,096 states.
    init(_ source: String) throws(PatternSyntax.Unsupported) {
        self.source = source
        let syntax = try PatternSyntax.parse(source)
        // Equivalence classes: intervals between every range boundary used by the pattern.
        var points: Set<UInt32> = [0, 0x80, PatternSyntax.maxScalar + 1]
        var nfa = PatternNFA()
        nfa.collectBoundaries(syntax, into: &points)
        let boundaries = points.sorted()
        nfa.classBoundaries = boundaries
        let entry = nfa.compile(syntax, next: nfa.add(.accept))
        self.boundaries = boundaries
        classCount = boundaries.count - 1
        asciiClass = Self.table((0..<128).map { UInt16(Pattern.interval(of: UInt32($0), in: boundaries)) })

        // Subset construction. State 0 is the initial state (position 0, where `^` holds).
        let restart = nfa.closure([entry], atStart: false, atEnd: false)
        var sets: [[Int32]] = [nfa.closure([entry], atStart: true, atEnd: false)]
        var index: [[Int32]: Int32] = [:]
        var transitions: [Int32] = []
        var next = 0
        while next < sets.count {
            let set = sets[next]
            for klass in 0..<classCount {
                let moved = nfa.step(set, klass: klass)
                let target = Array(Set(nfa.closure(moved, atStart: false, atEnd: false) + restart)).sorted()
                if let known = index[target] {
                    transitions.append(known)
                } else {
                    guard sets.count < 4096 else { throw PatternSyntax.Unsupported(message: "automaton too large") }
                    index[target] = Int32(sets.count)
                    transitions.append(Int32(sets.count))
                    sets.append(target)
                }
            }
            next += 1
        }
        self.transitions = Self.table(transitions)
        let atEnd = sets.enumerated().map { i, set in nfa.accepts(nfa.closure(set, atStart: i == 0, atEnd: true)) }
        let acceptingStates = sets.map { nfa.accepts($0) }
        accepting = Self.table(acceptingStates)
        acceptingAtEnd = Self.table(atEnd)
        let deadStates = sets.enumerated().map { i, set in !nfa.canConsume(set) && !atEnd[i] }
        dead = Self.table(deadStates)
        let classCount = boundaries.count - 1
        let ascii = (0..<128).map { Pattern.interval(of: UInt32($0), in: boundaries) }
        // A target that ends the match is stored as -1 (accepting) or -2 (dead): one load per character.
        asciiTransitions = Self.table(sets.indices.flatMap { state in
            ascii.map { klass -> Int32 in
                let target = Int(transitions[state * classCount + klass])
                return acceptingStates[target] ? -1 : deadStates[target] ? -2 : Int32(target)
            }
        })
    }

    deinit {
        asciiClass.deallocate()
        transitions.deallocate()
        accepting.deallocate()
        acceptingAtEnd.deallocate()
        dead.deallocate()
        asciiTransitions.deallocate()
    }

    private static func table<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
        _ = buffer.initialize(from: array)
        return buffer
    }

    static func interval(of scalar: UInt32, in boundaries: [UInt32]) -> Int {
        var low = 0
        var high = boundaries.count - 1
        while high - low > 1 {
            let mid = (low + high) / 2
            if boundaries[mid] <= scalar { low = mid } else { high = mid }
        }
        return low
    }

    /// Whether the pattern matches anywhere in `text`, given as UTF-8 (already valid).
    package func matches(_ text: UnsafeRawBufferPointer) -> Bool {
        var state = 0
        if accepting[0] { return true }
        guard let p = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return acceptingAtEnd[0] }
        let n = text.count
        var i = 0
        while i < n {
            let lead = p[i]
            let klass: Int
            if lead < 0x80 {
                let next = asciiTransitions[state &<< 7 | Int(lead)]
                if next < 0 { return next == -1 }
                state = Int(next)
                i &+= 1
                continue
            } else {
                let (scalar, length) = Self.decode(p, i, n)
                klass = Self.interval(of: scalar, in: boundaries)
                i &+= length
            }
            state = Int(transitions[state &* classCount &+ klass])
            if accepting[state] { return true }
            if dead[state] { return false }
        }
        return acceptingAtEnd[state]
    }

    /// Decodes the (valid) UTF-8 sequence at `i`; a defect decodes as U+FFFD.
    @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> (UInt32, Int) {
        guard let length = UTF8Validator.sequenceLength(p, i, n) else { return (0xFFFD, 1) }
        var scalar = UInt32(p[i]) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for k in 1..<length { scalar = scalar << 6 | UInt32(p[i + k] & 0x3F) }
        return (scalar, length)
    }
}
