// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// The Thompson NFA a ``Pattern`` is built from; only lives while the pattern is compiled.
struct PatternNFA {
    enum State {
        /// Consume one code point whose class is in the set, then go on.
        case consume([Bool], Int32)
        case split(Int32, Int32)
        case epsilon(Int32)
        /// `^`: passable only at position 0.
        case atStart(Int32)
        /// `$`: passable only at the end of the input.
        case atEnd(Int32)
        case accept
    }

    var states: [State] = []
    var classBoundaries: [UInt32] = []

    mutating func add(_ state: State) -> Int32 {
        states.append(state)
        return Int32(states.count - 1)
    }

    func collectBoundaries(_ syntax: PatternSyntax, into points: inout Set<UInt32>) {
        switch syntax {
        case .set(let ranges):
            for range in ranges {
                points.insert(range.lowerBound)
                points.insert(range.upperBound + 1)
            }
        case .sequence(let items), .alternation(let items):
            for item in items { collectBoundaries(item, into: &points) }
        case .repetition(let inner, _, _):
            collectBoundaries(inner, into: &points)
        case .lineStart, .lineEnd:
            break
        }
    }

    /// Compiles `syntax` so that it continues at `next`; returns its entry state.
    mutating func compile(_ syntax: PatternSyntax, next: Int32) -> Int32 {
        switch syntax {
        case .set(let ranges):
            let classes = (0..<(classBoundaries.count - 1)).map { k in
                ranges.contains { $0.contains(classBoundaries[k]) }
            }
            return add(.consume(classes, next))
        case .sequence(let items):
            var entry = next
            for item in items.reversed() { entry = compile(item, next: entry) }
            return entry
        case .alternation(let branches):
            var entry = compile(branches[branches.count - 1], next: next)
            for branch in branches.dropLast().reversed() {
                entry = add(.split(compile(branch, next: next), entry))
            }
            return entry
        case .repetition(let inner, let min, let max):
            var entry = next
            if let max {
                for _ in 0..<(max - min) {  // optional copies: (inner (inner …)?)?
                    entry = add(.split(compile(inner, next: entry), next))
                }
            } else {
                let loop = add(.epsilon(0))  // patched below: split(inner → loop, next)
                states[Int(loop)] = .split(compile(inner, next: loop), next)
                entry = loop
            }
            for _ in 0..<min { entry = compile(inner, next: entry) }
            return entry
        case .lineStart:
            return add(.atStart(next))
        case .lineEnd:
            return add(.atEnd(next))
        }
    }

    /// Every state reachable from `seeds` without consuming, the seeds included, sorted.
    func closure(_ seeds: [Int32], atStart: Bool, atEnd: Bool) -> [Int32] {
        var seen = [Bool](repeating: false, count: states.count)
        var stack = seeds
        var result: [Int32] = []
        while let s = stack.popLast() {
            guard !seen[Int(s)] else { continue }
            seen[Int(s)] = true
            result.append(s)
            switch states[Int(s)] {
            case .split(let a, let b): stack.append(contentsOf: [a, b])
            case .epsilon(let a): stack.append(a)
            case .atStart(let a) where atStart: stack.append(a)
            case .atEnd(let a) where atEnd: stack.append(a)
            default: break
            }
        }
        return result.sorted()
    }

    /// The states reached by consuming one code point of class `klass` from `set`.
    func step(_ set: [Int32], klass: Int) -> [Int32] {
        set.compactMap { s in
            if case .consume(let classes, let next) = states[Int(s)], classes[klass] { return next }
            return nil
        }
    }

    func accepts(_ set: [Int32]) -> Bool {
        set.contains { if case .accept = states[Int($0)] { true } else { false } }
    }

    func canConsume(_ set: [Int32]) -> Bool {
        set.contains { if case .consume = states[Int($0)] { true } else { false } }
    }
}
