// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Testing

struct TimestampTests {
    @Test("pycadf, RFC 3339 and oslo forms", arguments: [
        ("2026-11-22T10:12:02.734485+0000", "2026-11-22T10:12:02.734485000Z"),
        ("2026-11-22T10:12:02.734485+00:00", "2026-11-22T10:12:02.734485000Z"),
        ("2026-11-22T10:12:02Z", "2026-11-22T10:12:02.000000000Z"),
        ("2026-11-22T15:42:02.7+05:30", "2026-11-22T10:12:02.700000000Z"),
        ("2026-11-22T02:12:02.123456789-0800", "2026-11-22T10:12:02.123456789Z"),
        ("2026-11-22 10:12:02.735273", "2026-11-22T10:12:02.735273000Z"),
        ("2026-11-22 10:12:02", "2026-11-22T10:12:02.000000000Z"),
        ("1969-12-31T23:59:59+0000", "1969-12-31T23:59:59.000000000Z"),
        ("2024-02-29T00:00:00+0000", "2024-02-29T00:00:00.000000000Z"),
    ])
    func parses(text: String, expected: String) {
        #expect(Timestamp.parse(text)?.description == expected)
    }

    @Test("malformed times do not parse", arguments: [
        "", "yesterday", "2026-13-01T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T10:12:02.+0000",
        "2026-11-22T10:12:02.1234567890Z", "2026-11-22T10:12:02+000", "2026-11-22T10:12:02+0000 ", "2026-11-22",
    ])
    func rejects(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test("latency is reporterTime − eventTime")
    func latency() throws {
        let start = try #require(Timestamp.parse("2026-11-22T10:12:02.734485+0000"))
        let end = try #require(Timestamp.parse("2026-11-22T10:12:03.000100+00:00"))
        #expect(start.nanoseconds(to: end) == 265_615_000)
        #expect(start < end)
    }
}
