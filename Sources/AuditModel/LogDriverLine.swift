// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// oslo.messaging's `log` notification driver writes one line per notification:
/// `2026-11-22 10:12:02.735 4242 INFO oslo.messaging.notification.audit.http.request [-] {json}`.
enum LogDriverLine {
    /// The JSON part of a log-driver line, or `nil` if `line` is not one (then it is decoded as JSON).
    ///
    /// A line is recognised by its shape: it starts with a `YYYY-MM-DD` date and holds
    /// ` oslo.messaging.notification.` before oslo.log's context in brackets — ` [-] ` outside a
    /// request, ` [req-… user project …] ` inside one — and the JSON follows the context.
    /// A trailing `\n` / `\r\n` is not part of the JSON.
    static func json(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard line.count > 11, let p = line.baseAddress?.assumingMemoryBound(to: UInt8.self),
            p[4] == UInt8(ascii: "-"), p[7] == UInt8(ascii: "-"), p[0] &- UInt8(ascii: "0") < 10
        else { return nil }
        let logger: StaticString = " oslo.messaging.notification."
        let open: StaticString = " ["
        let close: StaticString = "] "
        guard let afterLogger = find(logger, in: line, from: 10, limit: 256),
            let afterOpen = find(open, in: line, from: afterLogger, limit: afterLogger + 256),
            let afterMarker = find(close, in: line, from: afterOpen, limit: afterOpen + 512)
        else { return nil }
        var end = line.count
        while end > afterMarker, p[end - 1] == 0x0A || p[end - 1] == 0x0D { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: line[afterMarker..<end])
    }

    /// The index just past the first occurrence of `needle` starting in `from ..< limit`.
    private static func find(_ needle: StaticString, in line: UnsafeRawBufferPointer, from: Int, limit: Int) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard let base = line.baseAddress else { return nil }
        var i = from
        while i + n <= line.count, i < limit {
            if memoryEquals(base + i, UnsafeRawPointer(needle.utf8Start), n) { return i + n }
            i += 1
        }
        return nil
    }
}
