// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditTesting
import Foundation
import Testing

/// Hostile input never crashes, never hangs, and is quarantined with the original bytes.
@Suite(.timeLimit(.minutes(5)))
struct HostileInputTests {
    static func quarantined(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> QuarantineReason? {
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        guard case .quarantined(let bad) = decoder.decode(bytes) else {
            Issue.record("accepted \(bytes.count) hostile bytes", sourceLocation: sourceLocation)
            return nil
        }
        #expect(bad.original == bytes, sourceLocation: sourceLocation)
        return bad.reason
    }

    @Test("nesting 100,000 deep is tooDeep, at the root and inside a notification")
    func deepNesting() throws {
        let deep = 100_000
        #expect(Self.quarantined(Array(repeating: UInt8(ascii: "["), count: deep) + Array(repeating: UInt8(ascii: "]"), count: deep))?.code == .tooDeep)
        let objects = String(repeating: #"{"a":"#, count: deep) + "1" + String(repeating: "}", count: deep)
        #expect(Self.quarantined(Array(#"{"oslo.version": "2.0", "x": "#.utf8) + Array(objects.utf8) + [UInt8(ascii: "}")])?.code == .tooDeep)
        let (_, inner) = try WireFormTests.sample()
        let nested = String(decoding: inner.dropLast(), as: UTF8.self) + #", "x": "# + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "}"
        #expect(Self.quarantined(Array(nested.utf8))?.code == .tooDeep)
        // 512 levels are fine; 513 are not.
        let ok = Array(repeating: UInt8(ascii: "["), count: 512) + Array(repeating: UInt8(ascii: "]"), count: 512)
        #expect(Fixtures.validator.validate(ok, as: .event)?.code == .schemaViolation)
        #expect(Fixtures.validator.validate([UInt8(ascii: "[")] + ok + [UInt8(ascii: "]")], as: .event)?.code == .tooDeep)
    }

    @Test("huge strings: 16 MB names, ids and tokens are handled in linear time")
    func hugeStrings() throws {
        let (envelope, inner) = try WireFormTests.sample()
        let big = String(repeating: "A", count: 16 << 20)
        let hugeName = WireFormTests.replacing(inner, "heidi.qa310", big)
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        guard case .audit(let event) = decoder.decode(Array(hugeName.utf8)) else {
            Issue.record("a huge (valid) name was refused")
            return
        }
        #expect(event.initiatorName?.utf8.count == 16 << 20)
        let hugeTime = WireFormTests.replacing(envelope, "10:12:02.734485+0000", "10:12:02." + String(repeating: "1", count: 1 << 20) + "+0000")
        #expect(Self.quarantined(Array(hugeTime.utf8))?.code == .schemaViolation)
        let escapes = String(repeating: #"\\u00e9"#, count: 1 << 20)
        let hugeEscaped = WireFormTests.replacing(envelope, "heidi.qa310", escapes)
        guard case .audit(let escaped) = decoder.decode(Array(hugeEscaped.utf8)) else {
            Issue.record("a huge escaped name was refused")
            return
        }
        #expect(escaped.initiatorName?.unicodeScalars.count == 1 << 20)
    }

    @Test("invalid UTF-8 anywhere is notJSON", arguments: [[0xFF], [0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82]] as [[UInt8]])
    func invalidUTF8(bad: [UInt8]) throws {
        let (envelope, inner) = try WireFormTests.sample()
        for document in [envelope, inner] {
            let at = document.count / 2
            // Inside a string value (the middle of the document is inside one in these samples) or not: notJSON.
            #expect(Self.quarantined(Array(document[..<at]) + bad + Array(document[at...]))?.code == .notJSON)
        }
        #expect(Self.quarantined([0xEF, 0xBB, 0xBF] + envelope)?.code == .notJSON, "a BOM")
    }

    @Test("every truncation of a sample is quarantined, in both wire forms")
    func truncations() throws {
        let (envelope, inner) = try WireFormTests.sample(1)
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        for document in [envelope, inner] {
            for length in 0..<document.count {
                let prefix = Array(document[..<length])
                guard case .quarantined(let bad) = decoder.decode(prefix) else {
                    Issue.record("a \(length)-byte truncation was accepted")
                    continue
                }
                #expect(bad.original == prefix)
            }
        }
    }

    @Test("random bytes and random mutations of samples: a verdict every time, the same twice")
    func randomInput() throws {
        var random = SeededRandom(seed: 0xA0D17)
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        let samples = try Fixtures.lines(try #require(Fixtures.sampleFiles().last))
        let alphabet = Array(#"{}[]":,\ u0123456789abcdefABCDEF-+.eEtrunlsfx"#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xC3, 0xED, 0xFF]
        for round in 0..<20_000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = (0..<random.next(below: 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            case 1:
                bytes = (0..<random.next(below: 64)).map { _ in alphabet[random.next(below: alphabet.count)] }
            default:
                bytes = samples[random.next(below: samples.count)]
                for _ in 0...random.next(below: 4) {
                    bytes[random.next(below: bytes.count)] = alphabet[random.next(below: alphabet.count)]
                }
            }
            let first = Self.summary(decoder.decode(bytes))
            #expect(first == Self.summary(decoder.decode(bytes)), "non-deterministic verdict")
            if case .audit = decoder.decode(bytes) {
                continue  // a mutation that kept the notification valid: fine
            }
        }
    }

    static func summary(_ decoded: DecodedNotification) -> String {
        switch decoded {
        case .audit(let event): "audit \(event.id) \(event.eventTime)"
        case .nonAudit(let other): "nonAudit \(other.eventType)"
        case .quarantined(let bad): "quarantined \(bad.reason)"
        }
    }

    @Test("duplicate keys, also when one is escaped, anywhere in the document")
    func duplicateKeys() throws {
        let (envelope, inner) = try WireFormTests.sample()
        let innerText = String(decoding: inner, as: UTF8.self)
        let cases = [
            #"{"oslo.version": "2.0", "oslo.version": "2.0", "oslo.message": "{}"}"#,
            "{" + #""\u006dessage_id": "x", "# + innerText.dropFirst(),
            innerText.replacingOccurrences(of: #""name": "nova""#, with: #""name": "nova", "name": "nova""#),
            innerText.replacingOccurrences(of: #"{"id": "target"}"#, with: #"{"id": "target", "\u0069d": "target"}"#),
        ]
        for text in cases {
            #expect(Self.quarantined(Array(text.utf8))?.code == .duplicateKey, "\(text.prefix(80))")
        }
        // An object with 100,000 members (hashing, not pairwise comparison) and one duplicate at the end.
        let many = "{" + (0..<100_000).map { #""k\#($0)": 1"# }.joined(separator: ", ") + #", "k5": 2}"#
        #expect(Fixtures.validator.validate(Array(many.utf8), as: .event)?.code == .duplicateKey)
        _ = envelope
    }
}
