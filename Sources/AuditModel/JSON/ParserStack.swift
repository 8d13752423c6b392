// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// A growable array of plain values for the parser's tape and stacks, without `Array`'s
/// uniqueness and capacity checks on every append (they were ~5% of decode time).
///
/// - Important: not thread-safe and not `Sendable`; a parser (and the decoder that owns it) belongs
///   to one task. Copies of a parser share their stacks, which is harmless because a tape is only
///   read inside the parse call that wrote it.
final class ParserStack<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) func append(_ element: Element) {
        if count == capacity { grow() }
        base[count] = element
        count &+= 1
    }

    @inline(__always) func removeAll() { count = 0 }

    /// Drops the elements from `index` on.
    @inline(__always) func truncate(to index: Int) { count = min(count, max(index, 0)) }

    @inline(__always) func removeLast() -> Element {
        count &-= 1
        return base[count]
    }

    @inline(__always) var last: Element? { count > 0 ? base[count &- 1] : nil }

    @inline(__always) subscript(index: Int) -> Element {
        get { base[index] }
        set { base[index] = newValue }
    }

    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    private func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }
}
