// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Writes JSON byte for byte as Python's `json.dumps` does with its defaults
/// (`", "` and `": "` separators, `ensure_ascii=True`), which is what oslo.messaging and pycadf
/// put on the wire. Existing OpenStack consumers therefore see our notifications in the exact
/// form they see keystonemiddleware's.
///
/// It runs twice per audited HTTP call, so it writes into one buffer it owns (no array
/// uniqueness checks or generic appends per value), keys and constant values are `StaticString`s
/// copied without inspection, and a string value is copied and checked for characters that need
/// escaping in the same pass. The buffer comes from `malloc`, so ``takeBytes()`` can hand it to
/// librdkafka as a message value without a copy.
public struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    /// Per open container, one bit (bit n for the container at depth n): set until its first
    /// element is written. Events are a handful of levels deep.
    private var first: UInt64 = 0
    private var depth = 0
    /// A key was just written: its value takes no separator.
    private var afterKey = false
    /// Inside ``nestedString(_:)``: everything is written as the content of a JSON string, so
    /// quotes and backslashes get one more backslash (oslo's double encoding in one pass).
    private var nested = false

    /// An empty writer with room for `capacity` bytes (it grows when needed).
    public init(capacity: Int = 2048) {
        self.capacity = max(capacity, 64)
        guard let memory = malloc(self.capacity) else { fatalError("JSONWriter: out of memory") }
        base = memory.assumingMemoryBound(to: UInt8.self)
    }

    deinit { free(base) }

    /// The bytes written so far.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Ends the writer and hands over its buffer, allocated with `malloc`: the caller frees it
    /// (or passes it to something that does, like ``Kafka/Producer``'s taking enqueue).
    public consuming func takeBytes() -> UnsafeMutableBufferPointer<UInt8> {
        let buffer = UnsafeMutableBufferPointer(start: base, count: count)
        discard self
        return buffer
    }

    // MARK: Structure

    /// Starts an object (as a value: at the top level, after a key, or in an array).
    public mutating func beginObject() {
        separate()
        put(UInt8(ascii: "{"))
        push()
    }

    /// Ends the innermost object.
    public mutating func endObject() {
        pop()
        put(UInt8(ascii: "}"))
    }

    /// Starts an array.
    public mutating func beginArray() {
        separate()
        put(UInt8(ascii: "["))
        push()
    }

    /// Ends the innermost array.
    public mutating func endArray() {
        pop()
        put(UInt8(ascii: "]"))
    }

    private mutating func push() {
        precondition(depth < 64, "JSONWriter nests at most 64 containers")
        first |= 1 << UInt64(depth)
        depth += 1
    }

    private mutating func pop() {
        depth -= 1
        first &= ~(1 << UInt64(depth))
    }

    /// Writes an object key; the next call writes its value. Keys are constants of printable
    /// ASCII without quotes or backslashes, so they are copied as they are.
    public mutating func key(_ key: StaticString) {
        writeKey(key)
        afterKey = true
    }

    /// The key and its colon; the caller writes the value at once.
    @inline(__always)
    private mutating func writeKey(_ key: StaticString) {
        separate()
        quote()
        putPlain(key)
        quote()
        put(UInt8(ascii: ":"), UInt8(ascii: " "))
    }

    // MARK: Values

    /// Writes a string value.
    public mutating func string(_ value: String) {
        separate()
        writeString(value)
    }

    /// Writes `key: value` for a string.
    public mutating func field(_ key: StaticString, _ value: String) {
        writeKey(key)
        writeString(value)
    }

    /// Writes `key: value` for a string when the value is present.
    public mutating func field(_ key: StaticString, _ value: String?) {
        if let value { field(key, value) }
    }

    /// Writes `key: value` for a constant string value (printable ASCII without quotes or
    /// backslashes, like keys).
    public mutating func field(_ key: StaticString, constant value: StaticString) {
        writeKey(key)
        quote()
        putPlain(value)
        quote()
    }

    /// Writes an integer value.
    public mutating func integer(_ value: Int) {
        separate()
        var text = String(value)
        text.withUTF8 { put(UnsafeRawBufferPointer($0)) }
    }

    /// Writes, as the next value, a JSON string whose content is the JSON that `body` writes:
    /// how oslo puts the inner message into the 2.0 envelope. The inner JSON is written with
    /// `ensure_ascii`, so only its quotes and backslashes need escaping, and they are escaped as
    /// they are written: no intermediate buffer, no second pass.
    public mutating func nestedString(_ body: (inout JSONWriter) -> Void) {
        precondition(!nested, "a nested string cannot contain another")
        separate()
        put(UInt8(ascii: "\""))
        let (outerFirst, outerDepth, outerAfterKey) = (first, depth, afterKey)
        (first, depth, afterKey, nested) = (0, 0, false, true)
        body(&self)
        (first, depth, afterKey, nested) = (outerFirst, outerDepth, outerAfterKey, false)
        put(UInt8(ascii: "\""))
    }

    /// Appends `value` as a JSON string with Python's escaping (`ensure_ascii`).
    public mutating func writeString(_ value: String) {
        quote()
        let plain = value.utf8.withContiguousStorageIfAvailable { copyIfPlain($0) }
            ?? { var copy = value; return copy.withUTF8 { copyIfPlain($0) } }()
        if !plain { writeEscaped(value) }
        quote()
    }

    /// `value` as a JSON string literal (quotes included), Python-escaped.
    public static func quoted(_ value: String) -> [UInt8] {
        var writer = JSONWriter(capacity: value.utf8.count + 2)
        writer.writeString(value)
        return writer.bytes
    }

    // MARK: Bytes

    @inline(__always)
    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard depth > 0 else { return }
        let bit: UInt64 = 1 << UInt64(depth - 1)
        if first & bit != 0 {
            first &= ~bit
        } else {
            put(UInt8(ascii: ","), UInt8(ascii: " "))
        }
    }

    /// Copies printable ASCII without quote or backslash as it is (the common case) and returns
    /// true; returns false, having written nothing, when any byte needs escaping. The check folds
    /// every byte into one flag without an early exit, so the loop is a plain copy.
    private mutating func copyIfPlain(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        reserve(utf8.count)
        let out = base + count
        var special: UInt8 = 0
        for i in 0..<utf8.count {
            let byte = utf8[i]
            out[i] = byte
            special |= (byte &- 0x20 > 0x5E ? 1 : 0) | (byte == 0x22 ? 1 : 0) | (byte == 0x5C ? 1 : 0)
        }
        guard special == 0 else { return false }
        count += utf8.count
        return true
    }

    private static let hex: StaticString = "0123456789abcdef"

    /// The rare path: escapes as Python does, by UTF-16 unit (`ensure_ascii` writes surrogate pairs).
    private mutating func writeEscaped(_ value: String) {
        for unit in value.utf16 {
            switch unit {
            case 0x22:
                backslash()
                quote()
            case 0x5C:
                backslash()
                backslash()
            case 0x0A: escape(UInt8(ascii: "n"))
            case 0x0D: escape(UInt8(ascii: "r"))
            case 0x09: escape(UInt8(ascii: "t"))
            case 0x08: escape(UInt8(ascii: "b"))
            case 0x0C: escape(UInt8(ascii: "f"))
            case 0x20..<0x7F: put(UInt8(unit))
            default:
                escape(UInt8(ascii: "u"))
                let hex = Self.hex.utf8Start
                put(hex[Int(unit >> 12) & 0xF], hex[Int(unit >> 8) & 0xF])
                put(hex[Int(unit >> 4) & 0xF], hex[Int(unit) & 0xF])
            }
        }
    }

    private mutating func escape(_ letter: UInt8) {
        backslash()
        put(letter)
    }

    /// A quote of the JSON being written (escaped when nested).
    @inline(__always)
    private mutating func quote() {
        if nested {
            put(0x5C, 0x22)
        } else {
            put(0x22)
        }
    }

    /// The backslash that starts an escape in the JSON being written (escaped when nested).
    @inline(__always)
    private mutating func backslash() {
        if nested {
            put(0x5C, 0x5C)
        } else {
            put(0x5C)
        }
    }

    @inline(__always)
    private mutating func putPlain(_ constant: StaticString) {
        assert(
            UnsafeBufferPointer(start: constant.utf8Start, count: constant.utf8CodeUnitCount)
                .allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C },
            "JSONWriter constants are printable ASCII without quotes or backslashes")
        put(UnsafeRawBufferPointer(start: constant.utf8Start, count: constant.utf8CodeUnitCount))
    }

    @inline(__always)
    private mutating func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    private mutating func put(_ byte: UInt8, _ next: UInt8) {
        reserve(2)
        base[count] = byte
        base[count + 1] = next
        count += 2
    }

    @inline(__always)
    private mutating func put(_ source: UnsafeRawBufferPointer) {
        guard let start = source.baseAddress else { return }
        reserve(source.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: start, byteCount: source.count)
        count += source.count
    }

    @inline(__always)
    private mutating func reserve(_ needed: Int) {
        if count + needed > capacity { grow(to: count + needed) }
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(capacity * 2, needed)
        guard let memory = realloc(base, newCapacity) else { fatalError("JSONWriter: out of memory") }
        base = memory.assumingMemoryBound(to: UInt8.self)
        capacity = newCapacity
    }
}
